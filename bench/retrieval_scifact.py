"""SciFact retrieval benchmark: quality, ingest speed against bare encoding, search latency, threads.

One run on ``<shared data>/scifact`` (5,183 abstracts, 300 test queries) through the public API with the
default configuration and the bundled MiniLM embedder:

- ingest the corpus with ``Workspace.ingest`` into a temporary workspace, timed, then time a bare
  ``SentenceTransformer.encode`` of the same chunk texts (same model, batch size and threads);
- nDCG@10, Recall@100 and MRR@10 per mode (lexical, dense, hybrid) with ``Index.search_batch(...,
  unique_docs=True)``, and an exact-search reference for dense (query vectors against the bare-encoded
  chunk vectors, best chunk per document) that the dense mode must equal;
- single-query latency p50/p95 per mode through ``Index.search`` (query embedding included);
- encoding throughput and hybrid query latency at 1 and 2 torch threads, interleaved.

The data folder is ``$RAGTUNE_SHARED_DATA`` or ``<repo>/../shared/data``; without it the script says so
and exits 0. The machine may be busy with other work: load averages at start and end are recorded, and
timings are lower bounds.

    python bench/retrieval_scifact.py            # -> bench/results/retrieval_scifact.json
    python bench/retrieval_scifact.py --docs 500 --out /tmp/small.json   # a quick partial run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
for _var, _value in (("TOKENIZERS_PARALLELISM", "false"), ("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1")):
    os.environ.setdefault(_var, _value)

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "retrieval_scifact.json"
MODES = ("lexical", "dense", "hybrid")
THREAD_SAMPLE = 384
THREAD_QUERIES = 100
TARGETS = {
    "lexical ndcg@10": ">= 0.68 (BEIR BM25 0.665; bm25s with stemming 0.687)",
    "dense ndcg@10": "= exact search (MiniLM published 0.645)",
    "hybrid ndcg@10": ">= 0.72 (LlamaIndex RRF 0.717; txtai hybrid 0.643)",
    "ingest / bare encode": "<= 1.2 (LlamaIndex about 1.6)",
    "hybrid p50 ms": "<= 30",
}


def shared_data() -> Path:
    """``$RAGTUNE_SHARED_DATA``, or ``shared/data`` beside the repository."""
    return Path(os.environ.get("RAGTUNE_SHARED_DATA") or REPO.parent / "shared" / "data")


def load_scifact(folder: Path, docs: int | None = None) -> tuple[Path, list[tuple[str, str]], dict[str, dict[str, int]]]:
    """The corpus file (a prefix of ``docs`` rows in a temp file when given), test queries and qrels."""
    from ragtune.evaluation.retrieval import read_qrels

    qrels = read_qrels(folder / "qrels" / "test.tsv")
    corpus = folder / "corpus.jsonl"
    if docs:
        lines = corpus.read_text(encoding="utf-8").splitlines()[:docs]
        kept = {json.loads(line)["_id"] for line in lines}
        qrels = {q: {d: g for d, g in rels.items() if d in kept} for q, rels in qrels.items()}
        qrels = {q: rels for q, rels in qrels.items() if rels}
        corpus = Path(tempfile.mkdtemp(prefix="ragtune-scifact-")) / "corpus.jsonl"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [(str(r["_id"]), r["text"]) for r in rows if str(r["_id"]) in qrels]
    return corpus, queries, qrels


def quality(index, queries: list[tuple[str, str]], qrels: dict, modes=MODES) -> dict[str, dict[str, float]]:
    """nDCG@10 and MRR@10 from a top-10 search (what a user gets), Recall@100 from a top-100 search."""
    from ragtune.evaluation.retrieval import evaluate_rankings

    out = {}
    for mode in modes:
        top10 = {qid: [h.doc_id for h in hits] for qid, hits in index.search_batch(queries, k=10, mode=mode, unique_docs=True)}
        top100 = {qid: [h.doc_id for h in hits] for qid, hits in index.search_batch(queries, k=100, mode=mode, unique_docs=True)}
        scores = evaluate_rankings(top10, qrels, ndcg_k=(10,), recall_k=(10,), mrr_k=(10,))
        scores.update(evaluate_rankings(top100, qrels, ndcg_k=(), recall_k=(100,), mrr_k=()))
        out[mode] = {k: round(v, 4) for k, v in scores.items()}
    return out


def exact_dense_reference(query_vectors: np.ndarray, chunk_vectors: np.ndarray, chunk_docs: list[str],
                          queries: list[tuple[str, str]], qrels: dict) -> dict[str, float]:
    """nDCG@10 / Recall@100 of brute-force cosine search, each document scored by its best chunk."""
    from ragtune.evaluation.retrieval import evaluate_rankings

    doc_ids = sorted(set(chunk_docs))
    column = {d: i for i, d in enumerate(doc_ids)}
    owner = np.array([column[d] for d in chunk_docs])
    rankings = {}
    for (qid, _), qv in zip(queries, query_vectors):
        per_doc = np.full(len(doc_ids), -np.inf, dtype=np.float32)
        np.maximum.at(per_doc, owner, chunk_vectors @ qv)
        rankings[qid] = [doc_ids[i] for i in np.argsort(-per_doc, kind="stable")[:100]]
    scores = evaluate_rankings(rankings, qrels, ndcg_k=(10,), recall_k=(100,), mrr_k=(10,))
    return {k: round(v, 4) for k, v in scores.items()}


def percentiles(times_ms: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(times_ms, 50)), 2), "p95": round(float(np.percentile(times_ms, 95)), 2),
            "n": len(times_ms)}


def latency(index, queries: list[tuple[str, str]], mode: str) -> dict[str, float]:
    """Single ``Index.search`` calls (k=10), query embedding included."""
    for _, text in queries[:5]:
        index.search(text, k=10, mode=mode)
    times = []
    for _, text in queries:
        t = time.perf_counter()
        index.search(text, k=10, mode=mode)
        times.append((time.perf_counter() - t) * 1000)
    return percentiles(times)


def _timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def thread_comparison(model, texts: list[str], batch_size: int, index, queries: list[tuple[str, str]]) -> dict:
    """Encoding texts/s and hybrid query p50 at 1 and 2 torch threads, two interleaved rounds each."""
    import torch

    before = torch.get_num_threads()
    rounds: dict[str, list[dict]] = {"1": [], "2": []}
    for _round in range(2):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            _, wall, _ = _timed(lambda: model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                                     show_progress_bar=False))
            lat = latency(index, queries, "hybrid")
            rounds[str(threads)].append({"encode_texts_per_s": round(len(texts) / wall, 2), "hybrid_p50_ms": lat["p50"],
                                         "hybrid_p95_ms": lat["p95"]})
    torch.set_num_threads(before)
    summary = {t: {"encode_texts_per_s": round(float(np.median([r["encode_texts_per_s"] for r in rs])), 2),
                   "hybrid_p50_ms": round(float(np.median([r["hybrid_p50_ms"] for r in rs])), 2), "rounds": rs}
               for t, rs in rounds.items()}
    return {"texts": len(texts), "queries": len(queries), **summary}


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run(data: Path, docs: int | None, threads_check: bool) -> dict:
    import torch

    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    loadavg_start = list(os.getloadavg())
    corpus, queries, qrels = load_scifact(data / "scifact", docs)
    with tempfile.TemporaryDirectory(prefix="ragtune-bench-") as home:
        config = RagtuneConfig(home=Path(home))
        ws = Workspace(config)
        embedder = ws.embedder()
        _, load_s, _ = _timed(lambda: embedder.info)  # loads the model, so neither timing below pays for it
        model = embedder.load()

        stages: dict[str, float] = {}
        start = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            stages.setdefault(f"{stage}_start", time.perf_counter() - start)
            stages[f"{stage}_end"] = time.perf_counter() - start

        print(f"ingesting {corpus} ...", file=sys.stderr, flush=True)
        report, ingest_wall, ingest_cpu = _timed(lambda: ws.ingest([str(corpus)], index="scifact", progress=progress))
        index = ws.index("scifact")
        chunks = ws.store.all_chunks("scifact")
        texts = [c.index_text for c in chunks]
        print(f"bare encode of {len(texts)} chunk texts ...", file=sys.stderr, flush=True)
        vectors, encode_wall, encode_cpu = _timed(lambda: model.encode(
            texts, batch_size=config.embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False))
        n_docs = report.added
        ingest = {
            "documents": n_docs, "chunks": len(texts), "model_load_s": round(load_s, 2),
            "ingest_wall_s": round(ingest_wall, 2), "ingest_cpu_s": round(ingest_cpu, 2),
            "bare_encode_wall_s": round(encode_wall, 2), "bare_encode_cpu_s": round(encode_cpu, 2),
            "docs_per_s": round(n_docs / ingest_wall, 2), "chunks_per_s": round(len(texts) / ingest_wall, 2),
            "bare_encode_chunks_per_s": round(len(texts) / encode_wall, 2),
            "ratio_wall": round(ingest_wall / encode_wall, 3), "ratio_cpu": round(ingest_cpu / encode_cpu, 3),
            "stages_s": {k: round(v, 2) for k, v in stages.items()},
        }

        print("quality ...", file=sys.stderr, flush=True)
        scores = quality(index, queries, qrels)
        query_vectors = embedder.embed_queries([t for _, t in queries])
        scores["dense_exact_reference"] = exact_dense_reference(query_vectors, np.asarray(vectors), [c.doc_id for c in chunks],
                                                                queries, qrels)
        print("latency ...", file=sys.stderr, flush=True)
        lat = {mode: latency(index, queries, mode) for mode in MODES}
        threads = None
        if threads_check:
            print("1 vs 2 threads ...", file=sys.stderr, flush=True)
            sample = random.Random(0).sample(texts, min(THREAD_SAMPLE, len(texts)))
            threads = thread_comparison(model, sample, config.embedder.batch_size, index, queries[:THREAD_QUERIES])

    return {
        "benchmark": "retrieval_scifact",
        "dataset": {"name": "scifact", "documents": n_docs, "test_queries": len(queries), "partial": bool(docs)},
        "config": {"threads": config.threads, "embedder": config.embedder.model_dump(mode="json"),
                   "embedder_name": embedder.info.name, "chunking": config.chunking.model_dump(mode="json"),
                   "retrieval": config.retrieval.model_dump(mode="json"), "index": config.index.model_dump(mode="json")},
        "quality": scores,
        "ingest": ingest,
        "latency_ms": lat,
        "threads_comparison": threads,
        "targets": TARGETS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "commit": _git_commit()},
        "loadavg_start": loadavg_start,
        "loadavg_end": list(os.getloadavg()),
    }


def print_summary(result: dict) -> None:
    q, ing, lat = result["quality"], result["ingest"], result["latency_ms"]
    exact = q["dense_exact_reference"]["ndcg@10"]
    rows = [
        ("lexical nDCG@10", f"{q['lexical']['ndcg@10']:.4f}", TARGETS["lexical ndcg@10"], q["lexical"]["ndcg@10"] >= 0.68),
        ("dense nDCG@10", f"{q['dense']['ndcg@10']:.4f}", f"= exact search {exact:.4f} (published 0.645)",
         abs(q["dense"]["ndcg@10"] - exact) <= 0.001),
        ("hybrid nDCG@10", f"{q['hybrid']['ndcg@10']:.4f}", TARGETS["hybrid ndcg@10"], q["hybrid"]["ndcg@10"] >= 0.72),
        *[(f"{m} Recall@100", f"{q[m]['recall@100']:.4f}", "reported", None) for m in MODES],
        ("ingest docs/s", f"{ing['docs_per_s']:.1f}", "reported", None),
        ("ingest chunks/s", f"{ing['chunks_per_s']:.1f}", f"bare encode {ing['bare_encode_chunks_per_s']:.1f} chunks/s", None),
        ("ingest / bare encode (wall)", f"{ing['ratio_wall']:.3f}", TARGETS["ingest / bare encode"], ing["ratio_wall"] <= 1.2),
        ("ingest / bare encode (CPU)", f"{ing['ratio_cpu']:.3f}", "reported (less sensitive to other load)", None),
        *[(f"{m} p50 / p95 ms", f"{lat[m]['p50']:.1f} / {lat[m]['p95']:.1f}", TARGETS["hybrid p50 ms"] if m == "hybrid" else "reported",
           lat[m]["p50"] <= 30 if m == "hybrid" else None) for m in MODES],
    ]
    if result["threads_comparison"]:
        for t in ("1", "2"):
            tc = result["threads_comparison"][t]
            rows.append((f"{t} thread(s): encode texts/s, hybrid p50 ms", f"{tc['encode_texts_per_s']:.1f}, {tc['hybrid_p50_ms']:.1f}",
                         "reported", None))
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("  ok" if ok else "  MISSED")
        print(f"{name:<{width}}  {value:>16}   target {target}{mark}")
    print(f"load average: start {result['loadavg_start'][0]:.2f}, end {result['loadavg_end'][0]:.2f} (2 cores; timings are lower bounds)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, help="only the first N corpus rows (a quick partial run)")
    parser.add_argument("--no-threads", action="store_true", help="skip the 1 vs 2 threads comparison")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS})")
    args = parser.parse_args()
    data = shared_data()
    if not (data / "scifact" / "corpus.jsonl").is_file():
        print(f"skipped: no SciFact data at {data / 'scifact'} (set RAGTUNE_SHARED_DATA)")
        return 0
    result = run(data, args.docs, not args.no_threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_summary(result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
