"""The ``Embedder`` seam: texts in, L2-normalised float32 vectors out.

An embedder is cheap to construct; its model loads on first use. ``info`` names the model, its version
and dimension: an index records it and refuses queries from any other embedder.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict


class EmbedderInfo(BaseModel):
    """Identity of an embedding model, as recorded in every index it builds."""

    model_config = ConfigDict(extra="forbid")

    spec: str
    name: str
    version: str
    dimension: int

    def same_model(self, other: "EmbedderInfo") -> bool:
        return (self.name, self.version, self.dimension) == (other.name, other.version, other.dimension)


class Embedder(Protocol):
    """Turns texts into unit vectors. ``embed_documents`` may report progress as texts are done."""

    @property
    def info(self) -> EmbedderInfo: ...

    def embed_documents(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...
