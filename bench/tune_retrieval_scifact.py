"""Retrieval fine-tuning on SciFact: a tuned embedder, a tuned reranker, and the label-free path, in one run.

1. Index the SciFact corpus with the default embedder (all-MiniLM-L6-v2); score the 300 test queries:
   dense and hybrid nDCG@10 (document level: a document's best chunk).
2. Label-free: ``tune embeddings --from-index`` (synthetic queries from the index's own chunks; no qrels).
3. ``tune embeddings --beir --split train`` (the 809 train queries, hard negatives mined from the index).
4. ``reindex`` onto each tuned embedder in turn and score the test queries again (dense; hybrid for the BEIR one).
5. ``tune reranker --beir --split train`` (segment-cosine head, listwise loss, ``--reranker-max-seq-length``);
   hybrid + the tuned reranker over the top candidates (100, or 30 when the measured latency says 100 will not fit
   in ``--rerank-minutes``): fused at its calibrated weight (what ``--rerank tuned:NAME`` does) and alone, with
   rerank latency per query.

Each training runs as its own ``ragtune`` process (its peak RSS is its own) under a time budget. Finished
phases are kept in the work folder, so an interrupted run continues where it stopped.
Writes bench/results/tune_retrieval_scifact.json.

    python bench/tune_retrieval_scifact.py [--train-minutes 25] [--max-seq-length 256] [--rerank-minutes 40] [--stop-after PHASE]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _common import RESULTS, ROOT, Phases, log, run_ragtune, shared_data, write_result

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import ChunkingConfig, RagtuneConfig  # noqa: E402
from ragtune.evaluation.retrieval import evaluate_rankings, read_qrels  # noqa: E402

DATA = shared_data("scifact")
OUT = RESULTS / "tune_retrieval_scifact.json"
TARGETS = {"dense_ndcg@10_gain": 0.04, "hybrid_rerank_ndcg@10": 0.75}


class Bench:
    """The work folder (a workspace and the finished phases) and the shared pieces of each phase."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(args.work)
        self.home = self.work / "home"
        self.phases = Phases(self.work, args.stop_after)
        self.state = self.phases.state
        self.ws = Workspace(RagtuneConfig.load({"home": str(self.home), "threads": 1}, env={}))
        self.qrels = read_qrels(DATA / "qrels" / "test.tsv")
        queries = {json.loads(line)["_id"]: json.loads(line)["text"] for line in (DATA / "queries.jsonl").open()}
        self.queries = [(q, queries[q]) for q in self.qrels if q in queries]

    def phase(self, name: str, run):
        """Run ``run()`` once; its result is kept in state.json so a re-run skips it."""
        return self.phases.run(name, run)

    def score(self, mode: str) -> dict:
        """Test-set scores of the index as it stands, with ``mode`` retrieval (a document's best chunk counts)."""
        index = self.ws.index("scifact")
        started = time.monotonic()
        results = index.search_batch(self.queries, k=100, mode=mode, unique_docs=True)
        rankings = {qid: [h.doc_id for h in hits] for qid, hits in results}
        scores = evaluate_rankings(rankings, self.qrels, ndcg_k=(10,), recall_k=(10, 100), mrr_k=(10,))
        return {**{k: round(v, 4) for k, v in scores.items()}, "queries": len(self.queries),
                "embedder": index.manifest.embedder.spec, "search_ms_per_query": round(1000 * (time.monotonic() - started) / len(self.queries), 1)}

    def ragtune(self, *argv: str) -> dict:
        return run_ragtune(self.home, *argv)

    def train(self, command: str, name: str, *source: str) -> dict:
        a = self.args
        length = a.max_seq_length if command == "embeddings" else a.reranker_max_seq_length
        epochs = "1" if command == "embeddings" else str(a.reranker_epochs)
        batch = a.batch_size if command == "embeddings" else a.reranker_batch_size
        common = ["--name", name, "--epochs", epochs, "--batch-size", str(batch), "--max-seq-length", str(length),
                  "--time-budget", f"{a.train_minutes}m", "--eval-corpus-size", str(a.eval_corpus_size), "--seed", "0"]
        extra = ["--lr", str(a.embedding_lr)] if command == "embeddings" else ["--lr", str(a.reranker_lr), "--negatives", str(a.reranker_negatives)]
        run = self.ragtune("tune", command, *source, *common, *extra)
        card = run["json"]
        m = card["metrics"]
        return {"ref": f"{card['name']}@v{card['version']}", "train_wall_s": card["wall_time_s"], "process_wall_s": run["process_wall_s"],
                "peak_rss_mb": m["peak_rss_mb"], "steps": m["steps"], "max_steps": m["max_steps"], "epochs": m["epochs"],
                "stopped_by": m["stopped_by"], "train_loss_first": m["train_loss_first"], "train_loss": m["train_loss"],
                "held_out": card["scores"].get("held_out"), "data_rows": card["data"]["rows"], "data_sha256": card["data"]["sha256"],
                "settings": card["settings"]}

    def reindex(self, spec: str) -> dict:
        run = self.ragtune("reindex", "--index", "scifact", "--embedder", spec)
        return {"seconds": run["json"]["seconds"], "chunks": run["json"]["chunks"], "peak_rss_mb": run["process_peak_rss_mb"]}


