"""Question sets: JSONL rows ``{"id", "question", ...references}``, and importers for BEIR and SQuAD files.

Optional fields a row may carry: ``reference_answer`` (str or list), ``reference_contexts`` (list of str),
``gold_doc_ids`` (list), ``answerable`` (bool, default true), ``reference_output`` (any JSON) with
``schema`` (a JSON Schema, per row or per set). Rows without references still get reference-free metrics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ragtune.documents.beir import read_beir_jsonl, read_qrels
from ragtune.documents.loaders.jsonl import jsonl_objects
from ragtune.errors import InputError
from ragtune.evaluation.formats import check_schema


@dataclass
class Question:
    """One evaluation question and whatever references the set has for it."""

    id: str
    question: str
    reference_answers: list[str] = field(default_factory=list)
    reference_contexts: list[str] = field(default_factory=list)
    gold_doc_ids: list[str] = field(default_factory=list)
    answerable: bool = True
    reference_output: Any = None
    schema: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)


_KNOWN = {"id", "_id", "query_id", "question", "text", "query", "reference_answer", "reference_answers", "answer",
          "reference_contexts",
          "gold_doc_ids", "answerable", "reference_output", "output", "schema"}


def _row_to_question(row: dict[str, Any], where: str) -> Question:
    qid = row.get("id", row.get("_id", row.get("query_id")))
    text = row.get("question", row.get("text", row.get("query")))
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: field 'question' is missing or empty")
    if qid is None or str(qid) == "":
        raise InputError(f"{where}: field 'id' is missing")
    answers = row.get("reference_answer", row.get("reference_answers", row.get("answer")))
    if not (answers is None or isinstance(answers, str) or isinstance(answers, list) and all(
            isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in answers)):
        raise InputError(f"{where}: field 'reference_answer' must be a string or a list of strings (got {answers!r})")
    answers = [answers] if isinstance(answers, str) else [str(a) for a in (answers or [])]
    contexts = row.get("reference_contexts") or []
    if not isinstance(contexts, list):
        raise InputError(f"{where}: field 'reference_contexts' must be a list of strings")
    gold = row.get("gold_doc_ids") or []
    if not isinstance(gold, list):
        raise InputError(f"{where}: field 'gold_doc_ids' must be a list")
    answerable = row.get("answerable", True)
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: field 'answerable' must be true or false")
    schema = row.get("schema")
    if schema is not None:
        check_schema(schema, f"{where}: field 'schema'")
    return Question(id=str(qid), question=text, reference_answers=answers, reference_contexts=[str(c) for c in contexts],
                    gold_doc_ids=[str(g) for g in gold], answerable=answerable,
                    reference_output=row.get("reference_output", row.get("output")), schema=schema,
                    metadata={k: v for k, v in row.items() if k not in _KNOWN})



def questions_from_rows(rows: Iterable[tuple[str, Any]]) -> list[Question]:
    """Questions from ``(where, row)`` pairs (``where`` names the row in errors, e.g. ``file:3``); ids must be unique."""
    questions: list[Question] = []
    seen: set[str] = set()
    for where, row in rows:
        if not isinstance(row, dict):
            raise InputError(f"{where}: a question row is a JSON object")
        q = _row_to_question(row, where)
        if q.id in seen:
            raise InputError(f"{where}: duplicate id '{q.id}'")
        seen.add(q.id)
        questions.append(q)
    return questions


def load_questions(path: str | Path, schema: Any = None) -> list[Question]:
    """Read a JSONL question set; ``schema`` (a JSON Schema) applies to rows that carry none."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if schema is not None:
        check_schema(schema, "--schema")
    questions = questions_from_rows((f"{path}:{number}", row) for number, row in jsonl_objects(path))
    for q in questions:
        if q.schema is None:
            q.schema = schema
    if not questions:
        raise InputError(f"{path}: no questions")
    return questions


def load_beir(folder: str | Path, split: str = "test") -> tuple[list[Question], dict[str, dict[str, int]]]:
    """Questions and qrels of a BEIR folder (``queries.jsonl``, ``qrels/<split>.tsv``); only judged queries."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    queries_path = folder / "queries.jsonl"
    for p in (qrels_path, queries_path):
        if not p.is_file():
            raise InputError(f"{p}: missing (a BEIR folder has queries.jsonl and qrels/<split>.tsv)")
    qrels = read_qrels(qrels_path)
    questions = [Question(id=qid, question=text, gold_doc_ids=[d for d, g in qrels[qid].items() if g > 0])
                 for qid, text in read_beir_jsonl(queries_path).items() if qid in qrels]
    return questions, qrels


def load_squad(path: str | Path) -> list[Question]:
    """Questions of a SQuAD-format JSON file (v1 or v2; ``is_impossible`` marks unanswerable ones)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable SQuAD JSON file: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f"{path}: a SQuAD file has a top-level 'data' list")
    questions = []
    for article in data["data"]:
        for para in article.get("paragraphs", []):
            for qa in para.get("qas", []):
                answers = [a["text"] for a in qa.get("answers", [])]
                questions.append(Question(id=str(qa["id"]), question=qa["question"], reference_answers=answers,
                                          reference_contexts=[para.get("context", "")],
                                          answerable=not qa.get("is_impossible", False) and bool(answers),
                                          metadata={"title": article.get("title", "")}))
    if not questions:
        raise InputError(f"{path}: no questions")
    return questions
