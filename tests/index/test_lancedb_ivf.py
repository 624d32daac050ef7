"""Approximate dense search in large LanceDB indexes: IVF partitions trained once, appended to, retrained on drift,
with the number of partitions read measured for recall."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.config import ChunkingConfig, IndexConfig
from ragtune.index import segment_write
from ragtune.index.base import DocumentChange, Filters, IndexManifest, IngestEvent
from ragtune.index.ivf import calibrate, needs_training
from ragtune.index.lancedb import LanceDBStore

from .conformance import EMB, change
from .spies import sizes_of_calls

DIM = EMB.info.dimension


def _clustered(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), n)]
    vectors = picks + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _docs(prefix: str, vectors: np.ndarray, per_doc: int = 10, doc_type: str = "txt") -> list[DocumentChange]:
    out = []
    for d, start in enumerate(range(0, len(vectors), per_doc)):
        rows = vectors[start:start + per_doc]
        base = change(f"{prefix}{d}", [f"{prefix} document {d} part {i}" for i in range(len(rows))], doc_type=doc_type)
        out.append(DocumentChange(base.record, base.chunks, rows))
    return out


@pytest.fixture
def small_partitions(monkeypatch):
    monkeypatch.setattr(segment_write, "PARTITIONED_ROWS", 256)


def _recall(store: LanceDBStore, ids: list[str], vectors: np.ndarray, queries: np.ndarray) -> float:
    hits = 0
    for q in queries:
        exact = {ids[i] for i in np.argsort(-(vectors @ q))[:10]}
        hits += len(exact & {c for c, _ in store.search_dense("kb", q, 10)})
    return hits / (10 * len(queries))


def test_ann_reads_the_nearest_partitions_and_measures_its_recall(tmp_path, small_partitions):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, DIM)).astype(np.float32)
    vectors = _clustered(rng, centres, 6000)
    store = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=2000))
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    m = store.commit("kb", _docs("a", vectors), [], IngestEvent())
    ivf = m.backend["ivf"]
    assert m.backend["ann"] and ivf["partitions"] >= 16 and ivf["nprobe"] < ivf["partitions"]
    assert ivf["recall"] >= 0.95
    ids = [f"a{i // 10}#{i % 10}" for i in range(len(vectors))]
    assert _recall(store, ids, vectors, _clustered(rng, centres, 50)) >= 0.9
    # a filter that keeps a handful of rows still fills the result list
    store.commit("kb", _docs("rare", _clustered(rng, centres, 20), doc_type="pdf"), [], IngestEvent())
    hits = store.search_dense("kb", vectors[0], 10, Filters(types=("pdf",)))
    assert len(hits) == 10 and all(c.startswith("rare") for c, _ in hits)


def test_rows_are_appended_to_the_partitions_until_drift_retrains(tmp_path, small_partitions):
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((40, DIM)).astype(np.float32)
    store = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=2000))
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    first = store.commit("kb", _docs("a", _clustered(rng, centres, 3000)), [], IngestEvent()).backend["ivf"]
    same = store.commit("kb", _docs("b", _clustered(rng, centres, 1500)), [], IngestEvent()).backend["ivf"]
    assert same["id"] == first["id"] and same["added_rows"] == 1500  # appended, not retrained
    far = rng.standard_normal((40, DIM)).astype(np.float32) * 3  # a new subject the partitions never saw
    moved = store.commit("kb", _docs("c", _clustered(rng, far, 1500)), [], IngestEvent()).backend
    assert moved["ivf"]["id"] != first["id"] and moved["ivf"]["recall"] >= 0.95
    assert all(len(store.search_dense("kb", v, 10)) == 10 for v in _clustered(rng, far, 5))


def test_needs_training_rules():
    state = {"trained_rows": 1000, "distance": 0.2, "added_rows": 0, "added_distance": 0.0}
    assert not needs_training(None, 500, 1000) and needs_training(None, 1001, 1000)
    assert not needs_training(state, 3000, 1000) and needs_training(state, 4000, 1000)
    assert not needs_training({**state, "added_rows": 2000, "added_distance": 2000 * 0.24}, 3000, 1000)
    assert needs_training({**state, "added_rows": 2000, "added_distance": 2000 * 0.3}, 3000, 1000)


def test_calibrate_picks_the_fewest_partitions_for_the_target():
    centroids = np.eye(8, dtype=np.float32)
    queries = np.eye(8, dtype=np.float32)[:4]
    # each query's neighbours: 9 in its own partition, 1 in the partition nearest after it (rank 1 of ties)
    parts = np.array([[q] * 9 + [(q + 4) % 8] for q in range(4)])
    nprobe, recall = calibrate(centroids, queries, parts, target=0.9)
    assert recall >= 0.9 and nprobe == 4  # at least MIN_PROBES
    nprobe, recall = calibrate(centroids, queries, np.full((4, 10), -1), target=0.99)
    assert recall == 1.0


def test_a_missing_partitioning_is_rebuilt_before_a_commit_or_a_search(tmp_path, small_partitions, caplog):
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((20, DIM)).astype(np.float32)
    store = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=1000))
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    vectors = _clustered(rng, centres, 2000)
    ivf = store.commit("kb", _docs("a", vectors), [], IngestEvent()).backend["ivf"]
    (tmp_path / "ws" / "indexes" / "kb" / "ivf" / f"{ivf['id']}.npy").unlink()
    m = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=1000)).commit(
        "kb", _docs("b", _clustered(rng, centres, 20)), [], IngestEvent())
    assert "rebuilding its segments" in caplog.text and m.backend["ivf"]["id"] != ivf["id"] and m.chunks == 2020
    (tmp_path / "ws" / "indexes" / "kb" / "ivf" / f"{m.backend['ivf']['id']}.npy").unlink()
    reader = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=1000))
    assert reader.search_dense("kb", vectors[5], 1)[0][0] == "a0#5"


def test_merged_segments_keep_their_partitions(tmp_path, small_partitions, monkeypatch):
    from ragtune.index import lancedb_commit

    monkeypatch.setattr(lancedb_commit, "FACTOR", 2)
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((30, DIM)).astype(np.float32)
    store = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=1000))
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    first = _clustered(rng, centres, 2000)
    store.commit("kb", _docs("a", first), [], IngestEvent())
    assigned = sizes_of_calls(monkeypatch, segment_write, "assign", 0)
    second = _clustered(rng, centres, 600)
    m = store.commit("kb", _docs("b", second), [], IngestEvent())
    assert len(m.backend["segments"]) == 1 and m.backend["segments"][0]["rows"] == 2600  # merged
    assert assigned == [600]  # the new rows only: the merge kept every row's partition
    vectors = np.concatenate([first, second])
    ids = [f"a{i // 10}#{i % 10}" for i in range(2000)] + [f"b{i // 10}#{i % 10}" for i in range(600)]
    assert _recall(store, ids, vectors, _clustered(rng, centres, 30)) >= 0.9
