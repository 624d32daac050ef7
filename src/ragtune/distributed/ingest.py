"""Ingest on Ray: a ``SyncEngine`` for ``ragtune.index.sync.sync_sources``.

list sources (the driver) → read and parse (Ray tasks, a batch of files each) → compare content hashes (the
driver, as a local sync does) → chunk the changed documents (Ray Data tasks) → embed (a Ray Data actor pool, each
actor holding the embedder; batch size and actors per CPU or GPU from ``[ray]``) → one commit (the driver,
through the store's own ``commit``).

Workers only produce staged data (documents, chunks, vectors in Ray's object store); nothing is written until the
driver's single commit, so a task whose worker dies is simply run again (parse tasks up to ``ray.max_retries``
times; Ray Data restarts dead chunk tasks and embedding actors and retries their batches), nothing is committed
twice, and a driver killed part-way leaves the index's old version whole. Chunking takes no CPU reservation, so
the embedding actors may hold every CPU without starving it.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ragtune.config import EmbedderConfig, IngestConfig, RayConfig
from ragtune.distributed import cluster_slots, connect
from ragtune.documents import Chunk, Chunker, Document, JsonlFields
from ragtune.documents.discovery import SourceFile
from ragtune.embeddings import Embedder, load_embedder
from ragtune.index.base import DocRecord
from ragtune.index.sync import Loaded, Progress, load_source
from ragtune.machine import private_files


@dataclass(frozen=True)
class EmbedderFactory:
    """Builds the embedder in a worker: the spec as a workspace loads it (picklable, unlike a loaded model)."""

    spec: str
    config: EmbedderConfig
    home: Path

    def __call__(self) -> Embedder:
        from ragtune.tuning.tuned import register_tuned_plugins

        private_files()  # what the worker writes (an ONNX export) is the owner's alone, as in the workspace
        register_tuned_plugins()  # tuned:NAME@vN embedders, as in the workspace
        return load_embedder(self.spec, self.config, self.home)


def _parse_files(batch: list[tuple[int, SourceFile, str]], existing: dict[str, DocRecord], strict: bool,
                 jsonl_fields: JsonlFields | None, limits: IngestConfig, cwd: str) -> list[tuple[int, Loaded]]:
    """A Ray task: load a batch of files as the reading pass would, from the driver's working directory (so that
    relative paths, and the sources they give, are the driver's)."""
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return [(i, load_source(file, doc_id, existing, strict, jsonl_fields, limits)) for i, file, doc_id in batch]
    finally:
        os.chdir(here)


def _chunk_batch(batch: dict[str, Any], chunker: Chunker) -> dict[str, Any]:
    """A Ray Data task: cut each document of a batch into chunks (one output row per chunk)."""
    rows: dict[str, list] = {"d": [], "n": [], "chunk": [], "text": []}
    for d, blob in zip(batch["d"], batch["doc"]):
        for n, chunk in enumerate(chunker.chunk(pickle.loads(blob))):
            rows["d"].append(int(d))
            rows["n"].append(n)
            rows["chunk"].append(pickle.dumps(chunk))
            rows["text"].append(chunk.index_text)
    return {"d": np.asarray(rows["d"], np.int64), "n": np.asarray(rows["n"], np.int64),
            "chunk": np.asarray(rows["chunk"], dtype=object), "text": np.asarray(rows["text"], dtype=object)}


class _Embed:
    """A Ray Data actor: holds one embedder for its lifetime and embeds batches of chunk texts."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self.embedder = factory()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        vectors = self.embedder.embed_documents([str(t) for t in batch["text"]])
        return {"d": batch["d"], "n": batch["n"], "chunk": batch["chunk"], "vector": np.asarray(vectors, np.float32)}


class RayIngest:
    """Loads, chunks and embeds on Ray for one sync (see the module docstring)."""

    def __init__(self, config: RayConfig, embedder: Callable[[], Embedder], dimension: int,
                 progress: Progress | None = None) -> None:
        self.config = config
        self.embedder = embedder
        self.dimension = dimension
        self.progress = progress or (lambda stage, done, total: None)

    def load(self, files: Sequence[SourceFile], doc_ids: Sequence[str | None], existing: dict[str, DocRecord], strict: bool,
             jsonl_fields: JsonlFields | None, limits: IngestConfig) -> list[Loaded | None]:
        """Every file with an id loaded by a Ray task, a batch of ``parse_batch_size`` files per task."""
        loaded: list[Loaded | None] = [None] * len(files)
        todo = [(i, f, d) for i, (f, d) in enumerate(zip(files, doc_ids)) if d is not None]
        if not todo:
            return loaded
        ray = connect(self.config)
        parse = ray.remote(_parse_files).options(max_retries=self.config.max_retries, num_cpus=1)
        shared = ray.put(existing)
        size = self.config.parse_batch_size
        pending = [parse.remote(todo[s:s + size], shared, strict, jsonl_fields, limits, os.getcwd())
                   for s in range(0, len(todo), size)]
        done = 0
        self.progress("load", 0, len(todo))
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for i, result in ray.get(ready[0]):
                loaded[i] = result
                done += 1
            self.progress("load", done, len(todo))
        return loaded

    def prepare(self, chunker: Chunker, docs: Sequence[Document]) -> tuple[list[list[Chunk]], np.ndarray]:
        """Each document's chunks (Ray Data tasks) and their vectors (the embedding actors), in document order."""
        chunked: list[list[Chunk]] = [[] for _ in docs]
        if not docs:
            return chunked, np.zeros((0, self.dimension), np.float32)
        ray = connect(self.config)
        rows = self._pipeline(ray, chunker, docs)
        found: list[tuple[int, int, Chunk, np.ndarray]] = []
        for batch in rows.iter_batches(batch_format="numpy", batch_size=None):
            for d, n, blob, vector in zip(batch["d"], batch["n"], batch["chunk"], batch["vector"]):
                found.append((int(d), int(n), pickle.loads(blob), vector))
            self.progress("embed", len(found), len(found))
        found.sort(key=lambda row: (row[0], row[1]))
        for d, _, chunk, _ in found:
            chunked[d].append(chunk)
        vectors = np.stack([row[3] for row in found]).astype(np.float32) if found else np.zeros((0, self.dimension), np.float32)
        return chunked, vectors

    def _pipeline(self, ray: Any, chunker: Chunker, docs: Sequence[Document]) -> Any:
        """The Ray Data plan: documents → chunks (tasks) → vectors (an actor pool of embedders)."""
        from ray import data as ray_data

        cfg = self.config
        actors = min(len(docs), cfg.embed_actors or cluster_slots(ray, cfg.embed_gpus))
        items = [{"d": d, "doc": pickle.dumps(doc)} for d, doc in enumerate(docs)]
        blocks = max(1, min(len(items), actors * 4))
        chunks = ray_data.from_items(items, override_num_blocks=blocks).map_batches(
            _chunk_batch, fn_kwargs={"chunker": chunker}, batch_size=None, num_cpus=0)
        return chunks.map_batches(
            _Embed, fn_constructor_kwargs={"factory": self.embedder}, batch_size=cfg.embed_batch_size,
            compute=ray_data.ActorPoolStrategy(size=actors), num_cpus=cfg.embed_cpus, num_gpus=cfg.embed_gpus or None)
