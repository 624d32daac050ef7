import json

import pytest

from ragtune.errors import InputError
from ragtune.components.registry import ModelCard, ModelNotFoundError, ModelRegistry, parse_ref


def _publish(registry, name="intents", payload="weights", kind="lora"):
    staging = registry.staging(name)
    (staging / "adapter.bin").write_text(payload)
    return registry.publish(staging, ModelCard(kind=kind, name=name, settings={"rank": 8}))


def test_versions_only_grow_and_earlier_versions_stay_untouched(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = _publish(registry, payload="one")
    second = _publish(registry, payload="two")
    assert (first.ref, second.ref) == ("intents@v1", "intents@v2")
    assert (registry.path("intents@v1") / "adapter.bin").read_text() == "one"
    assert (registry.path("intents") / "adapter.bin").read_text() == "two"  # no version: the latest
    assert registry.versions("intents") == [1, 2] and registry.names() == ["intents"]
    card = json.loads((registry.path("intents@v1") / "card.json").read_text())
    assert card["version"] == 1 and card["kind"] == "lora" and card["created_at"]


def test_publish_never_replaces_a_version_that_appeared_meanwhile(tmp_path):
    registry = ModelRegistry(tmp_path)
    _publish(registry, payload="one")
    staging = registry.staging("intents")
    (staging / "adapter.bin").write_text("late")
    # Another process publishes v2 between our staging and our publish.
    (registry.model_dir("intents") / "v2").mkdir()
    (registry.model_dir("intents") / "v2" / "card.json").write_text(
        ModelCard(kind="lora", name="intents", version=2).model_dump_json())
    (registry.model_dir("intents") / "v2" / "adapter.bin").write_text("other")
    card = registry.publish(staging, ModelCard(kind="lora", name="intents"))
    assert card.version == 3
    assert (registry.path("intents@v2") / "adapter.bin").read_text() == "other"
    assert (registry.path("intents@v3") / "adapter.bin").read_text() == "late"


def test_staging_and_run_folders_are_not_versions(tmp_path):
    registry = ModelRegistry(tmp_path)
    staging = registry.staging("half")
    (staging / "adapter.bin").write_text("partial")
    (registry.model_dir("half") / ".run").mkdir()
    assert registry.versions("half") == [] and registry.names() == []
    with pytest.raises(ModelNotFoundError, match="no model named 'half'"):
        registry.card("half")
    registry.discard(staging)
    assert not staging.exists()


def test_references_and_lookup_errors(tmp_path):
    assert parse_ref("tuned:intents@v3") == ("intents", 3)
    assert parse_ref("intents@3") == ("intents", 3)
    assert parse_ref("intents") == ("intents", None)
    for bad in ("Intents", "in tents", "intents@latest", "../x", ""):
        with pytest.raises(InputError):
            parse_ref(bad)
    registry = ModelRegistry(tmp_path)
    _publish(registry)
    with pytest.raises(ModelNotFoundError, match=r"no version v7 \(versions: v1\)"):
        registry.path("intents@v7")


def test_cards_keep_a_kind_and_scores_are_merged_without_touching_the_artefact(tmp_path):
    registry = ModelRegistry(tmp_path)
    _publish(registry, name="emb", kind="embedding")
    before = (registry.path("emb@v1") / "adapter.bin").read_bytes()
    registry.record_scores("emb@v1", {"ndcg@10": 0.5})
    card = registry.record_scores("emb", {"recall@10": 0.7})
    assert card.kind == "embedding" and card.scores == {"ndcg@10": 0.5, "recall@10": 0.7}
    assert registry.card("emb@v1").scores == card.scores
    assert (registry.path("emb@v1") / "adapter.bin").read_bytes() == before
    assert [c.ref for c in registry.cards()] == ["emb@v1"]
