"""RAFT on the RHDH product-docs QA set: rag (base model) against ft (plain SFT) and rag+ft (RAFT), one run.

1. Index ../shared/data/rhdh_docs_qa/docs; split qa.jsonl by question (seeded): a test set, the rest for training.
2. ``tune lora`` on the training pairs without context (plain SFT, the ``ft`` variant) under ``--sft-minutes``.
3. ``tune raft`` on the same training questions over the index (oracle + distractors, oracle share 0.8)
   under ``--raft-minutes`` (the issue's budget: 30 minutes).
4. ``ragtune eval`` on the test questions: ``rag`` with the base model, ``ft`` with the SFT model, ``rag+ft``
   with the RAFT model: token F1, citation precision, faithfulness.
   The eval leaves out test questions the tuned model saw in training (by id or near-duplicate text).
5. Robustness: rag and RAFT rag+ft again with every chunk of the gold context left out of retrieval (token F1).

Default model: the default small local model (SmolLM2-135M-Instruct), CPU. Finished phases are kept in the work
folder (an interrupted run continues). Writes bench/results/raft_rhdh.json.

    python bench/raft_rhdh.py [--test-questions 50] [--raft-minutes 30] [--sft-minutes 10] [--distractors 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from _common import RESULTS, ROOT, Phases, log, run_ragtune, shared_data, write_result

from ragtune.api import EvalConfig, Workspace, write_eval_report  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.evaluation.answers import token_f1  # noqa: E402
from ragtune.evaluation.questions import load_questions  # noqa: E402
from ragtune.generation import GenerateOptions  # noqa: E402
from ragtune.generation.answer import AnswerPipeline, AskRequest  # noqa: E402
from ragtune.generation.prompts import ALONE_SYSTEM  # noqa: E402
from ragtune.tuning.heldout import read_training_questions, seen_in_training  # noqa: E402
from ragtune.tuning.raft import oracle_chunks  # noqa: E402

DATA = shared_data("rhdh_docs_qa")
OUT = RESULTS / "raft_rhdh.json"
FIGURES = ["token_f1", "citation_precision", "citation_recall", "faithfulness", "abstained", "latency_ms_p50", "output_tokens"]


class WithoutChunks:
    """A retriever that never returns the given chunks (the oracle left out), fetching deeper to keep ``k``."""

    def __init__(self, inner, excluded: set[str]) -> None:
        self.inner, self.excluded = inner, excluded

    def retrieve(self, query, k, filters=None):
        hits = self.inner.retrieve(query, k + len(self.excluded), filters)
        return [h for h in hits if h.chunk.chunk_id not in self.excluded][:k]


def split(work, test_n: int, seed: int) -> dict:
    rows = [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(rows)
    test, train = rows[:test_n], rows[test_n:]
    for name, part in (("train", train), ("test", test)):
        (work / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    sft = [{"id": r["id"], "question": r["question"], "messages": [
        {"role": "system", "content": ALONE_SYSTEM}, {"role": "user", "content": r["question"]},
        {"role": "assistant", "content": r["reference_answer"]}]} for r in train]
    (work / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sft))
    assert not {r["id"] for r in test} & {r["id"] for r in train}
    return {"train": len(train), "test": len(test), "seed": seed}


def training(run: dict) -> dict:
    card = run["json"]
    m = card["metrics"]
    return {"ref": card["ref"] if "ref" in card else f"{card['name']}@v{card['version']}", "wall_s": card["wall_time_s"],
            "peak_rss_mb": m["peak_rss_mb"], "steps": m["steps"], "max_steps": m["max_steps"], "epochs": m["epochs"],
            "stopped_by": m["stopped_by"], "train_loss_first": m["train_loss_first"], "train_loss": m["train_loss"],
            "train_tokens_per_s": m["train_tokens_per_s"], "rows": card["data"]["rows"], "data_source": card["data"].get("source"),
            "process_wall_s": run["process_wall_s"]}


def summary(result) -> dict:
    return {variant: {m: {"mean": round(v[m]["mean"], 4), "ci95": [round(x, 4) for x in v[m]["ci95"]], "n": v[m]["n"]}
                      for m in FIGURES if m in v} for variant, v in result.aggregates.items()}


def evaluate(ws: Workspace, work, name: str, variants: str, tuned: str | None) -> dict:
    def progress(stage: str, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            log(f"  {name} {stage} {done}/{total}")

    started = time.monotonic()
    result = ws.evaluate(work / "test.jsonl", EvalConfig.create(variants=variants, model="local", index="rhdh", tuned=tuned),
                         progress=progress)
    result.write(RESULTS / f"raft_rhdh_{name}.results.json")  # kept, so the report can be written again from its rows
    write_eval_report(result, RESULTS / f"raft_rhdh_{name}.md")
    return {"variants": summary(result), "notes": result.notes, "tuned": tuned, "questions": result.config["question_count"],
            "wall_s": round(time.monotonic() - started, 1)}


def robustness(ws: Workspace, work, model: str, raft_ref: str) -> dict:
    """Token F1 with the gold context's chunks left out of retrieval (rag pipeline, ``model``), on the questions the
    eval kept (those the RAFT model did not see in training)."""
    index = ws.index("rhdh")
    card = ws.model_card(raft_ref)
    seen = seen_in_training(load_questions(work / "test.jsonl"),
                            read_training_questions(ws.models.path(card.ref) / card.files["questions"]))
    questions = [q for q in load_questions(work / "test.jsonl") if q.id not in seen]
    retriever = index.retriever()
    embedder = index.embedder(None)
    config = ws.config
    f1s, abstained, removed = [], 0, 0
    for i, q in enumerate(questions, start=1):
        gold = {c.chunk_id for c in oracle_chunks(q, retriever)}
        removed += len(gold)
        pipeline = AnswerPipeline(ws.generator(model), config.answer, GenerateOptions.from_config(config.generation),
                                  retriever=WithoutChunks(retriever, gold), embedder=embedder,
                                  support=ws.components.support_scorer(embedder),
                                  index_name="rhdh", fallback=ws.generator("extractive"))
        answer = pipeline.ask(AskRequest(q.question))
        abstained += answer.abstained
        f1s.append(token_f1(answer.answer if not answer.abstained else "", q.reference_answers))
        if i % 10 == 0:
            log(f"  robustness {model} {i}/{len(questions)}")
    return {"model": model, "questions": len(questions), "token_f1": round(sum(f1s) / len(f1s), 4),
            "abstained": round(abstained / len(questions), 4), "gold_chunks_removed_per_question": round(removed / len(questions), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / ".cache" / "bench-raft"), help="Work folder (kept between runs).")
    parser.add_argument("--test-questions", type=int, default=50)
    parser.add_argument("--lr", type=float, default=3e-4, help="RAFT learning rate (few steps fit the budget on a CPU).")
    parser.add_argument("--raft-minutes", type=float, default=30)
    parser.add_argument("--sft-minutes", type=float, default=10)
    parser.add_argument("--distractors", type=int, default=2, help="Distractors per row (2 + the oracle = ask's default k of 3).")
    parser.add_argument("--oracle-share", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from pathlib import Path

    work = Path(args.work)
    phases = Phases(work)
    home = work / "home"
    ws = Workspace(RagtuneConfig.load({"home": str(home), "threads": 1}, env={}))
    started = time.monotonic()
    index = phases.run("ingest", lambda: {"chunks": ws.ingest([str(DATA / "docs")], "rhdh").chunks or ws.index("rhdh").manifest.chunks})
    parts = phases.run("split", lambda: split(work, args.test_questions, args.seed))
    threads = lambda: 2 if os.getloadavg()[0] < 0.7 else 1  # noqa: E731 - one thread when anything else is busy
    raft = phases.run("train_raft", lambda: training(run_ragtune(
        home, "tune", "raft", "--index", "rhdh", "--questions", str(work / "train.jsonl"), "--name", "rhdh-raft",
        "--distractors", str(args.distractors), "--oracle-share", str(args.oracle_share), "--time-budget", f"{args.raft_minutes}m",
        "--batch-size", "1", "--grad-accum", "2", "--lr", str(args.lr), "--max-length", "1536", "--eval-fraction", "0",
        "--seed", str(args.seed),
        threads=threads())))
    eval_raft = phases.run("eval_rag_raft", lambda: evaluate(ws, work, "rag_raft", "rag,rag+ft", raft["ref"].split("@")[0]))
    sft = phases.run("train_sft", lambda: training(run_ragtune(
        home, "tune", "lora", "--data", str(work / "sft.jsonl"), "--name", "rhdh-sft", "--time-budget", f"{args.sft_minutes}m",
        "--epochs", "3", "--batch-size", "4", "--max-length", "384", "--eval-fraction", "0", "--seed", str(args.seed),
        threads=threads())))
    eval_sft = phases.run("eval_sft", lambda: evaluate(ws, work, "sft", "ft", sft["ref"].split("@")[0]))
    robust_base = phases.run("robust_rag", lambda: robustness(ws, work, "local", raft["ref"]))
    robust_raft = phases.run("robust_raft", lambda: robustness(ws, work, f"tuned:{raft['ref']}", raft["ref"]))
    rag = eval_raft["variants"]["rag"]
    raft_v = eval_raft["variants"]["rag+ft"]
    result = {
        "dataset": "rhdh_docs_qa: Ragas-generated questions over Red Hat Developer Hub docs; split by question id (seeded)",
        "model": "local (SmolLM2-135M-Instruct), CPU, one thread", "index": index, "split": parts,
        "settings": {"distractors": args.distractors, "oracle_share": args.oracle_share, "raft_minutes": args.raft_minutes,
                     "sft_minutes": args.sft_minutes, "k": ws.config.answer.k, "max_new_tokens": ws.config.generation.max_new_tokens},
        "trainings": {"raft": raft, "sft": sft},
        "variants": {"rag (base)": rag, "ft (SFT)": eval_sft["variants"]["ft"], "rag+ft (RAFT)": raft_v},
        "robustness_token_f1_without_oracle": {"rag (base)": robust_base, "rag+ft (RAFT)": robust_raft},
        "target": "RAFT rag+ft beats rag with the base model on token F1 and citation precision",
        "meets_target": {m: raft_v[m]["mean"] > rag[m]["mean"] for m in ("token_f1", "citation_precision")},
        "eval_notes": {"rag_raft": eval_raft["notes"], "sft": eval_sft["notes"]},
        "phases": phases.state, "total_wall_s": round(time.monotonic() - started, 1),
    }
    write_result(OUT, result)
    print(f"{'variant':16s} {'token F1':>9s} {'cit. prec':>9s} {'faithful':>9s}")
    for name, v in result["variants"].items():
        print(f"{name:16s} {v['token_f1']['mean']:9.3f} {v.get('citation_precision', {}).get('mean', float('nan')):9.3f} "
              f"{v.get('faithfulness', {}).get('mean', float('nan')):9.3f}")
    print(f"robustness (F1 without the oracle): rag {robust_base['token_f1']:.3f}, RAFT rag+ft {robust_raft['token_f1']:.3f}")
    print(f"target (RAFT rag+ft > rag on F1 and citation precision): {result['meets_target']}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
