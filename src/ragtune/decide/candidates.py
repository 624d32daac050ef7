"""Which candidates can be measured here, and how each one answers.

A candidate that cannot apply gets a reason (no index, a model that cannot be tuned, no training data, a corpus
too large for the window, a budget too small) and is listed with it, never recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragtune.decide.config import DecideConfig
from ragtune.decide.data import FORMAT, KNOWLEDGE, DecideData, few_shot, few_shot_system
from ragtune.evaluation.base import SchemaMode, Candidate
from ragtune.generation.prompts import ALONE_SYSTEM

if TYPE_CHECKING:
    from ragtune.tuning.lora import LoraConfig

PROMPT_INSTRUCTIONS = {
    KNOWLEDGE: "You answer questions about the team's own documents, briefly and accurately.",
    FORMAT: "You reply with JSON only, with exactly the fields and values the task calls for.",
}
TRAIN_SYSTEM = ALONE_SYSTEM
"""The system prompt the ft candidate is trained with and asked under (the model-alone prompt)."""



def lora_base(spec: str) -> str:
    """The ``LoraConfig.base`` of a trainable model spec."""
    return spec.removeprefix("local:") if spec.startswith("local:") else spec


def lora_config(config: DecideConfig, spec: str, name: str, data: Path, share: float, raft: bool) -> "LoraConfig":
    """How a decide run LoRA-tunes ``spec`` on ``data`` (RAFT rows when ``raft``) in ``share`` seconds."""
    from ragtune.tuning.lora import LoraConfig

    return LoraConfig(data=data, base=lora_base(spec), name=name, time_budget_s=share, max_steps=config.max_steps, epochs=3,
                      batch_size=1 if raft else config.batch_size,
                      max_length=max(1024, config.max_length * 2) if raft else config.max_length, truncate=True,
                      learning_rate=config.learning_rate, eval_fraction=0, seed=config.seed, device=config.device,
                      save_steps=10_000, system=None if raft else TRAIN_SYSTEM, mixed_outputs=not raft)


def raft_settings(chunks: int, seed: int):
    """The RAFT rows of ``rag+ft`` over an index of ``chunks`` chunks: up to two distractors beside the oracle."""
    from ragtune.tuning.raft import RaftSettings

    return RaftSettings(distractors=min(2, max(0, chunks - 1)), seed=seed)


@dataclass
class AnswerPlan:
    """How one candidate answers the questions of one task kind: the eval settings besides the question set."""

    variant: Candidate
    schema_mode: SchemaMode
    system: str | None = None
    prompt_system: str | None = None
    prompt_corpus: bool = False

    def eval_fields(self) -> dict[str, Any]:
        return {"variants": [self.variant], "schema_mode": self.schema_mode, "system": self.system,
                "prompt_system": self.prompt_system, "prompt_corpus": self.prompt_corpus}


def answer_plan(candidate: Candidate, kind: str, data: DecideData, shots: int, seed: int, index: str | None,
                tuned_on_format: bool) -> AnswerPlan:
    """The eval settings of ``candidate`` on the ``kind`` questions.

    base and rag are told the schema (no repair); prompt gets instructions, few-shot examples, the whole corpus
    for knowledge questions, and a validated, repaired JSON reply for format questions; a model tuned on the
    format is asked as it was trained, without the schema.
    """
    if candidate is Candidate.prompt:
        if kind == KNOWLEDGE:
            pool = [(q.question, q.reference_answers[0]) for q in data.train_questions if q.reference_answers]
        else:
            pool = [(e.prompt[-1]["content"] if e.prompt else "", e.completion) for e in data.train_examples]
        system = few_shot_system(PROMPT_INSTRUCTIONS[kind], few_shot(pool, shots, seed))
        return AnswerPlan(Candidate.prompt, SchemaMode.structured, prompt_system=system,
                          prompt_corpus=kind == KNOWLEDGE and index is not None)
    if candidate.tuned and kind == FORMAT and tuned_on_format:
        return AnswerPlan(candidate, SchemaMode.score, system=TRAIN_SYSTEM if candidate is Candidate.ft else None)
    if candidate is Candidate.ft:
        return AnswerPlan(Candidate.ft, SchemaMode.prompt, system=TRAIN_SYSTEM)
    return AnswerPlan(candidate, SchemaMode.prompt)
