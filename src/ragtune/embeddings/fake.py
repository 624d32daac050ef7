"""A deterministic, dependency-free embedder for tests: hashed word and character-trigram features."""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Sequence

import numpy as np

from ragtune.embeddings.base import EmbedderInfo

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag of hashed words and trigrams, normalised. Similar texts get similar vectors."""

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 8:
            raise ValueError("dimension must be at least 8")
        self.dimension = dimension

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(spec=f"fake:{self.dimension}", name="fake", version="1", dimension=self.dimension)

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            feats = [word] + [word[i:i + 3] for i in range(max(1, len(word) - 2))]
            for feat in feats:
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                vec[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_documents(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)
