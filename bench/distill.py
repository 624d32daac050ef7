"""Distillation and managed fine-tuning, measured.

Part 1, distillation on the RHDH product-docs QA set (../shared/data/rhdh_docs_qa):
1. Index the docs (default local embedder); split qa.jsonl by question (seeded): ``--train`` questions for the teacher,
   ``--test`` held-out questions for scoring.
2. Teacher: the best model available offline, ``extractive`` over RAG (it quotes the best-supported sentences; no LLM).
   ``ragtune distill`` asks it every training question, drops the answers that abstain or are unsupported by their
   citations, and LoRA-trains the student (SmolLM2-135M-Instruct) on the rest for ``--steps`` steps.
3. Score on the test questions (token F1 against the reference answers): the student alone before training, the
   student alone after, the teacher over RAG. Cost per 1k queries: own-hardware models at the price table's machine
   rate for their measured seconds; the same RAG prompts sent to an API teacher priced from the table (tokens
   estimated, labelled assumed); plus the one-off distillation cost (teacher answering + training time).

Part 2, the managed-service path end to end against the loopback fake of the OpenAI fine-tuning surface (the tests'
fake): a job that stays running for ``--polls`` polls, followed to the end; then one interrupted after it started and
followed again with resume. Job time (as the provider reports it), polls, wall time and the card.

    python bench/distill.py [--train 40] [--test 20] [--steps 24] [--polls 5]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, Phases, commit, finish, serve, shared_data

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.evaluation.answers import token_f1  # noqa: E402
from ragtune.costs.prices import PriceTable  # noqa: E402
from ragtune.generation import estimate_tokens  # noqa: E402
from ragtune.generation.base import PricingBasis  # noqa: E402
from ragtune.tuning.lora import LoraConfig  # noqa: E402
from ragtune.tuning.managed import ManagedConfig  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "tuning" / "managed"))
from fake_fine_tuning import FakeProvider, Script, fake_app  # noqa: E402

DATA = shared_data("rhdh_docs_qa")
OUT = RESULTS / "distill.json"
API_TEACHER = "anthropic:claude-sonnet-4-5"


def split(work: Path, train_n: int, test_n: int, seed: int) -> tuple[Path, list[dict]]:
    rows = [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(rows)
    train, test = rows[:train_n], rows[train_n:train_n + test_n]
    path = work / "train.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "question": r["question"]}) + "\n" for r in train))
    return path, test


def score(ws: Workspace, test: list[dict], model: str, index: str | None, prices: PriceTable) -> dict:
    """Mean token F1 on ``test``, seconds per query and cost per 1k queries on own hardware (machine rate)."""
    f1, seconds, prompt_tokens, output_tokens = [], 0.0, 0, 0
    for row in test:
        started = time.perf_counter()
        answer = ws.ask(row["question"], index, model=model)
        seconds += time.perf_counter() - started
        f1.append(token_f1(answer.answer, row["reference_answer"]))
        prompt_tokens += sum(estimate_tokens(b.text) for b in answer.context) + estimate_tokens(row["question"]) + 60
        output_tokens += estimate_tokens(row["reference_answer"])
    per_query = seconds / len(test)
    return {"model": model, "over_rag": index is not None, "token_f1": round(sum(f1) / len(f1), 4), "n": len(test),
            "seconds_per_query": round(per_query, 3),
            "usd_per_1k_queries": round(per_query * 1000 * prices.machine_usd_per_hour / 3600, 4),
            "cost_basis": f"measured seconds x machine_usd_per_hour {prices.machine_usd_per_hour} (as of {prices.as_of})",
            "tokens": [round(prompt_tokens / len(test), 1), round(output_tokens / len(test), 1)]}


def distillation(work: Path, args, phases: Phases) -> dict:
    prices = PriceTable.default()
    ws = Workspace(RagtuneConfig.load({"home": str(work / "home"), "threads": 1,
                                       "generation": {"max_new_tokens": args.max_new_tokens}}, env={}))
    questions, test = split(work, args.train, args.test, args.seed)

    def ingest() -> dict:
        started = time.monotonic()
        ws.ingest([str(DATA / "docs")], "rhdh")
        return {"docs": "rhdh_docs_qa/docs", "ingest_s": round(time.monotonic() - started, 1)}

    def distil() -> dict:
        started = time.monotonic()
        student = LoraConfig(data=questions, name="rhdh-small", max_steps=args.steps, batch_size=4, eval_fraction=0.1, rank=8,
                             alpha=16, max_length=384, truncate=True, logging_steps=4, seed=args.seed)
        card = ws.distill(questions, "extractive", student, index="rhdh")
        wall = time.monotonic() - started
        source = card.data.source
        return {"ref": card.ref, "counts": source["counts"], "teacher_cost": source["teacher_cost"], "steps": card.metrics["steps"],
                "train_loss": card.metrics.get("train_loss"), "eval_loss": card.metrics.get("eval_loss"), "wall_s": round(wall, 1),
                "one_off_usd": round(wall * prices.machine_usd_per_hour / 3600, 4)}

    index = phases.run("index", ingest)
    before = phases.run("student_before", lambda: score(ws, test, "local", None, prices))
    teacher = phases.run("teacher", lambda: score(ws, test, "extractive", "rhdh", prices))
    distilled = phases.run("distill", distil)
    after = phases.run("student_after", lambda: score(ws, test, f"tuned:{distilled['ref']}", None, prices))
    prompt, output = teacher["tokens"]
    api = prices.price_for(API_TEACHER, PricingBasis.per_token)
    api_cost = prices.cost(API_TEACHER, PricingBasis.per_token, int(prompt), int(output)) or 0.0
    api_teacher = {"model": API_TEACHER, "over_rag": True, "usd_per_1k_queries": round(1000 * api_cost, 4),
                   "cost_basis": f"the teacher's RAG prompts ({prompt:.0f} tokens) and reference-length answers ({output:.0f} tokens), "
                                 f"estimated, at list prices as of {api.as_of if api else '?'}: assumed"}
    return {"teacher": "extractive over RAG (the best offline teacher: quotes supported sentences, no LLM)",
            "student": "local (SmolLM2-135M-Instruct), LoRA, answering without retrieval",
            "index": index, "split": {"train_questions": args.train, "test_questions": args.test, "seed": args.seed},
            "distill": distilled, "scores": {"student_before": before, "student_after": after, "teacher": teacher},
            "api_teacher_priced": api_teacher,
            "student_f1_share_of_teacher": round(after["token_f1"] / teacher["token_f1"], 3) if teacher["token_f1"] else None}


def managed(work: Path, args) -> dict:
    state = FakeProvider(script=Script(running_polls=args.polls))
    server, url = serve(fake_app(state))
    rows = [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip()][:40]
    data = work / "managed.jsonl"
    data.write_text("".join(json.dumps({"input": r["question"], "output": r["reference_answer"]}) + "\n" for r in rows))
    ws = Workspace(RagtuneConfig.load({"home": str(work / "managed-home"), "threads": 1}, env={}))
    config = ManagedConfig.build(name="rhdh-managed", data=data, base=f"openai:gpt-4.1-mini@{url}", poll_interval_s=0)
    started = time.monotonic()
    card = ws.tune_managed(config)
    followed = time.monotonic() - started

    def interrupt(event):
        if event.kind == "start":
            raise KeyboardInterrupt

    try:
        ws.tune_managed(config, interrupt)
    except KeyboardInterrupt:
        pass
    resumed = ws.tune_managed(config.model_copy(update={"resume": True}))
    server.should_exit = True
    return {"provider": "loopback fake of the OpenAI files + fine_tuning routes (tests/tuning/managed/fake_fine_tuning.py)",
            "rows": len(rows), "script": {"running_polls": args.polls, "poll_interval_s": 0},
            "job": {"ref": card.ref, "job_id": card.managed["job_id"], "polls": card.metrics["polls"],
                    "job_time_s_reported": card.metrics["job_time_s"], "follow_wall_s": round(followed, 3),
                    "trained_tokens": card.metrics["trained_tokens"], "cost": card.cost["training"]},
            "interrupted_then_resumed": {"ref": resumed.ref, "job_id": resumed.managed["job_id"], "polls_after_resume": resumed.metrics["polls"],
                                         "jobs_created": len(state.jobs), "uploads": len(state.files)},
            "card": card.model_dump(mode="json", include={"kind", "base_model", "data", "managed", "metrics", "cost"})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=40)
    parser.add_argument("--test", type=int, default=12)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ragtune-bench-distill",
                        help="Finished phases are kept here: a second run continues (delete it to start over).")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    phases = Phases(args.work)
    kept = sorted(phases.state)
    started = time.monotonic()
    result = {"commit": commit(), "command": " ".join(["python", *sys.argv]),
              "resumed_or_cached": {"phases_kept_from_an_earlier_run": kept},
              "subset": f"rhdh_docs_qa: {args.train} teacher questions, {args.test} test questions (seeded shuffle); "
                        f"{args.steps} LoRA steps; answers up to {args.max_new_tokens} tokens",
              "managed": phases.run("managed", lambda: managed(args.work, args))}
    result["distillation"] = distillation(args.work, args, phases)
    result["phases_wall_s"] = {name: value.get("phase_wall_s") for name, value in phases.state.items()}
    result["total_wall_s"] = round(time.monotonic() - started, 1)
    return finish(OUT, result)


if __name__ == "__main__":
    raise SystemExit(main())
