"""What every candidate answers and what the tuned candidates train on: seeded splits, recorded, leak-free.

- Knowledge questions come from ``--questions``. When a tuned candidate may train and the questions carry
  reference answers, a seeded share (``holdout``) of them is held out and the rest becomes training rows (for
  ``ft``, and RAFT for ``rag+ft``) and the few-shot pool of the ``prompt`` candidate. Questions without
  references are always held out.
- Format questions come from ``--questions`` rows that carry ``reference_output`` or a schema, and from a seeded
  share (``examples_holdout``) of ``--examples``: each held-out example becomes a question whose reference is its
  output. The other examples train ``ft`` and feed the few-shot prompt.
- Held-out questions that repeat a training row (same id, same text, or a near-duplicate by word overlap) are
  dropped for every candidate, so all candidates answer the same rows and none was trained on what it is scored on.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ragtune.decide.config import DecideConfig
from ragtune.errors import InputError
from ragtune.evaluation.questions import Question, load_questions
from ragtune.tuning.data.examples import Example, ExampleSet, read_examples
from ragtune.tuning.data.schema import infer_schema
from ragtune.tuning.heldout import example_question, seen_in_training

KNOWLEDGE, FORMAT = "knowledge", "format"


def task_kind(question: Question) -> str:
    """``format`` for a question scored against a JSON output or schema, else ``knowledge``."""
    return FORMAT if question.schema is not None or question.reference_output is not None else KNOWLEDGE


@dataclass
class DecideData:
    """The held-out questions, the training rows, and the record of how they were split."""

    test: list[Question]
    train_questions: list[Question] = field(default_factory=list)
    train_examples: list[Example] = field(default_factory=list)
    schema: dict[str, Any] | None = None
    examples_error: str | None = None
    split: dict[str, Any] = field(default_factory=dict)

    def kinds(self) -> dict[str, str]:
        return {q.id: task_kind(q) for q in self.test}

    def tasks(self) -> list[str]:
        """The task kinds present among the held-out questions, knowledge first."""
        present = set(self.kinds().values())
        return [k for k in (KNOWLEDGE, FORMAT) if k in present]

    def of_kind(self, kind: str) -> list[Question]:
        return [q for q in self.test if task_kind(q) == kind]

    def synthetic(self) -> set[str]:
        """Ids of the held-out questions marked ``synthetic`` (written from an index, not by people)."""
        return {q.id for q in self.test if q.metadata.get("synthetic") is True}

    def write_ft_rows(self, path: Path) -> Path:
        """Write what ``ft`` trains on to ``path`` (chat rows): the training examples, and each training question with
        its first reference answer."""
        rows = [{"messages": e.messages} for e in self.train_examples]
        rows += [{"messages": [{"role": "user", "content": q.question},
                               {"role": "assistant", "content": q.reference_answers[0]}]} for q in self.train_questions]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return path


def question_groups(questions: Sequence[Question]) -> dict[str, str]:
    """Question id -> cluster: questions that share a ``group`` (a field of the question file) or a gold document are
    one cluster, resampled together; a question with neither is its own."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for q in questions:
        keys = [f"doc:{d}" for d in q.gold_doc_ids]
        if q.metadata.get("group") is not None:
            keys.append(f"group:{q.metadata['group']}")
        for key in keys:
            parent[root(key)] = root(f"question:{q.id}")
    return {q.id: root(f"question:{q.id}") for q in questions}


def read_usable_examples(path) -> tuple[ExampleSet | None, str | None]:
    """The examples of ``path`` and None, or None and why they cannot be used (the first problems, by line)."""
    examples = read_examples(path)
    if examples.issues:
        shown = "; ".join(f"line {i.line}{f' ({i.field})' if i.field else ''}: {i.message}" for i in examples.issues[:3])
        more = f" (and {len(examples.issues) - 3} more)" if len(examples.issues) > 3 else ""
        return None, (f"{path} has {len(examples.issues)} problem(s): {shown}{more}; "
                      f"fix them (ragtune data check {path})")
    if not examples.valid:
        return None, f"{path} holds no examples"
    return examples, None


def example_as_question(example: Example, schema: dict[str, Any] | None) -> Question:
    """A held-out example as a question: its last user message asked, its output the reference."""
    text = example_question(example)["text"]
    if example.output_json is not None:
        return Question(id=f"example:{example.line}", question=text, reference_output=example.output_json, schema=schema,
                        metadata={"line": example.line})
    return Question(id=f"example:{example.line}", question=text, reference_answers=[example.completion],
                    metadata={"line": example.line})


