"""What the situating-summary context costs and what it does to retrieval, on a bounded subset of 10-Q filings.

    python bench/context_summary.py --home DIR [--model local] [--files "2023 Q2 AAPL.pdf" "2023 Q3 AAPL.pdf"] [--sample 4]

Ingests the chosen ``sec10q_dev`` filings once into index ``filings`` with ``[index] context = "header"``, then
switches it with ``reindex`` to ``"none"`` and to ``"summary"`` (a situating sentence per chunk written by
``--model`` in batches, ``ragtune.generation.situating``), measuring, for the questions whose filings are all in
the subset, retrieval file precision and recall at 3 and 10 in each mode. Every sentence written is kept in
``DIR/situating.jsonl`` under its prompt, so a run that stops is resumed where it stopped (``resumed`` says so).
Reports per 1,000 chunks: generation seconds, tokens read and written, and dollars at the machine rate of the
price table (``ragtune.costs``, the model runs on this machine), batched and, on ``--sample`` chunks, one at a
time (whose sentences are checked against the batched ones).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from _common import RESULTS, finish, log, shared_data
from answers_sec10q import commit, retrieval_row

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.costs import PriceTable
from ragtune.generation.base import GenerateOptions, Generation, Generator, Prompt, TextCallback, Usage
from ragtune.generation.batching import generate_batch
from ragtune.generation.situating import OPTIONS, first_sentence, situating_prompt
from ragtune.index.recontext import stored_document

OUT = RESULTS / "context_summary.json"
INDEX = "filings"


class OutOfTime(Exception):
    """The time budget ran out before every sentence was written (the index keeps its previous mode)."""


def _key(prompt: Prompt) -> str:
    return hashlib.sha256(json.dumps(prompt.messages).encode()).hexdigest()


class Recorded:
    """A generator whose replies are kept in a JSONL file by prompt, with the tokens they took and their share of the
    seconds of the batch that wrote them."""

    def __init__(self, inner: Generator, path: Path, deadline: float = float("inf")) -> None:
        self.inner, self.path, self.deadline = inner, path, deadline
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
        result = self.generate_batch([prompt], options)[0]
        if isinstance(result, Exception):
            raise result
        return result

    def generate_batch(self, prompts: Sequence[Prompt], options: Any = None) -> list[Any]:
        keys = [_key(p) for p in prompts]
        todo = [i for i, k in enumerate(keys) if k not in self.replies]
        self.reused += len(prompts) - len(todo)
        if todo and time.monotonic() > self.deadline:
            raise OutOfTime(f"{len(self.replies)} sentences written when the time budget ran out")
        if todo:
            started = time.perf_counter()
            results = generate_batch(self.inner, [prompts[i] for i in todo], options)
            share = (time.perf_counter() - started) / len(todo)
            with self.path.open("a", encoding="utf-8") as f:
                for i, g in zip(todo, results):
                    if isinstance(g, Exception):
                        continue
                    row = {"key": keys[i], "text": g.text, "input_tokens": g.usage.input_tokens,
                           "output_tokens": g.usage.output_tokens, "seconds": share, "batch": len(todo)}
                    f.write(json.dumps(row) + "\n")
                    self.replies[keys[i]] = row
            log(f"{len(self.replies)} sentences written")
        return [Generation(r["text"], Usage(r["input_tokens"], r["output_tokens"]), model=self.inner.spec)
                for r in (self.replies[k] for k in keys)]


def per_1k(rows: Sequence[dict[str, Any]], rate: float) -> dict[str, Any]:
    """Seconds, hours, tokens and dollars per 1,000 sentences written like ``rows``."""
    n, secs = len(rows), sum(r["seconds"] for r in rows)
    if not n:
        return {"sentences_measured": 0}
    return {"sentences_measured": n, "seconds": round(secs / n * 1000), "hours": round(secs / n * 1000 / 3600, 2),
            "input_tokens": round(sum(r["input_tokens"] for r in rows) / n * 1000),
            "output_tokens": round(sum(r["output_tokens"] for r in rows) / n * 1000),
            "usd_at_machine_rate": round(secs / n * 1000 / 3600 * rate, 3)}


def one_at_a_time(ws: Workspace, generator: Generator, sample: int) -> list[dict[str, Any]]:
    """The first ``sample`` chunks' sentences written one call each (timed), each with its prompt's key."""
    docs = {d.doc_id: d for d in ws.store.documents(INDEX)}
    every = sorted(ws.store.all_chunks(INDEX), key=lambda c: (c.doc_id, c.position))
    rows = []
    for c in every[:sample]:
        text = stored_document(docs[c.doc_id], [x for x in every if x.doc_id == c.doc_id]).text
        prompt = situating_prompt(text, c.text)
        started = time.perf_counter()
        g = generator.generate(prompt, OPTIONS)
        rows.append({"seconds": time.perf_counter() - started, "input_tokens": g.usage.input_tokens,
                     "output_tokens": g.usage.output_tokens, "key": _key(prompt), "sentence": first_sentence(g.text)})
    return rows


def _means(ws: Workspace, qa: list[dict[str, Any]], files: list[str]) -> dict[str, Any]:
    index = ws.index(INDEX)
    rows = [retrieval_row(index, r["question"], set(r["gold_files"])) for r in qa if set(r["gold_files"]) <= set(files)]
    return {"questions": len(rows), **{m: round(sum(r[m] for r in rows) / len(rows), 4) for m in rows[0]}}


def measure(ws: Workspace, plain: Workspace, qa: list[dict[str, Any]], files: list[str], seconds: float) -> dict[str, Any]:
    """Retrieval file precision and recall at 3 and 10 of the index as it is now: as configured, and from ``plain``,
    whose questions are not read for the company and period they name (``retrieval.self_query`` off), so only
    what each chunk is indexed with tells the two filings apart."""
    return {"chunks": ws.index(INDEX).manifest.chunks, "seconds": round(seconds, 1), **_means(ws, qa, files),
            "without_self_query": _means(plain, qa, files)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--model", default="local")
    parser.add_argument("--files", nargs="+", default=["2023 Q2 AAPL.pdf", "2023 Q3 AAPL.pdf"])
    parser.add_argument("--sample", type=int, default=4, help="Chunks whose sentences are also written one at a time.")
    parser.add_argument("--budget-s", type=float, default=1680, help="Stop writing sentences after this many seconds "
                        "(the result then says the summary index was not finished).")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = shared_data("sec10q_dev")
    docs = args.home / "filings"
    docs.mkdir(parents=True, exist_ok=True)
    for name in args.files:
        if not (docs / name).exists():
            (docs / name).symlink_to(data / "pdf" / name)
    qa = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    resumed = (args.home / "situating.jsonl").is_file()
    ws = Workspace(RagtuneConfig.load({"home": str(args.home), "index": {"context": "header", "summary_model": args.model}},
                                      env={}))
    plain = Workspace(RagtuneConfig.load({"home": str(args.home), "retrieval": {"self_query": False}}, env={}))
    inner = ws.generator(args.model)
    recorded = Recorded(inner, args.home / "situating.jsonl", time.monotonic() + args.budget_s)
    ws.components._generators[args.model] = recorded  # every sentence is kept, so a stopped run resumes
    results: dict[str, Any] = {}
    started = time.perf_counter()
    if not ws.store.exists(INDEX):
        ws.ingest([str(docs)], INDEX)
    ingested = time.perf_counter() - started  # the header index's seconds: its ingest
    single = one_at_a_time(ws, inner, args.sample)
    started = time.perf_counter() - ingested
    finished = True
    for mode in ("header", "none", "summary"):
        if mode != "header" or ws.store.manifest(INDEX).context != "header":
            started = time.perf_counter()
            try:
                report = ws.index(INDEX).reindex(context=mode, summary_model=args.model if mode == "summary" else None)
            except OutOfTime as exc:
                log(str(exc))
                finished = False
                break
            if mode == "summary":
                results["summary_cost"] = report.summaries
        results[mode] = measure(ws, plain, qa, args.files, time.perf_counter() - started)
        log(f"{mode}: {results[mode]}")
    written = list(recorded.replies.values())
    field, rate = PriceTable.default().machine_rate(None)
    same = sum(1 for r in single if r["key"] in recorded.replies
               and first_sentence(recorded.replies[r["key"]]["text"]) == r["sentence"])
    result = {"benchmark": "context_summary", "commit": commit(), "command": "python " + " ".join(sys.argv),
              "cached": recorded.reused > 0, "resumed": resumed, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "model": args.model, "files": args.files, "sentences": len(written), "summary_index_finished": finished,
              "machine": f"one thread on 2 cores shared with other jobs; {field} = {rate} USD/hour",
              "per_1k_chunks": {"batched": per_1k(written, rate), "one_at_a_time": per_1k(single, rate)},
              "one_at_a_time_same_sentence_as_batched": f"{same}/{len(single)}",
              "retrieval": results,
              "sentences_kept": sum(1 for r in written if first_sentence(r["text"])),
              "example_sentences": [first_sentence(r["text"]) for r in written[:8]]}
    return finish(args.out, result)


if __name__ == "__main__":
    raise SystemExit(main())
