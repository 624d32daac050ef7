"""Settings of one ``decide`` run, validated once at the edge and passed down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragtune.decide.verdict import MARGIN, MIN_QUESTIONS
from ragtune.errors import InputError
from ragtune.evaluation.base import Candidate
from ragtune.costs.prices import PriceTable

ALL_CANDIDATES = list(Candidate)
"""The candidates in the order they are measured: the eval's variants."""


def parse_candidates(value: str | list[str] | list[Candidate]) -> list[Candidate]:
    """``"base,prompt,rag"`` (or a list) as candidates in the canonical order; ``InputError`` names an unknown one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen: set[Candidate] = set()
    for item in items:
        text = item.value if isinstance(item, Candidate) else str(item).strip().lower()
        if not text:
            continue
        try:
            chosen.add(Candidate(text))
        except ValueError:
            raise InputError(f"unknown candidate '{text}' (choose from base, prompt, rag, ft, rag+ft)") from None
    if not chosen:
        raise InputError("give at least one candidate (base, prompt, rag, ft, rag+ft)")
    return [c for c in ALL_CANDIDATES if c in chosen]


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)


def parse_duration(text: str | float | int) -> float:
    """Seconds of ``"20m"``, ``"90s"``, ``"1.5h"`` or a bare number of seconds; ``InputError`` otherwise."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise InputError(f"--budget '{text}': expected a duration like 90s, 20m or 1.5h")
        unit = (match.group(2) or "s").lower()[0]
        seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[unit]
    if seconds < 0:
        raise InputError(f"--budget '{text}': a duration is 0 or more")
    return seconds


def parse_weights(text: str) -> dict[str, float]:
    """``"knowledge=0.7,format=0.3"`` as ``{task: weight}``; ``InputError`` on anything else."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        task, sep, value = part.partition("=")
        try:
            out[task.strip().lower()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--weights '{text}': expected task=weight pairs like knowledge=0.7,format=0.3")
    return out


class DecideConfig(BaseModel):
    """One decision: which data, which model, which candidates, what is stated, and how much training time."""

    model_config = ConfigDict(extra="forbid")

    questions: Path | None = Field(None, description="Held-out question set (JSONL): knowledge rows and/or format rows.")
    examples: Path | None = Field(None, description="Labelled examples (JSONL) for ft, few-shot prompts and format questions.")
    index: str | None = Field(None, description="Index the retrieval candidates search and the prompt candidate carries.")
    model: str | None = Field(None, description="Model spec every candidate uses (default: the configured generation model).")
    candidates: list[Candidate] = Field(default_factory=lambda: list(ALL_CANDIDATES), description="Candidates to measure.")
    json_schema: dict[str, Any] | None = Field(None,
                                               description="JSON Schema of format answers (default: inferred from the examples).")
    metric: str | None = Field(None, description="Primary metric overriding the rule (a metric name of the eval rows).")
    judge: str | None = Field(None, description="Judge model spec: knowledge questions are scored by judged correctness.")
    teacher: str | None = Field(None, description="Teacher model spec: adds the candidates 'distilled' (the model LoRA-trained "
                                "on the teacher's checked answers to the training questions) and 'teacher'.")
    budget_s: float = Field(1200.0, ge=0, description="Training time shared by the tuned candidates, in seconds.")
    min_training_s: float = Field(60.0, ge=0,
                                  description="Least training time a tuned candidate needs; below it the candidate is skipped.")
    max_steps: int | None = Field(None, ge=1, description="Cap on optimiser steps of each training (besides the time budget).")
    batch_size: int = Field(4, ge=1, description="Training batch size.")
    max_length: int = Field(512, ge=32,
                            description="Longest training row in tokens (RAFT rows, which carry context, get at least 1024).")
    learning_rate: float = Field(2e-4, gt=0, description="LoRA learning rate.")
    device: str = Field("cpu", description="Where training runs: cpu, cuda or auto.")
    poll_interval_s: float = Field(10.0, ge=0, description="Seconds between polls of a provider's fine-tuning job (a model "
                                   "whose provider fine-tunes, e.g. openai:, trains ft and rag+ft there).")
    holdout: float = Field(0.5, gt=0, le=1, description="Share of knowledge questions with references held out when some train.")
    examples_holdout: float = Field(0.2, gt=0, lt=1, description="Share of examples held out as format questions.")
    max_format_questions: int = Field(50, ge=1, description="At most this many held-out examples become format questions.")
    shots: int = Field(3, ge=0, le=20, description="Few-shot examples in the prompt candidate's system prompt.")
    seed: int = Field(0, description="Seed of the splits, the few-shot draw and the training.")
    queries_per_month: float = Field(10_000, ge=0, description="Queries answered per month (stated).")
    months: int = Field(12, ge=1, le=600, description="Horizon over which one-off costs are spread, in months.")
    latency_budget_ms: float | None = Field(None, gt=0,
                                            description="p50 latency a candidate may take; candidates over it are excluded.")
    attribution: bool | None = Field(None, description="Answers must cite their sources (stated).")
    content_may_leave: bool | None = Field(None, description="Content may go to a training pipeline (stated).")
    changes_per_month: float | None = Field(None, ge=0,
                                            description="Content change cycles per month (default: measured from the index).")
    tuned_hosting_usd_per_month: float | None = Field(None, ge=0,
                                                      description="Fixed monthly hosting of a tuned model (stated; default 0).")
    prices: PriceTable = Field(default_factory=PriceTable.default, description="The dated price table.")
    margin: float = Field(MARGIN, gt=0, lt=1, description="Margin of 'as good': a candidate within this of the best on the "
                          "primary metric (absolute) is as good as it.")
    weights: dict[str, float] | None = Field(None, description="Task weights (knowledge, format) of the primary metric; "
                                             "default: each task's share of the questions.")
    min_questions: int = Field(MIN_QUESTIONS, ge=1, description="Below this many questions in common every verdict is "
                               "'not yet known'.")
    repeats: int = Field(1, ge=1, le=20, description="Runs with seeds seed, seed+1, ...: each its own split and training; "
                         "per-question scores are averaged over the runs and the seed spread is reported.")
    resume: bool = Field(False, description="Continue the interrupted run of these settings: finished phases are not redone.")

    @field_validator("candidates", mode="before")
    @classmethod
    def _candidates(cls, value: Any) -> Any:
        return parse_candidates(value) if isinstance(value, (str, list)) else value

    @field_validator("weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        return parse_weights(value) if isinstance(value, str) else value

    @field_validator("weights")
    @classmethod
    def _weights_known(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        for task, w in value.items():
            if task not in ("knowledge", "format"):
                raise ValueError(f"unknown task '{task}' (knowledge or format)")
            if not (w >= 0) or w == float("inf"):
                raise ValueError(f"weight of {task} must be a number of 0 or more")
        if sum(value.values()) <= 0:
            raise ValueError("at least one task weight must be above 0")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("cpu", "cuda", "auto"):
            raise ValueError("device is cpu, cuda or auto")
        return value
