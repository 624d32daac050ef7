"""The decision benchmark: ``decide`` on scenarios whose right answer is known by measurement.

Each scenario is one ``Workspace.decide`` run on the default local model (SmolLM2-135M on this CPU) with a small
training budget; the rows are kept, so an interrupted run continues (``resume``). For each scenario the script
writes bench/results/decide_<name>.json (every candidate's primary metric with its interval and costs, the pick,
the rules-only ``advise`` pick) and checks, from the candidates' own figures, that the pick is tied with the
best on quality and the cheapest of those tied. bench/results/decide_scenarios.json holds the table.

Scenarios:
- ``examples``: the demo's support docs, knowledge questions and ticket-triage examples (knowledge and format);
- ``rhdh``: Red Hat Developer Hub docs QA, knowledge with attribution (60 questions, 24 held out);
- ``snips``: SNIPS text -> JSON intents and slots, a format task without documents (300 examples, 30 held out;
  the schema of intents and their slot names given, as a team with a format would);
- ``clark``: CLARK news, knowledge that changes: the index synced at T1 and again at T2, questions whose
  answer changed, asked with the T2 answer as reference.

    python bench/decide_scenarios.py [examples rhdh snips clark] [--budget 6m] [--work DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
from pathlib import Path

from _common import RESULTS, ROOT, log, shared_data, write_result  # noqa: E402 - offline, single-thread settings, src path

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.decide import parse_duration  # noqa: E402
from ragtune.documents import JsonlFields  # noqa: E402
from ragtune.evaluation.updates import DatedDocFields, TimedQuestionFields, changed_questions, read_dated_docs  # noqa: E402

EXAMPLES = ROOT / "examples"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def scenario_examples(ws: Workspace, work: Path) -> dict:
    if "support" not in ws.store.list_indexes():
        ws.ingest([str(EXAMPLES / "docs")], "support")
    return dict(index="support", questions=EXAMPLES / "questions.jsonl", examples=EXAMPLES / "tickets.jsonl",
                max_format_questions=16, attribution=True, max_length=128)


def scenario_rhdh(ws: Workspace, work: Path) -> dict:
    data = shared_data("rhdh_docs_qa")
    if "rhdh" not in ws.store.list_indexes():
        ws.ingest([str(data / "docs")], "rhdh")
    rows = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    sample = random.Random(0).sample(rows, 60)
    questions = write_jsonl(work / "rhdh_questions.jsonl", sample)
    return dict(index="rhdh", questions=questions, holdout=0.4, attribution=True)


def scenario_snips(ws: Workspace, work: Path) -> dict:
    data = shared_data("snips_nlu_json")
    lines = [line for line in (data / "train.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    examples = work / "snips_examples.jsonl"
    examples.write_text("\n".join(lines[i * len(lines) // 300] for i in range(300)) + "\n", encoding="utf-8")
    from lora_snips import prompt_schema

    schema = prompt_schema(json.loads((data / "schema_slots_per_intent.json").read_text(encoding="utf-8")))
    return dict(examples=examples, examples_holdout=0.1, max_format_questions=30, max_length=128, batch_size=8,
                json_schema=schema)


def scenario_clark(ws: Workspace, work: Path) -> dict:
    data = shared_data("clark_news")
    t1, t2 = dt.date(2022, 1, 1), dt.date(2024, 1, 1)
    if "clark" not in ws.store.list_indexes():
        docs = read_dated_docs(data / "docs.jsonl", DatedDocFields())
        for cutoff in (t1, t2):  # two syncs: the index's history shows the content changing
            staged = write_jsonl(work / "clark_docs.jsonl", [d.row for d in docs if d.date <= cutoff])
            ws.ingest([str(staged)], "clark", jsonl_fields=JsonlFields("_id", "title", "text"))
    changed, _ = changed_questions(data / "questions.jsonl", TimedQuestionFields(), t1, t2)
    changed = [c for c in changed if not {a.strip().lower() for a in c.old + c.new} & {"yes", "no"}]
    sample = sorted(random.Random(0).sample(changed, 40), key=lambda c: int(c.id[1:]))
    questions = write_jsonl(work / "clark_questions.jsonl",
                            [{"id": c.id, "question": c.question, "reference_answer": c.new} for c in sample])
    return dict(index="clark", questions=questions, holdout=0.5)


SCENARIOS = {"examples": scenario_examples, "rhdh": scenario_rhdh, "snips": scenario_snips, "clark": scenario_clark}


def check(doc: dict) -> dict:
    """From the candidates' own figures: is the pick tied with the best on quality, and the cheapest of the tied?"""
    cands = {n: c for n, c in doc["candidates"].items() if c["measured"]}
    pick, tied = doc["recommendation"], doc["tied_with_best"]
    if pick is None:
        return {"pick_tied_with_best": False, "pick_cheapest_of_tied": False}
    cheapest = min(tied, key=lambda n: cands[n]["total_usd"])
    return {"pick_tied_with_best": pick in tied and all(not c.get("vs_best") or c["vs_best"]["significantly_below_best"] == (n not in tied)
                                                        for n, c in cands.items()),
            "pick_cheapest_of_tied": cands[pick]["total_usd"] <= cands[cheapest]["total_usd"]}


