"""Reranker fine-tuning: a sentence-transformers ``CrossEncoder`` with one relevance logit, trained on the
query/positive pairs with mined hard negatives. It starts from the default embedder's MiniLM backbone (no PyPI
package ships cross-encoder weights) with a ``SegmentCosineHead`` (or, with ``--head classifier``, a new
classification layer), or from any cross-encoder folder. Each epoch it is scored by reranking the held-out
queries' first-stage candidates (``CrossEncoderRerankingEvaluator``; ``base_*`` is the retrieval order). After
training, its share of the final order is calibrated on those lists (``fusion.py``). The result is a CrossEncoder
folder in the registry (kind ``reranker``), used through ``--rerank tuned:NAME``."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ragtune.errors import ConfigError
from ragtune.tuning.base import TrainingEvent, training_device
from ragtune.tuning.pair_tuner import PairTuner, PreparePairs
from ragtune.tuning.pairs import PairData
from ragtune.components.registry import ModelRegistry
from ragtune.tuning.reranker.config import RerankerHead, RerankerLoss, RerankerTuneConfig
from ragtune.tuning.runs import Notify

BACKBONE_SPECS = ("local", "default")


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
        if spec in BACKBONE_SPECS:
            head = self.config.head.value
            return {"spec": spec, "location": str(bundled_model_dir()), "head": head,
                    "initialised_from": f"the default embedder's backbone ({head} head)"}
        reranker = load_reranker(spec, home=self.registry.root.parent)
        return {"spec": spec, "location": getattr(reranker, "location", spec)}

    def load_model(self, location: str, device: str) -> Any:
        from sentence_transformers import CrossEncoder

        from ragtune.retrieval.rerank import own_modules_only

        try:
            if self.config.base in BACKBONE_SPECS and self.config.head is RerankerHead.segment_cosine:
                from ragtune.retrieval.cross_encoder_head import segment_cosine_cross_encoder

                return segment_cosine_cross_encoder(location, self.config.max_seq_length, device)
            return CrossEncoder(location, num_labels=1, max_length=self.config.max_seq_length, device=device,
                                trust_remote_code=own_modules_only(location))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--base '{self.config.base}' ({location}): cannot load it as a cross-encoder: {exc}") from exc

    def train_dataset(self, data: PairData) -> Any:
        from datasets import Dataset

        if self.config.loss is RerankerLoss.mnrl:
            columns: dict[str, list[str]] = {"query": [p.query for p in data.train], "positive": [p.positive for p in data.train]}
            # Columns must be rectangular: as many negative columns as every pair has (the rest come from the batch).
            for i in range(min(len(p.negatives) for p in data.train)):
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

    def first_stage_lists(self, data: PairData) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        """Held-out queries with their top ``eval_candidates`` first-stage candidates, where one of them is relevant."""
        queries = data.held_out_queries
        out = []
        for qid, ranked in sorted(data.first_stage.items()):
            top = ranked[:self.config.eval_candidates]
            if qid in queries and any(rel for _, _, rel in top):
                out.append((queries[qid], top))
        return out

    def evaluator(self, data: PairData) -> Any | None:
        if not data.held_out:
            return None
        from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

        lists = self.first_stage_lists(data)
        if lists:
            samples = [{"query": query, "positive": [text for _, text, rel in top if rel], "documents": [text for _, text,
                                                                                                         _ in top]}
                       for query, top in lists]
            return CrossEncoderRerankingEvaluator(samples, at_k=10, always_rerank_positives=False, name="held-out",
                                                  batch_size=self.config.batch_size, write_csv=False)
        # No first-stage lists (pairs without an index or corpus to search): the positives among sampled texts.
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

    def after_training(self, folder: Path, data: PairData, notify: Notify) -> dict[str, Any]:
        """The reranker's calibrated share of the final order (``scores.fusion``), from the held-out first-stage lists."""
        lists = self.first_stage_lists(data)
        if not lists:
            return {}
        from sentence_transformers import CrossEncoder

        from ragtune.retrieval.rerank import own_modules_only
        from ragtune.tuning.reranker.fusion import calibrate_fusion

        notify(TrainingEvent("info", message=f"calibrating the reranker's weight against retrieval on {len(lists)} held-out "
                                             "queries"))
        model = CrossEncoder(str(folder), device=training_device(self.config.device), trust_remote_code=own_modules_only(folder))
        scored = []
        for query, top in lists:
            scores = model.predict([(query, text) for _, text, _ in top], batch_size=self.config.batch_size,
                                   show_progress_bar=False)
            scored.append(([rel for _, _, rel in top], [float(s) for s in scores]))
        fusion = calibrate_fusion(scored)
        notify(TrainingEvent("info", message=f"held-out nDCG@10: retrieval {fusion['first_stage_ndcg@10']}, reranker "
                                             f"{fusion['reranker_ndcg@10']}, fused at weight {fusion['weight']} "
                                             f"{fusion['fused_ndcg@10']}"))
        return {"fusion": fusion}

    def trainer_classes(self) -> tuple[type, type]:
        from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments

        return CrossEncoderTrainer, CrossEncoderTrainingArguments
