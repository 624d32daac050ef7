"""Reranking with a cross-encoder: any sentence-transformers ``CrossEncoder`` folder or hub id.

``load_reranker(spec, config, home)`` takes ``local:<dir or hub id>``, a bare folder, a hub id
(``org/name``), or a prefix registered in ``rerankers`` (a ``ragtune.plugins.Registry``, entry-point group
``ragtune.rerankers``): ``rerankers.register(prefix, factory)`` (or ``register_reranker``) plugs one in (a trained
reranker artefact, ``tuned:<name>``); a factory is called as ``factory(rest, config, home)``.

``weight`` is the reranker's share of the final order. At 1 the cross-encoder alone orders the candidates;
below 1 its order and the retrieval order are fused by weighted reciprocal rank fusion
(``weight / (rrf_k + rerank rank) + (1 - weight) / (rrf_k + retrieval rank)``), so a reranker that knows the
domain only partly adds to retrieval instead of overruling it. A tuned reranker carries the weight that scored
best on its held-out queries; ``RerankConfig.weight`` overrides it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from ragtune.config import RerankConfig
from ragtune.errors import ConfigError
from ragtune.plugins import Registry
from ragtune.retrieval.base import Reranker, ScoredChunk
from ragtune.retrieval.hybrid import rrf_fuse

RerankerFactory = Callable[[str, RerankConfig, Path], Reranker]
rerankers: Registry[RerankerFactory] = Registry("reranker", "ragtune.rerankers")


class CrossEncoderReranker:
    """Scores (query, chunk) pairs with a cross-encoder, loaded on first use; one logit is squashed by a sigmoid."""

    def __init__(self, location: str | Path, *, batch_size: int = 16, device: str = "cpu", spec: str | None = None,
                 weight: float = 1.0, rrf_k: int = 60) -> None:
        if batch_size < 1:
            raise ConfigError("rerank batch_size must be at least 1")
        if not 0.0 <= weight <= 1.0:
            raise ConfigError(f"rerank weight {weight}: give a share between 0 and 1")
        self.location = str(location)
        self.batch_size, self.device = batch_size, device
        self.weight, self.rrf_k = weight, rrf_k
        self.spec = spec or f"local:{self.location}"
        self._model = None

    def load(self):
        """Load the cross-encoder now (normally on first use)."""
        if self._model is None:
            from sentence_transformers import CrossEncoder

            foreign = foreign_modules(self.location)
            if foreign:
                raise ConfigError(f"reranker '{self.location}': its modules.json names code outside sentence-transformers and "
                                  f"ragtune ({', '.join(foreign)}); ragtune does not import it")
            try:
                self._model = CrossEncoder(self.location, device=self.device, trust_remote_code=own_modules_only(self.location))
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
        """The candidates (given in retrieval order) reordered by the cross-encoder, or fused with it below weight 1."""
        scores = [float(s) for s in self.scores(query, [c.chunk.index_text for c in candidates])]
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
        if self.weight >= 1.0:
            return [ScoredChunk(candidates[i].chunk, scores[i], {**candidates[i].scores, "rerank": scores[i]}) for i in order[:k]]
        fused = fuse_with_retrieval(order, self.weight, self.rrf_k)
        return [ScoredChunk(candidates[i].chunk, value, {**candidates[i].scores, "rerank": scores[i], "fused": value})
                for i, value in fused[:k]]


def fuse_with_retrieval(rerank_order: list[int], weight: float, rrf_k: int = 60) -> list[tuple[int, float]]:
    """``(position in retrieval order, fused score)``, best first: weighted RRF of the retrieval and rerank orders."""
    retrieval = [(str(i), 0.0) for i in range(len(rerank_order))]
    reranked = [(str(i), 0.0) for i in rerank_order]
    fused = rrf_fuse({"retrieval": retrieval, "rerank": reranked}, {"retrieval": 1.0 - weight, "rerank": weight}, rrf_k)
    return [(int(cid), score) for cid, score, _ in fused]


def foreign_modules(location: str | Path) -> list[str]:
    """Module classes a cross-encoder folder's ``modules.json`` names outside sentence-transformers and ragtune."""
    path = Path(location) / "modules.json"
    if not path.is_file():
        return []
    try:
        types = [str(m.get("type", "")) for m in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, AttributeError):
        return [f"{path} (unreadable)"]
    return [t for t in types if not t.startswith(("sentence_transformers.", "ragtune."))]


def own_modules_only(location: str | Path) -> bool:
    """True when a folder's ``modules.json`` names only sentence-transformers and ragtune classes: only then may
    loading import the classes it names (``trust_remote_code``)."""
    return (Path(location) / "modules.json").is_file() and not foreign_modules(location)


def register_reranker(prefix: str, factory: RerankerFactory, *, replace: bool = False) -> None:
    """Make ``<prefix>:<rest>`` reranker specs build rerankers with ``factory(rest, config, home)``."""
    rerankers.register(prefix, factory, replace=replace)


def _cross_encoder(location: str, spec: str, config: RerankConfig) -> CrossEncoderReranker:
    """The cross-encoder in a folder or a hub id (``org/name``) that ``spec`` names."""
    path = Path(location).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"reranker '{spec}': {path} is not a cross-encoder folder (no config.json)")
    elif not (location.count("/") == 1 and not location.startswith((".", "/", "~"))):
        known = "".join(f", '{p}:…'" for p in rerankers.names() if p != "local")
        raise ConfigError(f"unknown reranker spec '{spec}': no such folder, and not a hub id like 'org/name' "
                          f"(use 'local:<CrossEncoder dir or hub id>'{known})")
    weight = 1.0 if config.weight is None else config.weight
    return CrossEncoderReranker(location, batch_size=config.batch_size, device=config.device, spec=spec, weight=weight)


def _local(rest: str, config: RerankConfig, home: Path) -> Reranker:
    return _cross_encoder(rest, f"local:{rest}", config)


rerankers.register("local", _local)


def load_reranker(spec: str, config: RerankConfig | None = None, home: Path | str = Path(".ragtune")) -> Reranker:
    """Build the reranker a spec names (cheap: the model loads on first use)."""
    config = config or RerankConfig()
    spec = (spec or "").strip()
    prefix, sep, rest = spec.partition(":")
    factory = rerankers.get(prefix) if sep else None
    if factory is not None:
        return factory(rest, config, Path(home))
    return _cross_encoder(spec, spec, config)
