"""Index names: what a store, a key or a URL may call an index (also the folder name of a LanceDB index)."""

from __future__ import annotations

from ragtune.errors import InputError

_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def check_index_name(name: str) -> str:
    """Index names are 1-64 letters, digits, '-', '_' or '.', not starting with '.'."""
    if not name or len(name) > 64 or not set(name) <= _NAME_OK or name.startswith("."):
        raise InputError(f"invalid index name '{name}': use 1-64 letters, digits, '-', '_' or '.'")
    return name
