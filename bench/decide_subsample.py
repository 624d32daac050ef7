"""The decision against a known right answer on real rows: small subsets of a large pool, decided from rows.

For each scenario every candidate answers a large question pool once (``Workspace.evaluate`` with the
``extractive`` generator, which needs no language model; the rows are kept in the work folder, so a rerun reuses
them and the result says so). The truth comes from the whole pool: the best candidate is the one with the highest
mean primary metric on all the pool's questions, the candidates *as good* are those within the margin of it, and the
truth's pick is the cheapest of those by the cost the decision computes from all the pool's rows (measured latency
at the machine rate: extractive answers use no tokens).

Then, for each n (20, 50, 100, 200), ``--draws`` random subsets of n questions (without replacement, seeded) are
decided through ``Workspace.decide_rows``, the library call behind ``ragtune decide --rows``, and per n it reports:

- ``worse_pick``: share of settled picks truly worse than the best by more than the margin (target at most 0.05);
  ``worse_pick_any``: the same counting provisional picks (nothing settled: the best measured is recommended);
- ``not_yet_known``: share of all verdicts (every candidate, every draw) that are *not yet known*; ``unsettled``:
  share of decisions with no candidate shown as good;
- ``truth_pick``: share of decisions whose settled pick is the truth's pick.

The pool of each scenario and its decided cells are phases kept in ``<work>/<scenario>/state.json``: a rerun reuses
them and lists them under ``resumed_phases`` (with the commit and time each was made), so one process per scenario
can build and decide side by side and a last run gathers them.

The candidate names are the roles the decision costs them by; ``stands_for`` in the result says what answered
under each name (every one is the extractive generator, with or without retrieval).

    python bench/decide_subsample.py [--draws 200] [--jobs 4] [--questions N] [--work DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import RESULTS, ROOT, Phases, log, shared_data, write_result  # noqa: E402 - offline settings, src path

from ragtune.api import EvalConfig, Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.decide.verdict import MARGIN, NOT_YET_KNOWN  # noqa: E402
from ragtune.documents import JsonlFields  # noqa: E402

ROW_FIELDS = ("id", "task", "answer", "error", "token_f1", "exact_match", "abstained", "faithfulness", "latency_ms",
              "input_tokens", "output_tokens", "model", "cached")
"""What a pool row keeps of an eval row (the ``decide --rows`` format, plus ``cached``)."""


@dataclass(frozen=True)
class Scenario:
    """One pool: a data set, the index it is ingested as, its question file and what answers under each name."""

    name: str
    describe: str
    index: str
    ingest: Callable[[Workspace], None]
    questions: Callable[[Path, int], Path]
    stands_for: dict[str, dict[str, Any]]  # candidate name -> the eval settings it answers with (and a description)
    pool: int  # questions in the pool (what this machine answers in about a quarter of an hour)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def rhdh_questions(work: Path, n: int) -> Path:
    data = shared_data("rhdh_docs_qa")
    rows = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    sample = random.Random(0).sample(rows, min(n, len(rows)))
    return write_jsonl(work / "rhdh_questions.jsonl", [{k: r[k] for k in ("id", "question", "reference_answer")}
                                                       for r in sample])


def clark_questions(work: Path, n: int) -> Path:
    """CLARK questions with an answer other than yes/no, each question once with its latest answer."""
    data = shared_data("clark_news")
    latest: dict[str, dict] = {}
    for line in (data / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["answer"].strip().lower() in ("yes", "no"):
            continue
        if row["question"] not in latest or row["valid_from"] > latest[row["question"]]["valid_from"]:
            latest[row["question"]] = row
    sample = random.Random(0).sample(sorted(latest.values(), key=lambda r: r["qid"]), min(n, len(latest)))
    return write_jsonl(work / "clark_questions.jsonl", [{"id": f"c{r['qid']}", "question": r["question"],
                                                        "reference_answer": r["answer"]} for r in sample])


def _ingest_rhdh(ws: Workspace) -> None:
    ws.ingest([str(shared_data("rhdh_docs_qa") / "docs")], "rhdh")


def _ingest_clark(ws: Workspace) -> None:
    ws.ingest([str(shared_data("clark_news") / "docs.jsonl")], "clark", jsonl_fields=JsonlFields("_id", "title", "text"))


def _roles(index: str) -> dict[str, dict[str, Any]]:
    return {
        "base": {"describe": "extractive without retrieval (it has nothing to quote: it abstains)", "variants": "base"},
        "prompt": {"describe": "extractive over lexical (BM25) retrieval, 3 passages (no query embedding)", "variants": "rag",
                   "index": index, "mode": "lexical"},
        "rag": {"describe": "extractive over hybrid retrieval, 3 passages (the defaults)", "variants": "rag", "index": index},
    }


SCENARIOS = {
    "rhdh": Scenario("rhdh", "Red Hat Developer Hub docs QA (28 documents), knowledge questions with reference answers",
                     "rhdh", _ingest_rhdh, rhdh_questions, _roles("rhdh"), 300),
    "clark": Scenario("clark", "CLARK news (1,171 articles), questions on who holds which position, team or employer, "
                      "each with its latest answer", "clark", _ingest_clark, clark_questions, _roles("clark"), 400),
}


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def build_pool(scenario: Scenario, work: Path, questions: int) -> dict:
    """Every candidate answers the pool once; the rows go to ``<work>/<name>/rows.jsonl``."""
    folder = work / scenario.name
    ws = Workspace(RagtuneConfig.load({"home": str(folder / "home")}))
    started = time.perf_counter()
    index_existed = scenario.index in ws.store.list_indexes()
    if not index_existed:
        scenario.ingest(ws)
    ingest_s = time.perf_counter() - started
    qfile = scenario.questions(folder, questions)
    rows: list[dict] = []
    seconds = {}
    for name, role in scenario.stands_for.items():
        settings = {k: v for k, v in role.items() if k != "describe"}
        started = time.perf_counter()
        result = ws.evaluate(qfile, EvalConfig.create(model="extractive", **settings))
        seconds[name] = round(time.perf_counter() - started, 1)
        log(f"{scenario.name} {name}: {len(result.rows)} rows in {seconds[name]} s")
        rows += [{**{k: r[k] for k in ROW_FIELDS if k in r}, "candidate": name, "task": "knowledge"} for r in result.rows]
    path = write_jsonl(folder / "rows.jsonl", rows)
    return {"rows": str(path), "questions": len({r["id"] for r in rows}), "commit": commit(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "ingest_s": round(ingest_s, 1),
            "index_existed": index_existed,
            "answer_s": seconds, "cached_rows": sum(1 for r in rows if r.get("cached"))}


def truth(ws: Workspace, rows_file: Path, margin: float) -> dict:
    """The whole pool's best, the candidates within ``margin`` of it and the cheapest of those, from the decision
    on every row (its means and its costs)."""
    full = ws.decide_rows(rows_file, margin=margin)
    means = {c: r.score for c, r in full.candidates.items() if r.measured and r.score is not None}
    costs = {c: full.candidates[c].total_usd for c in means}
    top = max(means.values())
    as_good = [c for c in means if means[c] >= top - margin - 1e-9]
    return {"metric": full.primary_metric, "means": {c: round(v, 4) for c, v in means.items()},
            "best": max(means, key=lambda c: means[c]), "as_good": as_good,
            "cheapest_as_good": min(as_good, key=lambda c: (costs[c] if costs[c] is not None else float("inf"))),
            "total_usd": costs, "cost_basis": {c: full.candidates[c].cost_basis for c in means},
            "assumed": {c: full.candidates[c].assumed for c in means},
            "whole_pool_decision": {"pick": full.recommendation, "settled": full.verdict["settled"],
                                    "verdicts": {c: r.verdict for c, r in full.candidates.items() if r.measured}}}


def subsample(rows_file: str, n: int, draws: int, margin: float, seed: int, known: dict) -> dict:
    """``draws`` decisions on random subsets of ``n`` questions of the pool ``rows_file``, against the truth ``known``
    (in a workspace of its own, so that cells can be decided by processes side by side)."""
    scratch = Path(tempfile.mkdtemp(prefix="decide_subsample_"))
    ws = Workspace(RagtuneConfig.load({"home": str(scratch / "home")}))  # decides from rows only: runs no model
    rows = [json.loads(line) for line in Path(rows_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = sorted({r["id"] for r in rows})
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["id"], []).append(r)
    rng = random.Random(seed)
    means, top, pick_truth = known["means"], max(known["means"].values()), known["cheapest_as_good"]
    counts = {"worse_pick": 0, "worse_pick_any": 0, "unsettled": 0, "truth_pick": 0}
    verdicts: dict[str, int] = {}
    picks: dict[str, int] = {}
    started = time.perf_counter()
    for _ in range(draws):
        chosen = rng.sample(ids, n)
        path = write_jsonl(scratch / "draw.jsonl", [r for q in chosen for r in by_id[q]])
        decision = ws.decide_rows(path, margin=margin)
        pick, settled = decision.recommendation, bool(decision.verdict["settled"])
        worse = pick is not None and means[pick] < top - margin - 1e-9
        counts["worse_pick"] += settled and worse
        counts["worse_pick_any"] += worse
        counts["unsettled"] += not settled
        counts["truth_pick"] += settled and pick == pick_truth
        picks[f"{pick}{'' if settled else ' (provisional)'}"] = picks.get(f"{pick}{'' if settled else ' (provisional)'}", 0) + 1
        for c in decision.candidates.values():
            if c.measured and c.verdict is not None:
                verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
    total = sum(verdicts.values())
    return {"n": n, **{k: round(v / draws, 4) for k, v in counts.items()},
            "not_yet_known": round(verdicts.get(NOT_YET_KNOWN, 0) / total, 4) if total else None,
            "verdicts": verdicts, "picks": dict(sorted(picks.items(), key=lambda kv: -kv[1])),
            "seconds_per_decision": round((time.perf_counter() - started) / draws, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS), help="Scenarios to run (default: all).")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--ns", default="20,50,100,200")
    parser.add_argument("--questions", type=int, default=None, help="Questions in each pool (default: the scenario's).")
    parser.add_argument("--margin", type=float, default=MARGIN)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "ragtune-bench-decide-subsample"),
                        help="Folder of the pools (kept: a rerun reuses them and says so).")
    parser.add_argument("--out", default=str(RESULTS / "decide_subsample.json"))
    parser.add_argument("--jobs", type=int, default=2, help="Processes deciding the cells side by side.")
    parser.add_argument("--pool-only", action="store_true", help="Build the pools and stop (one process per scenario "
                        "can build them side by side; the run that decides then reuses them and says so).")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(args.work)
    ns = [int(x) for x in args.ns.split(",")]
    ws = Workspace(RagtuneConfig.load({"home": tempfile.mkdtemp(prefix="decide_subsample_")}))  # runs no model
    out_scenarios = {}
    pool_runner = ProcessPoolExecutor(max_workers=args.jobs)
    resumed = []
    for name in args.scenarios:
        scenario = SCENARIOS[name]
        phases = Phases(work / name)  # one state per scenario: pools can be built by processes side by side
        questions = args.questions or scenario.pool
        phase = f"pool {name} {questions}"
        if phase in phases.state:
            resumed.append(phase)
        pool = phases.run(phase, lambda: build_pool(scenario, work, questions))  # noqa: B023 - run at once
        if args.pool_only:
            continue
        known = truth(ws, Path(pool["rows"]), args.margin)
        log(f"{name}: truth {json.dumps({k: known[k] for k in ('means', 'best', 'as_good', 'cheapest_as_good')})}")
        step = f"cells {name} {questions} n={args.ns} draws={args.draws} margin={args.margin}"
        if step in phases.state:
            resumed.append(step)

        def decide_cells() -> dict:
            futures = [pool_runner.submit(subsample, pool["rows"], n, args.draws, args.margin, 1000 * (i + 1), known)
                       for i, n in enumerate(ns)]
            return {"cells": [f.result() for f in futures], "commit": commit(),
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

        decided = phases.run(step, decide_cells)
        cells = decided["cells"]
        for cell in cells:
            log(f"{name} n={cell['n']}: worse_pick {cell['worse_pick']} not_yet_known {cell['not_yet_known']} "
                f"truth_pick {cell['truth_pick']} unsettled {cell['unsettled']} picks {cell['picks']}")
        out_scenarios[name] = {"describe": scenario.describe, "pool": {**pool, "resumed": phase in resumed},
                               "cells_resumed": step in resumed, "cells_commit": decided.get("commit"),
                               "stands_for": {c: r["describe"] for c, r in scenario.stands_for.items()},
                               "groups": "none: questions are treated as independent", "truth": known, "cells": cells}
    pool_runner.shutdown()
    if args.pool_only:
        return 0
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "src", "bench"], cwd=ROOT, capture_output=True,
                                text=True, check=False).stdout.strip())
    result = {
        "benchmark": "decide_subsample", "commit": commit(), "source_modified": dirty,
        "command": " ".join(["python", *sys.argv]), "resumed": bool(resumed), "resumed_phases": resumed,
        "cached": any(s["pool"]["cached_rows"] for s in out_scenarios.values()),
        "decided_through": "Workspace.decide_rows (the call behind ragtune decide --rows)",
        "costs": "measured: each answer's latency on this machine (shared, under load) at the machine rate; the "
                 "extractive generator uses no tokens",
        "draws": args.draws, "margin": args.margin, "jobs": args.jobs, "target": "worse_pick <= 0.05 at every n",
        "max_worse_pick": max(c["worse_pick"] for s in out_scenarios.values() for c in s["cells"]),
        "scenarios": out_scenarios, "wall_s": round(time.perf_counter() - started, 1),
    }
    write_result(Path(args.out), result)
    print(f"wrote {args.out}: max worse_pick {result['max_worse_pick']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
