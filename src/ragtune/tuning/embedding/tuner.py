"""Embedding fine-tuning with sentence-transformers: MultipleNegativesRankingLoss (or its cached variant,
optionally inside MatryoshkaLoss) over query/positive(/hard negative) pairs, scored each epoch on the held-out
queries with ``InformationRetrievalEvaluator``. The result is a sentence-transformers folder in the registry
(kind ``embedding``), used as ``tuned:NAME`` wherever an embedder spec goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragtune.config import EmbedderConfig
from ragtune.errors import ConfigError
from ragtune.tuning.embedding.config import EmbeddingLoss, EmbeddingTuneConfig
from ragtune.tuning.pair_tuner import PairTuner, PreparePairs
from ragtune.tuning.pairs import PairData
from ragtune.components.registry import ModelRegistry


class EmbeddingTuner(PairTuner):
    """Fine-tunes a sentence-transformers embedder and publishes it (the ``embedding`` kind)."""

    kind = "embedding"

    def __init__(self, config: EmbeddingTuneConfig, registry: ModelRegistry, prepare: PreparePairs) -> None:
        super().__init__(config, registry, prepare)
        self.config: EmbeddingTuneConfig = config

    def base_model(self) -> dict[str, Any]:
        from ragtune.embeddings import load_embedder

        embedder = load_embedder(self.config.base, EmbedderConfig(), self.registry.root.parent)
        location = getattr(embedder, "location", None)
        if location is None or not Path(location).is_dir():
            raise ConfigError(f"--base '{self.config.base}': not a sentence-transformers model folder "
                              "(use 'local', 'local:<folder>' or 'tuned:<embedding model>')")
        info = embedder.info
        if self.config.output_dim and self.config.output_dim > info.dimension:
            raise ConfigError(f"output_dim {self.config.output_dim} is larger than the base model's {info.dimension} dimensions")
        return {"spec": self.config.base, "location": location, "name": info.name, "version": info.version,
                "dimension": info.dimension}

    def load_model(self, location: str, device: str) -> Any:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(location, device=device)
        self._inference_length: int | None = model.max_seq_length
        model.max_seq_length = self.config.max_seq_length
        return model

    def train_dataset(self, data: PairData) -> Any:
        from datasets import Dataset

        columns: dict[str, list[str]] = {"anchor": [p.query for p in data.train], "positive": [p.positive for p in data.train]}
        for i in range(self.config.data.negatives):
            columns[f"negative_{i + 1}"] = [p.negatives[i] for p in data.train]
        return Dataset.from_dict(columns)

    def loss(self, model: Any, data: PairData) -> Any:
        from sentence_transformers.sentence_transformer import losses

        cfg = self.config
        if cfg.loss is EmbeddingLoss.cached_mnrl:
            base = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=cfg.mini_batch_size)
        else:
            base = losses.MultipleNegativesRankingLoss(model)
        if cfg.matryoshka_dims:
            return losses.MatryoshkaLoss(model, base, matryoshka_dims=cfg.matryoshka_dims)
        return base

    def evaluator(self, data: PairData) -> Any | None:
        if not data.held_out:
            return None
        from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

        return InformationRetrievalEvaluator(
            queries=data.held_out_queries, corpus=data.corpus, relevant_docs=data.relevant, name="held-out",
            mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1], precision_recall_at_k=[10], map_at_k=[100],
            batch_size=self.config.batch_size, write_csv=False, truncate_dim=self.config.output_dim,
        )

    def trainer_classes(self) -> tuple[type, type]:
        from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

        return SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    def training_arguments(self) -> dict[str, Any]:
        from sentence_transformers.base.sampler import BatchSamplers

        return {"batch_sampler": BatchSamplers.NO_DUPLICATES}

    def save(self, model: Any, folder: Path) -> None:
        """The published embedder keeps the base model's input length (``max_seq_length`` only bounds training) and
        truncates its output to ``output_dim``."""
        training = model.max_seq_length, model.truncate_dim
        model.max_seq_length, model.truncate_dim = self._inference_length or training[0], self.config.output_dim
        try:
            model.save(str(folder))
        finally:
            model.max_seq_length, model.truncate_dim = training
