"""A relevance head for cross-encoders built from a sentence-embedding backbone.

A sequence-classification head reads the ``[CLS]`` token through a freshly initialised layer. On a backbone
trained for mean-pooled sentence embeddings (the default embedder, all-MiniLM-L6-v2) that token carries little,
and a few hundred training steps on a CPU end with the head predicting the label prior for every pair.

``SegmentCosineHead`` reads the joint pass the way the backbone was trained: it mean-pools the query tokens
(segment 0) and the passage tokens (segment 1) and scores their cosine, scaled and shifted by two learned
numbers. Before any training it already orders passages about as well as the bi-encoder; training then teaches
the encoder the cross-attention interactions. Saved as a sentence-transformers module, so a tuned reranker
folder loads with ``CrossEncoder(folder, trust_remote_code=True)`` (``rerank.py`` allows it only for
sentence-transformers and ragtune classes).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from sentence_transformers.base.modules import Module


class SegmentCosineHead(Module):
    """``score = exp(log_scale) * (cos(mean query tokens, mean passage tokens) - offset)``: one logit per pair."""

    config_keys = ["scale", "offset"]

    def __init__(self, scale: float = 20.0, offset: float = 0.5) -> None:
        super().__init__()
        self.scale, self.offset = scale, offset
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(scale)))
        self.shift = torch.nn.Parameter(torch.tensor(offset))

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        tokens = features["token_embeddings"]
        mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        types = features.get("token_type_ids")
        if types is None:
            raise ValueError("SegmentCosineHead needs token_type_ids (a BERT-style backbone that marks the passage segment)")
        passage = types.unsqueeze(-1).to(tokens.dtype) * mask
        query = (1 - types.unsqueeze(-1).to(tokens.dtype)) * mask
        q = (tokens * query).sum(1) / query.sum(1).clamp(min=1.0)
        d = (tokens * passage).sum(1) / passage.sum(1).clamp(min=1.0)
        cosine = torch.nn.functional.cosine_similarity(q, d, dim=-1)
        features["scores"] = (self.log_scale.exp() * (cosine - self.shift)).unsqueeze(1)
        return features

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", token: bool | str | None = None, cache_folder: str | None = None,
             revision: str | None = None, local_files_only: bool = False, **kwargs: Any) -> "SegmentCosineHead":
        where = {"subfolder": subfolder, "token": token, "cache_folder": cache_folder, "revision": revision,
                 "local_files_only": local_files_only}
        config = cls.load_config(model_name_or_path=model_name_or_path, **where)
        config = {k: v for k, v in config.items() if k in cls.config_keys}
        return cls.load_torch_weights(model_name_or_path=model_name_or_path, model=cls(**config), **where)


def segment_cosine_cross_encoder(backbone: str, max_length: int, device: str) -> Any:
    """A one-logit ``CrossEncoder``: the backbone's token states read by a ``SegmentCosineHead``."""
    from sentence_transformers import CrossEncoder
    from sentence_transformers.base.modules import Transformer

    encoder = Transformer(backbone, transformer_task="feature-extraction", max_seq_length=max_length,
                          config_kwargs={"num_labels": 1})
    return CrossEncoder(modules=[encoder, SegmentCosineHead()], device=device)
