"""Typed configuration, loaded once at the edge and passed down.

Sources, later ones win: defaults, ``ragtune.toml`` in the working directory (or ``RAGTUNE_CONFIG``),
``RAGTUNE_*`` environment variables, then explicit overrides from a face (CLI flags, HTTP options).
Only this module reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragtune.errors import ConfigError


class SearchMode(str, Enum):
    """How chunks are found: words, meaning, or both fused."""

    lexical = "lexical"
    dense = "dense"
    hybrid = "hybrid"


class FusionMethod(str, Enum):
    """How hybrid search merges the lexical and dense rankings (see ``ragtune.retrieval.hybrid``)."""

    convex = "convex"
    rrf = "rrf"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChunkingConfig(_Strict):
    """How documents are cut into chunks (per index; stored in its manifest)."""

    max_tokens: int = Field(200, ge=16, le=8192, description="Token budget of one chunk (approximate word pieces).")
    overlap_tokens: int = Field(24, ge=0, description="Tokens repeated from the end of a chunk at the start of the next.")

    @model_validator(mode="after")
    def _overlap_below_budget(self) -> "ChunkingConfig":
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        return self


class EmbedderConfig(_Strict):
    """Which embedding model builds and queries indexes, and how it runs."""

    model: str = Field("local", description="Embedder spec: 'local' (bundled MiniLM), 'local:<dir or hub id>', 'fake', 'tuned:<name>[@vN]'.")
    batch_size: int = Field(64, ge=1, description="Texts per encode call.")
    device: str = Field("cpu", description="torch device: cpu, cuda, mps.")


class RetrievalConfig(_Strict):
    """How queries are answered with chunks."""

    mode: SearchMode = Field(SearchMode.hybrid, description="lexical, dense or hybrid.")
    k: int = Field(10, ge=1, description="Chunks returned.")
    candidates: int = Field(100, ge=1, description="Candidates each retriever contributes to fusion and rerank.")
    fusion: FusionMethod = Field(FusionMethod.rrf, description="Hybrid fusion: 'convex' (weighted normalised scores) or 'rrf' (reciprocal rank).")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the lexical ranking in fusion.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")


class IndexConfig(_Strict):
    """Store-level settings."""

    ann_threshold: int = Field(200_000, ge=1, description="Chunks above which an approximate (ANN) vector index is built and used.")
    stemmer: str = Field("english", description="Snowball stemmer for lexical search ('' for none).")


class RagtuneConfig(_Strict):
    """Everything ragtune needs to run; each layer gets its own section."""

    home: Path = Field(Path(".ragtune"), description="Workspace directory (RAGTUNE_HOME).")
    store: str = Field("lancedb", description="'lancedb' (embedded, in the workspace) or a postgresql:// URI (RAGTUNE_STORE).")
    threads: int = Field(1, ge=1, le=256, description="torch / BLAS threads (RAGTUNE_THREADS); 1 is fastest on a busy 2-core box.")
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> "RagtuneConfig":
        """Build the configuration from ragtune.toml, RAGTUNE_* variables and ``overrides``."""
        env = dict(os.environ) if env is None else env
        data: dict[str, Any] = {}
        toml_path = Path(env.get("RAGTUNE_CONFIG", "ragtune.toml"))
        if toml_path.is_file():
            try:
                data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{toml_path}: not valid TOML: {exc}") from exc
        simple = {"RAGTUNE_HOME": "home", "RAGTUNE_STORE": "store", "RAGTUNE_THREADS": "threads"}
        for var, key in simple.items():
            if env.get(var):
                data[key] = env[var]
        if env.get("RAGTUNE_EMBEDDER"):
            data.setdefault("embedder", {})["model"] = env["RAGTUNE_EMBEDDER"]
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            if isinstance(value, dict):
                data.setdefault(key, {}).update({k: v for k, v in value.items() if v is not None})
            else:
                data[key] = value
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_readable(exc, str(toml_path) if toml_path.is_file() else "configuration")) from exc


def _readable(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: field '{field}': {err['msg']}")
    return "; ".join(parts)


def apply_threads(threads: int) -> None:
    """Pin torch and BLAS thread pools to ``threads`` (call once per process, before heavy work)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("LANCE_LOG", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
