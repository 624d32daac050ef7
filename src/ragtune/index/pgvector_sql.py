"""The SQL side of the PostgreSQL store: the schema, each index's chunk table, and the statements the store runs.

Filters become SQL conditions here (a ``source`` glob becomes an anchored regular expression), and a stemmer
name becomes a text search configuration. See ``ragtune.index.pgvector`` for the layout and the atomicity.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from ragtune.errors import ConfigError
from ragtune.index.base import ChunkRecord, Filters
from ragtune.index.base import glob_regex as glob_to_regex

SCHEMA_LOCK = 0x7261677475  # advisory lock key: one process bootstraps the schema at a time

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS ragtune_indexes (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    manifest jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS ragtune_docs (
    index_id bigint NOT NULL REFERENCES ragtune_indexes(id) ON DELETE CASCADE,
    doc_id text NOT NULL,
    source text NOT NULL,
    origin text NOT NULL,
    hash text NOT NULL,
    version bigint NOT NULL,
    chunks bigint NOT NULL,
    doc_type text NOT NULL,
    metadata jsonb NOT NULL,
    updated_at text NOT NULL,
    PRIMARY KEY (index_id, doc_id)
);
"""

CHUNK_COLUMNS = ("chunk_id", "doc_id", "position", "text", "start_char", "end_char", "page", "headings", "source",
                 "doc_type", "metadata")

DOC_COLUMNS = ("doc_id", "source", "origin", "hash", "version", "chunks", "doc_type", "metadata", "updated_at")

INSERT_DOC = (f"INSERT INTO ragtune_docs (index_id, {', '.join(DOC_COLUMNS)}) "
              f"VALUES (%s, {', '.join(['%s'] * len(DOC_COLUMNS))})")

SELECT_DOCS = f"SELECT {', '.join(DOC_COLUMNS)} FROM ragtune_docs WHERE index_id = %s ORDER BY doc_id"

UPDATE_MANIFEST = "UPDATE ragtune_indexes SET manifest = %s WHERE id = %s"


def chunk_table(index_id: int) -> str:
    """The name of an index's chunk table."""
    return f"ragtune_chunks_{int(index_id)}"


def create_chunk_table(cur, table: str, dim: int) -> None:
    """Create an index's chunk table with its doc, full-text (GIN) and vector (HNSW, cosine) indexes."""
    cur.execute(f"""
        CREATE TABLE {table} (
            chunk_id text PRIMARY KEY, doc_id text NOT NULL, position integer NOT NULL, text text NOT NULL,
            start_char bigint NOT NULL, end_char bigint NOT NULL, page integer, headings text[] NOT NULL,
            source text NOT NULL, doc_type text NOT NULL, metadata jsonb NOT NULL,
            embedding vector({int(dim)}) NOT NULL, tsv tsvector NOT NULL)""")
    cur.execute(f"CREATE INDEX {table}_doc ON {table} (doc_id)")
    cur.execute(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)")
    cur.execute(f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)")


def insert_chunks(table: str) -> str:
    """The statement adding one chunk row: its columns, its vector, then text search config and text for ``tsv``."""
    return (f"INSERT INTO {table} ({', '.join(CHUNK_COLUMNS)}, embedding, tsv) VALUES "
            f"({', '.join(['%s'] * len(CHUNK_COLUMNS))}, %s, to_tsvector(%s::regconfig, %s))")


def rebuild_embeddings(cur, table: str, dim: int, chunk_ids: Sequence[str], vectors: np.ndarray) -> None:
    """Replace the embedding column with one of ``dim`` dimensions holding ``vectors``, and rebuild its index."""
    cur.execute(f"DROP INDEX IF EXISTS {table}_hnsw")
    cur.execute(f"ALTER TABLE {table} DROP COLUMN embedding")
    cur.execute(f"ALTER TABLE {table} ADD COLUMN embedding vector({int(dim)})")
    if chunk_ids:
        cur.executemany(f"UPDATE {table} SET embedding = %s WHERE chunk_id = %s",
                        [(vec, cid) for cid, vec in zip(chunk_ids, vectors)])
    cur.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET NOT NULL")
    cur.execute(f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)")


def dense_query(table: str, where: str) -> str:
    """Chunks by cosine distance to a vector; parameters: the vector, the filter's, the limit."""
    return (f"SELECT chunk_id, embedding <=> %s AS distance FROM {table} WHERE true{where} "
            "ORDER BY distance LIMIT %s")


def lexical_query(table: str, where: str) -> str:
    """Chunks matching any query word (an OR of the query's lexemes), ranked by cover density.

    Parameters: the text search configuration, the query, the filter's, the limit.
    """
    return ("WITH q AS (SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | ')) AS tsq "
            "FROM unnest(tsvector_to_array(to_tsvector(%s::regconfig, %s))) AS lexeme) "
            f"SELECT chunk_id, ts_rank_cd(tsv, q.tsq, 1) AS score FROM {table}, q "
            f"WHERE tsv @@ q.tsq{where} ORDER BY score DESC, chunk_id LIMIT %s")


def chunk_record(row: Sequence[Any]) -> ChunkRecord:
    """A chunk row (``CHUNK_COLUMNS``) as a ``ChunkRecord``."""
    cid, doc_id, position, text, start, end, page, headings, source, doc_type, metadata = row
    return ChunkRecord(chunk_id=cid, doc_id=doc_id, position=position, text=text, start=start, end=end, page=page,
                       headings=tuple(headings or ()), source=source, doc_type=doc_type, metadata=metadata or {})


def text_search_config(stemmer: str) -> str:
    """The PostgreSQL text search configuration for a Snowball stemmer name ('' means no stemming)."""
    name = (stemmer or "simple").lower()
    if not re.fullmatch(r"[a-z_]+", name):
        raise ConfigError(f"index.stemmer '{stemmer}': not a text search configuration name")
    return name


def filter_sql(filters: Filters | None) -> tuple[str, list[Any]]:
    """A SQL condition (prefixed with AND) and its parameters for ``filters`` over the chunk table."""
    if not filters:
        return "", []
    parts: list[str] = []
    params: list[Any] = []
    if filters.source:
        regex = glob_to_regex(filters.source)
        parts.append("(source ~ %s OR regexp_replace(source, '^.*/', '') ~ %s)")
        params += [regex, regex]
    if filters.types:
        parts.append("doc_type = ANY(%s)")
        params.append(list(filters.types))
    for key, want in filters.metadata.items():
        parts.append("metadata ->> %s = %s")
        params += [key, str(want)]
    return " AND " + " AND ".join(parts), params


def redact(uri: str) -> str:
    """``uri`` with its password replaced by ``***``."""
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", uri)


def writer_lock_key(name: str) -> int:
    """The advisory lock key of an index's writer lock (a signed 64-bit hash of its name)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"ragtune-writer:{name}".encode()).digest()[:8], "big", signed=True)


def wait_for_advisory_lock(conn, key: int, name: str, timeout: float) -> None:
    """Take the session advisory lock ``key``, waiting up to ``timeout`` seconds (saying so once); ``IndexBusyError``."""
    import logging
    import time

    from ragtune.errors import IndexBusyError

    if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        return
    logging.getLogger("ragtune.index").warning(
        "index '%s' is being written by another process; waiting up to %g s for it (setting index.lock_timeout_s)",
        name, timeout)
    deadline, pause = time.monotonic() + timeout, 0.01
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise IndexBusyError(f"index '{name}' is still being written by another process after {timeout:g} s; "
                                 "nothing was changed. Try again when it has finished, or raise index.lock_timeout_s")
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.2)
