"""``Components``: the parts a process builds once and every runner shares (store, embedders, generators,
rerankers, the citation-support scorer and the model registry), from one ``RagtuneConfig``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragtune.components.registry import ModelRegistry
from ragtune.config import EmbedderConfig, EmbedderPrecision, RagtuneConfig
from ragtune.embeddings import Embedder, load_embedder
from ragtune.generation import Generator, load_generator
from ragtune.generation.citations import NLISupportScorer, OverlapSupportScorer, SupportScorer
from ragtune.index import Store, open_store
from ragtune.retrieval import Reranker, load_reranker

if TYPE_CHECKING:
    from ragtune.components.answerer import Answerer
    from ragtune.components.reader import IndexReader


class Components:
    """The configuration and what is built from it, each part once (on first use)."""

    def __init__(self, config: RagtuneConfig) -> None:
        self.config = config
        self._store: Store | None = None
        self._embedders: dict[tuple[str, str], Embedder] = {}
        self._generators: dict[str, Generator] = {}
        self._rerankers: dict[str, Reranker] = {}
        self._nli: SupportScorer | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config)
        return self._store

    @property
    def models(self) -> ModelRegistry:
        """The versioned model registry under ``<home>/models``."""
        return ModelRegistry(self.config.home)

    def embedder(self, spec: str | None = None, precision: str | None = None) -> Embedder:
        """The embedder for ``spec`` at ``precision`` (defaults: the configured ones), built once."""
        spec = self.pinned(spec or self.config.embedder.model)
        config = self.embedder_config(precision)
        key = (spec, config.precision.value)
        if key not in self._embedders:
            self._embedders[key] = load_embedder(spec, config, self.config.home)
        return self._embedders[key]

    def embedder_config(self, precision: str | None = None) -> EmbedderConfig:
        """The embedder settings at ``precision`` (default: the configured one), here or on Ray workers."""
        config = self.config.embedder
        if precision is None or precision == config.precision.value:
            return config
        return config.model_copy(update={"precision": EmbedderPrecision(precision)})

    def pinned(self, spec: str) -> str:
        """``tuned:NAME`` as ``tuned:NAME@vN`` (its latest version now), so a newer version is never served from a cache."""
        if spec.startswith("tuned:") and "@" not in spec:
            return f"tuned:{self.models.card(spec).ref}"
        return spec

    def generator(self, spec: str | None = None) -> Generator:
        """The generator for a model spec (default: the configured one), built once."""
        spec = spec or self.config.generation.model
        if spec not in self._generators:
            self._generators[spec] = load_generator(spec, self.config.generation, self.config.home)
        return self._generators[spec]

    def reranker(self, spec: str | None = None) -> Reranker | None:
        """The reranker for a spec (default: the configured one, or None when reranking is off)."""
        spec = spec or self.config.rerank.model
        if not spec:
            return None
        spec = self.pinned(spec)
        if spec not in self._rerankers:
            self._rerankers[spec] = load_reranker(spec, self.config.rerank, self.config.home)
        return self._rerankers[spec]

    def support_scorer(self, embedder: Embedder | None) -> SupportScorer:
        """How citation support is scored: the configured NLI cross-encoder, else embedding + lexical overlap."""
        model = self.config.answer.support_model
        if not model:
            return OverlapSupportScorer(embedder)
        if self._nli is None:
            self._nli = NLISupportScorer(model, self.config.rerank.device)
        return self._nli

    def index(self, name: str) -> "IndexReader":
        """The read side of an existing index; ``IndexNotFoundError`` otherwise."""
        from ragtune.components.reader import IndexReader

        self.store.manifest(name)
        return IndexReader(self, name)

    @property
    def answerer(self) -> "Answerer":
        """The one answer path over these parts (``ragtune.components.answerer``)."""
        from ragtune.components.answerer import Answerer

        return Answerer(self)
