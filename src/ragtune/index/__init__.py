"""Stores: the embedded LanceDB default, or PostgreSQL + pgvector by URI."""

from __future__ import annotations

from ragtune.config import RagtuneConfig
from ragtune.errors import ConfigError
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, Filters, IndexManifest, IngestEvent, Store
from ragtune.index.lancedb import LanceDBStore
from ragtune.index.names import check_index_name

__all__ = ["ChunkRecord", "DocRecord", "DocumentChange", "Filters", "IndexManifest", "IngestEvent", "LanceDBStore",
           "Store", "check_index_name", "open_store"]


def open_store(config: RagtuneConfig) -> Store:
    """The store named by ``config.store``: ``lancedb`` or a ``postgresql://`` URI."""
    if config.store == "lancedb":
        return LanceDBStore(config.home, config.index)
    if config.store.startswith(("postgresql://", "postgres://")):
        try:
            from ragtune.index.pgvector import PgVectorStore
        except ImportError as exc:
            raise ConfigError("the PostgreSQL store needs: pip install 'ragtune[postgres]'") from exc
        return PgVectorStore(config.store, config.index)
    raise ConfigError(f"unknown store '{config.store}' (use 'lancedb' or a postgresql:// URI)")
