"""Synthetic questions on a subset of the RHDH docs: the round-trip pass rate of each writer, and how the synthetic
questions compare with the data set's human-written ones (retrieval recall@1 and @5 by document, and the decision
base vs rag with the extractive answerer on each set).

The human questions kept are those whose reference context lies in one of the subset's documents (the document whose
words cover the context best, at least 80%); that document is their gold document. The embedder is ``fake:64``
(hashing, not semantic): search is hybrid, so its lexical half does the work; figures are relative, not absolute.

    python bench/questions_generate.py [--docs 6] [--n 40] [--local-n 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, finish, log, shared_data

DOCS = ["about.txt", "audit-log.txt", "telemetry.txt", "upgrade-rhdh.txt", "operator-flavors.txt",
        "adoption-insights.txt", "monitoring-and-logging.txt", "plugins-rhdh-using.txt"]


def human_questions(data: Path, docs: list[str]) -> list[dict]:
    from ragtune.generation.text import words

    vocab = {d: set(words((data / "docs" / d).read_text(encoding="utf-8"))) for d in docs}
    kept = []
    for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        context = set(words(" ".join(row.get("reference_contexts") or [])))
        if not context:
            continue
        best = max(docs, key=lambda d: len(context & vocab[d]))
        if len(context & vocab[best]) / len(context) >= 0.8:
            kept.append({"id": row["id"], "question": row["question"], "reference_answer": row["reference_answer"],
                         "gold_doc_ids": [best], "group": best})
    return kept


def decide_on(ws, questions: Path) -> dict:
    d = ws.decide(questions=str(questions), index="rh", model="extractive", candidates="base,rag")
    return {"recommendation": d.recommendation, "best": d.best,
            "scores": {c: r.score for c, r in d.candidates.items() if r.measured},
            "verdicts": {c: r.verdict for c, r in d.candidates.items() if r.measured},
            "synthetic_questions": d.verdict.get("synthetic_questions")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=6)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--local-n", type=int, default=8, help="Chunks the local model writes from (0: skip it).")
    args = parser.parse_args()
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True,
                                check=False).stdout.strip())
    data = shared_data("rhdh_docs_qa")
    docs = DOCS[:args.docs]
    work = Path(tempfile.mkdtemp(prefix="qgen-bench-"))
    ws = Workspace(RagtuneConfig.load({"home": str(work / "home"), "embedder": {"model": "fake:64"},
                                       "generation": {"threads": 1}}))
    started = time.monotonic()
    ws.ingest([str(data / "docs" / d) for d in docs], "rh")
    chunks = ws.index("rh").manifest.chunks
    log(f"index: {len(docs)} documents, {chunks} chunks")
    humans = human_questions(data, docs)
    human_file = work / "human.jsonl"
    human_file.write_text("".join(json.dumps(r) + "\n" for r in humans), encoding="utf-8")
    log(f"human questions in these documents: {len(humans)}")
    writers: dict[str, dict] = {}
    t = time.monotonic()
    made = ws.generate_questions("rh", args.n, out=work / "extractive.jsonl", progress=log)
    writers["extractive"] = {**made.summary(), "wall_s": round(time.monotonic() - t, 1),
                             "rules": {r: sum(1 for x in made.rows if x["rule"] == r)
                                       for r in ("how-to", "definition", "key-terms")},
                             "examples": [{k: x[k] for k in ("question", "reference_answer", "rule")} for x in made.rows[:5]]}
    if args.local_n:
        t = time.monotonic()
        local = ws.generate_questions("rh", args.local_n, model="local", attempts_per_question=1, progress=log)
        writers["local"] = {**local.summary(), "wall_s": round(time.monotonic() - t, 1),
                            "s_per_chunk": round((time.monotonic() - t) / max(1, local.tried), 1),
                            "examples": [{k: x[k] for k in ("question", "reference_answer")} for x in local.rows[:5]]}
    synthetic = [json.loads(x) for x in (work / "extractive.jsonl").read_text().splitlines()]
    from ragtune.evaluation.questions import questions_from_rows

    recall = {}
    for name, rows in (("human", humans), ("synthetic_extractive", synthetic)):
        qs = questions_from_rows((f"{name}:{i}", r) for i, r in enumerate(rows))
        m = ws.evaluate_retrieval("rh", qs, recall_k=(1, 5), ndcg_k=(5,), mrr_k=(5,))["metrics"]
        recall[name] = {"questions": len(qs), "recall@1": m["recall@1"]["mean"], "recall@5": m["recall@5"]["mean"],
                        "mrr@5": m["mrr@5"]["mean"]}
    decisions = {"human": decide_on(ws, human_file), "synthetic_extractive": decide_on(ws, work / "extractive.jsonl")}
    order = {k: sorted(v["scores"], key=lambda c: -(v["scores"][c] or 0)) for k, v in decisions.items()}
    result = {"benchmark": "questions_generate", "commit": commit, "source_modified": dirty,
              "command": " ".join([sys.executable.rsplit("/", 1)[-1], *sys.argv]), "resumed": False,
              "cached": False, "embedder": "fake:64", "documents": docs, "chunks": chunks, "human_questions": len(humans),
              "writers": writers, "retrieval": recall, "decide": decisions,
              "same_ranking_base_vs_rag": order["human"] == order["synthetic_extractive"],
              "wall_s": round(time.monotonic() - started, 1)}
    return finish(RESULTS / "questions_generate.json", result)


if __name__ == "__main__":
    raise SystemExit(main())
