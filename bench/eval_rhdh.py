"""base against rag on the RHDH product-docs QA set, with the extractive generator and the default local model.

Indexes ../shared/data/rhdh_docs_qa/docs with the default embedder, then runs ``ragtune eval`` (through the
API) on the first questions of qa.jsonl: all of them with ``extractive`` (no LLM, fast), a subset with the
default local model (SmolLM2-135M-Instruct on CPU, a few seconds an answer). Records token F1, citation
precision, faithfulness, latency p50/p95 and tokens per variant with 95% intervals, and writes
bench/results/eval_rhdh.json (plus the HTML report and Markdown summary of each run beside it).

    python bench/eval_rhdh.py [--questions 200] [--local-questions 40] [--skip-local]
    python bench/eval_rhdh.py --rerender     # the reports again from the saved rows, at today's prices

``--rerender`` answers nothing: it reads each run's saved ``*.results.json``, prices its rows again with the
current price table and writes the reports and the figures again, recording in eval_rhdh.json that the rows
were reused. A model paid by machine time is charged for each answer's whole latency (the saved rows do not
split out the generating seconds), so its cost is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import ROOT, shared_data  # noqa: E402 - offline, single-thread settings and the src path

from ragtune.api import EvalConfig, PriceTable, Workspace, read_results, write_eval_report as write_report  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.evaluation.metrics import aggregate  # noqa: E402

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


def reprice(ws: Workspace, name: str) -> dict:
    """Run ``name``'s saved rows through today's price table, then write its reports and figures again."""
    path = RESULTS / f"{name}.results.json"
    result = read_results(path)
    prices = PriceTable.default()
    for row in result.rows:
        if row.get("answer") is None:
            continue
        cost = prices.cost(row["model"], ws.generator(row["model"]).pricing, int(row.get("input_tokens", 0)),
                           int(row.get("output_tokens", 0)), float(row.get("latency_ms", 0.0)) / 1000)
        if cost is None:
            row.pop("cost_usd", None)
        else:
            row["cost_usd"] = cost
    fresh = aggregate(result.rows, result.variants)
    for variant, metrics in result.aggregates.items():
        for metric in ("cost_usd", "cost_per_1k_queries"):
            metrics.pop(metric, None)
            if metric in fresh[variant]:
                metrics[metric] = fresh[variant][metric]
    result.config["prices"] = prices.model_dump(mode="json")
    note = (f"costs re-priced from the saved rows with the price table as of {prices.as_of}; a model paid by machine "
            "time is charged for each answer's whole latency (an upper bound)")
    result.notes = [n for n in result.notes if not n.startswith("costs re-priced")] + [note]
    result.write(path)
    write_report(result, RESULTS / f"{name}.html")
    write_report(result, RESULTS / f"{name}.md")
    return summary(result)


def rerender() -> None:
    """The reports of the saved runs again, at today's prices; nothing is answered again."""
    out = json.loads((RESULTS / "eval_rhdh.json").read_text())
    ws = Workspace(RagtuneConfig.load({"home": tempfile.mkdtemp(prefix="eval_rhdh_")}))
    prices = PriceTable.default()
    for run_out in out["runs"]:
        name = Path(run_out["report"]).stem
        run_out["variants"] = reprice(ws, name)
        print(f"re-rendered {run_out['report']} from {run_out['questions']} saved questions", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out["rerendered"] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
                         "command": "python bench/eval_rhdh.py --rerender", "rows_reused": True, "answers_generated": 0,
                         "prices_as_of": prices.as_of,
                         "how": "each run's saved rows re-priced and its reports written again; the answers, scores and "
                                "timings are those of the original run"}
    (RESULTS / "eval_rhdh.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'eval_rhdh.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200, help="Questions for the extractive run.")
    parser.add_argument("--local-questions", type=int, default=40, help="Questions for the local-model run.")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--home", default=None, help="Workspace (default: a temporary folder).")
    parser.add_argument("--rerender", action="store_true", help="Write the reports again from the saved rows (no answers).")
    args = parser.parse_args()
    if args.rerender:
        rerender()
        return
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
