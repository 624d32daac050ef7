"""What the evaluation runners need from a workspace, and no more: the configuration sections they read, and
callables to answer, search, build a generator, read an index, look up a tuned model and score citation support.
``ragtune.api`` builds them from a ``Workspace``; tests can build them from anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from ragtune.config import AnswerConfig, GenerationConfig, RagtuneConfig, RerankConfig, RetrievalConfig
from ragtune.generation.answer import Answer
from ragtune.generation.base import Generator
from ragtune.generation.citations import SupportScorer
from ragtune.index.base import DocRecord, IndexManifest

if TYPE_CHECKING:
    from ragtune.evaluation.executor import AnswerExecutor


@dataclass(frozen=True)
class EvalSettings:
    """The workspace configuration sections an evaluation reads (``home`` holds its cache)."""

    home: Path
    generation: GenerationConfig
    answer: AnswerConfig
    retrieval: RetrievalConfig
    rerank: RerankConfig

    @classmethod
    def of(cls, config: RagtuneConfig) -> "EvalSettings":
        return cls(config.home, config.generation, config.answer, config.retrieval, config.rerank)


@dataclass(frozen=True)
class TunedModel:
    """A tuned model version as an evaluation sees it: its ``NAME@vN``, its data source and its training questions."""

    ref: str
    source: dict[str, Any] = field(default_factory=dict)
    training_questions: list[dict[str, Any]] = field(default_factory=list)


class IndexView(Protocol):
    """What an evaluation reads of an index."""

    name: str

    @property
    def manifest(self) -> IndexManifest: ...

    def documents(self) -> list[DocRecord]: ...


class AnswerFn(Protocol):
    def __call__(self, question: str, index: str | None, *, model: str | None = None, k: int | None = None,
                 rerank: str | None = None, mode: Any = None, schema: dict[str, Any] | None = None, repairs: int = 1,
                 system: str | None = None, whole_corpus: bool = False, max_new_tokens: int | None = None) -> Answer: ...


class SearchFn(Protocol):
    def __call__(self, index: str, queries: Sequence[tuple[str, str]], *, k: int | None = None, mode: Any = None,
                 rerank: str | None = None) -> list[tuple[str, list[Any]]]: ...


@dataclass(frozen=True)
class EvalPorts:
    """Everything ``EvalRunner`` uses of a workspace."""

    settings: EvalSettings
    answer: AnswerFn
    search: SearchFn
    generator: Callable[[str], Generator]
    index: Callable[[str], IndexView]
    tuned: Callable[[str], TunedModel]
    support: Callable[[str], SupportScorer]
    """The citation-support scorer for an index built with the embedder spec given."""
    executor: "AnswerExecutor | None" = None
    """Where answers are generated when not in this process (``ragtune.evaluation.executor``); None: here."""


@dataclass(frozen=True)
class UpdatesPorts:
    """Everything ``UpdatesRunner`` uses of a workspace: the eval ports, an index's documents (None when it does not
    exist) and an ingest of JSONL files."""

    eval: EvalPorts
    documents: Callable[[str], list[DocRecord] | None]
    ingest: Callable[..., Any]
