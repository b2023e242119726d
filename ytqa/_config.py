"""Every setting ytqa reads from the environment, read here and nowhere else.

    YTQA_DATA_DIR      the library folder (default ./data): FAISS files, exported models
    YTQA_STORE         where the library lives: a folder (the default: YTQA_DATA_DIR) or
                       postgresql://user:password@host:port/database (a shared server)
    YTQA_MODEL         the embedding model (minilm by default)
    YTQA_BACKEND       how it runs: torch, onnx, onnx-int8
    YTQA_STRONG_MODEL  the strong model whose index is built behind the first one's and takes
                       over once saved (e5 by default; none: the first model only)
    YTQA_MODEL_CACHE   where exported models are kept (default: <data dir>/models)
    YTQA_MODEL_FOLDERS local model folders the app's visitors may choose, separated by ':'
                       (none by default: visitors choose known names and Hugging Face ids;
                       the CLI, run by the machine's owner, takes any folder)
    YTQA_REQUEST_DELAY seconds between transcript requests when indexing a playlist or channel
    YTQA_PROXY         an HTTP(S) proxy for YouTube (YTQA_HTTP_PROXY / YTQA_HTTPS_PROXY apart)
    YTQA_WEBSHARE_USERNAME, YTQA_WEBSHARE_PASSWORD, YTQA_WEBSHARE_LOCATIONS
                       Webshare's rotating residential proxies
    YTQA_COOKIES       a cookies file (Netscape cookies.txt) sent to YouTube by both
                       youtube-transcript-api and yt-dlp (captions and listings)
    YTQA_CHAT_MODEL    the chat model that answers in words, provider:model (ollama:llama3.2,
                       openai:gpt-4o-mini, llamacpp:/path/model.gguf); none: the moments only
    YTQA_CHAT_BASE_URL its server, for a self-hosted OpenAI-compatible one or a remote Ollama
    YTQA_CHAT_API_KEY  its key, where the server wants one (OpenAI's own: also OPENAI_API_KEY)
    YTQA_CHAT_TIMEOUT  seconds an answer may take (default 120)
    YTQA_USER          the person the CLI acts as on a shared store (none: everyone is trusted)
    YTQA_ADMINS        the people who may delete, re-index, share and transfer any video,
                       separated by ','
    YTQA_GROUPS        named groups a holder may share a video with, NAME=person,person;NAME=...
                       (e.g. physics=ana@x.org,bob@x.org;lab=carol@x.org); checked where used
    YTQA_QUEUED_PER_PERSON  builds one person may have waiting or running at once (default 2)
    YTQA_RUNNING_PER_PERSON builds of one person run at once, across every process (default 2)
    YTQA_QUEUE_LEASE   seconds a process's claim on a build lasts unless renewed (default 60):
                       a process that ended has its builds taken over after this long

The CLI's flags override these; the app has no flags, so it uses them as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

DEFAULT_DATA_DIR = "data"


@dataclass(frozen=True)
class Proxy:
    """Proxy settings as the environment gives them (``ProxySettings`` is built from these)."""

    http_url: str | None = None
    https_url: str | None = None
    webshare_username: str | None = None
    webshare_password: str | None = None
    webshare_locations: tuple[str, ...] = ()

    @property
    def is_set(self) -> bool:
        return bool(self.http_url or self.https_url or self.webshare_username)


@dataclass(frozen=True)
class Config:
    data_dir: str = DEFAULT_DATA_DIR
    #: None: the library is the data folder; else a postgresql:// URL.
    store: str | None = None
    model: str | None = None
    backend: str | None = None
    #: The strong model of the front ends' progression (None: none).
    strong_model: str | None = "e5"
    model_cache: str | None = None
    #: Local model folders a visitor of the app may choose (YTQA_MODEL_FOLDERS).
    model_folders: tuple[str, ...] = ()
    proxy: Proxy = field(default_factory=Proxy)
    #: As given (checked where it is used, so the message can name it).
    request_delay: str | None = None
    #: A Netscape cookies.txt for YouTube (YTQA_COOKIES), checked where it is read.
    cookies: str | None = None
    #: The chat model that answers in words (None: none, the moments are the answer).
    chat_model: str | None = None
    chat_base_url: str | None = None
    chat_api_key: str | None = field(default=None, repr=False)  # never in a log
    #: As given (checked where it is used).
    chat_timeout: str | None = None
    #: The second look over the first stage's top passages (None: none): a judge setting,
    #: ``e5``, ``cross-encoder:HUB_ID``, ``chat`` (see ``_judge.judge_from_setting``).
    judge: str | None = None
    #: The person the CLI acts as (None: no one in particular, everything allowed, as ever).
    user: str | None = None
    #: The administrators of a shared store, by name.
    admins: tuple[str, ...] = ()
    #: YTQA_GROUPS as given (None: no groups); read into groups by ``_access.configured_groups``.
    groups: str | None = None
    #: The store's queue of builds: per person, waiting or running; running at once; a claim's lease.
    queued_per_person: str | None = None
    running_per_person: str | None = None
    queue_lease: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        proxy = get("YTQA_PROXY")
        return cls(
            data_dir=get("YTQA_DATA_DIR") or DEFAULT_DATA_DIR,
            store=get("YTQA_STORE"),
            model=get("YTQA_MODEL"),
            backend=get("YTQA_BACKEND"),
            strong_model=None if (get("YTQA_STRONG_MODEL") or "e5").lower() in ("none", "off", "0")
            else get("YTQA_STRONG_MODEL") or "e5",
            model_cache=get("YTQA_MODEL_CACHE"),
            model_folders=tuple(folder.strip() for folder in (get("YTQA_MODEL_FOLDERS") or "").split(os.pathsep)
                                if folder.strip()),
            request_delay=get("YTQA_REQUEST_DELAY"),
            cookies=get("YTQA_COOKIES"),
            chat_model=get("YTQA_CHAT_MODEL"),
            chat_base_url=get("YTQA_CHAT_BASE_URL"),
            chat_api_key=get("YTQA_CHAT_API_KEY"),
            chat_timeout=get("YTQA_CHAT_TIMEOUT"),
            judge=get("YTQA_JUDGE"),
            user=get("YTQA_USER"),
            admins=tuple(name.strip() for name in (get("YTQA_ADMINS") or "").split(",") if name.strip()),
            groups=get("YTQA_GROUPS"),
            queued_per_person=get("YTQA_QUEUED_PER_PERSON"),
            running_per_person=get("YTQA_RUNNING_PER_PERSON"),
            queue_lease=get("YTQA_QUEUE_LEASE"),
            proxy=Proxy(
                http_url=get("YTQA_HTTP_PROXY") or proxy,
                https_url=get("YTQA_HTTPS_PROXY") or proxy,
                webshare_username=get("YTQA_WEBSHARE_USERNAME"),
                webshare_password=get("YTQA_WEBSHARE_PASSWORD"),
                webshare_locations=tuple(
                    code.strip() for code in (get("YTQA_WEBSHARE_LOCATIONS") or "").split(",")
                    if code.strip()
                ),
            ),
        )

    def model_cache_dir(self, fallback: str | os.PathLike | None = None) -> Path:
        """YTQA_MODEL_CACHE, else ``fallback`` (the library's own), else <data dir>/models."""
        return Path(self.model_cache or fallback or Path(self.data_dir) / "models")


def current() -> Config:
    """The environment as it is now (read on every call: tests and the app may change it)."""
    return Config.from_env()

