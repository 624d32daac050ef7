"""Knowledge updates without retraining: does an answer move to the new truth when the documents change?

Input: a dated corpus (JSONL, one document a line with a date) and questions with validity windows (JSONL,
``valid_from``/``valid_to``; several rows may share a question, each with the answer valid in its window). Field
names are configurable. The test:

1. The questions whose answer changed between T1 and T2 are kept: some answer is valid at T2 that was not at T1.
2. The index is synced to the documents dated up to T1, and every question is asked (``rag``; and ``ft``, the
   tuned model, trained at T1, when one is given).
3. The index is synced to the documents dated up to T2, and every question is asked again. The tuned model is
   not retrained: that is the point.
4. An answer states a truth when it contains it (SQuAD normalisation; or most of its content words); yes/no
   truths must open the answer. Per variant: the share that stated the old truth at T1, the share that states
   the new truth at T2, the share still stating only the old one (stale), and the share that moved to the new
   truth (new at T2, not at T1), each with a bootstrap 95% interval.

The corpus is staged as ``<home>/eval-cache/updates/<index>/corpus.jsonl`` and synced into the index, so only
what changed between T1 and T2 is embedded; answers are cached like every eval answer.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragtune.components.parts import Components
from ragtune.config import SearchMode
from ragtune.documents import JsonlFields
from ragtune.errors import InputError
from ragtune.evaluation.answers import normalize_answer
from ragtune.evaluation.base import Candidate
from ragtune.evaluation.config import EvalConfig, validated
from ragtune.evaluation.executor import AnswerExecutor
from ragtune.documents.loaders.jsonl import jsonl_objects
from ragtune.evaluation.questions import Question
from ragtune.evaluation.runner import EvalRunner
from ragtune.evaluation.stats import mean_ci95
from ragtune.generation.text import content_terms
from ragtune.common import write_json_atomic, write_text_atomic


_YES_NO = {"yes", "no"}
TERM_SHARE = 0.75
"""Share of a truth's content words an answer must hold to state it (when it does not contain it verbatim)."""


class DatedDocFields(BaseModel):
    """Field names of the dated corpus."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field("_id", description="Document id.")
    text: str = Field("text", description="Document text.")
    date: str = Field("source_date", description="Date the document was published (ISO 8601, M/D/YYYY, MM/YYYY).")
    title: str = Field("title", description="Title, if any.")


class TimedQuestionFields(BaseModel):
    """Field names of the questions with validity windows."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field("question", description="Question text (rows with the same text are one question).")
    answer: str = Field("answer", description="The answer valid in the row's window.")
    valid_from: str = Field("valid_from", description="Start of the window (inclusive).")
    valid_to: str = Field("valid_to", description="End of the window (exclusive; empty: still valid).")


class UpdatesConfig(BaseModel):
    """One knowledge-update test."""

    model_config = ConfigDict(extra="forbid")

    docs: Path = Field(..., description="Dated corpus (JSONL).")
    questions: Path = Field(..., description="Questions with validity windows (JSONL).")
    t1: dt.date = Field(..., description="First cut-off: documents dated up to T1 (the tuned model's training date).")
    t2: dt.date = Field(..., description="Second cut-off, after T1.")
    index: str = Field("updates", description="Index the dated corpus is synced into (made for this test).")
    model: str | None = Field(None, description="Model spec of the rag side (default: the configured one).")
    tuned: str | None = Field(None, description="Tuned model NAME[@vN] trained at T1 (the ft side); none: rag only.")
    k: int | None = Field(None, ge=1, le=100, description="Context blocks per answer.")
    mode: SearchMode | None = Field(None, description="Retrieval mode.")
    limit: int | None = Field(None, ge=1, description="Ask at most this many changed questions (a seeded sample).")
    seed: int = Field(0, description="Seed of the sample.")
    skip_yes_no: bool = Field(False, description="Leave out questions whose answers are yes or no.")
    doc_fields: DatedDocFields = Field(default_factory=DatedDocFields)
    question_fields: TimedQuestionFields = Field(default_factory=TimedQuestionFields)

    @model_validator(mode="after")
    def _order(self) -> "UpdatesConfig":
        if self.t2 <= self.t1:
            raise ValueError(f"T2 ({self.t2}) must come after T1 ({self.t1})")
        return self

    @classmethod
    def create(cls, **fields: Any) -> "UpdatesConfig":
        """Build from keyword fields (None means the default); ``InputError`` with a readable message otherwise."""
        return validated(cls, fields)


_PARTIAL_DATES = ("%m/%d/%Y", "%m/%Y", "%Y-%m", "%Y")


