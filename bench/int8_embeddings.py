"""int8 embeddings: ingest speed and SciFact quality of fp32 (torch), fp32 (ONNX) and int8 (ONNX), in one run.

Each variant ingests the whole SciFact corpus (5,183 abstracts, ``ragtune ingest`` through ``Workspace.ingest``
with the bundled MiniLM) into its own workspace, then ``Workspace.evaluate_retrieval`` scores the 300 test
queries, dense and hybrid (nDCG@10, Recall@100). The ONNX export and its int8 model are made before the timed
ingests (their cost is reported apart). As the ingests run minutes apart under a changing load, the three
embedders also encode the same 128 abstracts in turns (3 rounds, median texts/s), which compares their speed
under the same load. One thread throughout. int8 is the default precision only if its dense
nDCG@10 is within 0.005 of fp32's.

The machine is shared with other CPU-heavy work: load averages are recorded beside each phase, and docs/s figures
are indicative. Finished phases are kept in the work folder, so an interrupted run continues where it stopped.

    python bench/int8_embeddings.py                    # -> bench/results/int8_embeddings.json
    python bench/int8_embeddings.py --docs 500 --out /tmp/int8.json   # a quick partial run (not comparable)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, Phases, corpus_prefix, log, median, shared_data, write_result  # noqa: E402

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.evaluation.questions import load_beir  # noqa: E402

DATA = shared_data("scifact")
OUT = RESULTS / "int8_embeddings.json"
VARIANTS = {"fp32_torch": {"runtime": "torch", "precision": "fp32"},
            "fp32_onnx": {"runtime": "onnx", "precision": "fp32"},
            "int8_onnx": {"runtime": "onnx", "precision": "int8"}}
MAX_NDCG_DROP = 0.005


def workspace(work: Path, name: str, embedder: dict) -> Workspace:
    return Workspace(RagtuneConfig.load({"home": str(work / name), "threads": 1,
                                         "embedder": {"model": "local", "onnx_cache": str(work / "onnx"), **embedder}}, env={}))


def prepare(work: Path) -> dict:
    """Make the ONNX export and its int8 model (once, as the first use of an embedder would)."""
    timings = {}
    for name in ("fp32_onnx", "int8_onnx"):
        embedder = workspace(work, "prepare", VARIANTS[name]).embedder()
        started = time.monotonic()
        embedder.embed_query("warm up")
        timings[f"{name}_made_s"] = round(time.monotonic() - started, 1)
        assert embedder.runtime == "onnx", f"{name}: the ONNX export could not be used"
    shutil.rmtree(work / "prepare", ignore_errors=True)
    return timings


def interleaved(work: Path, rounds: int = 3, count: int = 128) -> dict:
    """texts/s of each variant's embedder on the same abstracts, in turns (median of ``rounds``)."""
    texts = [json.loads(line)["text"] for line in (DATA / "corpus.jsonl").open(encoding="utf-8")][:count]
    embedders = {name: workspace(work, "prepare", kw).embedder() for name, kw in VARIANTS.items()}
    for embedder in embedders.values():
        embedder.embed_query("warm up")
    speeds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_ in range(rounds):
        names = list(VARIANTS)[round_ % 3:] + list(VARIANTS)[:round_ % 3]
        for name in names:
            started = time.monotonic()
            embedders[name].embed_documents(texts)
            speeds[name].append(len(texts) / (time.monotonic() - started))
    shutil.rmtree(work / "prepare", ignore_errors=True)
    medians = {n: round(median(v), 2) for n, v in speeds.items()}
    return {"texts": count, "rounds": rounds, "texts_per_s_median": medians,
            "texts_per_s": {n: [round(x, 2) for x in v] for n, v in speeds.items()}}


