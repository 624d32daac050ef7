"""What the Ray tests hand to workers: an embedder that kills its process once, a chunker that does the same, an
embedder that always fails and one that stalls (each defined here and shipped to the workers by value), and a
driver to kill part-way."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ragtune.documents import Chunk, Chunker, Document
from ragtune.embeddings import Embedder
from ragtune.embeddings.fake import FakeEmbedder


def die_once(marker: Path) -> None:
    """Kill this process the first time it gets here (the marker file remembers that it happened)."""
    if not marker.exists():
        marker.write_text(str(os.getpid()), encoding="utf-8")
        os._exit(1)


def stall(marker: Path) -> None:
    """Say that embedding has begun (the marker file), then take far longer than any test waits."""
    marker.write_text("embedding", encoding="utf-8")
    time.sleep(600)


class MarkedEmbedder(FakeEmbedder):
    """The fake embedder, doing ``act(marker)`` before each batch."""

    def __init__(self, dimension: int, marker: Path, act: Callable[[Path], None]) -> None:
        super().__init__(dimension)
        self.marker, self.act = marker, act

    def embed_documents(self, texts, on_batch=None):
        self.act(self.marker)
        return super().embed_documents(texts, on_batch)


@dataclass(frozen=True)
class MarkedEmbedderFactory:
    marker: Path
    act: Callable[[Path], None]

    def __call__(self) -> Embedder:
        return MarkedEmbedder(64, self.marker, self.act)


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


def ingest_stalling(home: str, corpus: str, address: str, marker: str) -> None:
    """A driver (run in its own process) that re-ingests ``corpus`` on the Ray cluster at ``address`` and stalls while
    embedding, to be killed there."""
    from ray import cloudpickle

    import tests.distributed.helpers as me
    from ragtune.config import ChunkingConfig, RagtuneConfig, RayConfig
    from ragtune.distributed.ingest import RayIngest
    from ragtune.documents import RecursiveChunker
    from ragtune.index import open_store
    from ragtune.index.sync import sync_sources

    cloudpickle.register_pickle_by_value(me)
    config = RagtuneConfig.load({"home": home, "embedder": {"model": "fake:64"}}, env={})
    engine = RayIngest(RayConfig(address=address, embed_actors=1), me.MarkedEmbedderFactory(Path(marker), me.stall), 64)
    sync_sources(open_store(config), "docs", FakeEmbedder(64), RecursiveChunker(ChunkingConfig()), [corpus], engine=engine)
