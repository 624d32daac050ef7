"""Answers that find the right filing: retrieval and cited answers on twelve real 10-Q filings.

    python bench/answers_sec10q.py --label before [--set index.context=none] [--home DIR] [--questions N]

Ingests ``sec10q_dev/pdf`` (Apple, Amazon and Intel, 2022 Q3 to 2023 Q3) once into a workspace (a temporary
one, or ``--home``: an index already built there is reused, and the result says so with ``cached: true``), then
for each of the 119 human-reviewed questions of ``qa.jsonl``:

- retrieval file precision and recall at 3 and 10: the share of the top-k chunks (``Index.search``, the
  configured mode) whose file is one of the question's ``gold_files``, and the share of those files reached;
- citation file precision and recall of ``Workspace.ask`` with the offline ``extractive`` generator: the share
  of cited chunks from a gold file (over answers with citations), and the share of gold files cited (every
  question; an abstention reaches none);
- token F1 of the answer against ``reference_answer`` (SQuAD normalisation, citation markers removed);
- reference-figures recall: the share of the reference's figures (amounts, percentages, numbers of three or more
  digits; years left out) found in the answer, over questions whose reference has figures;
- p50 and p95 of ``ask``'s total latency.

Settings are chosen on the dev split (even positions of ``qa.jsonl``) and reported on the test split (odd
positions) in ``by_split``, beside the figures over all questions.

Each run is stored under its ``--label`` in ``bench/results/answers_sec10q.json`` (other labels kept), with the
commit, the command, the configuration overrides and whether the index was reused.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, log, shared_data

from ragtune.api import Workspace
from ragtune.evaluation import answers
from ragtune.config import RagtuneConfig

OUT = RESULTS / "answers_sec10q.json"
INDEX = "sec10q"
_MARKER = re.compile(r"\s*\[\d+\]")
_FIGURE = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+\.\d+|\d{3,})(?:\s?%)?")
_YEAR = re.compile(r"^(19|20)\d\d$")
TARGETS = {"citation_file_precision": ">= 0.80", "citation_file_recall": ">= 0.80", "figures_recall": ">= 0.50",
           "ask_p50_ms": "<= 1.5 x before"}


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 (``ragtune.evaluation.answers``) of the answer without its citation markers."""
    return answers.token_f1(_MARKER.sub("", prediction), reference)


def figures(text: str) -> set[str]:
    """The figures of ``text``: numbers with thousands separators or decimals, or of three digits or more, not years."""
    found = {m.group(1).replace(",", "") for m in _FIGURE.finditer(_MARKER.sub("", text))}
    return {f for f in found if not _YEAR.match(f)}


def file_of(source: str) -> str:
    return Path(source.split("#", 1)[0]).name


