"""Synthetic questions from an index, for teams with documents and no labelled questions.

Chunks are drawn round-robin over the index's documents (documents and their chunks in a seeded order), so every
document gets a question before any gets a second. A writer (``ragtune.evaluation.question_writers``) turns each
drawn chunk into a question and a short reference answer, and the pair is kept only when it passes the round trip:

1. retrieval (the index's normal search) finds the chunk within the top ``k`` for the question (``not_retrieved``);
2. every sentence of the answer is supported by the chunk: support at least ``min_support`` by the workspace's support
   scorer, the same one that checks citations (``unsupported``).

Drafts are also rejected when the question or the answer is under three words or the question repeats another
(``too_short``, ``duplicate``), when the question contains its whole answer (``answer_in_question``), or when the
answer adds fewer than two content words to the question (``restates_question``: "To view X, you can use the
following steps:"). Each kept row is a question-file row
(``ragtune.evaluation.questions``) marked ``"synthetic": true``, with ``gold_doc_ids``, ``gold_chunk_ids``,
``reference_contexts`` and ``group`` (its document: questions of one document are resampled together).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ragtune.components.parts import Components
from ragtune.errors import InputError
from ragtune.evaluation.question_writers import Draft, QuestionWriter
from ragtune.generation.base import ContextBlock
from ragtune.generation.citations import SupportScorer
from ragtune.generation.text import content_terms, split_sentences, words
from ragtune.index.base import ChunkRecord

Search = Callable[[list[str], int], list[list[str]]]
"""Chunk ids found for each question, best first: ``search(questions, k)``."""

REJECT_REASONS = ("no_sentence", "no_key_terms", "generator_error", "unparseable", "too_short", "duplicate",
                  "answer_in_question", "restates_question", "not_retrieved", "unsupported")


@dataclass(frozen=True)
class RoundTrip:
    """The round-trip settings: retrieval depth, the support an answer sentence needs, draws per kept question."""

    k: int = 5
    min_support: float = 0.35
    attempts_per_question: int = 3

    def check(self) -> None:
        if self.k < 1:
            raise InputError("k: must be at least 1")
        if not 0.0 <= self.min_support <= 1.0:
            raise InputError("min_support: must be between 0 and 1")
        if self.attempts_per_question < 1:
            raise InputError("attempts_per_question: must be at least 1")


@dataclass
class GeneratedQuestions:
    """The kept rows and the record of how they were made: counts, rejects by reason, writer, settings."""

    rows: list[dict[str, Any]]
    index: str
    model: str
    asked: int
    tried: int
    rejected: dict[str, int]
    settings: dict[str, Any]
    documents: int
    errors: list[str] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        """Share of tried chunks whose draft passed every check."""
        return len(self.rows) / self.tried if self.tried else None

    def summary(self) -> dict[str, Any]:
        """The record without the rows (what ``questions generate --json`` prints)."""
        return {"index": self.index, "model": self.model, "asked": self.asked, "generated": len(self.rows),
                "tried": self.tried, "pass_rate": None if self.pass_rate is None else round(self.pass_rate, 4),
                "rejected": dict(self.rejected), "documents": self.documents,
                "documents_covered": len({r["gold_doc_ids"][0] for r in self.rows}), "settings": self.settings,
                "errors": self.errors[:5]}

    def write(self, path: str | Path, force: bool = False) -> Path:
        """Write the rows as JSONL, atomically; an existing file is replaced only with ``force``."""
        from ragtune.common import write_text_atomic

        path = Path(path)
        if path.exists() and not force:
            raise InputError(f"--out {path}: the file exists; give --force to replace it")
        if not self.rows:
            raise InputError(f"index '{self.index}': no question passed the round trip ({self.tried} tried; rejected: "
                             f"{_reasons(self.rejected)}); nothing written to {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows))
        return path


def _reasons(rejected: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in rejected.items() if v) or "none"


def stratified_order(chunks: Sequence[ChunkRecord], seed: int) -> list[ChunkRecord]:
    """Chunks round-robin over documents: documents and each document's chunks shuffled with ``seed``."""
    rng = random.Random(seed)
    by_doc: dict[str, list[ChunkRecord]] = {}
    for c in sorted(chunks, key=lambda c: (c.doc_id, c.position, c.chunk_id)):
        by_doc.setdefault(c.doc_id, []).append(c)
    docs = sorted(by_doc)
    rng.shuffle(docs)
    queues = []
    for d in docs:
        own = by_doc[d]
        rng.shuffle(own)
        queues.append(own)
    order: list[ChunkRecord] = []
    depth = 0
    while len(order) < len(chunks):
        order.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return order


def _draft_problem(draft: Draft, seen: set[str]) -> str | None:
    key = " ".join(words(draft.question))
    if len(words(draft.question)) < 3 or len(words(draft.answer)) < 3:
        return "too_short"
    if key in seen:
        return "duplicate"
    if " ".join(words(draft.answer)) in key:
        return "answer_in_question"
    if len(set(content_terms(draft.answer)) - set(content_terms(draft.question))) < 2:
        return "restates_question"
    return None


