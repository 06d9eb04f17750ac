"""One registry pattern for everything chosen by name: models, inference backends, export formats.

A :class:`Registry` maps names (and aliases) to items. It is open: the package registers its
built-in items, and anyone may ``register`` more (a third party's model configuration, engine
adapter or export format) without editing this package. Built-ins that are expensive to define
are registered by a ``builtins`` callback run on the first lookup.
"""
from __future__ import annotations

from typing import Callable, Dict, Generic, Iterator, List, Optional, Sequence, TypeVar

from .errors import ConfigError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named items of one ``kind`` (used in error messages, e.g. ``"export format"``)."""

    def __init__(self, kind: str, builtins: Optional[Callable[[], None]] = None) -> None:
        self.kind = kind
        self._items: Dict[str, T] = {}
        self._aliases: Dict[str, str] = {}
        self._builtins = builtins

    def _load_builtins(self) -> None:
        if self._builtins is not None:
            load, self._builtins = self._builtins, None
            load()

    def register(self, name: str, item: T, *, aliases: Sequence[str] = (), replace: bool = False) -> T:
        """Add ``item`` under ``name`` (and ``aliases``); ``replace=True`` overrides an existing one."""
        if not replace and (name in self._items or name in self._aliases):
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        for alias in aliases:
            self._aliases[alias] = name
        return item

    def unregister(self, name: str) -> None:
        """Remove ``name`` and its aliases (a no-op for unknown names)."""
        self._items.pop(name, None)
        for alias in [a for a, n in self._aliases.items() if n == name]:
            del self._aliases[alias]

    def get(self, name: str) -> T:
        """The item registered as ``name`` or an alias; :class:`ConfigError` lists the known names."""
        self._load_builtins()
        key = self._aliases.get(name, name) if isinstance(name, str) else name
        try:
            return self._items[key]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}") from None

    def names(self) -> List[str]:
        """Registered names, in registration order."""
        self._load_builtins()
        return list(self._items)

    def values(self) -> List[T]:
        """Registered items, in registration order."""
        self._load_builtins()
        return list(self._items.values())

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
