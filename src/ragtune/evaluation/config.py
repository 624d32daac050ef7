"""Settings of an eval run: which variants, which model and tuned model, which index, how schemas are used."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ragtune.config import SearchMode
from ragtune.common import validation_message
from ragtune.errors import InputError
from ragtune.evaluation.base import SchemaMode, Candidate, parse_variants
from ragtune.costs.prices import PriceTable

Model = TypeVar("Model", bound=BaseModel)

REMOTE_PREFIXES = ("anthropic", "openai")
"""Model-spec prefixes served over the network: their questions run concurrently by default."""


class EvalConfig(BaseModel):
    """One eval run: every variant answers the same questions with the same generation settings."""

    model_config = ConfigDict(extra="forbid")

    variants: list[Candidate] = Field(default_factory=lambda: [Candidate.base, Candidate.rag],
                                    description="Variants to run: base, prompt, rag, ft, rag+ft.")
    model: str | None = Field(None, description="Model spec of base and rag (default: the configured generation model).")
    tuned: str | None = Field(None, description="Tuned model NAME[@vN] of ft and rag+ft (latest version without @vN).")
    index: str | None = Field(None, description="Index that rag and rag+ft retrieve from.")
    k: int | None = Field(None, ge=1, le=100, description="Context blocks per answer (default: answer.k).")
    mode: SearchMode | None = Field(None, description="Retrieval mode (default: the configured one).")
    rerank: str | None = Field(None, description="Reranker spec for retrieval variants.")
    system: str | None = Field(None, description="System prompt for every variant (e.g. the one a tuned model was trained with).")
    prompt_system: str | None = Field(None, description="System prompt of the prompt variant (instructions and few-shot "
                                                        "examples).")
    prompt_corpus: bool = Field(False, description="The prompt variant carries the index's whole corpus in its context.")
    schema_mode: SchemaMode = Field(SchemaMode.structured, description="How a question's JSON Schema reaches the model.")
    repairs: int = Field(1, ge=0, le=5, description="Repair turns for a reply that does not fit the schema (structured mode).")
    judge: str | None = Field(None, description="Model spec that judges correctness against the reference ('auto': Claude).")
    retrieval_depth: int = Field(10, ge=1, le=1000, description="Ranks searched for recall, MRR and nDCG.")
    concurrency: int | None = Field(None, ge=1, le=64, description="Questions in flight at once (default: 4 for remote models, "
                                                                   "a batch for local models, else 1).")
    answer_cap: bool = Field(True, description="Cap each answer from the reference answers' lengths (1.5x the longest + 16 "
                                               "tokens, never above generation.max_new_tokens); off: max_new_tokens for all.")
    cache: bool = Field(True, description="Reuse cached generations (a rerun or a resumed run costs nothing).")
    prices: PriceTable = Field(default_factory=PriceTable.default, description="Prices that turn tokens into money.")

    @field_validator("variants", mode="before")
    @classmethod
    def _variants(cls, value: Any) -> Any:
        return parse_variants(value) if isinstance(value, (str, list)) else value

    @model_validator(mode="after")
    def _needs(self) -> "EvalConfig":
        for variant in self.variants:
            if variant.tuned and not self.tuned:
                raise ValueError(f"variant '{variant.value}' needs a tuned model: give --tuned NAME[@vN]")
            if variant.retrieves and not self.index:
                raise ValueError(f"variant '{variant.value}' needs an index: give --index NAME")
        if self.prompt_corpus and not self.index:
            raise ValueError("prompt_corpus needs an index whose corpus goes into the prompt: give --index NAME")
        return self

    @classmethod
    def create(cls, **fields: Any) -> "EvalConfig":
        """Build from keyword fields (None means the default); ``InputError`` with a readable message otherwise."""
        return validated(cls, fields)

    def workers(self, spec: str) -> int:
        """How many questions to keep in flight for ``spec``."""
        if self.concurrency:
            return self.concurrency
        return 4 if spec.split(":", 1)[0].lower() in REMOTE_PREFIXES else 1


def validated(cls: type[Model], fields: dict[str, Any]) -> Model:
    """``cls`` built from ``fields`` (None values mean the default); ``InputError`` naming each bad field otherwise."""
    try:
        return cls.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise InputError(validation_message(exc)) from None
