"""An inverted-file (IVF) partitioning of chunk vectors, for approximate dense search in large indexes.

``train`` runs spherical k-means on a sample of the vectors (``sqrt(N)`` centroids, at least 16 and at most
4,096). Each segment keeps its rows sorted by nearest centroid with the offsets of each partition, so a query
reads only the partitions whose centroids are nearest to it (``probe``) and scores their rows exactly.

Partitions are trained once and then appended to: new rows go to their nearest centroid. The partitioning is
trained again only when it no longer fits the data (``needs_training``): when the index has grown to four times
the rows it was trained on, or when rows added since have drifted away from the centroids (their mean cosine
distance to their centroid is 1.25 times that of the training rows), which is what makes recall fall.

How many partitions a query reads is measured when the partitioning is trained (``calibrate``): rows of the
index serve as queries, their exact ten nearest rows are found by a full scan, and the fewest partitions that
hold 97% of those neighbours is recorded with the recall it gives.
"""

from __future__ import annotations

import numpy as np

MIN_PARTITIONS = 16
MAX_PARTITIONS = 4096
SAMPLE_PER_PARTITION = 48
ITERATIONS = 8
GROWTH = 4.0
DRIFT = 1.25
DRIFT_MIN_ROWS = 1000
BLOCK = 16_384
CALIBRATION_RECALL = 0.97
"""Recall@10 the number of partitions read is chosen for, on a sample of the index's own rows as queries."""
CALIBRATION_QUERIES = 128
MIN_PROBES = 4


def partitions_for(rows: int) -> int:
    """How many partitions an index of ``rows`` rows is trained with."""
    return int(min(MAX_PARTITIONS, max(MIN_PARTITIONS, round(rows ** 0.5))))


def assign(vectors: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest centroid of each vector (by inner product) and the cosine distance to it, in blocks."""
    labels = np.empty(len(vectors), np.int32)
    distance = np.empty(len(vectors), np.float32)
    for start in range(0, len(vectors), BLOCK):
        block = np.asarray(vectors[start:start + BLOCK], dtype=np.float32)
        sims = block @ centroids.T
        best = np.argmax(sims, axis=1)
        labels[start:start + len(block)] = best
        norms = np.linalg.norm(block, axis=1)
        norms[norms == 0] = 1.0
        distance[start:start + len(block)] = 1.0 - sims[np.arange(len(block)), best] / norms
    return labels, distance


def train(sample: np.ndarray, partitions: int, seed: int = 0) -> np.ndarray:
    """Spherical k-means centroids (unit rows) of ``sample``."""
    rng = np.random.default_rng(seed)
    sample = np.asarray(sample, dtype=np.float32)
    norms = np.linalg.norm(sample, axis=1, keepdims=True)
    sample = sample / np.where(norms == 0, 1.0, norms)
    partitions = max(1, min(partitions, len(sample)))
    centroids = sample[rng.choice(len(sample), partitions, replace=False)].copy()
    for _ in range(ITERATIONS):
        labels, _ = assign(sample, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, sample)
        counts = np.bincount(labels, minlength=partitions)
        empty = np.flatnonzero(counts == 0)
        sums[empty] = sample[rng.choice(len(sample), len(empty), replace=False)] if len(empty) else sums[empty]
        lengths = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = (sums / np.where(lengths == 0, 1.0, lengths)).astype(np.float32)
    return centroids


def needs_training(state: dict | None, live_rows: int, threshold: int) -> bool:
    """Whether the partitioning must be trained (again) for an index of ``live_rows`` rows (see the module docstring)."""
    if live_rows <= threshold:
        return False
    if not state:
        return True
    if live_rows >= GROWTH * state["trained_rows"]:
        return True
    added = state.get("added_rows", 0)
    return added >= DRIFT_MIN_ROWS and state.get("added_distance", 0.0) / added > DRIFT * state["distance"]


def probe(centroids: np.ndarray, query: np.ndarray, nprobe: int) -> np.ndarray:
    """The ``nprobe`` partitions whose centroids are nearest ``query``."""
    sims = centroids @ query
    nprobe = min(nprobe, len(centroids))
    if nprobe >= len(centroids):
        return np.arange(len(centroids))
    return np.argpartition(-sims, nprobe - 1)[:nprobe]


def probes_for(partitions: int) -> int:
    """How many partitions a query reads when no calibration is recorded: one in sixteen, and at least 8."""
    return max(8, partitions // 16)


def calibrate(centroids: np.ndarray, queries: np.ndarray, neighbour_parts: np.ndarray,
              target: float = CALIBRATION_RECALL) -> tuple[int, float]:
    """The fewest partitions to read for recall@k ``target``, and the recall measured with it.

    ``neighbour_parts`` holds, for each query, the partitions of its exact ``k`` nearest rows (-1: a row of a
    segment scanned whole); recall with ``n``
    partitions read is the share of those rows whose partition is among the query's ``n`` nearest centroids.
    """
    order = np.argsort(-(np.asarray(queries, np.float32) @ centroids.T), axis=1)
    rank = np.empty_like(order)
    rank[np.arange(len(order))[:, None], order] = np.arange(order.shape[1])[None, :]
    parts = np.asarray(neighbour_parts)
    ranks = np.take_along_axis(rank, np.maximum(parts, 0), axis=1)
    ranks = np.sort(np.where(parts < 0, 0, ranks).reshape(-1))  # a row outside any partition is always read
    if not len(ranks):
        return probes_for(len(centroids)), 1.0
    needed = int(ranks[min(len(ranks) - 1, int(np.ceil(target * len(ranks))) - 1)]) + 1
    nprobe = max(MIN_PROBES, min(len(centroids), needed))
    return nprobe, float(np.mean(ranks < nprobe))
