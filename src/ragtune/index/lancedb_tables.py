"""The write side of the LanceDB store: the schemas of the ``chunks`` and ``docs`` tables and the Arrow tables a
commit or a re-embedding adds to them."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Iterable, Iterator, Sequence

import numpy as np

from ragtune.common import utc_now
from ragtune.errors import InputError, RagtuneError, StoreError
from ragtune.index.base import ChunkRecord, DocumentChange, IndexManifest
from ragtune.index.segments import RECORD_COLUMNS, records_from_columns


def error_line(exc: BaseException) -> str:
    """The first line of an error, without the source locations a native library appends."""
    text = re.sub(r",?\s*/\S*(\.cargo|rustc)/\S*", "", str(exc).strip())
    return text.splitlines()[0][:200] if text else type(exc).__name__


@contextmanager
def table_errors(name: str) -> Iterator[None]:
    """Errors of the table library (a table file missing or damaged) as ``StoreError`` naming the index and the
    command that checks and repairs it."""
    try:
        yield
    except BaseException as exc:
        if not table_library_error(exc):
            raise
        raise StoreError(f"index '{name}': its tables cannot be read or written ({error_line(exc)}); check and repair "
                         f"it with: ragtune doctor --index {name} --repair") from exc


def table_library_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the table library failing on a file (a Rust panic derives from ``BaseException``)."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, RagtuneError)):
        return False
    return isinstance(exc, (RuntimeError, OSError, ValueError)) or "Panic" in type(exc).__name__


def chunk_schema(dim: int):
    import pyarrow as pa

    return pa.schema([
        ("chunk_id", pa.string()), ("doc_id", pa.string()), ("position", pa.int32()), ("text", pa.string()),
        ("start", pa.int64()), ("end", pa.int64()), ("page", pa.int32()), ("headings", pa.string()),
        ("source", pa.string()), ("doc_type", pa.string()), ("metadata", pa.string()),
        ("vector", pa.list_(pa.float32(), dim)),
    ])


def doc_schema():
    import pyarrow as pa

    return pa.schema([
        ("doc_id", pa.string()), ("source", pa.string()), ("origin", pa.string()), ("hash", pa.string()),
        ("version", pa.int64()), ("chunks", pa.int64()), ("doc_type", pa.string()), ("metadata", pa.string()),
        ("updated_at", pa.string()),
    ])


def sql_list(values: Sequence[str]) -> str:
    """``values`` as a quoted SQL list, for a ``doc_id IN (...)`` condition."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def open_committed(db, manifest: IndexManifest):
    """The chunks and docs tables at the manifest's versions (a writer that died part-way left newer ones)."""
    chunks, docs = db.open_table("chunks"), db.open_table("docs")
    if chunks.version != manifest.backend["chunks_version"]:
        chunks.restore(manifest.backend["chunks_version"])
    if docs.version != manifest.backend["docs_version"]:
        docs.restore(manifest.backend["docs_version"])
    return chunks, docs


def delete_documents(chunks, docs, doc_ids: Iterable[str]) -> list[str]:
    """Remove the stored ones of ``doc_ids`` and their chunks (a first ingest then writes no empty deletes); the ids
    removed, sorted."""
    gone = sorted(doc_ids)
    if gone:
        stored = docs.search().select(["doc_id"]).limit(None).to_arrow().column("doc_id").to_pylist()
        gone = sorted(set(gone).intersection(stored))
    for i in range(0, len(gone), 500):
        where = f"doc_id IN ({sql_list(gone[i:i + 500])})"
        chunks.delete(where)
        docs.delete(where)
    return gone


def _vector_column(flat: np.ndarray, dim: int):
    import pyarrow as pa

    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dim)


def chunk_rows(name: str, upserts: Sequence[DocumentChange], dim: int) -> tuple[object, np.ndarray]:
    """The chunks of ``upserts`` with their vectors as one Arrow table, and those vectors as one float32 matrix
    (``StoreError`` when the dimension differs)."""
    import pyarrow as pa

    chunks = [c for u in upserts for c in u.chunks]
    columns = {
        "chunk_id": [c.chunk_id for c in chunks], "doc_id": [c.doc_id for c in chunks],
        "position": [c.position for c in chunks], "text": [c.text for c in chunks],
        "start": [c.start for c in chunks], "end": [c.end for c in chunks], "page": [c.page for c in chunks],
        "headings": [json.dumps(list(c.headings)) for c in chunks], "source": [c.source for c in chunks],
        "doc_type": [c.doc_type for c in chunks], "metadata": [json.dumps(c.metadata, default=str) for c in chunks],
    }
    vectors = np.ascontiguousarray(np.concatenate([u.vectors for u in upserts if u.chunks]).astype(np.float32))
    if vectors.shape[1] != dim:
        raise StoreError(f"index '{name}' holds {dim}-d vectors; got {vectors.shape[1]}-d")
    schema = chunk_schema(dim)
    arrays = [pa.array(columns[f.name], type=f.type) for f in schema if f.name != "vector"]
    arrays.append(_vector_column(vectors.reshape(-1), dim))
    return pa.Table.from_arrays(arrays, schema=schema), vectors


def doc_rows(upserts: Sequence[DocumentChange]):
    """The document records of ``upserts`` as one Arrow table."""
    import pyarrow as pa

    return pa.Table.from_pylist([{
        "doc_id": u.record.doc_id, "source": u.record.source, "origin": u.record.origin, "hash": u.record.hash,
        "version": u.record.version, "chunks": len(u.chunks), "doc_type": u.record.doc_type,
        "metadata": json.dumps(u.record.metadata, default=str), "updated_at": u.record.updated_at or utc_now(),
    } for u in upserts], schema=doc_schema())


def committed_table(db, manifest: IndexManifest, name: str):
    """The table ``name`` (``chunks`` or ``docs``) checked out, read-only, at the manifest's version."""
    table = db.open_table(name)
    table.checkout(manifest.backend[f"{name}_version"])
    return table


def chunk_records(chunks) -> list[ChunkRecord]:
    """Every row of the chunks table as a ``ChunkRecord``, in table order."""
    if not chunks.count_rows():
        return []
    data = chunks.search().select(RECORD_COLUMNS).limit(None).to_arrow()
    return records_from_columns({name: data.column(name).to_pylist() for name in RECORD_COLUMNS})


def vectors_of(data) -> np.ndarray:
    """The vector column of an Arrow chunks table as a float32 matrix (one row per chunk)."""
    column = data.column("vector")
    dim = column.type.list_size
    if not data.num_rows:
        return np.zeros((0, dim), np.float32)
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(data.num_rows, dim)


def revectored(name: str, data, chunk_ids: Sequence[str], vectors: np.ndarray, dim: int):
    """The chunks table ``data`` with each chunk's vector taken from ``vectors`` (rows align with ``chunk_ids``).

    ``InputError`` when ``chunk_ids`` are not exactly the table's chunks.
    """
    import pyarrow as pa

    ids = data.column("chunk_id").to_pylist()
    row = {cid: i for i, cid in enumerate(chunk_ids)}
    if len(row) != len(chunk_ids) or set(ids) != set(row):
        raise InputError(f"replace_vectors: the chunk ids given are not the {len(ids)} chunks of index '{name}'")
    order = np.asarray([row[c] for c in ids], dtype=np.int64)
    flat = vectors[order].reshape(-1) if len(ids) else np.zeros(0, dtype=np.float32)
    schema = chunk_schema(dim)
    arrays = [data.column(f.name) for f in schema if f.name != "vector"]
    arrays.append(_vector_column(flat, dim))
    return pa.Table.from_arrays(arrays, schema=schema)
