"""Embedding fine-tuning with the bundled MiniLM (a few steps on a handful of pairs), tuned: embedders and reindex."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ragtune.errors import ConfigError, EmbedderMismatchError, InputError
from ragtune.tuning import TrainingEvent
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.pairs import PairsConfig

pytestmark = pytest.mark.slow


def config(pairs_file, name="support-emb", **settings) -> EmbeddingTuneConfig:
    data = {"negatives_from": "facts", **settings.pop("data", {})}
    settings = {"max_steps": 2, "batch_size": 4, "max_seq_length": 32, "learning_rate": 1e-4, **settings}
    return EmbeddingTuneConfig.build(name=name, data=PairsConfig(pairs=pairs_file, eval_fraction=0.2, **data), **settings)


def test_train_publishes_a_card_and_a_tuned_embedder_that_reindexes(facts_index, pairs_file):
    ws = facts_index
    events: list[TrainingEvent] = []
    card = ws.tune_embeddings(config(pairs_file), events.append)
    assert (card.kind, card.ref) == ("embedding", "support-emb@v1")
    assert card.base_model["name"] == "sentence-transformers/all-MiniLM-L6-v2" and card.base_model["dimension"] == 384
    rows = card.data.rows
    assert (rows["pairs"], rows["held_out_queries"], rows["train_pairs"]) == (12, 2, 10) and card.data.format == "pairs"
    assert rows["negatives_mined"] >= 10 and len(card.data.sha256) == 64
    held = card.scores["held_out"]
    assert {"ndcg@10", "mrr@10", "recall@10"} <= set(held["before"]) and set(held["after"]) == set(held["before"])
    assert card.metrics["steps"] == 2 and card.metrics["primary_metric"] == "ndcg@10" and card.metrics["peak_rss_mb"] > 0
    assert card.settings["data"]["negatives_from"] == "facts" and "sentence-transformers" in card.library_versions
    assert [e.kind for e in events].count("step") == 2 and any(e.kind == "eval" and e.scores for e in events)
    folder = ws.models.path(card.ref)
    assert (folder / "model" / "config.json").is_file() and (folder / "train.log").is_file()
    assert not (folder.parent / ".run").exists()

    tuned = ws.embedder("tuned:support-emb")
    assert (tuned.info.spec, tuned.info.name, tuned.info.dimension) == ("tuned:support-emb@v1", "tuned:support-emb", 384)
    assert tuned.load().max_seq_length == 256  # training read 32 tokens; the published model keeps the base's limit
    base = ws.embedder("local")
    text = "Backups of the vault run every six hours."
    assert not np.allclose(tuned.embed_query(text), base.embed_query(text), atol=1e-4)  # the weights moved

    idx = ws.index("facts")
    with pytest.raises(EmbedderMismatchError, match="reindex --index facts --embedder tuned:support-emb"):
        idx.search("backups", embedder="tuned:support-emb")
    report = idx.reindex("tuned:support-emb")
    assert report.changed and idx.manifest.embedder.spec == "tuned:support-emb@v1"
    hits = idx.search("When do backups run?", k=1, mode="dense")
    assert "Backups of the vault" in hits[0].text

    # a second version never replaces the first, and the index keeps querying with the version it recorded
    assert ws.tune_embeddings(config(pairs_file)).ref == "support-emb@v2"
    assert idx.search("When do backups run?", k=1, mode="dense")[0].doc_id == hits[0].doc_id
    with pytest.raises(EmbedderMismatchError):
        idx.search("backups", embedder="tuned:support-emb")  # the latest, v2, is another model


def test_matryoshka_output_dimension_needs_a_reindex(facts_index, pairs_file):
    ws = facts_index
    card = ws.tune_embeddings(config(pairs_file, name="small-emb", loss="cached-mnrl", mini_batch_size=2,
                                     matryoshka_dims=[384, 128], output_dim=128))
    assert card.settings["matryoshka_dims"] == [384, 128] and card.settings["output_dim"] == 128
    small = ws.embedder("tuned:small-emb")
    assert small.info.dimension == 128 and small.embed_query("keys").shape == (128,)
    assert abs(float(np.linalg.norm(small.embed_query("keys"))) - 1.0) < 1e-5
    idx = ws.index("facts")
    with pytest.raises(EmbedderMismatchError, match="'tuned:small-emb' makes 128-d vectors and index 'facts' holds 64-d"):
        idx.search("keys", embedder="tuned:small-emb")
    idx.reindex("tuned:small-emb")
    assert idx.manifest.embedder.dimension == 128
    assert "rotated every ninety days" in idx.search("How often must API keys be rotated?", k=1, mode="dense")[0].text


def test_interrupted_run_resumes_and_settings_must_match(facts_index, pairs_file):
    ws = facts_index

    def stop_at_two(event: TrainingEvent) -> None:
        if event.kind == "step" and event.step == 2:
            raise KeyboardInterrupt

    cfg = config(pairs_file, name="resumed", max_steps=3, save_steps=1)
    with pytest.raises(KeyboardInterrupt):
        ws.tune_embeddings(cfg, stop_at_two)
    assert ws.models.versions("resumed") == []
    run = ws.models.model_dir("resumed") / ".run"
    pairs = json.loads((run / "pairs.json").read_text())
    with pytest.raises(InputError, match=r"other settings \(learning_rate\)"):
        ws.tune_embeddings(config(pairs_file, name="resumed", max_steps=3, save_steps=1, learning_rate=3e-4, resume=True))
    events: list[TrainingEvent] = []
    card = ws.tune_embeddings(config(pairs_file, name="resumed", max_steps=3, save_steps=1, resume=True), events.append)
    # killed during step 2, before its checkpoint: the run continues from step 1's
    assert any(e.kind == "info" and e.message == "resuming from checkpoint-1" for e in events)
    assert card.ref == "resumed@v1" and card.metrics["steps"] == 3 and [e.step for e in events if e.kind == "step"] == [2, 3]
    assert card.data.rows == pairs["counts"] and not run.exists()
    with pytest.raises(InputError, match="no interrupted run of 'resumed' to resume"):
        ws.tune_embeddings(config(pairs_file, name="resumed", resume=True))


def test_bad_settings_and_sources(facts_index, pairs_file, tmp_path):
    ws = facts_index
    with pytest.raises(ConfigError, match="output_dim 100 is not one of matryoshka_dims"):
        config(pairs_file, matryoshka_dims=[384, 128], output_dim=100)
    with pytest.raises(ConfigError, match="output_dim 512 is larger than the base model's 384"):
        ws.tune_embeddings(config(pairs_file, output_dim=512))
    from ragtune.errors import IndexNotFoundError

    with pytest.raises(IndexNotFoundError):
        ws.tune_embeddings(config(pairs_file, data={"negatives_from": "nope"}))
    assert ws.models.names() == []
