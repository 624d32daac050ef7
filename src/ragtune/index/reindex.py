"""Re-embedding an index with another embedder, atomically: searches keep the old vectors until the switch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ragtune.embeddings.base import Embedder
from ragtune.errors import InputError
from ragtune.index.base import Store
from ragtune.index.sync import Progress


@dataclass
class ReindexReport:
    """What a reindex did: the embedder and context mode (``{"mode", "model"}``) before and after, how many chunks
    it re-embedded, how long it took, and what writing situating summaries cost (``summaries``; empty: none written)."""

    index: str
    embedder: dict[str, Any]
    previous: dict[str, Any]
    chunks: int
    generation: int
    changed: bool
    seconds: float
    context: dict[str, Any] = field(default_factory=dict)
    previous_context: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "embedder": self.embedder, "previous": self.previous, "chunks": self.chunks,
                "generation": self.generation, "changed": self.changed, "seconds": round(self.seconds, 2),
                "context": self.context, "previous_context": self.previous_context, "summaries": self.summaries}


def reindex(store: Store, name: str, embedder: Embedder, *, progress: Progress | None = None, force: bool = False,
            attempts: int = 3) -> ReindexReport:
    """Re-embed every chunk of ``name`` with ``embedder`` and record it in the manifest in one commit. An index
    already built with that model is left alone unless ``force``; a commit that lands while the chunks are read
    makes it read them again (``attempts`` times at most)."""
    started = time.monotonic()
    for _ in range(attempts):
        manifest = store.manifest(name)
        previous = manifest.embedder
        context = {"mode": manifest.context, "model": manifest.context_model}
        if embedder.info.same_model(previous) and not force:
            return ReindexReport(name, embedder.info.model_dump(), previous.model_dump(), 0, manifest.generation, False,
                                 time.monotonic() - started, context, context)
        chunks = store.all_chunks(name)
        if store.manifest(name).generation != manifest.generation:
            continue  # a commit came in while the chunks were read
        total, done = len(chunks), [0]

        def on_embedded(n: int) -> None:
            done[0] += n
            if progress:
                progress("embed", done[0], total)

        vectors = embedder.embed_documents([c.index_text for c in chunks], on_embedded)
        if progress:
            progress("commit", 0, 1)
        updated = store.replace_vectors(name, embedder.info, [c.chunk_id for c in chunks], vectors, manifest.generation)
        if progress:
            progress("commit", 1, 1)
        return ReindexReport(name, embedder.info.model_dump(), previous.model_dump(), total, updated.generation, True,
                             time.monotonic() - started, context, context)
    raise InputError(f"index '{name}' kept changing while it was read; run the reindex again")