def _shuffled(items: Sequence[Any], seed: int) -> list[Any]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


def load_data(config: DecideConfig, split_questions: bool) -> DecideData:
    """Read and split the question set and the examples (see the module docstring)."""
    questions = load_questions(config.questions, schema=config.json_schema) if config.questions is not None else []
    examples, examples_error = (read_usable_examples(config.examples) if config.examples is not None else (None, None))
    schema = config.json_schema
    record: dict[str, Any] = {"seed": config.seed, "holdout": config.holdout, "examples_holdout": config.examples_holdout}
    train_ex: list[Example] = []
    test: list[Question] = []
    if examples is not None:
        valid = _shuffled(examples.valid, config.seed)
        if examples.json_outputs and schema is None:
            inferred = infer_schema([e.output_json for e in valid if e.output_json is not None])
            schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **inferred} if inferred else None
            record["schema"] = "inferred from the examples' outputs"
        n_test = min(config.max_format_questions, max(1, round(len(valid) * config.examples_holdout))) if len(valid) > 1 else 0
        held, train_ex = valid[:n_test], valid[n_test:]
        test.extend(example_as_question(e, schema) for e in sorted(held, key=lambda e: e.line))
        record["examples"] = {"file": str(config.examples), "sha256": examples.sha256, "train": len(train_ex),
                              "held_out_lines": sorted(e.line for e in held)}
    elif examples_error:
        record["examples"] = {"file": str(config.examples), "error": examples_error}
    train_q: list[Question] = []
    if questions:
        with_refs = [q for q in questions if q.reference_answers and q.answerable and task_kind(q) == KNOWLEDGE]
        if split_questions and config.holdout < 1 and len(with_refs) >= 2:
            order = _shuffled(with_refs, config.seed)
            n_test = min(len(order) - 1, max(1, math.ceil(len(order) * config.holdout)))
            train_ids = {q.id for q in order[n_test:]}
            train_q = [q for q in questions if q.id in train_ids]
        test.extend(q for q in questions if q.id not in {t.id for t in train_q})
        record["questions"] = {"file": str(config.questions), "total": len(questions), "train_ids": [q.id for q in train_q]}
    seen: list[dict[str, Any]] = [{"id": q.id, "text": q.question} for q in train_q]
    seen += [{"id": None, "text": example_question(e)["text"]} for e in train_ex]
    dropped = seen_in_training(test, seen) if seen else {}
    if dropped:
        test = [q for q in test if q.id not in dropped]
        record["dropped"] = [{"id": qid, "why": why} for qid, why in dropped.items()]
    if not test:
        if not questions and examples is None:
            raise InputError("no questions to measure on: give --questions (or --examples to hold some out); "
                             "for the rules-only advice without measurement use: ragtune advise"
                             + (f" ({examples_error})" if examples_error else ""))
        raise InputError("no held-out question is left to score: every question is used for training or repeats a training row; "
                         "give more questions or a larger --holdout")
    record["test_ids"] = [q.id for q in test]
    record["test"] = len(test)
    return DecideData(test=test, train_questions=train_q, train_examples=train_ex, schema=schema,
                      examples_error=examples_error, split=record)


def check_scorable(data: DecideData, config: DecideConfig) -> None:
    """``InputError`` when no held-out question can be scored (none has a reference answer, an expected output or
    is marked unanswerable): a decision would rest on nothing."""
    if not any(q.reference_answers or not q.answerable or task_kind(q) == FORMAT for q in data.test):
        dropped = len(data.split.get("dropped", []))
        why = f" ({dropped} with references were dropped as repeats of training rows)" if dropped else ""
        raise InputError(f"{config.questions}: no held-out question has a reference answer (reference_answer){why}, so "
                         "no answer can be scored: add references, or use ragtune advise for the rules-only advice")


def few_shot(pairs: Sequence[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` of ``pairs`` drawn with ``seed`` (the same draw for every question)."""
    return _shuffled(pairs, seed + 1)[:n]


def few_shot_system(instructions: str, shots: Sequence[tuple[str, str]]) -> str:
    """A system prompt: ``instructions`` and worked examples, each an input and the output to give."""
    if not shots:
        return instructions
    parts = [instructions, "Answer in the same way as these examples."]
    for i, (question, answer) in enumerate(shots, start=1):
        parts.append(f"Example {i}\nInput: {question.strip()}\nOutput: {answer.strip()}")
    return "\n\n".join(parts)
