"""Cited answers on the RHDH product-docs QA set: `extractive` vs plain `local` (SmolLM2-135M-Instruct).

    python bench/answers_rhdh.py [--local-questions 100] [--extractive-questions 501] [--data DIR]

Indexes ../shared/data/rhdh_docs_qa/docs/*.txt (28 guides) with the bundled MiniLM embedder, asks the
questions of qa.jsonl through `Workspace.ask`, and measures per generator: answer token-F1 against
`reference_answer`; citation precision (share of citations whose chunk overlaps a `reference_context`);
share of answers with at least one citation; abstention rate (on these answerable questions, and on a
small set of off-topic questions, where abstaining is right); latency p50/p95 for retrieval and
generation; tokens in/out per answer. `local` runs on an evenly spread subset (every n-th question),
because SmolLM2 on CPU takes seconds per answer; `extractive` runs on the same subset and on all.
Writes bench/results/answers_rhdh.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, commit, finish

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.evaluation.answers import token_f1
from ragtune.evaluation.metrics import strip_markers

# ../shared beside the checkout (one more level up from a worktree folder); --data overrides.
DEFAULT_DATA = next((p / "shared" / "data" / "rhdh_docs_qa" for p in (ROOT.parent, ROOT.parent.parent)
                     if (p / "shared" / "data" / "rhdh_docs_qa").is_dir()), ROOT.parent / "shared" / "data" / "rhdh_docs_qa")
OUT = RESULTS / "answers_rhdh.json"
OFF_TOPIC = [
    "What is the capital of Australia?", "Who wrote the novel Pride and Prejudice?", "What is the boiling point of mercury?",
    "How many players are on a football team?", "What is a good recipe for banana bread?", "When did the Roman Empire fall?",
    "What is the speed of light in a vacuum?", "Which planet has the most moons?", "How do I knit a scarf?",
    "What is the tallest mountain in Africa?", "Who painted the Mona Lisa?", "How long should I boil an egg?",
    "What is the population of Brazil?", "What language is spoken in Portugal?", "How do vaccines train the immune system?",
    "What is the chemical formula of table salt?", "Who won the 1998 football world cup?", "How do I repot an orchid?",
    "What causes the northern lights?", "How many bones are in the human body?",
]


def answer_f1(prediction: str, reference: str) -> float:
    """Token F1 as ``ragtune eval`` scores an answer (``ragtune.evaluation.metrics``): SQuAD normalisation, the
    answer's citation markers removed."""
    return token_f1(strip_markers(prediction), reference)


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def overlaps(chunk: str, references: list[str], threshold: float = 0.3) -> bool:
    """Whether a chunk and any reference context share enough 5-word shingles (relative to the smaller)."""
    c = shingles(chunk)
    for ref in references:
        r = shingles(ref)
        if c and r and len(c & r) / min(len(c), len(r)) >= threshold:
            return True
    return False


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def run(ws: Workspace, model: str, rows: list[dict], label: str) -> dict:
    """Ask every row with ``model``; return aggregate figures and per-question rows."""
    per: list[dict] = []
    started = time.time()
    for i, row in enumerate(rows, start=1):
        answer = ws.ask(row["question"], "rhdh", model=model)
        refs = row.get("reference_contexts") or []
        cited_ok = [overlaps(c.text, refs) for c in answer.citations]
        per.append({
            "id": row["id"], "f1": answer_f1(answer.answer, row["reference_answer"]) if "reference_answer" in row else None,
            "raw_f1": (answer_f1(answer.raw_answer, row["reference_answer"])
                       if answer.raw_answer and "reference_answer" in row else None),
            "citations": len(answer.citations), "citations_correct": sum(cited_ok),
            "model_citations": sum(1 for c in answer.citations if c.origin == "model"),
            "model_citations_correct": sum(ok for c, ok in zip(answer.citations, cited_ok) if c.origin == "model"),
            "context_hit": any(overlaps(b.text, refs) for b in answer.context) if refs else None,
            "abstained": answer.abstained, "fallback": answer.fallback, "dropped": len(answer.dropped_citations),
            "retrieval_ms": answer.latency_ms.get("retrieval", 0.0), "generation_ms": answer.latency_ms.get("generation", 0.0),
            "tokens_in": answer.usage.input_tokens, "tokens_out": answer.usage.output_tokens,
            "answer": answer.answer})
        if i % 10 == 0 or i == len(rows):
            print(f"  {label}: {i}/{len(rows)} ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
    return {"aggregate": aggregate(per), "rows": per}


def aggregate(per: list[dict]) -> dict:
    n = len(per)
    answered = [p for p in per if not p["abstained"]]
    cites = sum(p["citations"] for p in per)
    model_cites = sum(p["model_citations"] for p in per)
    f1s = [p["f1"] for p in per if p["f1"] is not None]
    raw = [p["raw_f1"] for p in per if p["raw_f1"] is not None]
    hits = [p["context_hit"] for p in per if p["context_hit"] is not None]
    return {
        "questions": n,
        "answer_f1": round(statistics.mean(f1s), 4) if f1s else None,
        "answer_f1_model_text": round(statistics.mean(raw), 4) if raw else None,
        "citation_precision": round(sum(p["citations_correct"] for p in per) / cites, 4) if cites else None,
        "citation_precision_model_markers": (round(sum(p["model_citations_correct"] for p in per) / model_cites, 4)
                                             if model_cites else None),
        "share_with_citation": round(sum(1 for p in per if p["citations"]) / n, 4) if n else None,
        "share_model_cited_itself": round(sum(1 for p in per if p["model_citations"]) / n, 4) if n else None,
        "abstention_rate": round(sum(p["abstained"] for p in per) / n, 4) if n else None,
        "extractive_fallback_rate": round(sum(1 for p in per if p["fallback"]) / n, 4) if n else None,
        "context_recall": round(sum(hits) / len(hits), 4) if hits else None,
        "latency_ms": {"retrieval_p50": percentile([p["retrieval_ms"] for p in per], 0.5),
                       "retrieval_p95": percentile([p["retrieval_ms"] for p in per], 0.95),
                       "generation_p50": percentile([p["generation_ms"] for p in answered], 0.5),
                       "generation_p95": percentile([p["generation_ms"] for p in answered], 0.95)},
        "tokens_in_per_answer": round(statistics.mean(p["tokens_in"] for p in per), 1) if n else None,
        "tokens_out_per_answer": round(statistics.mean(p["tokens_out"] for p in per), 1) if n else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--local-questions", type=int, default=100, help="Questions for `local` (evenly spread subset).")
    parser.add_argument("--extractive-questions", type=int, default=501, help="Questions for `extractive` (all by default).")
    parser.add_argument("--home", type=Path, default=None, help="Workspace to index into (default: a temporary one).")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(rows) // max(1, args.local_questions))
    subset = rows[::step][:args.local_questions]
    home = args.home or Path(tempfile.mkdtemp(prefix="ragtune-bench-"))
    ws = Workspace(RagtuneConfig.load({"home": str(home)}, env={}))
    t0 = time.time()
    report = ws.ingest([str(args.data / "docs")], "rhdh")
    ingest_s = time.time() - t0
    chunks = ws.index("rhdh").manifest.chunks
    print(f"index: {chunks} chunks from {report.added + report.updated + report.unchanged} guides "
          f"({report.added + report.updated} embedded now, {ingest_s:.0f} s)", file=sys.stderr)
    off_topic = [{"id": f"off-{i}", "question": q} for i, q in enumerate(OFF_TOPIC)]
    results: dict = {}
    for model in ("extractive", "local"):
        results[model] = {"subset": run(ws, model, subset, f"{model} subset")}
        results[model]["off_topic_abstention_rate"] = round(
            sum(p["abstained"] for p in run(ws, model, off_topic, f"{model} off-topic")["rows"]) / len(off_topic), 4)
    if args.extractive_questions > len(subset):
        results["extractive"]["all"] = run(ws, "extractive", rows[:args.extractive_questions], "extractive all")
    cfg = ws.config
    doc = {
        "benchmark": "answers_rhdh",
        "commit": commit(), "command": "python " + " ".join(sys.argv),
        "data": "rhdh_docs_qa: 28 product guides (docs/*.txt), qa.jsonl (501 questions, Ragas-generated)",
        "index": {"chunks": chunks, "embedder": cfg.embedder.model, "retrieval": cfg.retrieval.mode.value,
                  "ingest_s": round(ingest_s, 1), "guides_embedded_this_run": report.added + report.updated},
        "settings": {"k": cfg.answer.k, "max_context_tokens": cfg.answer.max_context_tokens,
                     "max_new_tokens": cfg.generation.max_new_tokens, "min_dense_score": cfg.answer.min_dense_score,
                     "min_term_coverage": cfg.answer.min_term_coverage, "min_support": cfg.answer.min_support,
                     "unsupported": cfg.answer.unsupported.value, "threads": cfg.threads},
        "subset": {"questions": len(subset), "rule": f"every {step}th question of qa.jsonl, first {len(subset)}",
                   "why": "SmolLM2-135M on CPU takes seconds per answer; extractive is also run on all questions"},
        "machine": {"cpus": os.cpu_count(), "note": "shared 2-core machine with other work running; 1 torch thread"},
        "metrics": {
            "answer_f1": "token F1 as ragtune eval scores it (SQuAD normalisation, citation markers removed) of the final "
                         "answer vs reference_answer",
            "answer_f1_model_text": "the same for the model's own text before citation handling and fallback",
            "citation_precision": "share of citations whose chunk shares >= 30% of 5-word shingles with a reference_context",
            "citation_precision_model_markers": "the same, only for citations the model wrote itself (origin 'model')",
            "share_with_citation": "answers with at least one citation",
            "abstention_rate": "answers that abstained (these questions are all answerable from the guides)",
            "off_topic_abstention_rate": f"abstentions on {len(OFF_TOPIC)} general-knowledge questions (higher is right)",
            "context_recall": "questions where a context block given to the model overlaps a reference_context",
        },
        "results": {m: {"subset": r["subset"]["aggregate"], "all": r.get("all", {}).get("aggregate"),
                        "off_topic_abstention_rate": r["off_topic_abstention_rate"]} for m, r in results.items()},
        "examples": {m: [{k: p[k] for k in ("id", "f1", "citations", "abstained", "fallback", "answer")}
                         for p in r["subset"]["rows"][:5]] for m, r in results.items()},
    }
    ext, loc = doc["results"]["extractive"]["subset"], doc["results"]["local"]["subset"]
    doc["default_choice"] = {
        "ask_default": "extractive" if (ext["answer_f1"] or 0) >= (loc["answer_f1"] or 0) else "local",
        "rule": "the generator with the higher answer F1 on the subset becomes the default of `ask`",
        "extractive_f1": ext["answer_f1"], "local_f1": loc["answer_f1"],
    }
    for model, r in doc["results"].items():
        a = r["subset"]
        print(f"{model:>10} (subset {a['questions']}): F1 {a['answer_f1']}  citation precision {a['citation_precision']}  "
              f"with citation {a['share_with_citation']}  abstained {a['abstention_rate']}  "
              f"off-topic abstained {r['off_topic_abstention_rate']}  latency {a['latency_ms']}  "
              f"tokens in/out {a['tokens_in_per_answer']}/{a['tokens_out_per_answer']}")
        if r["all"]:
            print(f"{model:>10} (all {r['all']['questions']}): F1 {r['all']['answer_f1']}  "
                  f"citation precision {r['all']['citation_precision']}")
    print(f"ask default: {doc['default_choice']['ask_default']}")
    return finish(args.out, doc)


if __name__ == "__main__":
    raise SystemExit(main())
