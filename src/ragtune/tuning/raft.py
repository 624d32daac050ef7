"""RAFT-style training data: each question with its oracle chunk among distractors from the same index.

For each training question (``ragtune.evaluation.questions`` rows with a reference answer):

1. The **oracle**: a chunk of a gold document (``gold_doc_ids``), or the chunk that holds a gold context
   (``reference_contexts``), or, with neither, the best retrieved chunk that supports the reference answer.
   Among candidates, the one covering most of the answer's content words wins. A question whose gold
   document or context is not in the index, or whose answer no chunk supports, is reported and skipped.
2. **Distractors**: the question's own top retrieved chunks that do not support the answer (hard
   distractors), topped up with random chunks of the index when retrieval finds too few.
3. In ``oracle_share`` of the rows the oracle is among the blocks (at a random position); in the rest
   only distractors are, so the model learns both to rely on its context and to doubt it.
4. The prompt is exactly the one ``ask`` sends (``ragtune.generation.prompts.rag_prompt``); the target is
   the reference answer with each sentence cited ``[n]`` to the oracle block. Without the oracle the target
   is the plain answer (``answer``, as in RAFT) or the refusal (``abstain``).

The rows are chat examples (``{"messages": [...], "id", "question"}``) that ``LoraTuner`` trains on; the
build records the index's name and generation, so a later change of the index can be reported.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ragtune.common import read_json, write_json_atomic, write_text_atomic
from ragtune.errors import InputError
from ragtune.evaluation.base import RetrievedChunk
from ragtune.evaluation.metrics import CONTEXT_MATCH, context_match, gold_id, strip_markers
from ragtune.evaluation.questions import Question
from ragtune.generation.base import ContextBlock
from ragtune.generation.prompts import CANNOT_ANSWER, rag_prompt
from ragtune.generation.text import content_terms, coverage, split_sentences
from ragtune.index.base import ChunkRecord
from ragtune.retrieval.base import Retriever, ScoredChunk
from ragtune.tuning import ranks
from ragtune.tuning.base import RUN_DIR, BaseTuner, Progress, Staging, TrainingEvent, remaining_budget
from ragtune.components.registry import ModelCard, ModelRegistry

if TYPE_CHECKING:
    from ragtune.tuning.lora import LoraConfig


class NoOracleTarget(str, Enum):
    """What a row without its oracle teaches."""

    answer = "answer"
    abstain = "abstain"


class RaftSettings(BaseModel):
    """How RAFT rows are built from an index and a question set."""

    model_config = ConfigDict(extra="forbid")

    distractors: int = Field(3, ge=0, le=20, description="Distractor chunks per row.")
    oracle_share: float = Field(0.8, ge=0, le=1, description="Share of rows whose context holds the oracle chunk.")
    no_oracle_target: NoOracleTarget = Field(NoOracleTarget.answer, description="Target of rows without the oracle: "
                                             "the plain answer (RAFT) or the refusal.")
    candidates: int = Field(20, ge=1, description="Retrieved chunks searched for the oracle and the distractors.")
    min_support: float = Field(0.5, gt=0, le=1, description="Share of the answer's content words a chunk must hold to "
                                                              "support it (oracle without gold; never a distractor).")
    min_context_match: float = Field(CONTEXT_MATCH, gt=0, le=1, description="Share of word 4-grams a chunk and a gold "
                                     "context must share for the chunk to count as that context (as citation precision counts "
                                     "it).")
    system: str | None = Field(None, description="Extra system prompt, as ask --system gives it.")
    seed: int = Field(0, description="Seed of the oracle drop, the block order and the random distractors.")


@dataclass
class RaftRow:
    """One training row and how it was built."""

    question_id: str
    question: str
    messages: list[dict[str, str]]
    oracle_chunk_id: str
    oracle_kept: bool
    distractor_ids: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.question_id, "question": self.question, "messages": self.messages,
                "raft": {"oracle": self.oracle_chunk_id, "oracle_kept": self.oracle_kept, "distractors": self.distractor_ids}}


@dataclass
class RaftData:
    """RAFT rows of one question set over one index, and the questions that could not be used (with why)."""

    index: str
    index_generation: int
    settings: RaftSettings
    rows: list[RaftRow] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}
    questions: int = 0

    def summary(self) -> dict[str, Any]:
        """What the card records: the index and its generation, the settings and the counts."""
        kept = sum(r.oracle_kept for r in self.rows)
        return {"kind": "raft", "index": self.index, "index_generation": self.index_generation,
                "settings": self.settings.model_dump(mode="json"), "questions": self.questions, "rows": len(self.rows),
                "oracle_kept": kept, "oracle_dropped": len(self.rows) - kept, "skipped": len(self.skipped),
                "skipped_examples": self.skipped[:20]}

    def written(self) -> dict[str, Any]:
        """What ``raft.json`` holds: the summary and every skipped question."""
        return {**self.summary(), "skipped_all": self.skipped}

    def write(self, folder: Path) -> Path:
        """Write ``train.jsonl`` and ``raft.json`` (``written``) into ``folder``; the rows file's path."""
        folder.mkdir(parents=True, exist_ok=True)
        rows = folder / "train.jsonl"
        write_text_atomic(rows, "".join(json.dumps(row.to_json(), ensure_ascii=False) + "\n" for row in self.rows))
        write_json_atomic(folder / "raft.json", self.written())
        return rows