def support_of(answer: str, chunk: ChunkRecord, scorer: SupportScorer) -> float:
    """The least support the chunk gives any sentence of ``answer`` (0-1)."""
    claims = [s.text for s in split_sentences(answer)] or [answer]
    block = ContextBlock(number=1, text=chunk.text, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, source=chunk.source,
                         page=chunk.page)
    matrix = scorer.score(claims, [block]).scores
    return float(matrix[:, 0].min()) if len(claims) else 0.0


def generate_questions(index: str, chunks: Sequence[ChunkRecord], n: int, writer: QuestionWriter, search: Search,
                       scorer: SupportScorer, round_trip: RoundTrip = RoundTrip(), seed: int = 0,
                       notify: Callable[[str], None] | None = None, batch: int = 16) -> GeneratedQuestions:
    """Up to ``n`` questions from ``chunks`` that pass the round trip (module docstring)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n: must be a whole number of at least 1 (got {n!r})")
    round_trip.check()
    if not chunks:
        raise InputError(f"index '{index}' holds no chunks to write questions from: add documents with "
                         f"ragtune ingest PATH --index {index}")
    order = stratified_order(chunks, seed)[:n * round_trip.attempts_per_question]
    rejected: Counter[str] = Counter({r: 0 for r in REJECT_REASONS})
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    tried = 0
    for start in range(0, len(order), batch):
        if len(rows) >= n:
            break
        drafts: list[tuple[ChunkRecord, Draft]] = []
        for chunk in order[start:start + batch]:
            if len(rows) + len(drafts) >= n:
                break
            tried += 1
            draft = writer.write(chunk)
            if isinstance(draft, str):
                rejected[draft] += 1
                continue
            problem = _draft_problem(draft, seen)
            if problem is not None:
                rejected[problem] += 1
                continue
            seen.add(" ".join(words(draft.question)))
            drafts.append((chunk, draft))
        found = search([d.question for _, d in drafts], round_trip.k) if drafts else []
        for (chunk, draft), ids in zip(drafts, found):
            if chunk.chunk_id not in ids[:round_trip.k]:
                rejected["not_retrieved"] += 1
                continue
            support = support_of(draft.answer, chunk, scorer)
            if support < round_trip.min_support:
                rejected["unsupported"] += 1
                continue
            rows.append(_row(len(rows) + 1, chunk, draft, writer.spec, ids.index(chunk.chunk_id) + 1, support))
        if notify:
            notify(f"questions: {len(rows)}/{n} kept from {tried} chunks tried (rejected: {_reasons(rejected)})")
    errors = list(getattr(writer, "errors", []))
    return GeneratedQuestions(rows=rows, index=index, model=writer.spec, asked=n, tried=tried, rejected=dict(rejected),
                              settings={"k": round_trip.k, "min_support": round_trip.min_support, "seed": seed,
                                        "attempts_per_question": round_trip.attempts_per_question},
                              documents=len({c.doc_id for c in chunks}), errors=errors)


def _row(number: int, chunk: ChunkRecord, draft: Draft, model: str, rank: int, support: float) -> dict[str, Any]:
    return {"id": f"synthetic-{number:04d}", "question": draft.question, "reference_answer": draft.answer,
            "reference_contexts": [chunk.text], "gold_doc_ids": [chunk.doc_id], "gold_chunk_ids": [chunk.chunk_id],
            "group": chunk.doc_id, "synthetic": True, "generator": model, "rule": draft.rule, "retrieved_rank": rank,
            "support": round(support, 4)}



def questions_from_index(components: Components, index: str, n: int, *, model: str | None = None, k: int = 5,
                         seed: int = 0, min_support: float | None = None, attempts_per_question: int = 3,
                         progress: Callable[[str], None] | None = None) -> GeneratedQuestions:
    """Up to ``n`` questions written from ``index``'s chunks that pass the round trip (``Workspace.generate_questions``)."""
    from ragtune.evaluation.question_writers import DEFAULT_WRITER, TEMPLATE, ModelWriter, TemplateWriter, TermRarity

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n: must be a whole number of at least 1 (got {n!r})")
    reader = components.index(index)
    round_trip = RoundTrip(k=k, min_support=components.config.answer.min_support if min_support is None else min_support,
                           attempts_per_question=attempts_per_question)
    round_trip.check()
    chunks = components.store.all_chunks(index)
    spec = model or DEFAULT_WRITER
    writer = (TemplateWriter(TermRarity([c.text for c in chunks])) if spec == TEMPLATE
              else ModelWriter(components.generator(spec)))
    embedder = reader.embedder(None)

    def search(questions: list[str], depth: int) -> list[list[str]]:
        found = reader.search_batch([(str(i), q) for i, q in enumerate(questions)], k=depth)
        return [[h.chunk_id for h in hits] for _, hits in found]

    return generate_questions(index, chunks, n, writer, search, components.support_scorer(embedder), round_trip, seed,
                              progress, batch=16 if spec == TEMPLATE else 4)  # a model writes slowly: progress every few
