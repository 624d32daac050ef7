"""Reranker fine-tuning: a CrossEncoder from the default embedder's backbone, a few steps, used via --rerank tuned:NAME."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.errors import ConfigError
from ragtune.tuning.pairs import PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

pytestmark = pytest.mark.slow


def test_train_and_rerank_with_the_tuned_cross_encoder(facts_index, pairs_file):
    ws = facts_index
    config = RerankerTuneConfig.build(name="facts-rr", data=PairsConfig(pairs=pairs_file, negatives_from="facts", negatives=2,
                                                                        eval_fraction=0.2),
                                      max_steps=2, batch_size=6, max_seq_length=48, learning_rate=1e-4)
    card = ws.tune_reranker(config)
    assert (card.kind, card.ref, card.base_model["spec"]) == ("reranker", "facts-rr@v1", "local")
    assert card.data.format == "pairs" and card.data.rows["negatives_mined"] > 0
    assert card.metrics["train_rows"] == 3 * card.data.rows["train_pairs"]  # one positive and two negatives per pair
    assert "ndcg@10" in card.scores["held_out"]["after"]

    from sentence_transformers import CrossEncoder

    query = "When do backups run?"
    candidates = ws.index("facts").search(query, k=6)
    hits = ws.index("facts").search(query, k=3, rerank="tuned:facts-rr")
    assert all("rerank" in h.scores for h in hits)
    model = CrossEncoder(str(ws.models.path("facts-rr") / "model"), device="cpu")
    expected = model.predict([(query, ("" if not c.headings else " / ".join(c.headings) + "\n") + c.text) for c in candidates])
    assert [h.chunk_id for h in hits] == [candidates[i].chunk_id for i in np.argsort(-expected, kind="stable")[:3]]

    with pytest.raises(ConfigError, match=r"'tuned:facts-rr@v1' is a reranker model; an embedder needs an embedding model \(train one with: ragtune tune embeddings\)"):
        ws.embedder("tuned:facts-rr")


def test_reranker_specs_of_the_wrong_kind_and_bce_without_negatives(facts_index, tmp_path):
    from ragtune.tuning.registry import ModelCard

    ws = facts_index
    staging = ws.models.staging("emb")
    (staging / "model").mkdir()
    (staging / "model" / "config.json").write_text("{}")
    ws.models.publish(staging, ModelCard(kind="embedding", name="emb", files={"model": "model"}))
    with pytest.raises(ConfigError, match=r"'tuned:emb@v1' is an embedding model; --rerank needs a reranker model \(train one with: ragtune tune reranker\)"):
        ws.index("facts").search("keys", rerank="tuned:emb")
    with pytest.raises(ConfigError, match="bce reranker learns from negatives"):
        ws.tune_reranker(RerankerTuneConfig.build(name="rr", data=PairsConfig(from_index="facts", negatives=0)))
