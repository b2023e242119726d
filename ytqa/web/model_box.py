"""The sidebar's top: what the library is, the embedding model, and moments per answer.

A model a visitor types is checked before anything loads it: a known short name, a
Hugging Face Hub id, or a folder the server's owner offers (never another server folder),
and whether a Hub model can be reached at all (seconds, not a download that hangs).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import streamlit as st

import ytqa

from .jobs import Job
from .builds import serve_queue
from . import signin
from .resources import embedder_for, library_for
from .state import Page, PageState
from .words import app_words, say

_MODELS = {
    "e5": "multilingual-e5-small: 100 languages, offline",
    "minilm": "all-MiniLM-L6-v2: English, fastest, offline",
    "multi-qa-mpnet": "multi-qa-mpnet-base-dot-v1: English, question-trained, downloads once",
}
# The default model first, marked as such.
MODEL_CHOICES = {ytqa.DEFAULT_MODEL: f"{_MODELS[ytqa.DEFAULT_MODEL]} (default)"}
MODEL_CHOICES.update({name: label for name, label in _MODELS.items() if name != ytqa.DEFAULT_MODEL})
MODEL_CHOICES["custom"] = "Another model from the Hugging Face Hub..."
HUB_HOST = ("huggingface.co", 443)
#: About how much a model's first use writes (rebuilt weights, its ONNX export), in MB.
FIRST_USE_MB = {"e5": 900}


def check_model_choice(name: str, known: dict) -> str:
    """A model a visitor typed: a known short name, a Hugging Face Hub id, or a folder the
    server's owner offers (YTQA_MODEL_FOLDERS), as ``allowed_model`` decides.

    Any other folder on the server is never loaded from the page (the command line's
    --model takes one), and the message never repeats what was typed.
    """
    try:
        return ytqa.allowed_model(name)
    except ytqa.ModelUnavailable:
        raise ytqa.ModelUnavailable("the typed model", "the app takes a known model name ("
                                    + ", ".join(known) + ") or a Hugging Face id such as "
                                    "sentence-transformers/all-mpnet-base-v2; folders on the server "
                                    "only when its owner offers them (YTQA_MODEL_FOLDERS), otherwise "
                                    "from the command line (ytqa --model FOLDER)") from None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers within ``timeout`` seconds."""
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(HUB_HOST, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)  # a name lookup that hangs counts as unreachable
    return bool(result and result[0])


def unreachable_model(spec, timeout: float = 3.0) -> str | None:
    """Why a model cannot be loaded now, found in seconds; None when it can be tried.

    A model on this machine (packaged, rebuilt or already downloaded) can; a Hub model
    needs the Hub, which is probed with a short timeout instead of a download that hangs.
    """
    if spec.is_local:
        return None
    try:
        from huggingface_hub import constants, try_to_load_from_cache

        if isinstance(try_to_load_from_cache(spec.hub_id, "config.json"), str):
            return None  # downloaded before
        if constants.HF_HUB_OFFLINE:
            return "this server works offline (HF_HUB_OFFLINE) and has not downloaded it"
    except Exception:  # an old or missing huggingface_hub: the probe decides
        pass
    if hub_reachable(timeout):
        return None
    return "it is not on this server and the Hugging Face Hub cannot be reached to download it"


@st.cache_data(show_spinner=False, ttl=60, max_entries=50)
def unreachable(model: str) -> str | None:
    """Why a model cannot be loaded now (checked in seconds, once a minute at most)."""
    return unreachable_model(ytqa.resolve_model(model))


def display_name(model: str) -> str:
    """A model as the model box names it (its name without the description)."""
    return MODEL_CHOICES.get(model, model).split(":")[0]


def model_help(strong: str | None) -> str:
    """What the choice means: with a strong model (the server's YTQA_STRONG_MODEL, e5 by
    default), the default is a progression, and the page should say so."""
    first = display_name(ytqa.DEFAULT_MODEL)
    if strong is None:
        return f"{first} answers by default. Any other choice indexes the videos again with that model."
    second = display_name(strong)
    return (f"The default answers at once with {first} while {second} indexes the video behind it; "
            f"from then on {second} answers, which finds the right moment more often and in any of its "
            "languages, and each answer says which model answered. Any other choice uses that model "
            "alone, for every video.")


