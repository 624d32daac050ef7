"""Reranking with a cross-encoder: any sentence-transformers ``CrossEncoder`` folder or hub id.

``load_reranker(spec, config, home)`` takes ``local:<dir or hub id>``, a bare folder, a hub id
(``org/name``), or a registered prefix: ``register_reranker(prefix, factory)`` plugs one in (a trained
reranker artefact, ``tuned:<name>``); a factory is called as ``factory(rest, config, home)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ragtune.config import RerankConfig
from ragtune.errors import ConfigError
from ragtune.retrieval.base import Reranker, ScoredChunk

RerankerFactory = Callable[[str, RerankConfig, Path], Reranker]
_factories: dict[str, RerankerFactory] = {}


class CrossEncoderReranker:
    """Scores (query, chunk) pairs with a cross-encoder, loaded on first use; one logit is squashed by a sigmoid."""

    def __init__(self, location: str | Path, *, batch_size: int = 16, device: str = "cpu", spec: str | None = None) -> None:
        if batch_size < 1:
            raise ConfigError("rerank batch_size must be at least 1")
        self.location = str(location)
        self.batch_size, self.device = batch_size, device
        self.spec = spec or f"local:{self.location}"
        self._model = None

    def load(self):
        """Load the cross-encoder now (normally on first use)."""
        if self._model is None:
            from sentence_transformers import CrossEncoder

            try:
                self._model = CrossEncoder(self.location, device=self.device)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load reranker '{self.location}': {exc}") from exc
        return self._model

    def scores(self, query: str, texts: list[str]) -> np.ndarray:
        """Relevance of each text to the query (higher is better; 0-1 for one-label models)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        model = self.load()
        raw = np.asarray(model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                       convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        if raw.ndim == 2:  # two or more labels: the probability of the last ("relevant") one
            exp = np.exp(raw - raw.max(axis=1, keepdims=True))
            raw = (exp / exp.sum(axis=1, keepdims=True))[:, -1]
        return raw

    def rerank(self, query: str, candidates: list[ScoredChunk], k: int) -> list[ScoredChunk]:
        scores = self.scores(query, [c.chunk.index_text for c in candidates])
        order = sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i))[:k]
        return [ScoredChunk(candidates[i].chunk, float(scores[i]), {**candidates[i].scores, "rerank": float(scores[i])})
                for i in order]


def register_reranker(prefix: str, factory: RerankerFactory, *, replace: bool = False) -> None:
    """Make ``<prefix>:<rest>`` reranker specs build rerankers with ``factory(rest, config, home)``."""
    if not prefix or prefix != prefix.lower() or prefix == "local":
        raise ConfigError(f"reranker prefix '{prefix}': use a lowercase name other than 'local'")
    if prefix in _factories and not replace:
        raise ConfigError(f"reranker prefix '{prefix}' is already registered")
    _factories[prefix] = factory


def load_reranker(spec: str, config: RerankConfig | None = None, home: Path | str = Path(".ragtune")) -> Reranker:
    """Build the reranker a spec names (cheap: the model loads on first use)."""
    config = config or RerankConfig()
    spec = (spec or "").strip()
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in _factories:
        return _factories[prefix](rest, config, Path(home))
    location = rest if sep and prefix == "local" else spec
    path = Path(location).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"reranker '{spec}': {path} is not a cross-encoder folder (no config.json)")
    elif not (location.count("/") == 1 and not location.startswith((".", "/", "~"))):
        known = "".join(f", '{p}:…'" for p in sorted(_factories))
        raise ConfigError(f"unknown reranker spec '{spec}': no such folder, and not a hub id like 'org/name' "
                          f"(use 'local:<CrossEncoder dir or hub id>'{known})")
    return CrossEncoderReranker(location, batch_size=config.batch_size, device=config.device, spec=spec)
