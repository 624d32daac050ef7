"""The one plugin registry: names, duplicates, entry points switched off by the suite."""

import pytest

from ragtune.errors import ConfigError
from ragtune.plugins import Registry, split_spec


def test_register_get_and_names():
    registry: Registry[int] = Registry("widget", "ragtune.widgets")
    registry.register("b", 2)
    registry.register("a-1", 1)
    assert registry.get("A-1") == 1 and registry.get("b") == 2
    assert registry.names() == ["a-1", "b"] and "b" in registry and "c" not in registry
    with pytest.raises(ConfigError, match="widget prefix 'b' is already registered"):
        registry.register("b", 3)
    registry.register("b", 3, replace=True)
    assert registry.get("b") == 3
    registry.unregister("b")
    assert registry.get("b") is None and registry.names() == ["a-1"]


@pytest.mark.parametrize("name", ["", "Upper", "has space", "-lead", "a:b"])
def test_bad_names_are_refused(name):
    with pytest.raises(ConfigError, match="use lowercase letters"):
        Registry("widget").register(name, 1)


def test_entry_points_are_off_in_the_suite(monkeypatch):
    import importlib.metadata

    calls = []
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: calls.append(kw) or [])
    registry = Registry("widget", "ragtune.widgets")
    assert registry.get("missing") is None and calls == []
    monkeypatch.setattr(Registry, "discover_entry_points", True)
    assert registry.get("missing") is None and calls == [{"group": "ragtune.widgets"}]


def test_split_spec():
    assert split_spec(" OpenAI:gpt-4o@http://h:1/v1 ") == ("openai", "gpt-4o@http://h:1/v1")
    assert split_spec("local") == ("local", "")
