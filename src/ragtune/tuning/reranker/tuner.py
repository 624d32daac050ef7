"""Reranker fine-tuning: a sentence-transformers ``CrossEncoder`` with one relevance logit, started from the
default embedder's MiniLM backbone (its head starts random; no PyPI package ships cross-encoder weights) or from
any cross-encoder folder, trained on the query/positive pairs with mined hard negatives, and scored each epoch by
reranking the held-out queries' hard candidates (``CrossEncoderRerankingEvaluator``). The result is a CrossEncoder
folder in the registry (kind ``reranker``), used through ``--rerank tuned:NAME``."""

from __future__ import annotations

import random
from typing import Any

from ragtune.errors import ConfigError
from ragtune.tuning.pair_tuner import PairTuner, PreparePairs
from ragtune.tuning.pairs import PairData
from ragtune.tuning.registry import ModelRegistry
from ragtune.tuning.reranker.config import RerankerLoss, RerankerTuneConfig


class RerankerTuner(PairTuner):
    """Fine-tunes a cross-encoder reranker and publishes it (the ``reranker`` kind)."""

    kind = "reranker"

    def __init__(self, config: RerankerTuneConfig, registry: ModelRegistry, prepare: PreparePairs) -> None:
        super().__init__(config, registry, prepare)
        self.config: RerankerTuneConfig = config
        if config.data.negatives == 0 and config.loss is RerankerLoss.bce:
            raise ConfigError("a bce reranker learns from negatives: give --negatives 1 or more (or --loss mnrl)")

    def base_model(self) -> dict[str, Any]:
        from ragtune.embeddings.sentence_transformers import bundled_model_dir
        from ragtune.retrieval import load_reranker

        spec = self.config.base
        if spec in ("local", "default"):
            return {"spec": spec, "location": str(bundled_model_dir()), "initialised_from": "the default embedder's backbone (new head)"}
        reranker = load_reranker(spec, home=self.registry.root.parent)
        return {"spec": spec, "location": getattr(reranker, "location", spec)}

    def load_model(self, location: str, device: str) -> Any:
        from sentence_transformers import CrossEncoder

        try:
            return CrossEncoder(location, num_labels=1, max_length=self.config.max_seq_length, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--base '{self.config.base}' ({location}): cannot load it as a cross-encoder: {exc}") from exc

    def train_dataset(self, data: PairData) -> Any:
        from datasets import Dataset

        if self.config.loss is RerankerLoss.mnrl:
            columns: dict[str, list[str]] = {"query": [p.query for p in data.train], "positive": [p.positive for p in data.train]}
            for i in range(self.config.data.negatives):
                columns[f"negative_{i + 1}"] = [p.negatives[i] for p in data.train]
            return Dataset.from_dict(columns)
        rows = [(p.query, p.positive, 1.0) for p in data.train] + [(p.query, n, 0.0) for p in data.train for n in p.negatives]
        random.Random(self.config.seed).shuffle(rows)
        return Dataset.from_dict({"query": [r[0] for r in rows], "passage": [r[1] for r in rows], "label": [r[2] for r in rows]})

    def loss(self, model: Any, data: PairData) -> Any:
        import torch
        from sentence_transformers.cross_encoder import losses

        if self.config.loss is RerankerLoss.mnrl:
            return losses.MultipleNegativesRankingLoss(model, num_negatives=4)
        return losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(max(1, self.config.data.negatives))))

    def evaluator(self, data: PairData) -> Any | None:
        if not data.held_out:
            return None
        from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

        relevant = data.relevant
        rng = random.Random(self.config.seed)
        others = sorted(i for i in data.corpus if not any(i in r for r in relevant.values()))
        samples = []
        for qid, query in data.held_out_queries.items():
            hard = data.candidates.get(qid) or rng.sample(others, min(len(others), self.config.eval_candidates))
            samples.append({"query": query, "positive": [data.corpus[i] for i in sorted(relevant[qid])],
                            "documents": [data.corpus[i] for i in hard[:self.config.eval_candidates]]})
        return CrossEncoderRerankingEvaluator(samples, at_k=10, always_rerank_positives=True, name="held-out",
                                              batch_size=self.config.batch_size, write_csv=False)

    def trainer_classes(self) -> tuple[type, type]:
        from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments

        return CrossEncoderTrainer, CrossEncoderTrainingArguments
