"""base against rag on the RHDH product-docs QA set, with the extractive generator and the default local model.

Indexes ../shared/data/rhdh_docs_qa/docs with the default embedder, then runs ``ragtune eval`` (through the
API) on the first questions of qa.jsonl: all of them with ``extractive`` (no LLM, fast), a subset with the
default local model (SmolLM2-135M-Instruct on CPU, a few seconds an answer). Records token F1, citation
precision, faithfulness, latency p50/p95 and tokens per variant with 95% intervals, and writes
bench/results/eval_rhdh.json (plus the HTML report and Markdown summary of each run beside it).

    python bench/eval_rhdh.py [--questions 200] [--local-questions 40] [--skip-local]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, shared_data  # noqa: E402 - offline, single-thread settings and the src path

from ragtune.api import EvalConfig, Workspace, write_eval_report as write_report  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402

DATA = shared_data("rhdh_docs_qa")
RESULTS = ROOT / "bench" / "results"
FIGURES = ["token_f1", "exact_match", "citation_precision", "citation_recall", "faithfulness", "recall@10", "ndcg@10",
           "abstained", "latency_ms_p50", "latency_ms_p95", "input_tokens", "output_tokens", "cost_per_1k_queries"]


def summary(result) -> dict:
    out = {}
    for variant, metrics in result.aggregates.items():
        out[variant] = {m: {"mean": round(metrics[m]["mean"], 4), "ci95": [round(x, 4) for x in metrics[m]["ci95"]],
                            "n": metrics[m]["n"]} for m in FIGURES if m in metrics}
    return out


def run(ws: Workspace, questions: Path, model: str, limit: int, name: str, progress) -> dict:
    started = time.perf_counter()
    result = ws.evaluate(questions, EvalConfig.create(variants="base,rag", model=model, index="rhdh"), limit=limit,
                         progress=progress)
    wall = time.perf_counter() - started
    result.write(RESULTS / f"{name}.results.json")
    write_report(result, RESULTS / f"{name}.html")
    write_report(result, RESULTS / f"{name}.md")
    figures = summary(result)
    print(f"\n{model}: {limit} questions, {wall:.0f} s", flush=True)
    for variant, metrics in figures.items():
        shown = ", ".join(f"{m} {v['mean']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]" for m, v in metrics.items())
        print(f"  {variant:6s} {shown}", flush=True)
    return {"model": model, "questions": limit, "wall_s": round(wall, 1), "generated": result.config["run"]["generated"],
            "cached": result.config["run"]["cached"], "variants": figures, "notes": result.notes,
            "report": f"bench/results/{name}.html"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200, help="Questions for the extractive run.")
    parser.add_argument("--local-questions", type=int, default=40, help="Questions for the local-model run.")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--home", default=None, help="Workspace (default: a temporary folder).")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    home = Path(args.home or tempfile.mkdtemp(prefix="eval_rhdh_"))
    ws = Workspace(RagtuneConfig.load({"home": str(home)}))

    def progress(stage: str, done: int, total: int) -> None:
        if done == total or done % 20 == 0:
            print(f"  {stage} {done}/{total}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    ws.ingest([str(DATA / "docs")], "rhdh", progress=progress)  # unchanged documents cost nothing on a rerun
    ingest_s = time.perf_counter() - started
    manifest = ws.index("rhdh").manifest
    print(f"index: {manifest.documents} documents, {manifest.chunks} chunks ({ingest_s:.0f} s)", flush=True)
    total = sum(1 for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip())
    out = {"data": str(DATA), "questions_in_set": total, "embedder": ws.config.embedder.model,
           "index": {"documents": manifest.documents, "chunks": manifest.chunks, "ingest_s": round(ingest_s, 1)},
           "device": "cpu", "threads": ws.config.threads, "runs": []}
    out["runs"].append(run(ws, DATA / "qa.jsonl", "extractive", args.questions, "eval_rhdh_extractive", progress))
    if not args.skip_local:
        out["runs"].append(run(ws, DATA / "qa.jsonl", "local", args.local_questions, "eval_rhdh_local", progress))
    (RESULTS / "eval_rhdh.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'eval_rhdh.json'}")


if __name__ == "__main__":
    main()
