"""The abstention threshold chosen jointly: sec10q's unanswerable questions and RHDH's answerable ones.

    python bench/abstention_joint.py --rhdh-home DIR [--out bench/results/abstention_sec10q.json]

``bench/abstention_sec10q.py`` records answerability scores on sec10q (answerable and unanswerable) and picks the
threshold on its dev half. Answerable questions of another corpus must not pay for it: this script scores the
501 RHDH questions (all answerable from the guides) as ``ask`` would, retrieving and fitting the context blocks
with the workspace's pipeline (the RHDH index of ``bench/answers_rhdh.py`` at ``--rhdh-home``), then chooses the
highest threshold with false abstention at or below ``MAX_FALSE_ABSTENTION`` on the dev halves of both sets
(even positions), and reports both test halves. It adds ``joint_with_rhdh`` to the sec10q result file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import shared_data
from abstention_sec10q import MAX_FALSE_ABSTENTION, OUT, rates
from answers_sec10q import commit

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.generation.answerability import answerability
from ragtune.generation.prompts import rag_prompt

GRID = [round(0.05 * i, 2) for i in range(1, 12)] + [0.53]


def rhdh_scores(home: Path) -> list[dict]:
    ws = Workspace(RagtuneConfig.load({"home": str(home), "answer": {"min_answerability": 0.0}}, env={}))
    index = ws.index("rhdh")
    pipeline = index._pipeline(None, None, None, None, False, index.manifest.chunks)
    rows = [json.loads(line) for line in (shared_data("rhdh_docs_qa") / "qa.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    out = []
    for i, row in enumerate(rows):
        question = row["question"].strip()
        plan = pipeline.planner.plan(question) if pipeline.planner is not None else None
        hits = pipeline._retrieve(question, None, plan)
        blocks, _ = pipeline._fit(question, hits, lambda b: rag_prompt(question, b, None))
        out.append({"id": row["id"], "split": "dev" if i % 2 == 0 else "test", "answerable": True, "abstained": False,
                    "score": answerability(question, blocks, plan) if blocks else 0.0})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rhdh-home", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    doc = json.loads(args.out.read_text(encoding="utf-8"))
    sec = doc["scores"]
    rhdh = rhdh_scores(args.rhdh_home)

    def at(t: float) -> dict:
        return {split: {"sec10q": rates([r for r in sec if r["split"] == split], t),
                        "rhdh_false_abstention": round(sum(r["score"] < t for r in rhdh if r["split"] == split)
                                                       / sum(r["split"] == split for r in rhdh), 4)}
                for split in ("dev", "test")}
    table = {str(t): at(t) for t in GRID}
    ok = [t for t in GRID if table[str(t)]["dev"]["sec10q"]["false_abstention_on_answerable"] <= MAX_FALSE_ABSTENTION
          and table[str(t)]["dev"]["rhdh_false_abstention"] <= MAX_FALSE_ABSTENTION]
    chosen = max(ok) if ok else 0.0
    doc["joint_with_rhdh"] = {"commit": commit(), "command": "python " + " ".join(sys.argv), "cached": True, "resumed": False,
                              "rhdh_index": "the index of bench/answers_rhdh.py, reused", "grid": GRID,
                              "threshold_chosen_on_both_dev_halves": chosen, "at_chosen": table[str(chosen)],
                              "by_threshold": table}
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"chosen": chosen, "at_chosen": table[str(chosen)], "at_0.53": table["0.53"]}, indent=2))


if __name__ == "__main__":
    main()
