"""Wall time of ``ragtune decide`` on the examples scenario (``make demo``'s last step), with the candidates one after
another (``RAGTUNE_PARALLEL_CANDIDATES=1``) and side by side (the default: as many at once as the cores hold at one
thread a generation), same machine, one run each, each in a fresh workspace (nothing cached, nothing resumed).

    python bench/decide_wall.py [--budget 2m] [--format-questions 4] [--timeout-s 2400]

Writes ``bench/results/decide_wall.json``: the commit, each run's command, wall time, load average at its start and
end, the phases it reused (none: fresh homes), the decision's pick, and whether the candidates that train nothing
(base, prompt, rag) gave the same rows both ways (the tuned ones train to a time budget, so their weights differ
from run to run). The machine is shared: read the load averages beside the times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import RESULTS, ROOT, Phases, commit, finish, log, timed_decide

from ragtune.evaluation.lanes import candidates_at_once
from ragtune.machine import machine_cores

EXAMPLES = ROOT / "examples"
UNTRAINED = ("base", "prompt", "rag")
TIMING = ("latency", "machine", "cached", "cost_usd", "cost_per_1k")
MODES = {"one_by_one": "1", "side_by_side": None}  # RAGTUNE_PARALLEL_CANDIDATES: 1, or unset (the default)


def decide_argv(home: Path, budget: str, format_questions: int, model: str, candidates: str) -> list[str]:
    return ["decide", "--candidates", candidates, "--index", "support", "--questions", str(EXAMPLES / "questions.jsonl"), "--examples",
            str(EXAMPLES / "tickets.jsonl"), "-m", model, "--queries-per-month", "50000", "--attribution", "--budget",
            budget, "--max-length", "160", "--max-format-questions", str(format_questions), "--out", str(home / "decide.json")]


def one_run(home: Path, mode: str, argv: list[str], timeout_s: float) -> dict:
    env = {**os.environ, "RAGTUNE_HOME": str(home), "RAGTUNE_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT / "src")}
    env.pop("RAGTUNE_PARALLEL_CANDIDATES", None)
    if MODES[mode] is not None:
        env["RAGTUNE_PARALLEL_CANDIDATES"] = MODES[mode]
    ingest = subprocess.run([sys.executable, "-m", "ragtune", "ingest", str(EXAMPLES / "docs"), "--index", "support",
                             "--json"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(ingest.stdout)
    run = timed_decide([*argv, "--json"], env, home, timeout_s, mode)
    decision, wall, load_start, lines = run["decision"], run["wall_s"], run["loadavg_start"], run["lines"]
    return {"command": ("RAGTUNE_PARALLEL_CANDIDATES=1 " if MODES[mode] else "") + "RAGTUNE_THREADS=1 ragtune "
                       + " ".join(argv), "wall_s": round(wall, 1), "decide_wall_s": decision["run"]["wall_s"],
            "loadavg_start": load_start, "loadavg_end": list(os.getloadavg()),
            "phases": decision["run"]["resumed_phases"], "resumed": any("resumed run" in n for n in decision["notes"]),
            "fresh_home": True, "cached_answers": 0, "recommendation": decision["recommendation"],
            "progress_lines_with_eta": [line for line in lines if line.endswith(" left")][:6],
            "measured": sorted(n for n, c in decision["candidates"].items() if c["measured"]),
            "skipped": {n: c["skipped_reason"] for n, c in decision["candidates"].items() if not c["measured"]}}


def untrained_rows(home: Path) -> list[dict]:
    rows = json.loads((home / "decide.json").read_text(encoding="utf-8"))["rows"]
    return [{k: v for k, v in r.items() if not k.startswith(TIMING)} for r in rows if r["candidate"] in UNTRAINED]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="2m", help="the training budget of each decide run (make demo: 4m)")
    parser.add_argument("--format-questions", type=int, default=4, help="--max-format-questions (make demo: 12)")
    parser.add_argument("--timeout-s", type=float, default=2400.0, help="most seconds one decide run may take")
    parser.add_argument("--candidates", default="base,prompt,rag,ft,rag+ft", help="--candidates (make demo: all five)")
    parser.add_argument("--model", default="local", help="the model decided for (extractive: a quick check of the bench)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragtune-bench/decide_wall"))
    args = parser.parse_args()
    phases = Phases(args.work)
    runs = {}
    for mode in MODES:
        home = args.work / mode
        runs[mode] = phases.run(mode, lambda home=home, mode=mode: one_run(
            home, mode, decide_argv(home, args.budget, args.format_questions, args.model,
                                                args.candidates), args.timeout_s))
    before, after = runs["one_by_one"], runs["side_by_side"]
    lanes = 1 + sum(c in ("ft", "rag+ft") for c in args.candidates.split(","))  # the model's, and each tuned one's
    same = untrained_rows(args.work / "one_by_one") == untrained_rows(args.work / "side_by_side")
    result = {
        "commit": commit(), "scenario": "examples/ (make demo's decide step), local model, fresh workspace each run",
        "machine": {"cores": machine_cores(), "threads_per_generation": 1,
                    "candidates_at_once": candidates_at_once(lanes, None, 1, "cpu"),
                    "shared": "a 2-core machine shared with other work at the same time: see the load averages"},
        "runs": runs, "speedup": round(before["wall_s"] / after["wall_s"], 2),
        "untrained_rows_equal": same, "resumed_or_cached": False,
        "candidates": args.candidates, "budget": args.budget, "max_format_questions": args.format_questions,
        "not_measured": "100 questions of a shared data set with --budget 10m: two such runs did not fit the time this "
                        "machine had (load average 9 to 16 on 2 cores); the examples scenario only"
                        + ("" if args.candidates == "base,prompt,rag,ft,rag+ft" else
                           f", with --candidates {args.candidates}: the whole-corpus prompt candidate alone was on course "
                           "for 30 minutes at that load"),
    }
    log(f"one by one {before['wall_s']} s, side by side {after['wall_s']} s ({result['speedup']}x); untrained rows equal: {same}")
    return finish(RESULTS / "decide_wall.json", result)


if __name__ == "__main__":
    raise SystemExit(main())