def ingest(b: Bench) -> dict:
    if b.ws.store.exists("scifact"):
        b.ws.delete_index("scifact")
    b.ws.create_index("scifact", "local", ChunkingConfig(max_tokens=512, overlap_tokens=0))
    started = time.monotonic()
    report = b.ws.ingest([str(DATA / "corpus.jsonl")], "scifact")
    return {"documents": report.added, "chunks": report.chunks, "seconds": round(time.monotonic() - started, 1),
            "chunking": "512-token chunks, no overlap: one chunk per abstract (the embedder reads its first 256 tokens)"}


def rerank(b: Bench, ref: str) -> dict:
    """Hybrid top-N reordered by the tuned reranker: fused with the hybrid order at its calibrated weight (what
    ``--rerank tuned:NAME`` does) and alone. N = 100 unless the measured latency says it will not fit."""
    from ragtune.retrieval.rerank import fuse_with_retrieval

    index = b.ws.index("scifact")
    reranker = b.ws.reranker(f"tuned:{ref}")
    reranker.load()
    retrieved = index.search_batch(b.queries, k=100, mode="hybrid")

    def doc_ranking(chunks, tail) -> list[str]:
        ranking, seen = [], set()
        for chunk in list(chunks) + list(tail):
            if chunk.doc_id not in seen:
                seen.add(chunk.doc_id)
                ranking.append(chunk.doc_id)
        return ranking

    def rerank_one(text: str, hits, depth: int) -> tuple[list[str], list[str], float]:
        records = b.ws.store.get_chunks("scifact", [h.chunk_id for h in hits[:depth]])
        tail = b.ws.store.get_chunks("scifact", [h.chunk_id for h in hits[depth:]])
        started = time.monotonic()
        scores = reranker.scores(text, [r.index_text for r in records])
        order = sorted(range(len(records)), key=lambda i: (-float(scores[i]), i))
        fused = [i for i, _ in fuse_with_retrieval(order, reranker.weight)]
        spent = time.monotonic() - started
        return doc_ranking([records[i] for i in fused], tail), doc_ranking([records[i] for i in order], tail), spent

    probe = [rerank_one(text, hits, 100)[2] for (_, text), (_, hits) in zip(b.queries[:3], retrieved[:3])]
    per_query_100 = sum(probe) / len(probe)
    depth = 100 if per_query_100 * len(b.queries) <= b.args.rerank_minutes * 60 else 30
    log(f"rerank: {per_query_100:.1f} s per query over the top 100 -> reranking the top {depth}")
    fused, alone, spent = {}, {}, []
    for (qid, text), (_, hits) in zip(b.queries, retrieved):
        fused[qid], alone[qid], seconds = rerank_one(text, hits, depth)
        spent.append(seconds)
    scores = evaluate_rankings(fused, b.qrels, ndcg_k=(10,), recall_k=(10, 100), mrr_k=(10,))
    alone_scores = evaluate_rankings(alone, b.qrels, ndcg_k=(10,), recall_k=(10,), mrr_k=(10,))
    spent.sort()
    return {**{k: round(v, 4) for k, v in scores.items()}, "weight": reranker.weight,
            "reranker_alone": {k: round(v, 4) for k, v in alone_scores.items()},
            "rerank_depth": depth, "probe_s_per_query_top100": round(per_query_100, 2),
            "rerank_ms_per_query_mean": round(1000 * sum(spent) / len(spent), 1),
            "rerank_ms_per_query_p50": round(1000 * spent[len(spent) // 2], 1),
            "rerank_ms_per_query_p95": round(1000 * spent[int(len(spent) * 0.95)], 1), "reranker": f"tuned:{ref}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / ".cache" / "bench-tune-retrieval"), help="Work folder (kept between runs).")
    parser.add_argument("--train-minutes", type=float, default=10, help="Time budget of each training.")
    parser.add_argument("--max-seq-length", type=int, default=256, help="Training input length in tokens.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--embedding-lr", type=float, default=5e-5)
    parser.add_argument("--reranker-lr", type=float, default=5e-5)
    parser.add_argument("--reranker-max-seq-length", type=int, default=128, help="Reranker input length (query and passage) in tokens.")
    parser.add_argument("--reranker-batch-size", type=int, default=16, help="Queries per reranker step (each with its negatives).")
    parser.add_argument("--reranker-epochs", type=float, default=3, help="Reranker epochs (the time budget usually ends it first).")
    parser.add_argument("--reranker-negatives", type=int, default=3)
    parser.add_argument("--samples", type=int, default=400, help="Chunks sampled for the label-free pairs (two pairs each).")
    parser.add_argument("--eval-corpus-size", type=int, default=300, help="Held-out corpus of each training's own evaluation.")
    parser.add_argument("--rerank-minutes", type=float, default=40, help="Rerank the top 100 only if 300 queries fit in this.")
    parser.add_argument("--stop-after", help="End the run after this phase (its result is kept; a later run goes on).")
    args = parser.parse_args()
    b = Bench(args)
    started = time.monotonic()
    built = b.phase("ingest", lambda: ingest(b))
    before_dense = b.phase("before_dense", lambda: b.score("dense"))
    before_hybrid = b.phase("before_hybrid", lambda: b.score("hybrid"))
    lf = b.phase("train_label_free", lambda: b.train("embeddings", "scifact-lf", "--from-index", "scifact", "--samples", str(args.samples)))
    emb = b.phase("train_embeddings", lambda: b.train("embeddings", "scifact-emb", "--beir", str(DATA), "--split", "train",
                                                     "--negatives-from", "scifact"))
    b.phase("reindex_label_free", lambda: b.reindex(f"tuned:{lf['ref']}"))
    lf_dense = b.phase("label_free_dense", lambda: b.score("dense"))
    b.phase("reindex_tuned", lambda: b.reindex(f"tuned:{emb['ref']}"))
    after_dense = b.phase("after_dense", lambda: b.score("dense"))
    after_hybrid = b.phase("after_hybrid", lambda: b.score("hybrid"))
    rr = b.phase("train_reranker", lambda: b.train("reranker", "scifact-rr", "--beir", str(DATA), "--split", "train",
                                                  "--negatives-from", "scifact"))
    reranked = b.phase("hybrid_rerank", lambda: rerank(b, rr["ref"]))
    gain = round(after_dense["ndcg@10"] - before_dense["ndcg@10"], 4)
    result = {
        "dataset": "SciFact (BEIR): train qrels for training, the 300 test queries for every score below",
        "machine": {"cpus": os.cpu_count(), "threads": 1, "note": "a shared 2-core box; wall times depend on its load (load_average_at_start)"},
        "index": built,
        "dense_ndcg@10": {"before": before_dense["ndcg@10"], "after": after_dense["ndcg@10"], "gain": gain,
                          "target_gain": TARGETS["dense_ndcg@10_gain"], "meets_target": gain >= TARGETS["dense_ndcg@10_gain"]},
        "hybrid_ndcg@10": {"before": before_hybrid["ndcg@10"], "after": after_hybrid["ndcg@10"]},
        "hybrid_rerank_ndcg@10": {"value": reranked["ndcg@10"], "depth": reranked["rerank_depth"], "target": TARGETS["hybrid_rerank_ndcg@10"],
                                  "meets_target": reranked["ndcg@10"] >= TARGETS["hybrid_rerank_ndcg@10"],
                                  "rerank_ms_per_query_mean": reranked["rerank_ms_per_query_mean"],
                                  "fusion_weight": reranked["weight"], "reranker_alone_ndcg@10": reranked["reranker_alone"]["ndcg@10"]},
        "label_free_dense_ndcg@10": {"before": before_dense["ndcg@10"], "after": lf_dense["ndcg@10"],
                                     "gain": round(lf_dense["ndcg@10"] - before_dense["ndcg@10"], 4), "qrels_used": False},
        "trainings": {"embeddings": emb, "label_free": lf, "reranker": rr},
        "phases": b.state,
        "total_wall_s": round(time.monotonic() - started, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_result(OUT, result)
    print(f"dense nDCG@10          {before_dense['ndcg@10']:.4f} -> {after_dense['ndcg@10']:.4f}  gain {gain:+.4f}   (target >= +0.04)")
    print(f"hybrid nDCG@10         {before_hybrid['ndcg@10']:.4f} -> {after_hybrid['ndcg@10']:.4f}")
    print(f"hybrid + reranker@{reranked['rerank_depth']:<3}  {reranked['ndcg@10']:.4f}                     (target >= 0.75; "
          f"weight {reranked['weight']}, reranker alone {reranked['reranker_alone']['ndcg@10']:.4f})")
    print(f"label-free dense       {before_dense['ndcg@10']:.4f} -> {lf_dense['ndcg@10']:.4f}  (no qrels used)")
    for name, t in (("embeddings", emb), ("label-free", lf), ("reranker", rr)):
        print(f"train {name:<11} {t['train_wall_s']:.0f} s, peak RSS {t['peak_rss_mb']:.0f} MB, {t['steps']}/{t['max_steps']} steps ({t['stopped_by']})")
    print(f"rerank latency         {reranked['rerank_ms_per_query_mean']:.0f} ms/query (top {reranked['rerank_depth']})")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