def read_raft_summary(folder: Path) -> dict[str, Any] | None:
    """The summary ``RaftData.write`` left in ``folder``, or None when there is none."""
    path = folder / "raft.json"
    return read_json(path, "RAFT summary") if path.is_file() and (folder / "train.jsonl").is_file() else None


def cite_answer(answer: str, marker: int) -> str:
    """``answer`` with ``[marker]`` at the end of each sentence (markers already in it are removed first)."""
    plain = strip_markers(answer)
    sentences = split_sentences(plain)
    if not sentences:
        return plain
    out, pos = [], 0
    for s in sentences:
        end = s.end
        while end < len(plain) and plain[end] in ".!?:;":
            end += 1
        body = plain[s.start:end]
        out.append(plain[pos:s.start] + (f"{body[:-1]} [{marker}]{body[-1]}" if body and body[-1] in ".!?" else f"{body} "
                                                                                                                f"[{marker}]"))
        pos = end
    return "".join(out).strip()


def _retrieved(chunk: ChunkRecord) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, source=chunk.source, text=chunk.text)


def oracle_chunks(question: Question, retriever: Retriever, candidates: int = 20,
                  threshold: float = CONTEXT_MATCH) -> list[ChunkRecord]:
    """The chunks of an index that hold one of ``question``'s reference contexts (found by searching for each context)."""
    matched: dict[str, ChunkRecord] = {}
    for context in question.reference_contexts:
        for hit in retriever.retrieve(context[:2000], candidates):
            if hit.chunk.chunk_id not in matched and context_match(hit.chunk.text, [context], threshold) is not None:
                matched[hit.chunk.chunk_id] = hit.chunk
    return list(matched.values())


