"""Which store a configured location names, and the stores registry behind ``open_store``."""

import pytest

from ragtune.config import RagtuneConfig
from ragtune.errors import ConfigError
from ragtune.index import LanceDBStore, open_store, store_kind, stores


@pytest.mark.parametrize(("location", "kind"), [
    ("lancedb", "lancedb"), ("postgresql://me@h:5432/db", "postgresql"), ("postgres://h/db", "postgresql"),
    ("mystore://bucket/x", "mystore"), ("nosuch", "nosuch")])
def test_store_kind(location, kind):
    assert store_kind(location) == kind


def test_open_store_looks_the_kind_up_in_the_registry(tmp_path, register_plugin):
    assert isinstance(open_store(RagtuneConfig.load({"home": str(tmp_path)})), LanceDBStore)
    with pytest.raises(ConfigError, match=r"unknown store 'mystore://bucket' \(use 'lancedb' or a postgresql:// URI\)"):
        open_store(RagtuneConfig.load({"store": "mystore://bucket"}))
    register_plugin(stores, "mystore", lambda config: ("mine", config.store))
    assert open_store(RagtuneConfig.load({"store": "mystore://bucket"})) == ("mine", "mystore://bucket")
