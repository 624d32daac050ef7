"""Embedders, chosen by spec: ``local`` (bundled MiniLM, also ``minilm`` or ``default``), ``local:<dir or hub id>``,
``fake[:dim]``, and any prefix registered in ``embedders`` (a ``ragtune.plugins.Registry``, entry-point group
``ragtune.embedders``; ``tuned:<name>[@vN]``, a trained embedding artefact, registers there). A factory is called as
``factory(rest, config, home)`` with the text after the prefix, the ``EmbedderConfig`` and the workspace directory."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ragtune.config import EmbedderConfig
from ragtune.embeddings.base import Embedder, EmbedderInfo
from ragtune.embeddings.fake import FakeEmbedder
from ragtune.embeddings.sentence_transformers import SentenceTransformerEmbedder
from ragtune.errors import ConfigError
from ragtune.plugins import Registry, split_spec

__all__ = ["Embedder", "EmbedderFactory", "EmbedderInfo", "FakeEmbedder", "SentenceTransformerEmbedder", "embedders",
           "load_embedder"]

EmbedderFactory = Callable[[str, EmbedderConfig, Path], Embedder]

embedders: Registry[EmbedderFactory] = Registry("embedder", "ragtune.embedders")

_BUNDLED = ("local", "minilm", "default")  # names of the bundled MiniLM; only 'local' also takes a location


def _unknown(spec: str) -> ConfigError:
    extra = [p for p in embedders.names() if p not in (*_BUNDLED, "fake")]
    return ConfigError(f"unknown embedder spec '{spec}' (use 'local', 'local:<dir or hub id>', 'fake[:dim]'"
                       + "".join(f", '{p}:…'" for p in extra) + ")")


def _sentence_transformers(name: str) -> EmbedderFactory:
    def build(rest: str, config: EmbedderConfig, home: Path) -> Embedder:
        if rest and name != "local":
            raise _unknown(f"{name}:{rest}")
        return SentenceTransformerEmbedder(rest or None, spec=f"{name}:{rest}" if rest else name,
                                           batch_size=config.batch_size, device=config.device)

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
