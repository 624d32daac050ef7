"""The ``Store`` seam: named indexes of chunks with vectors, lexical and dense search, atomic commits.

Contract every store keeps (tests/index/conformance.py checks it):

- ``create`` makes an empty index with a manifest recording its embedder; creating an existing name
  raises ``InputError``. Any method given an unknown name raises ``IndexNotFoundError``. A ``provisional``
  index (a first ingest's) is removed, where the store can, if its creator dies before its first commit.
- ``writing(name)`` holds the index's one writer lock across processes for a block (re-entrant in a thread):
  a sync holds it from reading the index's documents through its commit.
- ``commit`` applies document upserts (a document's old chunks are replaced whole) and deletions as one
  atomic step: a reader sees the index before or after, never a mix; if the process dies part-way the
  index stays as it was before. It returns the new manifest (``generation`` grows by one).
- ``replace_vectors`` re-embeds an index: it swaps the vector of every chunk (``chunk_ids`` must be exactly
  the index's chunks) and the manifest's embedder in one atomic step, like ``commit``; the dimension may
  change. It raises ``InputError`` when the index is no longer at ``generation`` (a commit came in between)
  or the ids differ from the index's, and returns the new manifest (``generation`` grows by one).
- ``search_dense`` / ``search_lexical`` return ``(chunk_id, score)`` best first, restricted by
  ``Filters``; ``get_chunks`` returns the stored records for chunk ids, in the order asked.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, ContextManager, Iterable, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from ragtune.common import utc_now
from ragtune.config import ChunkingConfig
from ragtune.documents.base import CONTEXT_KEY, Chunk
from ragtune.embeddings.base import EmbedderInfo
from ragtune.errors import IndexNotFoundError, InputError


class IngestEvent(BaseModel):
    """One committed change to an index, kept in its history."""

    model_config = ConfigDict(extra="forbid")

    at: str = Field(default_factory=utc_now)
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedder: str | None = Field(None, description="Spec of the embedder, when this event re-embedded every chunk.")
    context: str | None = Field(None, description="The context mode, when this event indexed every chunk again under it "
                                "(the manifest records it, and ``context_model``, with the commit).")
    context_model: str | None = Field(None, description="With ``context`` 'summary': the generator that wrote the summaries.")
    removed_hashes: list[str] = Field(default_factory=list, description="Content hashes of the documents it removed.")
    restored_hashes: list[str] = Field(default_factory=list, description="Content hashes of the documents it added that an "
                                       "earlier event removed (a removal undone, not new content).")

    @model_serializer(mode="wrap")
    def _without_empty_hashes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Empty hash lists and context fields are left out, so manifests written before they existed keep their
        checksums."""
        data = handler(self)
        for key in ("removed_hashes", "restored_hashes", "context", "context_model"):
            if not data.get(key):
                data.pop(key, None)
        return data

    def apply_to(self, manifest: "IndexManifest") -> None:
        """Record this event in ``manifest``'s history (and, for a change of context mode, the new mode)."""
        manifest.history.append(self)
        if self.context:
            manifest.context, manifest.context_model = self.context, self.context_model


def pending_removals(history: Sequence[IngestEvent]) -> Counter[str]:
    """Content hashes removed in ``history`` and not restored since (what a new document may restore)."""
    pending: Counter[str] = Counter()
    for event in history:
        pending.subtract(event.restored_hashes)
        pending.update(event.removed_hashes)
    return +pending


def content_changes(history: Sequence[IngestEvent]) -> list[int]:
    """Documents each event really changed: its additions, updates and removals, less a removal that a later event
    undid by adding the same content back and that addition itself (a re-added document is not new content)."""
    changes = [e.added + e.updated + e.removed for e in history]
    open_removals: dict[str, list[int]] = {}
    for i, event in enumerate(history):
        for h in event.restored_hashes:
            if open_removals.get(h):
                changes[open_removals[h].pop()] -= 1
                changes[i] -= 1
        for h in event.removed_hashes:
            open_removals.setdefault(h, []).append(i)
    return [max(0, c) for c in changes]


