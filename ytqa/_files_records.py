"""The store's records on files: one JSON file a record, ``<folder>/<key>.json``.

The layout is the one ytqa always had (``collections/<key>.json``, ``app/histories/<token>.json``),
so an existing library keeps its collections and histories. A change is read, made and
written under the record's own lock file (``.<key>.lock``), the file replaced atomically.
Every path is ``<folder>/<key>.json`` for a key checked by ``valid_key``, never one read
from a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from . import _storage as storage
from ._errors import RecordDamaged, YtqaError
from ._store import valid_key

#: Where each kind of record lives under the library's folder (others: ``records/<kind>``).
FOLDERS = {"collections": "collections", "histories": "app/histories"}


def folder_of(root: str | os.PathLike, kind: str) -> Path:
    return Path(root) / FOLDERS.get(kind, f"records/{kind}")


class FileRecords:
    """``Records`` in one folder (``kind`` names them in messages)."""

    def __init__(self, folder: str | os.PathLike, kind: str = "records"):
        self.folder = Path(folder)
        self.kind = kind

    def path(self, key: str) -> Path:
        if not valid_key(key):
            from ._transcript import clean_text

            noun = "collection" if self.kind == "collections" else "record"
            raise YtqaError(f"{clean_text(repr(key))[:80]} is not a {noun} key (letters, digits, "
                            f"_ . @ -): ytqa reads and writes {self.kind} only inside its folder.")
        return self.folder / f"{key}.json"

    def where(self, key: str) -> str:
        return str(self.path(key))

    def _read(self, key: str):
        path = self.path(key)
        if storage.kind_of(path) is None:
            return None
        data = storage.read_json(path)
        if data is None:
            raise RecordDamaged(str(path), "it is not readable JSON")
        return data

    def get(self, key: str):
        return self._read(key)

    def update(self, key: str, change: Callable):
        path = self.path(key)
        with storage.locked(path.with_name(f".{key}.lock")):
            try:
                before = self._read(key)
            except RecordDamaged:
                before = None  # the change writes over it
            after = change(before)
            if after is None:
                path.unlink(missing_ok=True)
            else:
                storage.write_atomic(path, json.dumps(after, ensure_ascii=False, indent=1))
            return after

    def keys(self) -> list[str]:
        if storage.kind_of(self.folder) != "folder":
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if valid_key(p.stem))

    def strays(self) -> list[Path]:
        """Files in the folder whose name is not a key (named, never read)."""
        if storage.kind_of(self.folder) != "folder":
            return []
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith(".") and not valid_key(p.stem))

    def remove(self, key: str) -> None:
        path = self.path(key)
        with storage.locked(path.with_name(f".{key}.lock")):
            path.unlink(missing_ok=True)
