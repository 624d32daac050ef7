"""Calibrated abstention across corpora: one ``min_answerability`` for answerable and unanswerable questions.

    python bench/abstention.py --sec-home DIR --rhdh-home DIR --scifact-home DIR [--claims 100] [--clark 100]

Each question is scored as ``ask`` scores it (the index's planner, retrieval and context fitting, then
``ragtune.generation.answerability``). The sets (SQuAD 2.0 style: unanswerable questions written to look
answerable, or asked of passages that do not answer them):

- ``sec10q``: the 119 questions of ``sec10q_dev`` over the 12 filings (answerable; the index of
  ``bench/answers_sec10q.py`` at ``--sec-home``);
- ``sec10q_other_company``: each single-company question over another company's filings (a ``ticker`` filter), the
  index knowing the company it names; ``sec10q_company_unknown``: the same, read without the planner, as an index
  holding only the other company's filings would read it (the company named is then unknown to the index);
- ``rhdh``: the 501 RHDH questions over the 28 guides (answerable; the index of ``bench/answers_rhdh.py``);
- ``scifact``: SciFact test claims over their abstracts (answerable; an index of the cited abstracts and as many
  others, built at ``--scifact-home`` when missing);
- ``cross``: RHDH questions over the filings, sec10q questions over the guides, clark_news questions over both
  (unanswerable).

Rows alternate dev/test in each set. The threshold is the highest on a grid whose false abstention on each
answerable set's dev half is at most ``MAX_FALSE_ABSTENTION`` and at most that of the previous default
(``PREVIOUS_DEFAULT``); every set is reported on its test half at that threshold and at the previous default.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, log, shared_data
from abstention_sec10q import OTHER, ticker
from answers_sec10q import commit

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.generation.answerability import answerability
from ragtune.generation.prompts import rag_prompt
from ragtune.index.base import Filters

OUT = RESULTS / "abstention.json"
MAX_FALSE_ABSTENTION = 0.05
PREVIOUS_DEFAULT = 0.40
GRID = [round(0.01 * i, 2) for i in range(0, 61)]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Scorer:
    """Scores questions over one index as ``ask`` does."""

    def __init__(self, home: Path, index: str) -> None:
        ws = Workspace(RagtuneConfig.load({"home": str(home), "answer": {"min_answerability": 0.0}}, env={}))
        handle = ws.index(index)
        self.pipeline = handle._pipeline(None, None, None, None, False, handle.manifest.chunks)

    def score(self, question: str, filters: Filters | None = None, planned: bool = True) -> float:
        p = self.pipeline
        plan = p.planner.plan(question) if planned and p.planner is not None else None
        blocks, _ = p._fit(question, p._retrieve(question, filters, plan), lambda b: rag_prompt(question, b, None))
        return answerability(question, blocks, plan) if blocks else 0.0


def rows_of(name: str, answerable: bool, questions: list[str], score: Any) -> list[dict[str, Any]]:
    out = []
    for i, q in enumerate(questions):
        out.append({"set": name, "split": "dev" if i % 2 == 0 else "test", "answerable": answerable, "question": q,
                    "score": round(score(q), 4)})
    log(f"{name}: {len(out)} questions")
    return out


def scifact_index(home: Path, claims: int) -> tuple[Path, list[str]]:
    """The SciFact test claims (the first ``claims`` with cited abstracts) and an index of those abstracts plus as
    many others, built at ``home`` when missing."""
    data = shared_data("scifact")
    qrels: dict[str, list[str]] = {}
    for line in (data / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        q, doc, _ = line.split("\t")
        qrels.setdefault(q, []).append(doc)
    queries = {r["_id"]: r["text"] for r in jsonl(data / "queries.jsonl")}
    chosen = [q for q in qrels if q in queries][:claims]
    cited = {d for q in chosen for d in qrels[q]}
    corpus = jsonl(data / "corpus.jsonl")
    others = [r for r in corpus if r["_id"] not in cited][:len(cited)]
    ws = Workspace(RagtuneConfig.load({"home": str(home)}, env={}))
    if not ws.store.exists("scifact"):
        home.mkdir(parents=True, exist_ok=True)
        docs = home / "scifact-subset.jsonl"
        docs.write_text("".join(json.dumps(r) + "\n" for r in corpus if r["_id"] in cited) +
                        "".join(json.dumps(r) + "\n" for r in others), encoding="utf-8")
        ws.ingest([str(docs)], "scifact")
    return home, [queries[q] for q in chosen]


def rates(rows: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    abstained = [r for r in rows if r["score"] < threshold]
    wrong = [r for r in abstained if r["answerable"]]
    out: dict[str, Any] = {"questions": len(rows), "abstained": len(abstained)}
    key = "false_abstention" if rows and rows[0]["answerable"] else "abstention_recall"
    out[key] = round(len(abstained) / len(rows), 4) if rows else None
    if not (rows and rows[0]["answerable"]):
        out["abstention_precision_within_set"] = round(1 - len(wrong) / len(abstained), 4) if abstained else None
    return out


def report(rows: list[dict[str, Any]], threshold: float, split: str) -> dict[str, Any]:
    names = list(dict.fromkeys(r["set"] for r in rows))
    per = {n: rates([r for r in rows if r["set"] == n and r["split"] == split], threshold) for n in names}
    pooled = [r for r in rows if r["split"] == split]
    abstained = [r for r in pooled if r["score"] < threshold]
    per["all_sets_abstention_precision"] = (round(sum(not r["answerable"] for r in abstained) / len(abstained), 4)
                                            if abstained else None)
    return per


def choose(rows: list[dict[str, Any]]) -> float:
    answerable = sorted({r["set"] for r in rows if r["answerable"]})

    def false(name: str, t: float) -> float:
        xs = [r for r in rows if r["set"] == name and r["split"] == "dev"]
        return sum(r["score"] < t for r in xs) / len(xs)
    ok = [t for t in GRID if all(false(n, t) <= min(MAX_FALSE_ABSTENTION, false(n, PREVIOUS_DEFAULT)) or false(n, t) == 0
                                 for n in answerable)]
    return max(ok) if ok else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sec-home", type=Path, required=True)
    parser.add_argument("--rhdh-home", type=Path, required=True)
    parser.add_argument("--scifact-home", type=Path, required=True)
    parser.add_argument("--claims", type=int, default=100, help="SciFact test claims (their abstracts are indexed).")
    parser.add_argument("--clark", type=int, default=100, help="clark_news questions asked of each other corpus.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sec_qa = jsonl(shared_data("sec10q_dev") / "qa.jsonl")
    rhdh_q = [r["question"].strip() for r in jsonl(shared_data("rhdh_docs_qa") / "qa.jsonl")]
    clark_q = [r["question"] for r in jsonl(shared_data("clark_news") / "questions.jsonl")][::31][:args.clark]
    cached = {"sec10q": True, "rhdh": True, "scifact": Workspace(RagtuneConfig.load(
        {"home": str(args.scifact_home)}, env={})).store.exists("scifact")}
    sec, rhdh = Scorer(args.sec_home, "sec10q"), Scorer(args.rhdh_home, "rhdh")
    single = [(r["question"], OTHER[next(iter({ticker(f) for f in r["gold_files"]}))]) for r in sec_qa
              if len({ticker(f) for f in r["gold_files"]}) == 1]
    rows = rows_of("sec10q", True, [r["question"] for r in sec_qa], sec.score)
    rows += rows_of("sec10q_other_company", False, [q for q, _ in single], lambda q: sec.score(
        q, Filters(metadata={"ticker": dict(single)[q]})))
    rows += rows_of("sec10q_company_unknown", False, [q for q, _ in single], lambda q: sec.score(
        q, Filters(metadata={"ticker": dict(single)[q]}), planned=False))
    rows += rows_of("rhdh", True, rhdh_q, rhdh.score)
    home, claims = scifact_index(args.scifact_home, args.claims)
    rows += rows_of("scifact", True, claims, Scorer(home, "scifact").score)
    rows += rows_of("cross_rhdh_over_filings", False, rhdh_q[::5], sec.score)
    rows += rows_of("cross_sec10q_over_guides", False, [r["question"] for r in sec_qa], rhdh.score)
    rows += rows_of("cross_clark_over_filings", False, clark_q, sec.score)
    rows += rows_of("cross_clark_over_guides", False, clark_q, rhdh.score)
    chosen = choose(rows)
    result = {
        "benchmark": "abstention", "commit": commit(), "command": "python " + " ".join(sys.argv),
        "cached": cached, "resumed": False, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "generator": "extractive (scores need no generation)", "split": "dev: even positions of each set, test: odd",
        "targets": {"abstention_recall": ">= 0.50",
                    "false_abstention": f"<= {MAX_FALSE_ABSTENTION} and <= the previous default's"},
        "min_answerability_chosen_on_dev": chosen, "previous_default": PREVIOUS_DEFAULT,
        "test_at_chosen": report(rows, chosen, "test"), "dev_at_chosen": report(rows, chosen, "dev"),
        "test_at_previous_default": report(rows, PREVIOUS_DEFAULT, "test"),
        "by_threshold_test": {str(t): report(rows, t, "test") for t in GRID[::5]},
        "scores": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("min_answerability_chosen_on_dev", "test_at_chosen", "test_at_previous_default")},
                     indent=2))


if __name__ == "__main__":
    main()