class IndexManifest(BaseModel):
    """What an index is: its embedder, chunking, current generation and change history."""

    model_config = ConfigDict(extra="forbid")

    name: str
    embedder: EmbedderInfo
    chunking: ChunkingConfig
    generation: int = 0
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    documents: int = 0
    chunks: int = 0
    history: list[IngestEvent] = Field(default_factory=list)
    context: str = Field("none", description="What chunks are indexed with besides their text ('header', 'summary' or "
                         "'none'; indexes made before this field: 'none').")
    context_model: str | None = Field(None, description="The generator that writes the situating summaries of context "
                                      "'summary' (None otherwise).")
    facets: list[dict[str, str]] | None = Field(None, description="The organisation, ticker, form and period of each "
                                                "document that names one (what questions are read for); None: not recorded.")
    backend: dict[str, Any] = Field(default_factory=dict, description="Store-private state (table versions, files).")


FACET_KEYS = ("organization", "ticker", "form", "period")
"""Document metadata that questions are read for (``ragtune.retrieval.self_query``), kept in the manifest."""


def document_facets(metadatas: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The ``FACET_KEYS`` fields of each document metadata holding an organisation or a period."""
    return [{k: str(m[k]) for k in FACET_KEYS if m.get(k) not in (None, "")}
            for m in metadatas if m.get("organization") or m.get("period")]


class CommittedInterrupt(KeyboardInterrupt):
    """Ctrl-C after a commit's point of no return: the commit is in (``committed`` says which)."""

    def __init__(self, index: str, generation: int) -> None:
        super().__init__(index, generation)
        self.index, self.generation = index, generation
        self.committed = f"the commit to index '{index}' is in (generation {generation})"


@dataclass
class DocRecord:
    """A stored document: identity, content hash, version and where it came from."""

    doc_id: str
    source: str
    origin: str
    hash: str
    version: int
    chunks: int
    doc_type: str
    metadata: dict[str, Any] = field(default_factory=dict)
    updated_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "source": self.source, "version": self.version, "hash": self.hash,
                "chunks": self.chunks, "metadata": self.metadata, "type": self.doc_type, "updated_at": self.updated_at}


@dataclass(frozen=True, kw_only=True)
class ChunkRecord(Chunk):
    """A stored chunk: the chunk with the document fields a citation needs. Its context header is stored in its
    metadata (``CONTEXT_KEY``), which is where ``context`` is read from."""

    context: str = field(default="", init=False)
    source: str
    doc_type: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", str(self.metadata.get(CONTEXT_KEY) or ""))

    @classmethod
    def of(cls, chunk: Chunk, source: str, doc_type: str, metadata: dict[str, Any]) -> ChunkRecord:
        """``chunk`` of a document with ``source``, ``doc_type`` and ``metadata``, as it is stored."""
        own = {f.name: getattr(chunk, f.name) for f in fields(Chunk) if f.name != "context"}
        return cls(**own, source=source, doc_type=doc_type,
                   metadata={**metadata, CONTEXT_KEY: chunk.context} if chunk.context else metadata)


@dataclass
class Filters:
    """Restricts search: ``source`` glob, document ``types``, and metadata fields equal to values."""

    source: str | None = None
    types: Sequence[str] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.source or self.types or self.metadata)

    def matches(self, source: str, doc_type: str, metadata: dict[str, Any]) -> bool:
        if self.source and not fnmatch.fnmatch(source, self.source) and not fnmatch.fnmatch(source.rsplit("/", 1)[-1],
                                                                                            self.source):
            return False
        if self.types and doc_type not in self.types:
            return False
        for key, want in self.metadata.items():
            if str(metadata.get(key)) != str(want):
                return False
        return True


def glob_regex(pattern: str) -> str:
    """An anchored regular expression matching what ``fnmatch.fnmatchcase`` matches for ``pattern``, in the syntax
    RE2 (Arrow), PostgreSQL and Python share: only ASCII punctuation is escaped."""
    out, i = ["(?s)^"], 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and (end := pattern.find("]", _class_start(pattern, i))) != -1:
            out.append(_class_regex(pattern[i:end]))
            i = end + 1
        else:
            out.append("\\" + ch if ch.isascii() and not ch.isalnum() and ch not in "_ " and ch.isprintable() else ch)
    return "".join(out) + "$"


