"""Request and response models of the HTTP API (they are the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragtune.api import SearchMode
from ragtune.api import Citation
from ragtune.api import Filters
from ragtune.api import Role


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterSpec(_Request):
    """Restricts search to some chunks."""

    source: str | None = Field(None, max_length=500, description="Glob on the source path or file name, e.g. '*.md'.")
    types: list[str] = Field(default_factory=list, max_length=20, description="Document types: txt, md, html, pdf, docx, jsonl.")
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Metadata fields equal to these "
                                                                                            "values.")

    def to_filters(self) -> Filters | None:
        filters = Filters(source=self.source, types=tuple(t.lower().lstrip(".") for t in self.types),
                          metadata=dict(self.metadata))
        return filters or None


class CreateIndexRequest(_Request):
    name: str = Field(..., min_length=1, max_length=64, description="1-64 letters, digits, '-', '_' or '.'.")


class IndexInfo(BaseModel):
    name: str
    documents: int
    chunks: int
    embedder: dict[str, Any]
    generation: int
    updated_at: str


class DamagedIndexInfo(BaseModel):
    name: str
    damaged: str = Field(description="What is wrong with the index and the command that checks and repairs it.")


class DocumentInfo(BaseModel):
    doc_id: str
    source: str
    version: int
    hash: str
    chunks: int
    metadata: dict[str, Any]
    type: str
    updated_at: str


class SkippedSource(BaseModel):
    source: str
    error: str


class IngestResult(BaseModel):
    """What an ingest did (the ``ingest --json`` document)."""

    index: str
    added: int
    updated: int
    removed: int
    unchanged: int
    skipped: list[SkippedSource]
    chunks: int


class IngestPathsRequest(_Request):
    paths: list[str] = Field(..., min_length=1, max_length=100, description="Files or folders inside the server's allowed roots.")
    include: list[str] = Field(default_factory=list, max_length=50, description="Globs of files to take inside folders.")
    exclude: list[str] = Field(default_factory=list, max_length=50, description="Globs of files to leave out.")


class RemoveResult(BaseModel):
    index: str
    removed: int


class SearchRequest(_Request):
    query: str = Field(..., min_length=1, max_length=4000)
    k: int = Field(10, ge=1, le=100, description="Results to return.")
    mode: SearchMode = Field(SearchMode.hybrid, description="lexical, dense or hybrid.")
    filters: FilterSpec | None = None


class SearchHit(BaseModel):
    rank: int
    score: float
    doc_id: str
    chunk_id: str
    source: str
    page: int | None
    start: int
    end: int
    headings: list[str]
    text: str
    scores: dict[str, float]


class SearchResponse(BaseModel):
    """The ``search --json`` document."""

    query: str
    index: str
    mode: SearchMode
    hits: list[SearchHit]


class AskRequest(_Request):
    question: str = Field(..., min_length=1, max_length=4000)
    model: str | None = Field(None, max_length=200, description="A model spec this server serves (GET /v1/models); default: its "
                                                                "default.")
    k: int | None = Field(None, ge=1, le=20, description="Context blocks given to the model.")
    mode: SearchMode | None = Field(None, description="Retrieval mode (default: the server's).")
    filters: FilterSpec | None = None


class ContextBlockOut(BaseModel):
    marker: int
    doc_id: str
    chunk_id: str
    source: str
    page: int | None
    score: float


class AskResponse(BaseModel):
    """The ``ask --json`` document."""

    question: str
    answer: str
    citations: list[Citation]
    abstained: bool
    abstain_reason: str | None
    usage: dict[str, int]
    latency_ms: dict[str, float]
    model: str
    index: str | None
    dropped_citations: list[dict[str, Any]]
    fallback: str | None
    context: list[ContextBlockOut]
    trimmed_blocks: int
    raw_answer: str


class ModelsResponse(BaseModel):
    default: str
    models: list[str] = Field(description="Model specs that ask accepts on this server.")


class CreateKeyRequest(_Request):
    index: str = Field(..., min_length=1, max_length=64, description="The index the key may use, or '*' for every index.")
    role: Role = Role.reader
    name: str = Field("", max_length=100)


class CreatedKey(BaseModel):
    """The ``keys create --json`` document: the key is shown this once."""

    key: str
    index: str
    role: Role


class KeyInfo(BaseModel):
    id: str
    index: str
    role: Role
    name: str
    created_at: str
    revoked: bool
    revoked_at: str | None


class Health(BaseModel):
    status: str
    version: str


class EvalJobRequest(_Request):
    """An eval run over this index, as a background job."""

    questions: list[dict[str, Any]] = Field(..., min_length=1, max_length=2000,
                                            description="Question rows as in a questions JSONL file: id, question, "
                                                        "reference_answer, reference_contexts, gold_doc_ids, answerable.")
    variants: str = Field("base,rag", max_length=40, description="Comma-separated: base, rag, ft, rag+ft.")
    model: str | None = Field(None, max_length=200, description="Model spec of base and rag (one GET /v1/models lists).")
    tuned: str | None = Field(None, max_length=100, description="Tuned model NAME[@vN] of ft and rag+ft (it must be served).")
    k: int | None = Field(None, ge=1, le=50, description="Context blocks per answer.")
    mode: SearchMode | None = None


class AdviseJobRequest(_Request):
    """Advice for this index (rag, ft, rag+ft or prompt), as a background job."""

    queries_per_month: float = Field(..., ge=0, description="Queries answered per month.")
    months: int = Field(12, ge=1, le=600, description="Horizon of the cost comparison.")
    latency_budget_ms: float | None = Field(None, gt=0)
    attribution_required: bool | None = None
    content_may_leave: bool | None = None
    changes_per_month: float | None = Field(None, ge=0)
    eval_job: str | None = Field(None, max_length=32, description="A finished eval job of this index whose results count as "
                                                                  "evidence.")
    model: str | None = Field(None, max_length=200, description="Model whose tokenizer counts tokens (default: the served "
                                                                "default).")


class DecideJobRequest(_Request):
    """The measured decision over this index, as a background job: every candidate answers the same held-out questions."""

    questions: list[dict[str, Any]] = Field(..., min_length=1, max_length=2000,
                                            description="Question rows as in a questions JSONL file (id, question, references).")
    examples: list[dict[str, Any]] | None = Field(None, max_length=20000, description="Labelled example rows (input/output, "
                                                  "chat ...): ft trains on them; a held-out share become format questions.")
    model: str | None = Field(None, max_length=200, description="Model spec of every candidate (one GET /v1/models lists).")
    candidates: str = Field("base,prompt,rag,ft,rag+ft", max_length=60, description="Comma-separated candidates.")
    budget_s: float = Field(0, ge=0, le=86400, description="Training time for ft and rag+ft in seconds (0: they are "
                                                           "skipped with that reason; training needs a writer key).")
    max_steps: int | None = Field(None, ge=1, le=100000, description="Cap on optimiser steps per training.")
    queries_per_month: float = Field(10_000, ge=0, description="Queries answered per month.")
    months: int = Field(12, ge=1, le=600)
    latency_budget_ms: float | None = Field(None, gt=0)
    attribution_required: bool | None = None
    content_may_leave: bool | None = None
    changes_per_month: float | None = Field(None, ge=0)
    holdout: float = Field(0.5, gt=0, le=1, description="Share of questions with references held out when some train.")
    seed: int = 0


class JobStatus(BaseModel):
    """A background job: where it stands, and links to its report once it has succeeded."""

    id: str
    kind: str
    index: str
    status: str = Field(..., description="queued, running, succeeded or failed.")
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    progress: dict[str, Any] = Field(default_factory=dict, description="stage, done, total.")
    error: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict, description="status, and html / markdown / json reports "
                                                                     "(with a token that opens them without a key).")