def run(name: str, args: argparse.Namespace) -> dict:
    work = Path(args.work) / name
    work.mkdir(parents=True, exist_ok=True)
    # room for a whole JSON reply with its slots (a reply cut off by the token limit does not parse)
    ws = Workspace(RagtuneConfig.load({"home": str(work / "home"), "generation": {"max_new_tokens": 160}}))
    fields = SCENARIOS[name](ws, work)
    fields = {"model": args.model, "budget_s": parse_duration(args.budget), "queries_per_month": args.queries_per_month,
              "resume": True, **fields}
    last = {"stage": None}

    def progress(stage: str, done: int, total: int) -> None:
        if stage != last["stage"] or done == total or done % 10 == 0:
            log(f"{name}: {stage} {done}/{total}")
            last["stage"] = stage

    started = time.perf_counter()
    decision = ws.decide(progress=progress, **fields)
    wall = time.perf_counter() - started
    doc = decision.to_json()
    needs = {"queries_per_month": args.queries_per_month, "attribution_required": fields.get("attribution")}
    advice = ws.advise(needs, index=fields.get("index"), examples=fields.get("examples"), model=args.model)
    result = {
        "scenario": name, "model": args.model, "budget_s": fields["budget_s"], "wall_s": round(wall, 1),
        "recommendation": doc["recommendation"], "primary_metric": doc["primary_metric"], "best": doc["best"],
        "tied_with_best": doc["tied_with_best"], "rules_recommendation": doc["rules_recommendation"],
        "advise_rules_only": advice.recommendation.value, "rules_agree": advice.recommendation.value == doc["recommendation"],
        **check(doc),
        "candidates": {n: {k: c[k] for k in ("measured", "skipped_reason", "n", "score", "ci95", "by_task", "latency_ms_p50",
                                              "input_tokens", "output_tokens", "cost_per_1k_queries", "monthly_usd",
                                              "one_off_usd", "total_usd", "training", "vs_best")}
                       for n, c in doc["candidates"].items()},
        "reasons": doc["reasons"], "disagreements": doc["disagreements"], "split": {k: v for k, v in doc["split"].items()
                                                                                     if k != "test_ids"},
        "notes": doc["notes"], "queries_per_month": args.queries_per_month,
        "prices": doc["config"]["prices"], "device": "cpu", "threads": 1,
    }
    write_result(RESULTS / f"decide_{name}.json", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help=f"Scenarios to run (default: all of {', '.join(SCENARIOS)}).")
    parser.add_argument("--model", default="local")
    parser.add_argument("--budget", default="6m", help="Training budget of each scenario (shared by ft and rag+ft).")
    parser.add_argument("--queries-per-month", type=float, default=50_000)
    parser.add_argument("--work", default="/tmp/ragtune-bench-decide", help="Workspaces and kept phases.")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))} (choose from {', '.join(SCENARIOS)})")
    args.scenarios = args.scenarios or list(SCENARIOS)
    table = {}
    for name in args.scenarios:
        log(f"== {name}")
        r = run(name, args)
        table[name] = {k: r[k] for k in ("recommendation", "best", "tied_with_best", "advise_rules_only", "rules_agree",
                                          "pick_tied_with_best", "pick_cheapest_of_tied", "primary_metric", "wall_s")}
        table[name]["scores"] = {n: (None if not c["measured"] else
                                     {"score": round(c["score"], 4), "ci95": [round(x, 4) for x in c["ci95"]],
                                      "cost_per_1k_queries": round(c["cost_per_1k_queries"], 5),
                                      "monthly_usd": round(c["monthly_usd"], 2), "one_off_usd": round(c["one_off_usd"], 4)})
                                 for n, c in r["candidates"].items()}
        print(f"\n{name}: pick {r['recommendation']} (best {r['best']}, tied {r['tied_with_best']}); "
              f"rules-only advise: {r['advise_rules_only']}; pick tied with best: {r['pick_tied_with_best']}, "
              f"cheapest of tied: {r['pick_cheapest_of_tied']}  [target: both true]")
        for n, c in r["candidates"].items():
            if c["measured"]:
                print(f"  {n:<7} {c['score']:.3f} [{c['ci95'][0]:.3f}, {c['ci95'][1]:.3f}]  {c['cost_per_1k_queries']:.4f} USD/1k  "
                      f"{c['monthly_usd']:,.2f} USD/month  one-off {c['one_off_usd']:.4f}")
            else:
                print(f"  {n:<7} skipped: {c['skipped_reason']}")
    existing = {}
    summary = RESULTS / "decide_scenarios.json"
    if summary.is_file():
        existing = json.loads(summary.read_text()).get("scenarios", {})
    existing.update(table)
    agree = [s["rules_agree"] for s in existing.values()]
    write_result(summary, {"scenarios": existing, "targets": {
        "pick_is_best_or_tied_everywhere": all(s["pick_tied_with_best"] and s["pick_cheapest_of_tied"] for s in existing.values()),
        "rules_only_agreement": f"{sum(agree)}/{len(agree)}"}})


if __name__ == "__main__":
    main()
