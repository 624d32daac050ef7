"""Stores: the embedded LanceDB default, or PostgreSQL + pgvector by URI.

``config.store`` names a store: ``store_kind`` reads which kind (``lancedb``, ``postgresql`` for a
``postgresql://`` or ``postgres://`` URI, the scheme of any other URI) and ``stores`` (a ``ragtune.plugins.Registry``,
entry-point group ``ragtune.stores``) maps the kind to a factory called as ``factory(config)``.
"""

from __future__ import annotations

from typing import Callable

from ragtune.config import RagtuneConfig
from ragtune.errors import ConfigError
from ragtune.index.base import (ChunkRecord, CommittedInterrupt, DocRecord, DocumentChange, Filters, IndexManifest,
                               IngestEvent, Store)
from ragtune.index.lancedb import LanceDBStore
from ragtune.index.names import check_index_name
from ragtune.plugins import Registry

__all__ = ["ChunkRecord", "CommittedInterrupt", "DocRecord", "DocumentChange", "Filters", "IndexManifest", "IngestEvent",
           "LanceDBStore", "Store", "StoreFactory", "check_index_name", "open_store", "store_kind", "stores"]

StoreFactory = Callable[[RagtuneConfig], Store]

stores: Registry[StoreFactory] = Registry("store", "ragtune.stores")


def store_kind(location: str) -> str:
    """The kind of store a configured location names: ``postgresql`` for a ``postgresql://`` or ``postgres://``
    URI, the scheme of any other ``scheme://`` URI, else the location itself (``lancedb``)."""
    scheme, sep, _ = location.partition("://")
    if not sep:
        return location
    return "postgresql" if scheme == "postgres" else scheme


def _lancedb(config: RagtuneConfig) -> Store:
    return LanceDBStore(config.home, config.index)


def _postgresql(config: RagtuneConfig) -> Store:
    try:
        from ragtune.index.pgvector import PgVectorStore
    except ImportError as exc:
        raise ConfigError("the PostgreSQL store needs: pip install 'ragtune[postgres]'") from exc
    return PgVectorStore(config.store, config.index)


stores.register("lancedb", _lancedb)
stores.register("postgresql", _postgresql)


def open_store(config: RagtuneConfig) -> Store:
    """The store named by ``config.store``: ``lancedb``, a ``postgresql://`` URI, or a kind a package registers."""
    factory = stores.get(store_kind(config.store))
    if factory is None:
        raise ConfigError(f"unknown store '{config.store}' (use 'lancedb' or a postgresql:// URI)")
    return factory(config)
