"""The shapes of training pairs: where they come from (``PairsConfig``), one pair, and the prepared set."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, model_validator

Notify = Callable[[str], None]

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """The lowercased words of ``text``."""
    return [w.lower() for w in _WORD.findall(text)]


class PairsConfig(BaseModel):
    """Where training pairs come from, how negatives are mined, and what is held out."""

    model_config = ConfigDict(extra="forbid")

    pairs: Path | None = Field(None, description="JSONL of query/positive(/negative) rows.")
    beir: Path | None = Field(None, description="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")
    split: str = Field("train", description="Qrels split of a BEIR folder.")
    from_index: str | None = Field(None, description="Index whose chunks become synthetic pairs (no labels needed).")
    generator: str | None = Field(None, description="Model spec that writes synthetic questions; offline titles, headings and "
                                                    "key sentences without one.")
    samples: int = Field(1000, ge=1, description="Chunks sampled for synthetic pairs.")
    negatives: int = Field(1, ge=0, le=32, description="Hard negatives per pair (0: in-batch negatives only).")
    negatives_from: str | None = Field(None, description="Index to mine negatives from (default: from_index; a BEIR folder alone "
                                                         "mines its corpus with BM25).")
    mine_depth: int = Field(30, ge=2, le=1000, description="Candidates each search method returns per query when mining.")
    margin: float = Field(0.95, gt=0, le=1.0, description="False-negative guard: drop candidates whose dense score reaches "
                                                          "margin x the positive's.")
    eval_fraction: float = Field(0.1, ge=0, lt=0.5, description="Share of queries held out for evaluation (0: none).")
    max_eval_queries: int = Field(200, ge=1, description="At most this many held-out queries.")
    eval_corpus_size: int = Field(1000, ge=10, description="Size of the held-out evaluation corpus: the held-out positives, an "
                                                           "equal share of hard candidates per query, then random distractors.")
    seed: int = Field(0, description="Seed for sampling, the split and filling negatives.")

    @model_validator(mode="after")
    def _one_source(self) -> "PairsConfig":
        given = [n for n, v in (("pairs", self.pairs), ("beir", self.beir), ("from_index", self.from_index)) if v]
        if len(given) != 1:
            raise ValueError("give exactly one source of pairs: a pairs file, a BEIR folder or an index"
                             + (f" (got {', '.join(given)})" if given else ""))
        if self.generator and not self.from_index:
            raise ValueError("a generator writes questions for the chunks of an index: it needs from_index")
        return self

    @property
    def mining_index(self) -> str | None:
        return self.negatives_from or self.from_index

    def describe(self) -> tuple[str, str]:
        """``(format, where)`` of the source, for the card."""
        if self.pairs:
            return "pairs", str(self.pairs)
        if self.beir:
            return "beir", f"{self.beir}#{self.split}"
        return "index", f"index:{self.from_index}"


@dataclass
class Pair:
    """A query with one relevant text, and negatives for it. ``positive_doc`` groups positives of one document."""

    query_id: str
    query: str
    positive_id: str
    positive: str
    negatives: list[str] = field(default_factory=list)
    positive_doc: str | None = None
    where: str = ""


@dataclass
class PairData:
    """Prepared pairs: the training ones, the held-out ones with their evaluation corpus, and what happened."""

    format: str
    where: str
    train: list[Pair]
    held_out: list[Pair] = field(default_factory=list)
    corpus: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Held-out query id -> its first-stage candidates in retrieval order, positives included: [id, text, relevant].
    first_stage: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)

    @property
    def relevant(self) -> dict[str, set[str]]:
        """Held-out query id -> ids of its positives in ``corpus``."""
        out: dict[str, set[str]] = {}
        for p in self.held_out:
            out.setdefault(p.query_id, set()).add(p.positive_id)
        return out

    @property
    def held_out_queries(self) -> dict[str, str]:
        return {p.query_id: p.query for p in self.held_out}

    @property
    def sha256(self) -> str:
        """Hash of the prepared pairs (train and held out, negatives included): the card's data hash."""
        body = json.dumps([[asdict(p) for p in self.train], [asdict(p) for p in self.held_out]], sort_keys=True,
                          ensure_ascii=False)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "where": self.where, "train": [asdict(p) for p in self.train],
                "held_out": [asdict(p) for p in self.held_out], "corpus": self.corpus, "candidates": self.candidates,
                "counts": self.counts, "notes": self.notes, "first_stage": self.first_stage}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PairData":
        return cls(format=data["format"], where=data["where"], train=[Pair(**p) for p in data["train"]],
                   held_out=[Pair(**p) for p in data["held_out"]], corpus=data["corpus"], candidates=data["candidates"],
                   counts=data["counts"], notes=data["notes"],
                   first_stage={q: [(c[0], c[1], bool(c[2])) for c in ranked] for q, ranked in data.get("first_stage",
                                                                                                        {}).items()})
