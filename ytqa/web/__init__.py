"""The web app (``streamlit run app.py``), one module per part of the page.

``app.py`` is the page, read top to bottom; it calls each section in the order it is drawn.
Every section holds functions of plain data (what to show, decided without Streamlit) and a
thin drawing function; the page's state is one typed object (``state.PageState``).

    state          the page's state across reruns (over st.session_state and the address),
                   and ``Page``: what every section of one run works with
    resources      objects shared by every page of the server (jobs, models, libraries)
    jobs           work that outlives the page that asked for it (opening a video)
    history        each visitor's questions and answers, kept and exported
    words          messages in the app's words; anything a visitor typed shown inert
    signin         sign-in when the server asks for it (st.login), and whose library the page is
    model_box      the sidebar's model and "moments per answer" choices
    link_box       what was typed in the link box, and the notices under it
    upload         the subtitle-file section
    opening        opening a video in the background: its progress, and what ends it
    collections    playlists and channels: pasted, indexed, grouped in the sidebar
    conversation   what a question is asked of, the question box, and its answer (kept)
    answers        the answers column: heading, Export, Clear, the conversation, each moment
    player         the open video's player and its transcript language
    library_list   the sidebar's list of stored videos: open, delete, pages

Nothing in ytqa's core imports this package: the web app sits on top of ``ytqa``'s
public names (and, for its own files, ``_storage``'s atomic writes).
"""
