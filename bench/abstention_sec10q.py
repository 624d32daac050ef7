"""Calibrated abstention on real 10-Q filings: answerable questions, and the same questions made unanswerable.

    python bench/abstention_sec10q.py --home DIR [--out bench/results/abstention_sec10q.json]

The workspace at ``--home`` holds (or gets) the ``sec10q`` index of ``bench/answers_sec10q.py``. Each of the 119
questions of ``sec10q_dev/qa.jsonl`` is asked twice with the offline ``extractive`` generator:

- answerable: over the whole index, as ``answers_sec10q`` asks it;
- unanswerable (SQuAD 2.0 style: written to look answerable): over the filings of another company only (a
  ``ticker`` filter: Apple's questions over Amazon's filings, Amazon's over Intel's, Intel's over Apple's), so the
  filings the question needs are out of reach. Questions whose gold filings span companies are left out.

Each answer records its answerability score (``Answer.answerability``) with ``min_answerability = 0``. The
threshold is chosen on the dev split (even positions of ``qa.jsonl``): the highest abstention on unanswerable
questions with false abstention on answerable ones at or below ``MAX_FALSE_ABSTENTION``; it is reported on the
test split (odd positions), with the default rules alone (threshold 0) as the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _common import RESULTS, log, shared_data
from answers_sec10q import INDEX, commit

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.index.base import Filters

OUT = RESULTS / "abstention_sec10q.json"
MAX_FALSE_ABSTENTION = 0.05
OTHER = {"AAPL": "AMZN", "AMZN": "INTC", "INTC": "AAPL"}


def ticker(file: str) -> str:
    return Path(file).stem.split()[-1]


def asked(ws: Workspace, question: str, filters: Filters | None) -> dict:
    answer = ws.ask(question, INDEX, model="extractive", filters=filters)
    return {"score": answer.answerability if answer.answerability is not None else 0.0, "abstained": answer.abstained}


def rates(rows: list[dict], threshold: float) -> dict:
    """Abstention on unanswerable questions (recall), its precision, and false abstention on answerable ones."""
    def abstains(r: dict) -> bool:
        return r["abstained"] or r["score"] < threshold
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    abstained = [r for r in rows if abstains(r)]
    return {"unanswerable": len(unanswerable), "answerable": len(answerable),
            "abstention_on_unanswerable": round(sum(map(abstains, unanswerable)) / len(unanswerable), 4),
            "false_abstention_on_answerable": round(sum(map(abstains, answerable)) / len(answerable), 4),
            "abstention_precision": round(sum(not r["answerable"] for r in abstained) / len(abstained), 4) if abstained else None}


def choose(rows: list[dict]) -> float:
    """The threshold with the most abstention on unanswerable ``rows`` within the false-abstention limit."""
    best, best_recall = 0.0, -1.0
    for t in sorted({0.0, *(round(r["score"] + 1e-4, 4) for r in rows)}):
        r = rates(rows, t)
        if r["false_abstention_on_answerable"] <= MAX_FALSE_ABSTENTION and r["abstention_on_unanswerable"] > best_recall:
            best, best_recall = t, r["abstention_on_unanswerable"]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="Workspace holding (or to hold) the sec10q index.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = shared_data("sec10q_dev")
    qa = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    ws = Workspace(RagtuneConfig.load({"home": str(args.home), "answer": {"min_answerability": 0.0}}, env={}))
    cached = ws.store.exists(INDEX)
    if not cached:
        ws.ingest([str(data / "pdf")], INDEX)
    rows: list[dict] = []
    for i, row in enumerate(qa):
        split = "dev" if i % 2 == 0 else "test"
        rows.append({"id": row["id"], "split": split, "answerable": True, **asked(ws, row["question"], None)})
        tickers = {ticker(f) for f in row["gold_files"]}
        if len(tickers) == 1:
            other = OTHER[tickers.pop()]
            rows.append({"id": row["id"], "split": split, "answerable": False, "over": other,
                         **asked(ws, row["question"], Filters(metadata={"ticker": other}))})
        if (i + 1) % 20 == 0:
            log(f"{i + 1}/{len(qa)}")
    dev = [r for r in rows if r["split"] == "dev"]
    test = [r for r in rows if r["split"] == "test"]
    threshold = choose(dev)
    result = {
        "benchmark": "abstention_sec10q", "commit": commit(), "command": "python " + " ".join(sys.argv),
        "cached": cached, "resumed": False, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": "sec10q_dev questions: answerable over all 12 filings; unanswerable over another company's filings only",
        "generator": "extractive", "split": "dev: even positions of qa.jsonl, test: odd positions",
        "targets": {"abstention_on_unanswerable": ">= 0.50", "false_abstention_on_answerable": f"<= {MAX_FALSE_ABSTENTION}"},
        "min_answerability_chosen_on_dev": threshold,
        "dev": rates(dev, threshold), "test": rates(test, threshold),
        "baseline_rules_only": {"dev": rates(dev, 0.0), "test": rates(test, 0.0)},
        "scores": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("min_answerability_chosen_on_dev", "dev", "test", "baseline_rules_only")}, indent=2))


if __name__ == "__main__":
    main()