class RaftBuilder:
    """Builds ``RaftData`` from questions, an index's chunks and a retriever over that index."""

    def __init__(self, index: str, index_generation: int, retriever: Retriever, chunks: Callable[[], list[ChunkRecord]],
                 settings: RaftSettings) -> None:
        self.index, self.generation = index, index_generation
        self.retriever = retriever
        self._chunks_fn = chunks
        self._chunks: list[ChunkRecord] | None = None
        self.settings = settings
        self.rng = random.Random(settings.seed)

    @property
    def chunks(self) -> list[ChunkRecord]:
        if self._chunks is None:
            self._chunks = self._chunks_fn()
        return self._chunks

    def build(self, questions: Sequence[Question], progress: Callable[[int, int], None] | None = None) -> RaftData:
        """Rows for every usable question; unusable ones land in ``skipped`` with their reason."""
        s = self.settings
        if len(self.chunks) < s.distractors + 1:
            raise InputError(f"index '{self.index}' holds {len(self.chunks)} chunk(s): --distractors {s.distractors} needs at "
                             f"least {s.distractors + 1} (the oracle and its distractors); lower --distractors or ingest more")
        data = RaftData(self.index, self.generation, s, questions=len(questions))
        for i, q in enumerate(questions):
            row = self._row(q, data.skipped)
            if row is not None:
                data.rows.append(row)
            if progress:
                progress(i + 1, len(questions))
        if not data.rows:
            reasons = "; ".join(f"{x['id']}: {x['reason']}" for x in data.skipped[:3])
            raise InputError(f"no question gave a RAFT row ({len(data.skipped)} skipped: {reasons})")
        return data

    def _row(self, q: Question, skipped: list[dict[str, str]]) -> RaftRow | None:
        s = self.settings
        answer = next((a for a in q.reference_answers if a.strip()), None)
        if answer is None:
            skipped.append({"id": q.id, "reason": "no reference answer"})
            return None
        answer_terms = set(content_terms(answer))
        retrieved = self.retriever.retrieve(q.question, s.candidates)
        oracle, gold, reason = self._oracle(q, answer_terms, retrieved)
        if oracle is None:
            skipped.append({"id": q.id, "reason": reason})
            return None

        def supports(chunk: ChunkRecord) -> bool:
            return chunk.chunk_id in gold or coverage(answer_terms, set(content_terms(chunk.text))) >= s.min_support

        distractors: list[ChunkRecord] = []
        for hit in retrieved:
            c = hit.chunk
            if len(distractors) == s.distractors:
                break
            if not supports(c):
                distractors.append(c)
        taken = {oracle.chunk_id, *(c.chunk_id for c in distractors)}
        chunks = self.chunks
        order = self.rng.sample(range(len(chunks)), len(chunks)) if len(distractors) < s.distractors else []
        for c in (chunks[i] for i in order if chunks[i].chunk_id not in taken):
            if len(distractors) == s.distractors:
                break
            if not supports(c):
                distractors.append(c)
        if len(distractors) < s.distractors:
            skipped.append({"id": q.id, "reason": f"only {len(distractors)} chunk(s) of the index do not hold the answer; "
                                                  f"--distractors {s.distractors} asks for more"})
            return None
        keep = self.rng.random() < s.oracle_share
        records = ([oracle] if keep else []) + distractors
        self.rng.shuffle(records)
        blocks = [ContextBlock.from_scored(n, ScoredChunk(c, 0.0)) for n, c in enumerate(records, start=1)]
        if keep:
            marker = next(b.number for b in blocks if b.chunk_id == oracle.chunk_id)
            target = cite_answer(answer, marker)
        else:
            target = strip_markers(answer) if s.no_oracle_target is NoOracleTarget.answer else CANNOT_ANSWER
        messages = rag_prompt(q.question, blocks, s.system).messages + [{"role": "assistant", "content": target}]
        return RaftRow(q.id, q.question, messages, oracle.chunk_id, keep, [c.chunk_id for c in distractors])

    def _oracle(self, q: Question, answer_terms: set[str],
                retrieved: list[ScoredChunk]) -> tuple[ChunkRecord | None, set[str], str]:
        """The oracle chunk, the ids of every gold chunk (never distractors), and why there is no oracle."""
        s = self.settings

        def best(candidates: list[ChunkRecord]) -> ChunkRecord:
            return max(candidates, key=lambda c: coverage(answer_terms, set(content_terms(c.text))))

        if q.gold_doc_ids:
            candidates = [c for c in self.chunks if gold_id(_retrieved(c), q.gold_doc_ids) is not None]
            if not candidates:
                return None, set(), f"gold document(s) {', '.join(q.gold_doc_ids)} not in index '{self.index}'"
            return best(candidates), {c.chunk_id for c in candidates}, ""
        if q.reference_contexts:
            matched = oracle_chunks(q, self.retriever, s.candidates, s.min_context_match)
            if not matched:
                return None, set(), (f"gold context not in index '{self.index}' (no chunk shares {s.min_context_match:.0%} "
                                     "of its passages)")
            return best(matched), {c.chunk_id for c in matched}, ""
        supporting = [h.chunk for h in retrieved if coverage(answer_terms, set(content_terms(h.chunk.text))) >= s.min_support]
        if not supporting:
            return None, set(), f"no retrieved chunk holds {s.min_support:.0%} of the reference answer's words"
        return supporting[0], {supporting[0].chunk_id}, ""


