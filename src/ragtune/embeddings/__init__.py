"""Embedders, chosen by spec: ``local`` (bundled MiniLM, also ``minilm`` or ``default``), ``local:<dir or hub id>``,
``fake[:dim]``, and any prefix registered in ``embedders`` (a ``ragtune.plugins.Registry``, entry-point group
``ragtune.embedders``; ``tuned:<name>[@vN]``, a trained embedding artefact, registers there). A factory is called as
``factory(rest, config, home)`` with the text after the prefix, the ``EmbedderConfig`` and the workspace directory.

A sentence-transformers model in a folder runs through an ONNX export of it (``embedder.runtime = "onnx"``, the
default): the bundled model's and a ``local:<dir>``'s exports live in ``embedder.onnx_cache`` (default
``<home>/models/.onnx/<model key>/``), a tuned model's in its version folder."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ragtune.config import EmbedderConfig
from ragtune.embeddings.base import Embedder, EmbedderInfo
from ragtune.embeddings.fake import FakeEmbedder
from ragtune.embeddings.onnx_export import ExportError
from ragtune.common import model_key
from ragtune.embeddings.sentence_transformers import (OnnxFallbackWarning, SentenceTransformerEmbedder, bundled_model_dir,
                                                      runs_onnx)
from ragtune.errors import ConfigError
from ragtune.plugins import Registry, split_spec

__all__ = ["Embedder", "EmbedderFactory", "EmbedderInfo", "ExportError", "FakeEmbedder", "OnnxFallbackWarning",
           "SentenceTransformerEmbedder", "embedders", "load_embedder", "sentence_transformer_embedder"]

EmbedderFactory = Callable[[str, EmbedderConfig, Path], Embedder]

embedders: Registry[EmbedderFactory] = Registry("embedder", "ragtune.embedders")

_BUNDLED = ("local", "minilm", "default")  # names of the bundled MiniLM; only 'local' also takes a location


def _unknown(spec: str) -> ConfigError:
    extra = [p for p in embedders.names() if p not in (*_BUNDLED, "fake")]
    return ConfigError(f"unknown embedder spec '{spec}' (use 'local', 'local:<dir or hub id>', 'fake[:dim]'"
                       + "".join(f", '{p}:…'" for p in extra) + ")")


def sentence_transformer_embedder(location: str | Path | None, config: EmbedderConfig, home: Path, *, spec: str,
                                  onnx_dir: Path | None = None, **identity: str) -> SentenceTransformerEmbedder:
    """A sentence-transformers embedder run as ``config`` says. Its ONNX export goes to ``onnx_dir``, else, for a model
    folder, to ``<onnx_cache or home/models/.onnx>/<model key>``; a hub id runs with torch."""
    folder = bundled_model_dir() if location is None else Path(location)
    if onnx_dir is None and folder.is_dir() and runs_onnx(config.runtime.value, config.device, config.precision.value):
        onnx_dir = Path(config.onnx_cache or Path(home) / "models" / ".onnx").resolve() / model_key(folder)
    return SentenceTransformerEmbedder(location, spec=spec, batch_size=config.batch_size, device=config.device,
                                       runtime=config.runtime.value, precision=config.precision.value, threads=config.threads,
                                       onnx_dir=onnx_dir, **identity)


def _sentence_transformers(name: str) -> EmbedderFactory:
    def build(rest: str, config: EmbedderConfig, home: Path) -> Embedder:
        if rest and name != "local":
            raise _unknown(f"{name}:{rest}")
        return sentence_transformer_embedder(rest or None, config, home, spec=f"{name}:{rest}" if rest else name)

    return build


def _fake(rest: str, config: EmbedderConfig, home: Path) -> Embedder:
    try:
        return FakeEmbedder(int(rest) if rest else 64)
    except ValueError as exc:
        raise ConfigError(f"embedder spec 'fake:{rest}': fake takes a whole-number dimension >= 8") from exc


for _name in _BUNDLED:
    embedders.register(_name, _sentence_transformers(_name))
embedders.register("fake", _fake)


def load_embedder(spec: str, config: EmbedderConfig | None = None, home: Path | str = Path(".ragtune")) -> Embedder:
    """Build the embedder named by ``spec`` (cheap: the model loads on first use); ``home`` is the workspace."""
    config = config or EmbedderConfig()
    prefix, rest = split_spec(spec)
    factory = embedders.get(prefix)
    if factory is None:
        raise _unknown(spec)
    return factory(rest, config, Path(home))
