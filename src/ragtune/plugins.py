"""One registry mechanism for every kind of plugin: generators, embedders, rerankers, stores and tuners.

A ``Registry`` maps a lowercase name (the prefix of a spec such as ``openai:gpt-4o`` or ``tuned:intents@v2``)
to a factory. Built-ins are registered explicitly by the layer that owns them; third-party packages add names
through the registry's entry-point group (``ragtune.generators``, ``ragtune.embedders`` ...), loaded on first
lookup of a name nobody registered. ``Registry.discover_entry_points = False`` turns discovery off (tests do).
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import ClassVar, Generic, Iterator, TypeVar

from ragtune.errors import ConfigError

T = TypeVar("T")

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class Registry(Generic[T]):
    """Named factories of one kind of plugin, with entry-point discovery for the names nobody registered."""

    discover_entry_points: ClassVar[bool] = True

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._factories: dict[str, T] = {}

    def register(self, name: str, factory: T, *, replace: bool = False) -> None:
        """Make ``name`` build with ``factory``; a taken name is a ``ConfigError`` unless ``replace``."""
        if not _NAME.fullmatch(name or ""):
            raise ConfigError(f"{self.kind} prefix '{name}': use lowercase letters, digits, '-' or '_'")
        if name in self._factories and not replace:
            raise ConfigError(f"{self.kind} prefix '{name}' is already registered")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Forget ``name`` (nothing happens when it is not registered)."""
        self._factories.pop(name, None)

    def get(self, name: str) -> T | None:
        """The factory registered as ``name``, else one an installed package offers under it, else None."""
        name = (name or "").lower()
        if name in self._factories:
            return self._factories[name]
        factory = self._from_entry_points(name) if name else None
        if factory is not None:
            self._factories[name] = factory
        return factory

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _from_entry_points(self, name: str) -> T | None:
        if not (self.entry_point_group and self.discover_entry_points):
            return None
        for ep in importlib.metadata.entry_points(group=self.entry_point_group):
            if ep.name == name:
                return ep.load()
        return None


def split_spec(spec: str) -> tuple[str, str]:
    """``"prefix:rest"`` as ``(prefix lowercased, rest)``; a spec without a colon is all prefix."""
    prefix, _, rest = (spec or "").strip().partition(":")
    return prefix.strip().lower(), rest.strip()
