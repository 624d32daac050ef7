"""What the situating-summary context costs and what it does to retrieval, on a bounded subset of 10-Q filings.

    python bench/context_summary.py --home DIR [--model local] [--files "2023 Q2 AAPL.pdf" "2023 Q3 AAPL.pdf"]

Indexes the chosen ``sec10q_dev`` filings twice at ``--home``: ``[index] context = "header"`` and ``"summary"``
(a situating sentence per chunk written by ``--model``, ``ragtune.generation.situating``). Every sentence written
is kept in ``DIR/situating.jsonl`` under its prompt, so a run that stops is resumed where it stopped (``resumed``
says so); the cost figures count only the sentences this and earlier runs generated, as recorded there.
Reports per 1,000 chunks: generation seconds, tokens read and written, and dollars at the machine rate of the
price table (``ragtune.costs``, the model runs on this machine); and, for the questions whose filings are all in
the subset, retrieval file precision and recall at 3 and 10 with each index.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, log, shared_data
from answers_sec10q import commit, retrieval_row

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.costs import PriceTable
from ragtune.generation.base import GenerateOptions, Generation, Generator, Prompt, TextCallback, Usage

OUT = RESULTS / "context_summary.json"


class Recorded:
    """A generator whose replies are kept in a JSONL file by prompt (with the tokens and seconds they took)."""

    def __init__(self, inner: Generator, path: Path) -> None:
        self.inner, self.path = inner, path
        self.replies: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self.replies[row["key"]] = row
        self.reused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None,
                 on_text: TextCallback | None = None) -> Generation:
        key = hashlib.sha256(json.dumps(prompt.messages).encode()).hexdigest()
        if key in self.replies:
            self.reused += 1
        else:
            started = time.perf_counter()
            g = self.inner.generate(prompt, options)
            row = {"key": key, "text": g.text, "input_tokens": g.usage.input_tokens,
                   "output_tokens": g.usage.output_tokens, "seconds": time.perf_counter() - started}
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            self.replies[key] = row
            if len(self.replies) % 10 == 0:
                log(f"{len(self.replies)} sentences written")
        row = self.replies[key]
        return Generation(row["text"], Usage(row["input_tokens"], row["output_tokens"]), model=self.inner.spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--model", default="local")
    parser.add_argument("--files", nargs="+", default=["2023 Q2 AAPL.pdf", "2023 Q3 AAPL.pdf"])
    parser.add_argument("--cost-only", action="store_true", help="Report the sentences written so far (their cost and "
                        "examples) and the header index's retrieval, without finishing the summary index.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = shared_data("sec10q_dev")
    docs = args.home / "filings"
    docs.mkdir(parents=True, exist_ok=True)
    for name in args.files:
        if not (docs / name).exists():
            (docs / name).symlink_to(data / "pdf" / name)
    results: dict[str, Any] = {}
    recorded: Recorded | None = None
    resumed = (args.home / "situating.jsonl").is_file()
    for mode in ("header",) if args.cost_only else ("header", "summary"):
        ws = Workspace(RagtuneConfig.load({"home": str(args.home), "index": {"context": mode, "summary_model": args.model}},
                                          env={}))
        recorded = Recorded(ws.generator(args.model), args.home / "situating.jsonl")
        if mode == "summary":
            ws._generators[args.model] = recorded  # every sentence is kept, so a stopped run resumes
        started = time.perf_counter()
        if not ws.store.exists(mode):
            ws.ingest([str(docs)], mode)
        seconds = time.perf_counter() - started
        index = ws.index(mode)
        qa = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [retrieval_row(index, r["question"], set(r["gold_files"])) for r in qa if set(r["gold_files"]) <= set(args.files)]
        results[mode] = {"chunks": index.manifest.chunks, "ingest_seconds": round(seconds, 1), "questions": len(rows),
                         **{m: round(sum(r[m] for r in rows) / len(rows), 4) for m in rows[0]}}
        log(f"{mode}: {results[mode]}")
    assert recorded is not None
    written = list(recorded.replies.values())
    n = len(written)
    secs = sum(r["seconds"] for r in written)
    field, rate = PriceTable.default().machine_rate(None)
    per_1k = {"seconds": round(secs / n * 1000), "hours": round(secs / n * 1000 / 3600, 2),
              "input_tokens": round(sum(r["input_tokens"] for r in written) / n * 1000),
              "output_tokens": round(sum(r["output_tokens"] for r in written) / n * 1000),
              "usd_at_machine_rate": round(secs / n * 1000 / 3600 * rate, 3)}
    result = {"benchmark": "context_summary", "commit": commit(), "command": "python " + " ".join(sys.argv),
              "cached": recorded.reused > 0, "resumed": resumed, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "model": args.model, "files": args.files, "sentences": n, "summary_index_finished": not args.cost_only,
              "machine": f"2 cores shared with other jobs; {field} = {rate} USD/hour", "per_1k_chunks": per_1k,
              "retrieval": results, "raw_replies": [r["text"] for r in written[:5]]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("per_1k_chunks", "retrieval", "raw_replies")}, indent=2))


if __name__ == "__main__":
    main()
