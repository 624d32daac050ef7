"""Embedders, chosen by spec: ``local`` (bundled MiniLM), ``local:<dir or hub id>``, ``fake[:dim]``, and any
prefix registered in ``resolvers`` (``tuned:<name>[@vN]``, a trained embedding artefact, registers there)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ragtune.config import EmbedderConfig
from ragtune.embeddings.base import Embedder, EmbedderInfo
from ragtune.embeddings.fake import FakeEmbedder
from ragtune.embeddings.sentence_transformers import SentenceTransformerEmbedder
from ragtune.errors import ConfigError

__all__ = ["Embedder", "EmbedderInfo", "FakeEmbedder", "SentenceTransformerEmbedder", "load_embedder", "resolvers"]

EmbedderResolver = Callable[[str, EmbedderConfig, Path], Embedder]
# Extra spec prefixes (for example ``tuned:``) register a resolver here: prefix -> resolver(rest, config, home).
resolvers: dict[str, EmbedderResolver] = {}


def load_embedder(spec: str, config: EmbedderConfig | None = None, home: Path | str = Path(".ragtune")) -> Embedder:
    """Build the embedder named by ``spec`` (cheap: the model loads on first use); ``home`` is the workspace."""
    config = config or EmbedderConfig()
    prefix, _, rest = spec.partition(":")
    if spec in ("local", "minilm", "default"):
        return SentenceTransformerEmbedder(None, spec=spec, batch_size=config.batch_size, device=config.device)
    if prefix == "local" and rest:
        return SentenceTransformerEmbedder(rest, spec=spec, batch_size=config.batch_size, device=config.device)
    if prefix == "fake":
        try:
            return FakeEmbedder(int(rest) if rest else 64)
        except ValueError as exc:
            raise ConfigError(f"embedder spec '{spec}': fake takes a whole-number dimension >= 8") from exc
    if prefix in resolvers:
        return resolvers[prefix](rest, config, Path(home))
    raise ConfigError(f"unknown embedder spec '{spec}' (use 'local', 'local:<dir or hub id>', 'fake[:dim]'"
                      + "".join(f", '{p}:…'" for p in resolvers) + ")")
