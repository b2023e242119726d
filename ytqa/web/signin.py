"""Sign-in, when the server asks for it: Streamlit's ``st.login`` (OpenID Connect).

The server asks for it by an ``[auth]`` section in ``.streamlit/secrets.toml`` (redirect_uri,
cookie_secret, client_id, client_secret, server_metadata_url: Streamlit's own settings, for
Google, Microsoft, Okta, Keycloak or any OIDC provider). Then a visitor signs in first, and
the library is theirs: their videos and the shared ones (ytqa's ``Library(user=...)``). With
no such section the app is what it always was: one library for everyone on the server.
"""

from __future__ import annotations

import streamlit as st

from .words import safe

#: The words a visitor reads; tests read them too.
ONE_LIBRARY = ("One library for everyone. Shared by everyone using this server: the videos here, and what "
               "they say, are visible to every visitor, who can also delete them.")
SIGN_IN = ("This server keeps a library for each person: sign in to see yours, and the videos others "
           "share with everyone or with your groups.")


def asked() -> bool:
    """Whether the server asks visitors to sign in (secrets.toml has an ``[auth]`` section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all (Streamlit's StreamlitSecretNotFoundError)
        return False


def name_of(user) -> str | None:
    """Who a signed-in visitor is, to the library: their e-mail, else the provider's subject."""
    for claim in ("email", "sub"):
        value = user.get(claim)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:200].replace(",", " ")
    return None


def gate() -> str | None:
    """The visitor's name once signed in; None when the server asks no one to sign in. Until
    they are, the sign-in screen is the page (the run stops here)."""
    if not asked():
        return None
    if getattr(st.user, "is_logged_in", False) and (name := name_of(st.user)):
        return name
    st.title("Ask a YouTube video")
    st.info(SIGN_IN)
    st.button("Sign in", type="primary", on_click=st.login, key="sign_in")
    st.stop()


def sidebar(person: str | None) -> None:
    """Whose library this is, and Sign out (or that it is everyone's)."""
    if person is None:
        st.caption(ONE_LIBRARY + " (Your questions are yours: they are kept under this page's address, a "
                   "private key; share a moment's Link, not the address.)")
        return
    st.caption(safe(f"Signed in as {person}: your videos, and those shared with everyone on this server "
                    "or with a group you are in."))
    st.button("Sign out", key="sign_out", on_click=st.logout)
