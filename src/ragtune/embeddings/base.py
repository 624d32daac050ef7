"""The ``Embedder`` seam: texts in, L2-normalised float32 vectors out.

An embedder is cheap to construct; its model loads on first use. ``info`` names the model, its version,
dimension and precision: an index records it and refuses queries from any other embedder.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class EmbedderInfo(BaseModel):
    """Identity of an embedding model, as recorded in every index it builds."""

    model_config = ConfigDict(extra="forbid")

    spec: str
    name: str
    version: str
    dimension: int
    precision: Literal["fp32", "int8"] = "fp32"

    @model_serializer(mode="wrap")
    def _fp32_unsaid(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """fp32 is left out of the record, so an index built before precisions existed reads and writes as it did."""
        data = handler(self)
        if data.get("precision") == "fp32":
            data.pop("precision")
        return data

    def same_model(self, other: "EmbedderInfo") -> bool:
        return (self.name, self.version, self.dimension, self.precision) == \
            (other.name, other.version, other.dimension, other.precision)


class Embedder(Protocol):
    """Turns texts into unit vectors. ``embed_documents`` may report progress as texts are done."""

    @property
    def info(self) -> EmbedderInfo: ...

    def embed_documents(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...
