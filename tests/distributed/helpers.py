"""What the Ray tests hand to workers: an embedder that kills its process once, a chunker that does the same, and
an embedder that always fails (each defined here and shipped to the workers by value)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ragtune.documents import Chunk, Chunker, Document
from ragtune.embeddings import Embedder
from ragtune.embeddings.fake import FakeEmbedder


def die_once(marker: Path) -> None:
    """Kill this process the first time it gets here (the marker file remembers that it happened)."""
    if not marker.exists():
        marker.write_text(str(os.getpid()), encoding="utf-8")
        os._exit(1)


class DyingEmbedder(FakeEmbedder):
    def __init__(self, dimension: int, marker: Path) -> None:
        super().__init__(dimension)
        self.marker = marker

    def embed_documents(self, texts, on_batch=None):
        die_once(self.marker)
        return super().embed_documents(texts, on_batch)


@dataclass(frozen=True)
class DyingEmbedderFactory:
    marker: Path

    def __call__(self) -> Embedder:
        return DyingEmbedder(64, self.marker)


class FailingEmbedder(FakeEmbedder):
    def embed_documents(self, texts, on_batch=None):
        raise RuntimeError("the embedding service is down")


@dataclass(frozen=True)
class FailingEmbedderFactory:
    def __call__(self) -> Embedder:
        return FailingEmbedder(64)


@dataclass
class DyingChunker:
    inner: Chunker
    marker: Path

    def chunk(self, document: Document) -> list[Chunk]:
        die_once(self.marker)
        return self.inner.chunk(document)
