"""The server store: PostgreSQL with pgvector, for many readers and writers on many machines.

Point ``RAGTUNE_STORE`` at any PostgreSQL database where the ``vector`` extension is installed (or can be
created). Layout, all in that database:

- ``ragtune_indexes``: one row per index (``id``, ``name``, ``manifest`` as JSONB, the committed state);
- ``ragtune_docs``: the document records of every index (keyed by index id and ``doc_id``);
- ``ragtune_chunks_<id>``: one table per index, because a pgvector column has a fixed dimension. Each chunk
  row carries its text, citation fields, ``metadata`` (JSONB), ``embedding vector(d)`` with an HNSW index
  (cosine), and ``tsv tsvector`` (headings and text) with a GIN index.

Atomicity: ``commit`` is one transaction. It locks the index row (one writer per index at a time), deletes
the replaced documents' chunks, inserts the new ones, and writes the new manifest; readers run each query
on one MVCC snapshot, so they see the index before or after a commit, never a mix. A writer that dies
part-way rolls back and leaves nothing behind.

Lexical search ranks with ``ts_rank_cd`` over the index's text search configuration (Snowball ``english``
by default, from ``IndexConfig.stemmer``); a chunk matching any query word is a candidate, as with BM25.
Dense search orders by cosine distance (``<=>``); filtered queries use pgvector's iterative index scans so
that a filter never starves the result list. The schema and the statements are in ``ragtune.index.pgvector_sql``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from ragtune.common import utc_now
from ragtune.config import IndexConfig
from ragtune.embeddings.base import EmbedderInfo
from ragtune.errors import ChunkNotFoundError, ConfigError, InputError, StoreError
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, Filters, IndexManifest, IngestEvent
from ragtune.index.base import check_generation, check_query_vector, index_not_found, replacement_vectors
from ragtune.index.names import check_index_name
from ragtune.index.pgvector_sql import (
    CHUNK_COLUMNS,
    INSERT_DOC,
    SCHEMA,
    SCHEMA_LOCK,
    SELECT_DOCS,
    UPDATE_MANIFEST,
    chunk_record,
    chunk_table,
    create_chunk_table,
    dense_query,
    filter_sql,
    glob_to_regex,
    insert_chunks,
    lexical_query,
    rebuild_embeddings,
    text_search_config,
    wait_for_advisory_lock,
    writer_lock_key,
)
from ragtune.index.pgvector_sql import redact as _redact

__all__ = ["PgVectorStore", "glob_to_regex", "text_search_config"]


class PgVectorStore:
    """Named indexes in a PostgreSQL database with pgvector (see the module docstring)."""

    embedded = False

    def __init__(self, uri: str, config: IndexConfig | None = None) -> None:
        if not uri.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"store URI '{_redact(uri)}': expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
        self.uri = uri
        self.config = config or IndexConfig()
        self.text_config = text_search_config(self.config.stemmer)
        self._local = threading.local()
        self._connections: list[Any] = []
        self._guard = threading.Lock()
        self._ready = False

    # -- connections ---------------------------------------------------------
    def _connect(self):
        try:
            import psycopg
            from pgvector.psycopg import register_vector
        except ImportError as exc:
            raise ConfigError("the PostgreSQL store needs: pip install 'ragtune[postgres]'") from exc
        try:
            conn = psycopg.connect(self.uri, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {_redact(self.uri)}: {str(exc).strip()}") from exc
        if not self._ready:
            with self._guard:
                if not self._ready:
                    self._bootstrap(conn)
                    self._ready = True
        register_vector(conn)
        conn.execute("SET hnsw.iterative_scan = strict_order")
        return conn

    def _bootstrap(self, conn) -> None:
        import psycopg

        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                conn.execute(SCHEMA)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ConfigError(f"PostgreSQL at {_redact(self.uri)}: cannot create the vector extension or the ragtune "
                              f"tables ({str(exc).strip()}); ask an administrator for CREATE EXTENSION vector") from exc
        except psycopg.errors.FeatureNotSupported as exc:
            raise ConfigError(f"PostgreSQL at {_redact(self.uri)} has no pgvector: install the extension") from exc

    @property
    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._connect()
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A cursor on this thread's connection; database errors become ``StoreError``."""
        import psycopg

        conn = self._conn
        try:
            with conn.cursor() as cur:
                yield cur
        except psycopg.errors.UndefinedTable as exc:
            raise StoreError(f"an index table vanished while it was read (dropped concurrently?): {exc}") from exc
        except psycopg.OperationalError as exc:
            conn.close()
            raise StoreError(f"PostgreSQL at {_redact(self.uri)}: {str(exc).strip()}") from exc

    def close(self) -> None:
        """Close every connection this store opened (any thread)."""
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- helpers ---------------------------------------------------------------
    def _row(self, cur, name: str, lock: bool = False) -> tuple[int, IndexManifest]:
        check_index_name(name)
        cur.execute("SELECT id, manifest FROM ragtune_indexes WHERE name = %s" + (" FOR UPDATE" if lock else ""), (name,))
        row = cur.fetchone()
        if row is None:
            raise index_not_found(name, self.list_indexes())
        try:
            return row[0], IndexManifest.model_validate(row[1])
        except ValueError as exc:
            raise StoreError(f"index '{name}': unreadable manifest in PostgreSQL: {exc}") from exc

    # -- the Store protocol ------------------------------------------------------
    def list_indexes(self) -> list[str]:
        with self._cursor() as cur:
            cur.execute("SELECT name FROM ragtune_indexes ORDER BY name")
            return [r[0] for r in cur.fetchall()]

    def exists(self, name: str) -> bool:
        check_index_name(name)
        with self._cursor() as cur:
            cur.execute("SELECT 1 FROM ragtune_indexes WHERE name = %s", (name,))
            return cur.fetchone() is not None

    def damaged_indexes(self) -> dict[str, str]:
        """Indexes whose manifest row cannot be read (commits are transactions: nothing else is left half-written)."""
        with self._cursor() as cur:
            cur.execute("SELECT name, manifest FROM ragtune_indexes ORDER BY name")
            rows = cur.fetchall()
        found = {}
        for name, data in rows:
            try:
                IndexManifest.model_validate(data)
            except ValueError:
                found[name] = "its manifest is damaged"
        return found

    @contextmanager
    def writing(self, name: str) -> Iterator[None]:
        """Hold the index's writer lock (a session advisory lock on this thread's connection; re-entrant there)."""
        key = writer_lock_key(check_index_name(name))
        conn = self._conn
        wait_for_advisory_lock(conn, key, name, self.config.lock_timeout_s)
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def create(self, manifest: IndexManifest, provisional: bool = False) -> IndexManifest:
        """A new empty index (created in one transaction; ``provisional`` changes nothing here)."""
        import psycopg
        from psycopg.types.json import Jsonb

        check_index_name(manifest.name)
        manifest.backend = {"text_config": self.text_config}
        conn = self._conn
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("INSERT INTO ragtune_indexes (name, manifest) VALUES (%s, %s) RETURNING id",
                            (manifest.name, Jsonb(manifest.model_dump(mode="json"))))
                index_id = cur.fetchone()[0]
                table = chunk_table(index_id)
                manifest.backend["table"] = table
                create_chunk_table(cur, table, manifest.embedder.dimension)
                cur.execute(UPDATE_MANIFEST, (Jsonb(manifest.model_dump(mode="json")), index_id))
        except psycopg.errors.UniqueViolation as exc:
            raise InputError(f"index '{manifest.name}' already exists") from exc
        except psycopg.Error as exc:
            raise StoreError(f"cannot create index '{manifest.name}' in PostgreSQL: {str(exc).strip()}") from exc
        return manifest

    def drop(self, name: str) -> None:
        conn = self._conn
        with conn.transaction(), conn.cursor() as cur:
            index_id, _ = self._row(cur, name, lock=True)
            cur.execute("DELETE FROM ragtune_indexes WHERE id = %s", (index_id,))
            cur.execute(f"DROP TABLE IF EXISTS {chunk_table(index_id)}")

    def manifest(self, name: str) -> IndexManifest:
        with self._cursor() as cur:
            return self._row(cur, name)[1]

    def documents(self, name: str) -> list[DocRecord]:
        with self._cursor() as cur:
            index_id, _ = self._row(cur, name)
            cur.execute(SELECT_DOCS, (index_id,))
            return [DocRecord(doc_id=r[0], source=r[1], origin=r[2], hash=r[3], version=r[4], chunks=r[5], doc_type=r[6],
                              metadata=r[7] or {}, updated_at=r[8]) for r in cur.fetchall()]

    def commit(self, name: str, upserts: Sequence[DocumentChange], deletes: Sequence[str], event: IngestEvent) -> IndexManifest:
        import psycopg
        from psycopg.types.json import Jsonb

        conn = self._conn
        try:
            with conn.transaction(), conn.cursor() as cur:
                index_id, manifest = self._row(cur, name, lock=True)  # one writer per index from here on
                self._write_documents(cur, name, index_id, manifest, upserts, deletes)
                cur.execute(f"SELECT (SELECT count(*) FROM {chunk_table(index_id)}), "
                            "(SELECT count(*) FROM ragtune_docs WHERE index_id = %s)", (index_id,))
                chunks, documents = cur.fetchone()
                event.chunks = chunks
                manifest.generation += 1
                manifest.updated_at = utc_now()
                manifest.documents, manifest.chunks = documents, chunks
                event.apply_to(manifest)
                cur.execute(UPDATE_MANIFEST, (Jsonb(manifest.model_dump(mode="json")), index_id))
        except psycopg.errors.UniqueViolation as exc:
            raise InputError(f"index '{name}': duplicate chunk id in one commit ({exc.diag.message_detail})") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL at {_redact(self.uri)}: commit to '{name}' failed, nothing was changed: "
                             f"{str(exc).strip()}") from exc
        return manifest

    def _write_documents(self, cur, name: str, index_id: int, manifest: IndexManifest, upserts: Sequence[DocumentChange],
                         deletes: Sequence[str]) -> None:
        """Inside a commit's transaction: delete the replaced and removed documents, insert the upserted ones."""
        from psycopg.types.json import Jsonb

        table, dim = chunk_table(index_id), manifest.embedder.dimension
        tsconfig = manifest.backend.get("text_config", self.text_config)
        for u in upserts:
            if u.chunks and np.asarray(u.vectors).shape != (len(u.chunks), dim):
                raise StoreError(f"index '{name}' holds {dim}-d vectors; document '{u.record.doc_id}' "
                                 f"came with an array of shape {np.asarray(u.vectors).shape}")
        gone = sorted(set(deletes) | {u.record.doc_id for u in upserts})
        if gone:
            cur.execute(f"DELETE FROM {table} WHERE doc_id = ANY(%s)", (gone,))
            cur.execute("DELETE FROM ragtune_docs WHERE index_id = %s AND doc_id = ANY(%s)", (index_id, gone))
        rows = [(c.chunk_id, c.doc_id, c.position, c.text, c.start, c.end, c.page, list(c.headings), c.source,
                 c.doc_type, Jsonb(c.metadata), np.asarray(vec, dtype=np.float32), tsconfig, c.index_text)
                for u in upserts for c, vec in zip(u.chunks, u.vectors)]
        if rows:
            cur.executemany(insert_chunks(table), rows)
        if upserts:
            cur.executemany(INSERT_DOC, [
                (index_id, u.record.doc_id, u.record.source, u.record.origin, u.record.hash, u.record.version,
                 len(u.chunks), u.record.doc_type, Jsonb(u.record.metadata), u.record.updated_at or utc_now())
                for u in upserts])

    def replace_vectors(self, name: str, embedder: EmbedderInfo, chunk_ids: Sequence[str], vectors: np.ndarray,
                        generation: int) -> IndexManifest:
        """Swap every chunk's vector and the recorded embedder in one transaction (see ``ragtune.index.base``).

        The embedding column is rebuilt at the new dimension with its HNSW index; readers keep the old vectors
        until the transaction commits. Text, documents and the full-text index are untouched.
        """
        import psycopg
        from psycopg.types.json import Jsonb

        vectors = replacement_vectors(embedder, chunk_ids, vectors)
        conn = self._conn
        try:
            with conn.transaction(), conn.cursor() as cur:
                index_id, manifest = self._row(cur, name, lock=True)
                check_generation(name, manifest, generation)
                table = chunk_table(index_id)
                cur.execute(f"SELECT chunk_id FROM {table}")
                stored = {r[0] for r in cur.fetchall()}
                if len(set(chunk_ids)) != len(chunk_ids) or stored != set(chunk_ids):
                    raise InputError(f"replace_vectors: the chunk ids given are not the {len(stored)} chunks of index '{name}'")
                rebuild_embeddings(cur, table, embedder.dimension, chunk_ids, vectors)
                manifest.embedder = embedder
                manifest.generation += 1
                manifest.updated_at = utc_now()
                manifest.history.append(IngestEvent(embedder=embedder.spec, chunks=manifest.chunks))
                cur.execute(UPDATE_MANIFEST, (Jsonb(manifest.model_dump(mode="json")), index_id))
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL at {_redact(self.uri)}: re-embedding '{name}' failed, nothing was changed: "
                             f"{str(exc).strip()}") from exc
        return manifest

    def search_dense(self, name: str, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        where, params = filter_sql(filters)
        with self._cursor() as cur:
            index_id, manifest = self._row(cur, name)
            check_query_vector(name, manifest, vector)
            cur.execute(dense_query(chunk_table(index_id), where), [vector, *params, int(k)])
            return [(cid, 1.0 - float(d)) for cid, d in cur.fetchall()]

    def search_lexical(self, name: str, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        where, params = filter_sql(filters)
        with self._cursor() as cur:
            index_id, manifest = self._row(cur, name)
            tsconfig = manifest.backend.get("text_config", self.text_config)
            cur.execute(lexical_query(chunk_table(index_id), where), [tsconfig, query, *params, int(k)])
            return [(cid, float(s)) for cid, s in cur.fetchall()]

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[ChunkRecord]:
        with self._cursor() as cur:
            index_id, _ = self._row(cur, name)
            cur.execute(f"SELECT {', '.join(CHUNK_COLUMNS)} FROM {chunk_table(index_id)} WHERE chunk_id = ANY(%s)",
                        (list(chunk_ids),))
            found = {r[0]: chunk_record(r) for r in cur.fetchall()}
        missing = [c for c in chunk_ids if c not in found]
        if missing:
            raise ChunkNotFoundError(f"index '{name}' has no chunk {missing[0]!r}")
        return [found[c] for c in chunk_ids]

    def all_chunks(self, name: str) -> list[ChunkRecord]:
        with self._cursor() as cur:
            index_id, _ = self._row(cur, name)
            cur.execute(f"SELECT {', '.join(CHUNK_COLUMNS)} FROM {chunk_table(index_id)} ORDER BY doc_id, position")
            return [chunk_record(r) for r in cur.fetchall()]
