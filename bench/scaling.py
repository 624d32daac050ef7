"""Scaling: search latency and peak memory of the store at 10k, 100k and 1M chunks.

Synthetic chunks (random unit 384-d vectors, ~12 generated words each) are written straight into a
LanceDB index with ``Store.commit`` (no encoding), then searched through ``Index.search`` in dense and
hybrid mode (lexical too, to show where hybrid's time goes). The query embedding is the cheap ``fake``
embedder, so the latency is the store's and the fusion's own. Each size is built in one subprocess and
searched in another, so each reports its own peak RSS and sizes do not pollute each other; each has a
time limit, and a size that fails or runs out of time is recorded as such.

    python bench/scaling.py                 # 10k, 100k, 1M -> bench/results/scaling.json
    python bench/scaling.py --sizes 10000   # one size
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scaling.json"
DIM = 384
CHUNKS_PER_DOC = 10
WORDS_PER_CHUNK = 12
VOCABULARY = 50_000
QUERY_COUNT = 200
LIMITS_S = {10_000: 900, 100_000: 1800, 1_000_000: 3600}
TARGETS = {"hybrid p50 ms at 1M chunks": "reported, no target: shows how cost grows"}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _vocabulary(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-words with Zipf-like frequencies (s = 1.07, as in English text)."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(4, 10, VOCABULARY)
    words = np.array(["".join(rng.choice(letters, n)) for n in lengths])
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.07
    return words, weights / weights.sum()


def _texts(rng: np.random.Generator, words: np.ndarray, probs: np.ndarray, n: int) -> list[str]:
    ids = rng.choice(len(words), size=(n, WORDS_PER_CHUNK), p=probs)
    return [" ".join(row) for row in words[ids]]


def _queries(rng: np.random.Generator, words: np.ndarray, probs: np.ndarray) -> list[str]:
    # Queries skip the 100 most frequent pseudo-words (the role stop words play in real text).
    tail = probs[100:] / probs[100:].sum()
    return [" ".join(words[100 + rng.choice(len(tail), size=rng.integers(3, 7), p=tail)]) for _ in range(QUERY_COUNT)]


def _workspace(home: Path):
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    return Workspace(RagtuneConfig(home=home, embedder={"model": f"fake:{DIM}"}))


def build(size: int, home: Path) -> dict:
    """Write ``size`` synthetic chunks into index ``synthetic`` under ``home`` in one commit."""
    from ragtune.index import ChunkRecord, DocRecord, DocumentChange, IngestEvent

    rng = np.random.default_rng(size)
    words, probs = _vocabulary(rng)
    ws = _workspace(home)
    ws.create_index("synthetic")
    t0 = time.perf_counter()
    texts = _texts(rng, words, probs, size)
    vectors = rng.standard_normal((size, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    upserts = []
    for d, start in enumerate(range(0, size, CHUNKS_PER_DOC)):
        doc_id = f"doc{d}"
        stop = min(start + CHUNKS_PER_DOC, size)
        chunks = [ChunkRecord(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, position=i, text=texts[start + i], start=0,
                              end=len(texts[start + i]), page=None, headings=(f"Title {d}",), source=f"synthetic/{doc_id}.txt",
                              doc_type="txt") for i in range(stop - start)]
        record = DocRecord(doc_id=doc_id, source=f"synthetic/{doc_id}.txt", origin="synthetic", hash=str(d), version=1,
                           chunks=len(chunks), doc_type="txt")
        upserts.append(DocumentChange(record=record, chunks=chunks, vectors=vectors[start:stop]))
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    manifest = ws.store.commit("synthetic", upserts, [], IngestEvent(added=len(upserts)))
    commit_s = time.perf_counter() - t0
    return {"chunks": manifest.chunks, "documents": manifest.documents, "generate_s": round(generate_s, 2),
            "commit_s": round(commit_s, 2), "ann_index": bool(manifest.backend.get("ann")),
            "peak_rss_mb": round(_peak_rss_mb(), 1)}


def search(size: int, home: Path) -> dict:
    """Open the index built by ``build`` and time single searches per mode."""
    rng = np.random.default_rng(size + 1)
    words, probs = _vocabulary(np.random.default_rng(size))
    queries = _queries(rng, words, probs)
    index = _workspace(home).index("synthetic")
    t0 = time.perf_counter()
    index.search(queries[0], k=10, mode="hybrid")  # loads the snapshot: vectors, ids, BM25
    out: dict = {"open_s": round(time.perf_counter() - t0, 2), "latency_ms": {}}
    for mode in ("dense", "lexical", "hybrid"):
        for q in queries[:5]:
            index.search(q, k=10, mode=mode)
        times = []
        for q in queries:
            t = time.perf_counter()
            index.search(q, k=10, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
        out["latency_ms"][mode] = {"p50": round(float(np.percentile(times, 50)), 2),
                                   "p95": round(float(np.percentile(times, 95)), 2)}
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


def _child(stage: str, size: int, home: Path, limit_s: float) -> dict:
    """Run one stage in a fresh interpreter; its own peak RSS comes back in its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, "--size", str(size), "--home", str(home)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "limit_s": limit_s}
    wall = round(time.perf_counter() - t0, 2)
    if proc.returncode != 0:
        return {"status": "failed", "exit_code": proc.returncode, "wall_s": wall, "stderr_tail": proc.stderr[-2000:]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"status": "ok", "wall_s": wall, **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated chunk counts")
    parser.add_argument("--child", choices=["build", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from ragtune.config import apply_threads

        apply_threads(1)
        print(json.dumps((build if args.child == "build" else search)(args.size, args.home)))
        return 0

    import ragtune.index.lancedb as store_module
    from ragtune.config import IndexConfig

    report = {"benchmark": "scaling", "dimension": DIM, "words_per_chunk": WORDS_PER_CHUNK, "chunks_per_doc": CHUNKS_PER_DOC,
              "queries": QUERY_COUNT, "k": 10, "threads": 1, "ann_threshold": IndexConfig().ann_threshold,
              "store": store_module.__name__, "loadavg_start": list(os.getloadavg()), "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        limit = LIMITS_S.get(size, 3600)
        with tempfile.TemporaryDirectory(prefix="ragtune-scaling-") as tmp:
            print(f"[{size:,} chunks] building (limit {limit} s) ...", file=sys.stderr, flush=True)
            entry = {"build": _child("build", size, Path(tmp), limit)}
            if entry["build"]["status"] == "ok":
                print(f"[{size:,} chunks] searching ...", file=sys.stderr, flush=True)
                entry["search"] = _child("search", size, Path(tmp), limit)
        report["sizes"][str(size)] = entry
        _print_size(size, entry)
    report["loadavg_end"] = list(os.getloadavg())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


def _print_size(size: int, entry: dict) -> None:
    build_, search_ = entry["build"], entry.get("search", {})
    if build_["status"] != "ok":
        print(f"{size:>9,} chunks: build {build_['status']}")
        return
    line = (f"{size:>9,} chunks: commit {build_['commit_s']:.1f} s, build peak RSS {build_['peak_rss_mb']:.0f} MB, "
            f"{'ANN' if build_['ann_index'] else 'exact'} dense")
    if search_.get("status") == "ok":
        lat = search_["latency_ms"]
        line += (f"; open {search_['open_s']:.1f} s, p50 dense {lat['dense']['p50']:.1f} ms, lexical {lat['lexical']['p50']:.1f} ms, "
                 f"hybrid {lat['hybrid']['p50']:.1f} ms (p95 {lat['hybrid']['p95']:.1f}); search peak RSS {search_['peak_rss_mb']:.0f} MB")
    else:
        line += f"; search {search_.get('status')}"
    print(line)


if __name__ == "__main__":
    sys.exit(main())
