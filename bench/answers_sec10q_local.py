"""Answers of a local model on a bounded subset of the 10-Q questions, beside the offline default on the same ones.

    python bench/answers_sec10q_local.py --home DIR [--model local] [--every 15]

Asks every ``--every``-th question of ``sec10q_dev/qa.jsonl`` (from the first) over the ``sec10q`` index at
``--home`` (built there by ``bench/answers_sec10q.py`` when missing), once with ``--model`` and once with
``extractive``, and reports the measures of ``bench/answers_sec10q.py`` for each (citation file precision and
recall, token F1, figures recall, retrieval file precision and recall, ask p50 and p95) in
``bench/results/answers_sec10q_local.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, log, shared_data
from answers_sec10q import INDEX, aggregate, answer_row, commit, retrieval_row

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig

OUT = RESULTS / "answers_sec10q_local.json"


class AskWith:
    """A workspace whose ``ask`` uses ``model`` whatever the caller names (``answer_row`` names the default)."""

    def __init__(self, ws: Workspace, model: str) -> None:
        self.ws, self.model = ws, model

    def ask(self, question: str, index: str, model: str | None = None, **options: Any) -> Any:
        return self.ws.ask(question, index, model=self.model, **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--model", default="local")
    parser.add_argument("--every", type=int, default=15)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = shared_data("sec10q_dev")
    qa = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    subset = qa[::args.every]
    ws = Workspace(RagtuneConfig.load({"home": str(args.home)}, env={}))
    cached = ws.store.exists(INDEX)
    if not cached:
        ws.ingest([str(data / "pdf")], INDEX)
    index = ws.index(INDEX)
    runs = {}
    for model in (args.model, "extractive"):
        rows = []
        for row in subset:
            rows.append({**answer_row(AskWith(ws, model), row), **retrieval_row(index, row["question"], set(row["gold_files"]))})  # type: ignore[arg-type]
            log(f"{model}: {len(rows)}/{len(subset)}")
        runs[model] = {"results": aggregate(rows),
                       "answers": [{k: r[k] for k in ("id", "gold", "cited", "f1", "abstained", "answer")} for r in rows]}
    result = {"benchmark": "answers_sec10q_local", "commit": commit(), "command": "python " + " ".join(sys.argv),
              "cached": cached, "resumed": False, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "questions_used": f"every {args.every}th of qa.jsonl from the first: {len(subset)} of {len(qa)}",
              "machine": "2 CPU cores shared with other jobs (latencies are upper bounds)", "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({m: r["results"] for m, r in runs.items()}, indent=2))


if __name__ == "__main__":
    main()
