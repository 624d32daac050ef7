"""Test helpers that watch what the store calls."""

from __future__ import annotations


def sizes_of_calls(monkeypatch, owner, name: str, position: int) -> list[int]:
    """Wrap ``owner.name`` so that each call records the length of its argument at ``position``; the list fills as
    the wrapped function is called."""
    sizes: list[int] = []
    original = getattr(owner, name)

    def recorded(*args, **kwargs):
        sizes.append(len(args[position]))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return sizes
