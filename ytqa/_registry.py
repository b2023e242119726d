"""One registry per plug-in kind: a plug-in is registered under a name with aliases (and, for
stores, URL schemes), and looked up by any of them.

A plug-in may be registered as ``"package.module:attribute"``: it is imported on first
lookup, so a registry (and the factory that uses it) never imports the modules it names.
"""

from __future__ import annotations

import importlib
import threading
from typing import Generic, Iterable, TypeVar

from ._errors import UnknownPlugin

T = TypeVar("T")


class Registry(Generic[T]):
    """Plug-ins of one ``kind`` ("embedding model", "store", ...), by name, alias or URL scheme."""

    def __init__(self, kind: str, register: str, group: str | None = None):
        """``register``: the public function that adds one (named by the error for an unknown one).
        ``group``: the entry-point group in which installed packages declare plug-ins of this
        kind (as ``llm``'s do); they are registered by name on the first lookup of a name
        not registered, so a setting alone names them."""
        self.kind, self.register_with, self.group = kind, register, group
        self._declared_read = group is None
        self._plugins: dict[str, T | str] = {}
        self._names: dict[str, str] = {}  # a name or alias -> its name
        self._schemes: dict[str, str] = {}  # a URL scheme -> its name
        self._lock = threading.Lock()

    def register(self, name: str, plugin: T | str, aliases: Iterable[str] = (), schemes: Iterable[str] = ()) -> T | str:
        """Add ``plugin`` under ``name``; ``ValueError`` when a name, alias or scheme is taken."""
        aliases, schemes = [name, *aliases], list(schemes)
        with self._lock:
            taken = [a for a in aliases if a in self._names] + [s for s in schemes if s in self._schemes]
            if taken:
                raise ValueError(f"a {self.kind} is registered as {taken[0]!r} already; unregister it first")
            self._plugins[name] = plugin
            self._names.update((alias, name) for alias in aliases)
            self._schemes.update((scheme, name) for scheme in schemes)
        return plugin

    def unregister(self, name: str) -> None:
        """Remove the plug-in of that name (or alias) with its aliases and schemes."""
        with self._lock:
            name = self._names.get(name, name)
            self._plugins.pop(name, None)
            self._names = {a: n for a, n in self._names.items() if n != name}
            self._schemes = {s: n for s, n in self._schemes.items() if n != name}

    def names(self) -> list[str]:
        """The registered names, in the order they were registered (aliases left out)."""
        return list(self._plugins)

    def aliases(self, name: str) -> list[str]:
        """The aliases of the plug-in registered as ``name``, sorted (its name left out)."""
        return sorted(a for a, n in self._names.items() if n == name and a != name)

    def name_of(self, name: str) -> str | None:
        """The registered name that ``name`` (a name or an alias) stands for, or None."""
        return self._names.get(name)

    def find(self, name: str) -> T | None:
        """The plug-in registered under ``name`` or an alias of it (or declared by an
        installed package), or None."""
        found = self._names.get(name)
        if found is None and self._read_declared():
            found = self._names.get(name)
        return None if found is None else self._load(found)

    def _read_declared(self) -> bool:
        """Registers, once, the plug-ins installed packages declare in ``group``
        (``name = "package.module:attribute"``, imported on first use); True if any."""
        if self._declared_read:
            return False
        self._declared_read = True
        from importlib.metadata import entry_points

        added = False
        for point in entry_points(group=self.group):
            if point.name not in self._names:
                self.register(point.name, point.value)
                added = True
        return added

    def get(self, name: str) -> T:
        """The plug-in of ``name`` or an alias; ``UnknownPlugin`` (naming the known ones) if none."""
        found = self.find(name)
        if found is None:
            raise UnknownPlugin(self.kind, name, self.names(), self.register_with)
        return found

    def for_url(self, location: str) -> T | None:
        """The plug-in registered for the scheme of ``location`` (``scheme://...``), or None."""
        scheme, sep, _ = location.partition("://") if isinstance(location, str) else ("", "", "")
        found = self._schemes.get(scheme) if sep else None
        return None if found is None else self._load(found)

    def _load(self, name: str) -> T:
        plugin = self._plugins[name]
        if isinstance(plugin, str):  # "module:attribute", imported on first use
            module, _, attribute = plugin.partition(":")
            plugin = getattr(importlib.import_module(module), attribute)
            with self._lock:
                if self._plugins.get(name) is not None:
                    self._plugins[name] = plugin
        return plugin