def variant(work: Path, name: str, corpus_path: Path, docs: int) -> dict:
    """Ingest the corpus with one variant (timed), then score the test queries dense and hybrid."""
    ws = workspace(work, name, VARIANTS[name])
    shutil.rmtree(work / name / "indexes", ignore_errors=True)
    load_before = os.getloadavg()
    started = time.monotonic()
    report = ws.ingest([str(corpus_path)], "scifact")
    ingest_s = time.monotonic() - started
    load_after = os.getloadavg()
    questions, qrels = load_beir(DATA, "test")
    scores = {}
    for mode in ("dense", "hybrid"):
        metrics = ws.evaluate_retrieval("scifact", questions, qrels, mode=mode)["metrics"]
        scores[mode] = {"ndcg@10": round(metrics["ndcg@10"]["mean"], 4), "recall@100": round(metrics["recall@100"]["mean"], 4)}
    manifest = ws.index("scifact").manifest
    return {"documents": docs, "chunks": report.chunks, "ingest_s": round(ingest_s, 1), "docs_per_s": round(docs / ingest_s, 2),
            "chunks_per_s": round(report.chunks / ingest_s, 2), "runtime": ws.embedder(None, manifest.embedder.precision).runtime,
            "recorded_precision": manifest.embedder.precision, "scores": scores,
            "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in load_after]}


def verdict(results: dict, turns: dict) -> dict:
    reference = results["fp32_torch"]["scores"]["dense"]["ndcg@10"]
    drop = round(reference - results["int8_onnx"]["scores"]["dense"]["ndcg@10"], 4)
    speedup = round(results["int8_onnx"]["docs_per_s"] / results["fp32_torch"]["docs_per_s"], 2)
    speeds = turns["texts_per_s_median"]
    return {"int8_dense_ndcg@10_drop_vs_fp32_torch": drop, "max_drop_for_default": MAX_NDCG_DROP,
            "int8_becomes_default": drop <= MAX_NDCG_DROP, "int8_docs_per_s_over_fp32_torch": speedup,
            "encode_in_turns_int8_over_fp32_torch": round(speeds["int8_onnx"] / speeds["fp32_torch"], 2),
            "encode_in_turns_fp32_onnx_over_fp32_torch": round(speeds["fp32_onnx"] / speeds["fp32_torch"], 2),
            "onnx_fp32_dense_ndcg@10_minus_torch": round(results["fp32_onnx"]["scores"]["dense"]["ndcg@10"] - reference, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=None, help="Only the first N documents (not comparable to the full set).")
    parser.add_argument("--work", default=None, help="Work folder, kept between runs (default: a new temporary folder).")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ragtune-int8-"))
    phases = Phases(work)
    corpus_path, docs = corpus_prefix(DATA / "corpus.jsonl", args.docs, work)
    made = phases.run("prepare", lambda: prepare(work))
    turns = phases.run("encode_in_turns", lambda: interleaved(work))
    results = {name: phases.run(name, lambda name=name: variant(work, name, corpus_path, docs)) for name in VARIANTS}
    summary = verdict(results, turns)
    result = {"bench": "int8_embeddings", "data": "scifact test (300 queries)", "documents": docs,
              "full_corpus": args.docs is None,
              "threads": 1, "cpu_count": os.cpu_count(), "load_average_end": [round(x, 2) for x in os.getloadavg()],
              "export": made, "encode_in_turns": turns, "variants": results, "verdict": summary}
    write_result(Path(args.out), result)
    for name, row in results.items():
        print(f"{name:<11} {row['docs_per_s']:7.2f} docs/s  dense nDCG@10 {row['scores']['dense']['ndcg@10']:.4f}  "
              f"hybrid {row['scores']['hybrid']['ndcg@10']:.4f}  (load {row['load_average_before'][0]:.1f})")
    print(f"int8 dense nDCG@10 drop vs fp32: {summary['int8_dense_ndcg@10_drop_vs_fp32_torch']:+.4f}   target <= {MAX_NDCG_DROP} "
          f"-> int8 {'becomes' if summary['int8_becomes_default'] else 'does not become'} the default")
    print(f"int8 docs/s / fp32 (torch) docs/s: {summary['int8_docs_per_s_over_fp32_torch']} in the ingests, "
          f"{summary['encode_in_turns_int8_over_fp32_torch']} encoding in turns   target > 1")
    print(f"fp32 ONNX - fp32 torch dense nDCG@10: {summary['onnx_fp32_dense_ndcg@10_minus_torch']:+.4f}   target 0 (same model)")
    log(f"wrote {args.out} (work folder {work})")


if __name__ == "__main__":
    main()