def parse_date(value: Any, where: str) -> dt.date | None:
    """A date from ISO 8601 (``2022-07-06``, ``2022-07-06T00:00:00Z``, ``2022-06-14 00:00:00``), ``M/D/YYYY``, or a
    month or year alone (``01/2024``, ``2024-01``, ``2024``: its first day)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for pattern in _PARTIAL_DATES:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise InputError(f"{where}: '{text}' is not a date (ISO 8601, M/D/YYYY, MM/YYYY or YYYY)")


def _rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    rows = [(f"{path}:{number}", row) for number, row in jsonl_objects(Path(path))]
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


@dataclass
class DatedDoc:
    """A corpus row and its date."""

    date: dt.date
    row: dict[str, Any]


def read_dated_docs(path: Path, fields: DatedDocFields) -> list[DatedDoc]:
    """The corpus rows with their dates; ``InputError`` names the line and field of a missing text or date."""
    docs = []
    for where, row in _rows(path):
        if not isinstance(row.get(fields.text), str) or not row[fields.text].strip():
            raise InputError(f"{where}: field '{fields.text}' is missing or empty")
        date = parse_date(row.get(fields.date), f"{where}: field '{fields.date}'")
        if date is None:
            raise InputError(f"{where}: field '{fields.date}' is missing")
        docs.append(DatedDoc(date, row))
    return docs


@dataclass
class ChangedQuestion:
    """A question whose answer changed between T1 and T2."""

    id: str
    question: str
    old: list[str]
    new: list[str]


def changed_questions(path: Path, fields: TimedQuestionFields, t1: dt.date, t2: dt.date) -> tuple[list[ChangedQuestion], int]:
    """The questions with an answer valid at T2 that was not at T1 (and some answer valid at T1), and how many
    distinct questions the file holds."""
    windows: dict[str, list[tuple[str, dt.date | None, dt.date | None]]] = {}
    texts: dict[str, str] = {}
    for where, row in _rows(path):
        text, answer = row.get(fields.question), row.get(fields.answer)
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: field '{fields.question}' is missing or empty")
        if answer is None or str(answer).strip() == "":
            raise InputError(f"{where}: field '{fields.answer}' is missing or empty")
        key = " ".join(text.split()).casefold()
        texts.setdefault(key, text.strip())
        windows.setdefault(key, []).append((str(answer).strip(), parse_date(row.get(fields.valid_from), f"{where}: field "
                                                                                                        f"'{fields.valid_from}'"),
                                            parse_date(row.get(fields.valid_to), f"{where}: field '{fields.valid_to}'")))

    def valid(rows: list[tuple[str, dt.date | None, dt.date | None]], at: dt.date) -> list[str]:
        return list(dict.fromkeys(a for a, start, end in rows if (start is None or start <= at) and (end is None or at < end)))

    changed = []
    for n, (key, rows) in enumerate(windows.items(), start=1):
        then, now = valid(rows, t1), valid(rows, t2)
        new = [a for a in now if a not in then]
        if then and new:
            changed.append(ChangedQuestion(id=f"u{n}", question=texts[key], old=[a for a in then if a not in now] or then,
                                           new=new))
    return changed, len(windows)


def states(answer: str, truth: str) -> bool:
    """Whether ``answer`` states ``truth`` (see the module docstring)."""
    a, t = normalize_answer(answer), normalize_answer(truth)
    if not t:
        return False
    if t in _YES_NO:
        return a.split()[:1] == [t]
    if f" {t} " in f" {a} ":
        return True
    terms = set(content_terms(truth))
    return bool(terms) and len(terms & set(content_terms(answer))) / len(terms) >= TERM_SHARE


@dataclass
class UpdatesResult:
    """What the update test measured, per variant, with the per-question rows and notes."""

    config: dict[str, Any]
    variants: dict[str, dict[str, dict[str, Any]]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config, "variants": self.variants, "rows": self.rows, "notes": self.notes}


class Ingest(Protocol):
    """Syncs JSONL files into an index, creating it on first use (``Workspace.ingest``)."""

    def __call__(self, paths: Sequence[str], index: str, *, jsonl_fields: JsonlFields | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> Any: ...


class UpdatesRunner:
    """Runs one ``UpdatesConfig`` (see the module docstring)."""

    def __init__(self, components: Components, config: UpdatesConfig, ingest: Ingest,
                 progress: Callable[[str, int, int], None] | None = None, executor: AnswerExecutor | None = None) -> None:
        self.components, self.config, self.ingest, self.executor = components, config, ingest, executor
        self.progress = progress
        self.staging = self.components.config.home / "eval-cache" / "updates" / config.index / "corpus.jsonl"

    def _check_index(self) -> None:
        name = self.config.index
        store = self.components.store
        if not store.exists(name):
            return
        documents = store.documents(name)
        foreign = [d.source for d in documents if not d.source.startswith(str(self.staging))]
        if foreign:
            raise InputError(f"index '{name}' holds other documents ({foreign[0]} ...): the update test needs an index "
                             "of its own: give another --index name")

    def _sync(self, docs: list[DatedDoc], cutoff: dt.date) -> int:
        kept = [d.row for d in docs if d.date <= cutoff]
        if not kept:
            raise InputError(f"{self.config.docs}: no document is dated on or before {cutoff}")
        self.staging.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.staging, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
        f = self.config.doc_fields
        self.ingest([str(self.staging)], self.config.index, jsonl_fields=JsonlFields(f.id, f.title, f.text),
                    progress=self.progress)
        return len(kept)

    def _ask(self, questions: list[Question], variants: list[Candidate], stage: str) -> dict[tuple[str, str], str]:
        cfg = self.config
        eval_config = EvalConfig.create(variants=variants, model=cfg.model, tuned=cfg.tuned, index=cfg.index, k=cfg.k,
                                        mode=cfg.mode)

        def progress(variant: str, done: int, total: int) -> None:
            if self.progress:
                self.progress(f"{variant}@{stage}", done, total)

        result = EvalRunner(self.components, eval_config, progress, self.executor).run(questions)
        return {(r["id"], r["variant"]): (r.get("answer") or "") for r in result.rows}

    def run(self) -> UpdatesResult:
        cfg = self.config
        docs = read_dated_docs(cfg.docs, cfg.doc_fields)
        changed, total = changed_questions(cfg.questions, cfg.question_fields, cfg.t1, cfg.t2)
        notes = []
        if cfg.skip_yes_no:
            changed = [c for c in changed if not {normalize_answer(a) for a in c.old + c.new} & _YES_NO]
        found = len(changed)
        if not changed:
            raise InputError(f"{cfg.questions}: no question changed its answer between {cfg.t1} and {cfg.t2}")
        if cfg.limit and len(changed) > cfg.limit:
            changed = sorted(random.Random(cfg.seed).sample(changed, cfg.limit), key=lambda c: int(c.id[1:]))
            notes.append(f"asked a seeded sample of {cfg.limit} of the {found} changed questions")
        variants = [Candidate.rag] + ([Candidate.ft] if cfg.tuned else [])
        if not cfg.tuned:
            notes.append("ft side not measured: no tuned model was given (train one on the T1 corpus and pass --tuned NAME)")
        self._check_index()
        questions = [Question(id=c.id, question=c.question) for c in changed]
        docs_t1 = self._sync(docs, cfg.t1)
        at_t1 = self._ask(questions, variants, "T1")
        docs_t2 = self._sync(docs, cfg.t2)
        at_t2 = self._ask(questions, variants, "T2")
        rows, per_variant = [], {}
        for variant in (v.value for v in variants):
            scores: dict[str, list[float]] = {"old_truth_t1": [], "new_truth_t2": [], "stale_t2": [], "moved": []}
            for c in changed:
                a1, a2 = at_t1.get((c.id, variant), ""), at_t2.get((c.id, variant), "")
                old1 = any(states(a1, t) for t in c.old)
                new1 = any(states(a1, t) for t in c.new)
                old2 = any(states(a2, t) for t in c.old)
                new2 = any(states(a2, t) for t in c.new)
                row = {"id": c.id, "variant": variant, "question": c.question, "old": c.old, "new": c.new,
                       "answer_t1": a1, "answer_t2": a2, "old_truth_t1": old1, "new_truth_t1": new1,
                       "old_truth_t2": old2, "new_truth_t2": new2}
                rows.append(row)
                scores["old_truth_t1"].append(float(old1))
                scores["new_truth_t2"].append(float(new2))
                scores["stale_t2"].append(float(old2 and not new2))
                scores["moved"].append(float(new2 and not new1))
            per_variant[variant] = {name: mean_ci95(values) for name, values in scores.items()}
        config = {"docs": str(cfg.docs), "questions": str(cfg.questions), "t1": cfg.t1.isoformat(), "t2": cfg.t2.isoformat(),
                  "index": cfg.index, "model": cfg.model or self.components.config.generation.model, "tuned": cfg.tuned,
                  "k": cfg.k or self.components.config.answer.k, "documents_t1": docs_t1, "documents_t2": docs_t2,
                  "questions_total": total, "questions_changed": found, "questions_asked": len(changed),
                  "skip_yes_no": cfg.skip_yes_no, "seed": cfg.seed}
        return UpdatesResult(config=config, variants=per_variant, rows=rows, notes=notes)


def write_updates(result: UpdatesResult, path: str | Path) -> Path:
    """Write the update test's JSON atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, result.to_json())
    return path