def chosen_model(state: PageState, wanted: str, custom: bool) -> tuple[str, str | None]:
    """The model to use and, when the wanted one cannot be, why (the last good one is kept)."""
    if wanted == state.model_ok:
        return wanted, None
    current = display_name(state.model_ok)
    try:
        if custom:
            wanted = check_model_choice(wanted, ytqa.KNOWN_MODELS)
        reason = unreachable(wanted)
    except ytqa.YtqaError as error:
        return state.model_ok, f"{app_words(error)} The app keeps using {current}."
    if reason:
        return state.model_ok, (f"Cannot use {display_name(wanted)}: {reason}. The app keeps using "
                                f"{current}; choose another under Embedding model, or ask the "
                                "server's owner to download it once.")
    state.model_ok = wanted
    return wanted, None


def written_mb(folder: Path) -> int:
    """Megabytes under ``folder`` (what a model's first use has written so far)."""
    try:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) // 1_000_000
    except OSError:
        return 0


def prepare_work(model: str):
    """A model's first use (rebuilt, exported) as a job, its progress the megabytes written."""
    embedder = embedder_for(model)

    def work(progress):
        loading = threading.Thread(target=embedder.load, daemon=True, name=f"ytqa-job-load-{model}")
        folder, before = Path(embedder.cache_dir), written_mb(Path(embedder.cache_dir))
        expected = FIRST_USE_MB.get(model, 500)
        loading.start()
        while loading.is_alive():
            progress("preparing", min(written_mb(folder) - before, expected - 1), expected)
            time.sleep(0.5)
        return embedder.load()  # raises what loading raised, in words
    return work


@st.fragment(run_every=1.0)
def preparing(page: Page, key: tuple) -> None:
    """The model's preparation, until it is ready (then the page switches to it)."""
    job = page.jobs.get(key)
    if job is None:
        return
    job.watch()
    if job.running:
        st.progress(job.fraction, text=f"{job.label} Meanwhile the page uses {display_name(page.state.model_ok)}.")
    elif job.state == "done":
        st.rerun()


def ready(page: Page, model: str) -> bool:
    """Whether ``model`` is loaded; if not, it is prepared in the background, its progress
    shown, while the page keeps the model it has (a first use writes ~0.9 GB for e5)."""
    if embedder_for(model).is_loaded:
        return True
    key = ("model", model)
    job: Job | None = page.jobs.get(key)
    if job is not None and job.state == "failed":
        say("error", f"Cannot use {display_name(model)}: {app_words(job.error)} The app keeps using "
            f"{display_name(page.state.model_ok)}.")
        return False
    if job is None or not job.running:
        job = page.jobs.start(key, prepare_work(model))
    preparing(page, key)
    return False


def draw(page: Page) -> None:
    """The sidebar's top; sets the page's model, its library and moments per answer."""
    st.header("Library")
    signin.sidebar(page.person)  # whose library this is
    choice = st.selectbox("Embedding model", list(MODEL_CHOICES), format_func=MODEL_CHOICES.get, key="model_choice",
                          help=model_help(ytqa.default_strong(ytqa.DEFAULT_MODEL)))
    wanted = choice
    if choice == "custom":
        wanted = st.text_input("Hugging Face model id", placeholder="sentence-transformers/all-mpnet-base-v2",
                               key="custom_model", max_chars=200).strip() or page.state.model_ok
    previous = page.state.model_ok
    model, model_error = chosen_model(page.state, wanted, custom=choice == "custom")
    if model_error:
        say("error", model_error)
    elif model != previous:
        page.state.model_ok = previous  # until the new one is ready
        if ready(page, model):
            page.state.model_ok = model
        else:
            model = previous
    page.k = st.slider("Moments per answer", 1, 10, 5, key="k")
    try:
        page.library = ytqa.acting_as(library_for(page.config.data_dir, page.config.store, model), page.person)
    except ytqa.YtqaError as error:
        say("error", error)
        model = page.state.model_ok = ytqa.DEFAULT_MODEL
        page.library = ytqa.acting_as(library_for(page.config.data_dir, page.config.store, model), page.person)
    page.model = model
    serve_queue(page)  # openings and full indexes: through the store's queue, shared by its processes
