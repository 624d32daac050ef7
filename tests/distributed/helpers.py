"""What the Ray tests hand to workers: an embedder that kills its process once, a chunker that does the same, an
embedder that always fails and one that stalls (each defined here and shipped to the workers by value), and a
driver to kill part-way."""

from __future__ import annotations

import os
import time
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


class StallingEmbedder(FakeEmbedder):
    """Says it has started (the marker file), then takes far longer than any test waits."""

    def __init__(self, dimension: int, marker: Path) -> None:
        super().__init__(dimension)
        self.marker = marker

    def embed_documents(self, texts, on_batch=None):
        self.marker.write_text("embedding", encoding="utf-8")
        time.sleep(600)
        return super().embed_documents(texts, on_batch)


@dataclass(frozen=True)
class StallingEmbedderFactory:
    marker: Path

    def __call__(self) -> Embedder:
        return StallingEmbedder(64, self.marker)


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
    engine = RayIngest(RayConfig(address=address, embed_actors=1), me.StallingEmbedderFactory(Path(marker)), 64)
    sync_sources(open_store(config), "docs", FakeEmbedder(64), RecursiveChunker(ChunkingConfig()), [corpus], engine=engine)
