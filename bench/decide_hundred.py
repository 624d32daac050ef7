"""Wall time of ``ragtune decide`` with the local model on 100 held-out questions of a shared data set and a
10-minute training budget, for a knowledge task and for a format task, each in a fresh workspace (nothing cached,
nothing resumed), with the machine's default threads and candidates side by side.

- knowledge: the RHDH product docs indexed, the first 200 questions of ``qa.jsonl`` with ``--holdout 0.5``
  (100 answered by every candidate, 100 to train on); candidates base, prompt, rag, ft, rag+ft.
- format: the first 500 rows of the SNIPS NLU train set as ``--examples`` with ``--examples-holdout 0.2``
  (100 held-out format questions, 400 to train on); candidates base, prompt, ft.

    python bench/decide_hundred.py [--tasks knowledge,format] [--budget 10m] [--questions 100]

Writes ``bench/results/decide_hundred.json``: the commit, each run's command, wall time (ingest apart), the load
average at its start and end, the time each phase took from the progress log, the decision's pick and the
measured candidates. The target is 20 minutes a task on this machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import RESULTS, ROOT, Phases, commit, finish, log, shared_data, timed_decide

from ragtune.machine import machine_cores

TARGET_S = 20 * 60


def knowledge_argv(work: Path, questions: int) -> tuple[list[str], list[str]]:
    data = shared_data("rhdh_docs_qa")
    rows = (data / "qa.jsonl").read_text(encoding="utf-8").splitlines()[: 2 * questions]
    path = work / "questions.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ingest = ["ingest", str(data / "docs"), "--index", "rhdh", "--json"]
    return ingest, ["--index", "rhdh", "--questions", str(path), "--holdout", "0.5",
                    "--candidates", "base,prompt,rag,ft,rag+ft", "--attribution"]


def format_argv(work: Path, questions: int) -> tuple[list[str], list[str]]:
    rows = (shared_data("snips_nlu_json") / "train.jsonl").read_text(encoding="utf-8").splitlines()
    path = work / "examples.jsonl"
    path.write_text("\n".join(rows[: 5 * questions]) + "\n", encoding="utf-8")
    return [], ["--examples", str(path), "--examples-holdout", "0.2", "--max-format-questions", str(questions),
                "--candidates", "base,prompt,ft", "--no-attribution"]


TASKS = {"knowledge": knowledge_argv, "format": format_argv}


def phase_times(lines: list[str]) -> dict[str, str]:
    """Each stage's time as its last ``done`` line of the progress log gives it (``train ft``, ``rag`` ...)."""
    out: dict[str, str] = {}
    for line in lines:
        stage, sep, rest = line.partition(": ")
        if sep and rest.endswith(", done") and " in " in rest:
            out[stage] = rest.rsplit(" in ", 1)[1].removesuffix(", done")
    return out


def one_task(task: str, work: Path, budget: str, questions: int, timeout_s: float, model: str) -> dict:
    home = work / task
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RAGTUNE_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    for var in ("RAGTUNE_THREADS", "OMP_NUM_THREADS", "RAGTUNE_PARALLEL_CANDIDATES"):
        env.pop(var, None)  # the machine's defaults, as a user gets them
    ingest, task_argv = TASKS[task](home, questions)
    ingest_s = 0.0
    if ingest:
        began = time.monotonic()
        subprocess.run([sys.executable, "-m", "ragtune", *ingest], env=env, capture_output=True, text=True, check=True)
        ingest_s = time.monotonic() - began
    argv = ["decide", *task_argv, "-m", model, "--budget", budget, "--out", str(home / "decide.json"), "--json"]
    run = timed_decide(argv, env, home, timeout_s, task)
    decision, wall, load_start, lines = run["decision"], run["wall_s"], run["loadavg_start"], run["lines"]
    answered = {n: c["n"] for n, c in decision["candidates"].items() if c["measured"]}
    answer_costs = {n: {k: c[k] for k in ("latency_ms_p50", "input_tokens", "output_tokens")}
                    for n, c in decision["candidates"].items() if c["measured"]}
    return {"command": "ragtune " + " ".join(argv), "ingest_s": round(ingest_s, 1), "wall_s": round(wall, 1),
            "decide_wall_s": decision["run"]["wall_s"], "within_target": wall <= TARGET_S,
            "loadavg_start": load_start, "loadavg_end": list(os.getloadavg()),
            "resumed": any("resumed run" in n for n in decision["notes"]), "fresh_home": True, "cached_answers": 0,
            "recommendation": decision["recommendation"], "questions_per_candidate": answered, "per_answer": answer_costs,
            "measured": sorted(n for n, c in decision["candidates"].items() if c["measured"]),
            "skipped": {n: c["skipped_reason"] for n, c in decision["candidates"].items() if not c["measured"]},
            "phase_times": phase_times(lines), "progress_tail": lines[-12:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="knowledge,format")
    parser.add_argument("--budget", default="10m", help="the training budget shared by the tuned candidates")
    parser.add_argument("--questions", type=int, default=100, help="held-out questions every candidate answers")
    parser.add_argument("--model", default="local")
    parser.add_argument("--timeout-s", type=float, default=3600.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragtune-bench/decide_hundred"))
    args = parser.parse_args()
    phases = Phases(args.work)
    runs = {task: phases.run(task, lambda task=task: one_task(task, args.work, args.budget, args.questions,
                                                              args.timeout_s, args.model))
            for task in args.tasks.split(",")}
    for task, run in runs.items():
        log(f"{task}: {run['wall_s']} s (target {TARGET_S} s), pick {run['recommendation']}")
    result = {"commit": commit(), "machine": {"cores": machine_cores(), "threads": "the machine's default"},
              "model": args.model, "budget": args.budget, "questions": args.questions, "target_s": TARGET_S,
              "runs": runs, "resumed_or_cached": False}
    return finish(RESULTS / "decide_hundred.json", result)


if __name__ == "__main__":
    raise SystemExit(main())
