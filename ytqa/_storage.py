"""Files under the data directory: atomic writes, verified reads, one writer at a time.

Every file is written to a temporary name and renamed into place, and an index is
built in a temporary folder renamed into place only when complete, so a crash at
any moment leaves either the old state or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells (threads may be writing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600; a file written in place would get 0666 less the umask.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(tmp, path)
        except IsADirectoryError:  # a folder where our file goes: damage, put aside
            remove_folder(path)
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: The largest JSON file read back (a catalog of many thousand videos is far smaller).
JSON_LIMIT = 512 << 20


def read_json(path: Path):
    """The parsed file, or None when it is missing, truncated, not JSON or not a plain file."""
    try:
        return json.loads(read_limited(Path(path), JSON_LIMIT).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_folder(tmp: Path, final: Path) -> bool:
    """Rename a finished folder into place; False if another writer got there first."""
    fsync_dir(tmp)
    try:
        os.rename(tmp, final)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        raise
    fsync_dir(final.parent)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(folder: Path) -> None:
    """Delete temporary files and folders whose writing process is gone.

    Called with the video's lock held, so no live writer of ours is mid-way; the pid
    check also spares other processes' work in progress.
    """
    for entry in Path(folder).glob(".*"):
        parts = entry.name.split("-")
        dotted = entry.name.split(".")
        if entry.name.startswith(".building-") and len(parts) > 2 and parts[1].isdigit():
            if _alive(int(parts[1])):
                continue
        elif entry.name.endswith(".tmp") and len(dotted) > 3 and dotted[-3].isdigit():
            if _alive(int(dotted[-3])):
                continue
        elif not entry.name.startswith(".trash-"):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


def remove_folder(path: Path) -> list[str]:
    """Move aside first, so a crash mid-delete never leaves a half folder in place.

    Returns what could not be removed, as "path (cause)" (empty: all of it). A symbolic
    link is removed itself; what it points to is never touched."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
        return []
    if not path.exists():
        return []
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}-{os.urandom(3).hex()}")
    os.rename(path, trash)
    problems: list[str] = []

    def failed(_function, where, info):
        problems.append(f"{where} ({getattr(info[1], 'strerror', None) or info[1]})")

    shutil.rmtree(trash, onerror=failed)
    return problems


def clean_trash(folder: Path) -> None:
    """Finish deletes that stopped half-way: ``.trash-*`` folders whose process is gone."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".trash-")]
    except OSError:
        return
    for name in names:
        parts = name.rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit() and _alive(int(parts[1])) and int(parts[1]) != os.getpid():
            continue
        shutil.rmtree(Path(folder) / name, ignore_errors=True)


def read_limited(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit`` (never a link, a device or a pipe):
    ``ValueError`` naming what it is instead."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError("it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("it is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"it is larger than {limit} bytes")
    return data


def kind_of(path: Path) -> str | None:
    """None when ``path`` is missing, else "folder", "file", "link" or "other" (never followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "missing parent"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "other"


#: How long a lock is waited for, by default, before giving up with who holds it.
LOCK_WAIT = 300.0
#: ... and when its holder is a stopped process (it will not let go by itself).
STOPPED_WAIT = 3.0


def _stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP, Ctrl-Z): Linux's /proc says so."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[0] in (b"T", b"t")
    except (OSError, IndexError):
        return False


def _holder(fd: int) -> tuple[str, int | None]:
    """Who holds the lock, as its holder wrote it: ("process 123 (indexing ...)", 123)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
        pid = int(data["pid"])
        since = time.time() - float(data.get("since", time.time()))
        doing = str(data.get("doing", ""))[:200]
        return f"process {pid}" + (f" ({doing}, for {since:.0f} s)" if doing else f" (for {since:.0f} s)"), pid
    except (OSError, ValueError, KeyError, TypeError):
        return "another process", None


@contextlib.contextmanager
def locked(path: Path, what: str = "", wait: float | None = None, notice=None, busy=None, doing: str = ""):
    """An exclusive lock between processes (and threads) on one video.

    The holder writes who it is into the lock file, so a process that has to wait says
    what it waits for (``notice``) and, after ``wait`` seconds (``STOPPED_WAIT`` when the
    holder is stopped), raises ``busy(holder, waited, stopped)`` (or ``LockTimeout``).
    ``wait=None`` waits as long as it takes."""
    path = Path(path)
    fd = _open_lock_file(path)
    try:
        _wait_for(fd, path, what, wait, notice, busy)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "doing": doing, "since": time.time()}).encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock_file(path: Path) -> int:
    """The lock file, opened (made if missing); ``CannotWrite`` where the disk refuses,
    ``StoreDamaged`` where something else is in its place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        import errno as codes

        from ._errors import CannotWrite, StoreDamaged

        if error.errno in (codes.EROFS, codes.ENOSPC, codes.EACCES, codes.EPERM,
                           getattr(codes, "EDQUOT", -1)):
            # The disk says no (read-only, full, not ours): not damage, nothing to remove.
            raise CannotWrite.from_os_error(error) from None
        kind, folder = kind_of(path), kind_of(path.parent)
        if folder not in (None, "folder"):
            raise StoreDamaged(str(path.parent), f"the folder of locks is a {folder}",
                               "Remove it (ytqa makes it again as a folder).") from None
        raise StoreDamaged(str(path), f"the lock file is a {kind}" if kind in ("folder", "link", "other")
                           else (error.strerror or str(error)),
                           "Remove it (ytqa makes it again as a plain file).") from None


def _wait_for(fd: int, path: Path, what: str, wait: float | None, notice, busy) -> None:
    """Take the lock on ``fd``, telling ``notice`` once who holds it; gives up after ``wait``."""
    started = time.monotonic()
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder, pid = _holder(fd)
            stopped = wait is not None and pid is not None and _stopped(pid)
            waited = time.monotonic() - started
            if wait is not None and waited >= (min(wait, STOPPED_WAIT) if stopped else wait):
                if busy is not None:
                    raise busy(holder, waited, stopped) from None
                from ._errors import LockTimeout

                raise LockTimeout(what or str(path), holder, waited, stopped) from None
            if notice is not None and not told and waited >= 0.5:
                told = True
                notice(f"waiting for {holder}, which holds {what or path}"
                       + (" and is stopped" if stopped else "")
                       + (f" (giving up after {wait:.0f} s)" if wait is not None else ""))
            time.sleep(0.05)