RAFT_DIR = ".raft"


class RaftTuner(BaseTuner):
    """Builds the RAFT rows (or reuses them on ``resume``), then LoRA-tunes on them and publishes ``NAME@vN``.

    The rows live in ``<home>/models/<name>/.raft/`` until the version is published; the version keeps them
    (``raft_train.jsonl``) with the summary (``raft.json``), and its card's ``data.source`` records the index,
    its generation and the settings.
    """

    kind = "lora"
    work_dirs = (RUN_DIR, RAFT_DIR)

    def __init__(self, builder: RaftBuilder, questions: Sequence[Question], lora: "LoraConfig", registry: ModelRegistry,
                 current_generation: Callable[[], int]) -> None:
        if not questions:
            raise InputError("the question set is empty")
        super().__init__(lora, registry)
        self.builder, self.questions, self.lora = builder, list(questions), lora
        self.current_generation = current_generation

    def _fit(self, staging: Staging, notify: Progress) -> ModelCard:
        """Build (or reuse) the rows, then fit a LoRA adapter on them into ``staging``."""
        from ragtune.tuning import lora

        folder = self.registry.model_dir(self.lora.name) / RAFT_DIR
        rows = folder / "train.jsonl"
        raft_rows = folder / "raft_train.jsonl"
        started = time.monotonic()
        with ranks.leader_first():  # under a launcher rank 0 builds the rows; the other ranks read them
            if ranks.is_leader():
                summary = self._rows(folder, notify)
                raft_rows.write_bytes(rows.read_bytes())
            else:
                summary = read_raft_summary(folder) or {}
        config = self.lora.model_copy(update={"data": rows, "time_budget_s": remaining_budget(
            self.lora.time_budget_s, time.monotonic() - started)})
        tuner = lora.LoraTuner(config, self.registry, data_source={k: v for k, v in summary.items() if k != "skipped_all"},
                               attachments={"raft_data": raft_rows, "raft": folder / "raft.json"})
        return tuner._fit(staging, notify)  # under this tuner's lock; it publishes and clears .run and .raft

    def _rows(self, folder: Path, notify: Progress) -> dict[str, Any]:
        """The summary of the rows in ``folder``: those an interrupted run left (on ``resume``), else new ones."""
        summary = read_raft_summary(folder) if self.lora.resume else None
        if summary is not None:
            now = self.current_generation()
            if summary["index_generation"] != now:
                notify(TrainingEvent("info", message=f"warning: index '{summary['index']}' changed since the RAFT data was built "
                                                     f"(generation {summary['index_generation']}, now {now}); the resumed run "
                                                     "keeps the rows built then"))
            return summary
        notify(TrainingEvent("info", message=f"building RAFT rows for {len(self.questions)} question(s) from index "
                                             f"'{self.builder.index}'"))
        data = self.builder.build(self.questions)
        data.write(folder)
        summary = data.written()
        for skipped in data.skipped[:5]:
            notify(TrainingEvent("info", message=f"skipped question '{skipped['id']}': {skipped['reason']}"))
        if len(data.skipped) > 5:
            notify(TrainingEvent("info", message=f"... {len(data.skipped) - 5} more skipped (listed in raft.json)"))
        notify(TrainingEvent("info", message=f"{len(data.rows)} RAFT rows ({summary['oracle_kept']} with the oracle, "
                                             f"{summary['oracle_dropped']} without), {len(data.skipped)} question(s) skipped"))
        return summary
