"""Ingest speed at 1 and 2 threads: a few hundred SciFact abstracts with the default (local) embedder.

Each measurement is a fresh process (threads are fixed when a process starts its pools) that ingests the same
abstracts into a new workspace with ``threads = N`` and times ``Workspace.ingest`` alone; the ONNX export is
made once before, outside the timings. The thread counts run in the order 1, 2, 2, 1, ... so that a change in the
machine's load weighs on both alike; the median of each is reported, with the load averages, and the thread
count ragtune picks by default on this machine (``ragtune.machine.default_threads``).

    python bench/threads_ingest.py                  # -> bench/results/threads_ingest.json
    python bench/threads_ingest.py --docs 100 --rounds 1 --out /tmp/threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, corpus_prefix, log, median, shared_data, write_result  # noqa: E402

DATA = shared_data("scifact")
OUT = RESULTS / "threads_ingest.json"
RUNNER = """
import json, sys, time
from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
home, corpus, threads, cache = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ws = Workspace(RagtuneConfig.load({"home": home, "threads": threads, "embedder": {"onnx_cache": cache}}, env={}))
ws.embedder().embed_query("warm up")
started = time.monotonic()
report = ws.ingest([corpus], "scifact")
print(json.dumps({"seconds": time.monotonic() - started, "chunks": report.chunks, "runtime": ws.embedder().runtime,
                  "precision": ws.config.embedder.precision.value}))
"""


def ingest(work: Path, corpus: Path, threads: int, run: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "RAGTUNE_THREADS": str(threads)}
    load = os.getloadavg()[0]
    argv = [sys.executable, "-c", RUNNER, str(work / f"home-{run}"), str(corpus), str(threads), str(work / "onnx")]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ingest at {threads} threads failed:\n{done.stderr[-2000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {**row, "threads": threads, "load_average_before": round(load, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="Pairs of runs (1 then 2 threads, then 2 then 1, ...).")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    from ragtune.machine import cgroup_cpu_limit, default_threads

    work = Path(tempfile.mkdtemp(prefix="ragtune-threads-"))
    corpus, args.docs = corpus_prefix(DATA / "corpus.jsonl", args.docs, work)
    runs = []
    for i in range(args.rounds):
        for threads in ((1, 2) if i % 2 == 0 else (2, 1)):
            row = ingest(work, corpus, threads, len(runs))
            row["docs_per_s"] = round(args.docs / row["seconds"], 2)
            runs.append(row)
            log(f"{threads} thread(s): {row['docs_per_s']} docs/s (load {row['load_average_before']})")
    medians = {str(n): round(median([r["docs_per_s"] for r in runs if r["threads"] == n]), 2) for n in (1, 2)}
    env = {k: v for k, v in os.environ.items() if k != "RAGTUNE_THREADS"}
    result = {"bench": "threads_ingest", "documents": args.docs, "embedder": "local", "runtime": runs[0]["runtime"],
              "precision": runs[0]["precision"], "cpu_count": os.cpu_count(), "default_threads_here": default_threads(env=env),
              "cgroup_cpu_limit": cgroup_cpu_limit(), "docs_per_s_median": medians,
              "two_over_one": round(medians["2"] / medians["1"], 2), "runs": runs,
              "load_average_end": [round(x, 2) for x in os.getloadavg()]}
    write_result(Path(args.out), result)
    print(f"1 thread: {medians['1']} docs/s   2 threads: {medians['2']} docs/s   ratio {result['two_over_one']}   "
          f"target: the default ({result['default_threads_here']} here) is not slower than 1")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
