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
    assert (card.kind, card.ref, card.base_model["spec"], card.base_model["head"]) == ("reranker", "facts-rr@v1", "local", "segment-cosine")
    assert card.data.format == "pairs" and card.data.rows["negatives_mined"] > 0
    assert card.metrics["train_rows"] == card.data.rows["train_pairs"]  # mnrl: one row per pair, its negatives as columns
    assert card.settings["loss"] == "mnrl"
    # Held-out scores rerank each query's first-stage candidates; base_* is the retrieval order itself.
    after = card.scores["held_out"]["after"]
    assert 0 < after["ndcg@10"] <= 1 and 0 < after["base_ndcg@10"] <= 1
    fusion = card.scores["fusion"]
    assert fusion["weight"] in [float(w) for w in fusion["grid"]] and len(fusion["grid"]) == 11
    assert fusion["fused_ndcg@10"] == max(fusion["grid"].values()) and fusion["queries"] >= 1
    assert fusion["grid"]["0.0"] == fusion["first_stage_ndcg@10"] and fusion["grid"]["1.0"] == fusion["reranker_ndcg@10"]

    from sentence_transformers import CrossEncoder

    from ragtune.config import RerankConfig
    from ragtune.retrieval import load_reranker
    from ragtune.retrieval.rerank import fuse_with_retrieval

    query = "When do backups run?"
    candidates = ws.index("facts").search(query, k=30)
    hits = ws.index("facts").search(query, k=3, rerank="tuned:facts-rr")
    assert all("rerank" in h.scores for h in hits)
    model = CrossEncoder(str(ws.models.path("facts-rr") / "model"), device="cpu", trust_remote_code=True)
    expected = model.predict([(query, ("" if not c.headings else " / ".join(c.headings) + "\n") + c.text) for c in candidates])
    order = [int(i) for i in np.argsort(-expected, kind="stable")]
    fused = [candidates[i].chunk_id for i, _ in fuse_with_retrieval(order, fusion["weight"])]
    assert [h.chunk_id for h in hits] == fused[:3]
    # An explicit weight overrides the calibrated one: 1 is the cross-encoder's order alone.
    alone = load_reranker("tuned:facts-rr", RerankConfig(weight=1.0), ws.config.home)
    assert alone.weight == 1.0 and ws.reranker("tuned:facts-rr").weight == fusion["weight"]

    with pytest.raises(ConfigError, match=r"'tuned:facts-rr@v1' is a reranker model; an embedder needs an embedding model \(train one with: ragtune tune embeddings\)"):
        ws.embedder("tuned:facts-rr")


def test_reranker_specs_of_the_wrong_kind_and_bce_without_negatives(facts_index, tmp_path):
    from ragtune.components.registry import ModelCard

    ws = facts_index
    staging = ws.models.staging("emb")
    (staging / "model").mkdir()
    (staging / "model" / "config.json").write_text("{}")
    ws.models.publish(staging, ModelCard(kind="embedding", name="emb", files={"model": "model"}))
    with pytest.raises(ConfigError, match=r"'tuned:emb@v1' is an embedding model; --rerank needs a reranker model \(train one with: ragtune tune reranker\)"):
        ws.index("facts").search("keys", rerank="tuned:emb")
    with pytest.raises(ConfigError, match="bce reranker learns from negatives"):
        ws.tune_reranker(RerankerTuneConfig.build(name="rr", data=PairsConfig(from_index="facts", negatives=0), loss="bce"))