def _class_regex(body: str) -> str:
    """The class ``[body]`` of a glob as ``fnmatch`` reads it: a reversed range (``z-a``, which the engines reject)
    is left out, and a class left empty matches no character (negated: any character)."""
    negated = body.startswith("!")
    body = body[1:] if negated else body
    chunks, start, k = [], 0, 1
    while (k := body.find("-", k)) != -1:  # chunks[i][-1]-chunks[i + 1][0] are the ranges
        chunks.append(body[start:k])
        start, k = k + 1, k + 3
    if body[start:]:
        chunks.append(body[start:])
    else:
        chunks[-1] += "-"
    for k in range(len(chunks) - 1, 0, -1):
        if chunks[k - 1][-1] > chunks[k][0]:
            chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
            del chunks[k]
    body = "-".join(c.replace("\\", "\\\\").replace("-", "\\-").replace("[", "\\[") for c in chunks)
    if not body:
        return "." if negated else "[^\\s\\S]"
    return "[^" + body + "]" if negated else "[" + ("\\" + body if body.startswith("^") else body) + "]"


def _class_start(pattern: str, i: int) -> int:
    """Where the closing ``]`` of a class opened before ``i`` is searched from (a leading ``!`` and ``]`` are inside)."""
    if i < len(pattern) and pattern[i] == "!":
        i += 1
    return i + 1 if i < len(pattern) and pattern[i] == "]" else i


@dataclass
class DocumentChange:
    """A document to write: its record and its chunks with their vectors (rows align)."""

    record: DocRecord
    chunks: list[ChunkRecord]
    vectors: np.ndarray


class Store(Protocol):
    """A backend holding many named indexes (see the module docstring for the contract)."""

    embedded: bool  # runs inside the process that answers (its hosting is the machine's), or served apart

    def list_indexes(self) -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def damaged_indexes(self) -> dict[str, str]: ...

    def create(self, manifest: IndexManifest, provisional: bool = False) -> IndexManifest: ...

    def writing(self, name: str) -> ContextManager[None]: ...

    def drop(self, name: str) -> None: ...

    def manifest(self, name: str) -> IndexManifest: ...

    def documents(self, name: str) -> list[DocRecord]: ...

    def commit(self, name: str, upserts: Sequence[DocumentChange], deletes: Sequence[str],
               event: IngestEvent) -> IndexManifest: ...

    def replace_vectors(self, name: str, embedder: EmbedderInfo, chunk_ids: Sequence[str], vectors: np.ndarray,
                        generation: int) -> IndexManifest: ...

    def search_dense(self, name: str, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]: ...

    def search_lexical(self, name: str, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]: ...

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[ChunkRecord]: ...

    def all_chunks(self, name: str) -> list[ChunkRecord]: ...


# -- checks every store makes, with the same messages ------------------------------------------------------------


def index_not_found(name: str, known: Sequence[str]) -> IndexNotFoundError:
    """The error for an index ``name`` that is not among ``known``."""
    listed = ", ".join(known) or "none yet"
    return IndexNotFoundError(f"no index named '{name}' (indexes: {listed}; create one with: ragtune ingest PATH --index {name})")


def check_query_vector(name: str, manifest: IndexManifest, vector: np.ndarray) -> None:
    """``InputError`` unless ``vector`` has the dimension of the index's embedder."""
    if len(vector) != manifest.embedder.dimension:
        raise InputError(f"query vector has {len(vector)} dimensions; index '{name}' holds {manifest.embedder.dimension}")


def replacement_vectors(embedder: EmbedderInfo, chunk_ids: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """``vectors`` for ``replace_vectors`` as contiguous float32, one row of ``embedder.dimension`` per chunk id."""
    vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if vectors.ndim != 2 or len(vectors) != len(chunk_ids) or (len(chunk_ids) and vectors.shape[1] != embedder.dimension):
        raise InputError(f"replace_vectors: expected {len(chunk_ids)} vectors of {embedder.dimension} dimensions, "
                         f"got an array of shape {vectors.shape}")
    return vectors


def check_generation(name: str, manifest: IndexManifest, generation: int) -> None:
    """``InputError`` when a commit came in since ``generation`` (a re-embedding started from it)."""
    if manifest.generation != generation:
        raise InputError(f"index '{name}' changed while it was re-embedded (generation {generation} -> "
                         f"{manifest.generation}); run the reindex again")