def mean(values: list[float]) -> float | None:
    return round(statistics.mean(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def retrieval_row(index, question: str, gold: set[str]) -> dict:
    hits = index.search(question, k=10)
    row = {}
    for k in (3, 10):
        files = [file_of(h.source) for h in hits[:k]]
        row[f"precision@{k}"] = sum(f in gold for f in files) / len(files) if files else 0.0
        row[f"recall@{k}"] = len(gold & set(files)) / len(gold)
    return row


def answer_row(ws: Workspace, row: dict) -> dict:
    gold = set(row["gold_files"])
    answer = ws.ask(row["question"], INDEX, model="extractive")
    cited = [file_of(c.source) for c in answer.citations]
    ref_figures = figures(row["reference_answer"])
    got = figures(answer.answer)
    trace = answer.to_json().get("trace")
    return {"id": row["id"], "type": row["question_type"], "gold": sorted(gold), "cited": cited,
            "citation_precision": (sum(f in gold for f in cited) / len(cited)) if cited else None,
            "citation_recall": len(gold & set(cited)) / len(gold),
            "f1": token_f1(answer.answer, row["reference_answer"]),
            "figures_recall": (len(ref_figures & got) / len(ref_figures)) if ref_figures else None,
            "abstained": answer.abstained, "ask_ms": answer.latency_ms.get("total", 0.0),
            "trace": trace, "answer": answer.answer}


def aggregate(rows: list[dict]) -> dict:
    return {
        "questions": len(rows),
        "retrieval_file_precision@3": mean([r["precision@3"] for r in rows]),
        "retrieval_file_recall@3": mean([r["recall@3"] for r in rows]),
        "retrieval_file_precision@10": mean([r["precision@10"] for r in rows]),
        "retrieval_file_recall@10": mean([r["recall@10"] for r in rows]),
        "citation_file_precision": mean([r["citation_precision"] for r in rows if r["citation_precision"] is not None]),
        "citation_file_recall": mean([r["citation_recall"] for r in rows]),
        "token_f1": mean([r["f1"] for r in rows]),
        "figures_recall": mean([r["figures_recall"] for r in rows if r["figures_recall"] is not None]),
        "abstention_rate": mean([float(r["abstained"]) for r in rows]),
        "ask_p50_ms": percentile([r["ask_ms"] for r in rows], 0.5),
        "ask_p95_ms": percentile([r["ask_ms"] for r in rows], 0.95),
    }


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
        return head + ("+uncommitted src changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def overrides(pairs: list[str]) -> dict:
    """``section.key=value`` pairs as nested configuration overrides (values parsed as JSON when they are)."""
    out: dict = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        section, _, name = key.partition(".")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(section, {})[name] = parsed
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", required=True, help="Name of this run in the results file.")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="Configuration override.")
    parser.add_argument("--home", type=Path, default=None, help="Workspace to build or reuse (default: a temporary one).")
    parser.add_argument("--questions", type=int, default=None, help="Only the first N questions.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = shared_data("sec10q_dev")
    rows = [json.loads(line) for line in (data / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[:args.questions] if args.questions else rows
    home = args.home or Path(tempfile.mkdtemp(prefix="ragtune-sec10q-"))
    settings = overrides(args.set)
    ws = Workspace(RagtuneConfig.load({"home": str(home), **settings}, env={}))
    cached = ws.store.exists(INDEX)
    started = time.time()
    if not cached:
        report = ws.ingest([str(data / "pdf")], INDEX)
        log(f"ingested {report.added} filings, {report.chunks} chunks, skipped {report.skipped}")
    ingest_s = round(time.time() - started, 1)
    index = ws.index(INDEX)
    per = []
    for i, row in enumerate(rows, start=1):
        per.append({**answer_row(ws, row), **retrieval_row(index, row["question"], set(row["gold_files"]))})
        if i % 20 == 0:
            log(f"{i}/{len(rows)}")
    by_type = {t: aggregate([r for r in per if r["type"] == t]) for t in sorted({r["type"] for r in per})}
    result = {
        "commit": commit(), "command": "python " + " ".join(sys.argv), "overrides": settings,
        "cached": cached, "resumed": False, "home": str(home) if args.home else None,
        "index": {"chunks": index.manifest.chunks, "documents": index.manifest.documents,
                  "ingest_s": None if cached else ingest_s},
        "generator": "extractive", "retrieval_mode": ws.config.retrieval.mode.value,
        "questions_used": f"first {len(rows)} of qa.jsonl" if args.questions else "all of qa.jsonl",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": aggregate(per), "by_type": by_type,
        "by_split": {"dev (even positions: settings chosen here)": aggregate(per[0::2]),
                     "test (odd positions)": aggregate(per[1::2])} if not args.questions else None,
        "examples": [{k: r[k] for k in ("id", "gold", "cited", "f1", "answer", "trace")} for r in per[:4]],
    }
    doc = json.loads(args.out.read_text()) if args.out.is_file() else {}
    doc.setdefault("benchmark", "answers_sec10q")
    doc["data"] = "sec10q_dev: 12 10-Q PDFs (AAPL, AMZN, INTC; 2022 Q3, 2023 Q1-Q3), 119 human-reviewed questions"
    doc["targets"] = TARGETS
    doc.setdefault("runs", {})[args.label] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({args.label: result["results"]}, indent=2))


if __name__ == "__main__":
    main()
