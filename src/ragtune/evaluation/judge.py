"""Correctness judged by a language model: is the answer what the reference says?

Any model spec can judge; ``auto`` is Claude when its API key is set. The judge answers in JSON
(``{"correct": bool, "reason": str}``) through the structured-output path (instructed, validated, repaired
once); a reply that still does not fit gives no verdict (``correct: None``) rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ragtune.config import GenerationConfig, read_secret
from ragtune.errors import MissingKeyError
from ragtune.generation.base import GenerateOptions, Generator, Prompt, Usage
from ragtune.generation.structured import generate_structured

DEFAULT_JUDGE = "anthropic:claude-sonnet-4-5"
JUDGE_SYSTEM = ("You grade answers to questions against a reference answer. The candidate is correct when it states "
                "what the reference states (other wording, extra detail or a shorter form are fine) and says nothing "
                "that contradicts it. It is not correct when it misses the point of the reference, contradicts it, "
                "or says it cannot answer.")
JUDGE_SCHEMA: dict[str, Any] = {"type": "object", "required": ["correct"],
                                "properties": {"correct": {"type": "boolean"}, "reason": {"type": "string"}}}


def resolve_judge_spec(spec: str, config: GenerationConfig) -> str:
    """The judge's model spec: ``auto`` is Claude (``DEFAULT_JUDGE``) when its key is set; any other spec as given."""
    if spec.strip().lower() != "auto":
        return spec.strip()
    if read_secret(config.anthropic_key_env) is None:
        raise MissingKeyError(f"--judge auto uses Claude and needs {config.anthropic_key_env}: set it, "
                              "or name a judge with --judge SPEC")
    return DEFAULT_JUDGE


@dataclass
class Verdict:
    """A judge's verdict on one answer (``correct`` None: the judge gave no usable verdict)."""

    correct: bool | None
    reason: str
    usage: Usage

    def to_json(self) -> dict[str, Any]:
        return {"correct": self.correct, "reason": self.reason, "usage": self.usage.to_json()}


def row_verdict(verdict: dict[str, Any], spec: str | None) -> dict[str, Any]:
    """A verdict as a result row holds it: correct and reason, and, when the judge ``spec`` was asked (the verdict has
    usage), its model and tokens (what ``ragtune.costs.measurement`` prices)."""
    row = {"correct": verdict.get("correct"), "reason": verdict.get("reason", "")}
    if spec and isinstance(verdict.get("usage"), dict):
        row.update(model=spec, **{k: int(verdict["usage"].get(k, 0)) for k in ("input_tokens", "output_tokens")})
    return row


def judge_messages(question: str, references: Sequence[str], answer: str) -> list[dict[str, str]]:
    """The judge's conversation for one answer."""
    refs = "\n".join(f"- {r}" for r in references)
    return [{"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": f"Question: {question.strip()}\n\nReference answer(s):\n{refs}\n\n"
                                        f"Candidate answer: {answer.strip()}\n\nIs the candidate correct?"}]


class LLMJudge:
    """Judges answers with ``generator`` (greedy, short replies)."""

    def __init__(self, generator: Generator, max_new_tokens: int = 128) -> None:
        self.generator = generator
        self.spec = generator.spec
        self.options = GenerateOptions(max_new_tokens=max_new_tokens, temperature=0.0, stop=[])

    def judge(self, question: str, references: Sequence[str], answer: str) -> Verdict:
        """Whether ``answer`` says what ``references`` say, with the judge's reason."""
        usage = Usage()

        def generate(messages: list[dict[str, str]]) -> str:
            nonlocal usage
            generation = self.generator.generate(Prompt(messages=messages, question=question), self.options)
            usage = usage + generation.usage
            return generation.text

        result = generate_structured(judge_messages(question, references, answer), generate, JUDGE_SCHEMA)
        if not result.valid:
            return Verdict(None, "the judge's reply did not fit its schema: " + "; ".join(result.errors[:2]), usage)
        return Verdict(bool(result.value["correct"]), str(result.value.get("reason", "")), usage)
