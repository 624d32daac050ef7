"""The tuners registry: the built-in tuners by name, built lazily, each with the same signature."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragtune.errors import ConfigError
from ragtune.evaluation.questions import Question
from ragtune.tuning import ModelRegistry, Tuner
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.kinds import TunerParts, build_tuner, tuners
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_local_tuners_are_registered_by_name_and_build_their_classes(tmp_path, pairs_file):
    from ragtune.tuning.embedding.tuner import EmbeddingTuner
    from ragtune.tuning.lora.tuner import LoraTuner
    from ragtune.tuning.raft import RaftBuilder, RaftSettings, RaftTuner
    from ragtune.tuning.reranker.tuner import RerankerTuner

    assert tuners.names() == ["embeddings", "lora", "managed", "raft", "reranker"]
    registry = ModelRegistry(tmp_path / "home")
    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "output": "b"}\n')
    lora = LoraConfig(data=data, name="n")
    pairs = PairsConfig(pairs=pairs_file)
    parts = TunerParts(registry, prepare=lambda notify: None, raft=RaftBuilder("kb", 1, None, lambda: [], RaftSettings()),
                       questions=[Question(id="q1", question="q?")], index_generation=lambda: 1)
    configs = {"lora": lora, "raft": lora, "embeddings": EmbeddingTuneConfig(name="e", data=pairs),
               "reranker": RerankerTuneConfig(name="r", data=pairs)}
    built = {name: tuners.get(name)(config, parts) for name, config in configs.items()}
    classes = {"lora": LoraTuner, "raft": RaftTuner, "embeddings": EmbeddingTuner, "reranker": RerankerTuner}
    assert {name: type(tuner) for name, tuner in built.items()} == classes
    assert all(isinstance(tuner, Tuner) for tuner in built.values())
    assert {name: tuner.kind for name, tuner in built.items()} == {"lora": "lora", "raft": "lora", "embeddings": "embedding",
                                                                  "reranker": "reranker"}


def test_an_unknown_tuner_names_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="unknown tuner 'dpo' .known: embeddings, lora, managed, raft, reranker"):
        build_tuner("dpo", None, TunerParts(ModelRegistry(tmp_path)))


def test_a_tuner_built_without_the_parts_its_kind_reads_says_which(tmp_path, pairs_file):
    with pytest.raises(ConfigError, match="the embeddings tuner needs the pairs"):
        config = EmbeddingTuneConfig(name="e", data=PairsConfig(pairs=pairs_file))
        build_tuner("embeddings", config, TunerParts(ModelRegistry(tmp_path)))


def test_the_lora_tuner_records_the_data_source_and_attachments_its_parts_give(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "output": "b"}\n')
    source, attachments = {"kind": "distilled", "teacher": "t"}, {"teacher_rows": data}
    tuner = build_tuner("lora", LoraConfig(data=data, name="n"),
                        TunerParts(ModelRegistry(tmp_path), data_source=source, attachments=attachments))
    assert (tuner.data_source, tuner.attachments) == (source, attachments)


def test_the_managed_tuner_is_built_on_the_service_and_model_its_parts_give(tmp_path):
    from ragtune.tuning.managed import ManagedConfig, ManagedTuner

    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "output": "b"}\n')
    service = object()
    config = ManagedConfig.build(name="n", data=data, base="openai:gpt-4o-mini")
    tuner = build_tuner("managed", config, TunerParts(ModelRegistry(tmp_path), service=service, base_model="gpt-4o-mini"))
    assert isinstance(tuner, ManagedTuner) and (tuner.service, tuner.base_model) == (service, "gpt-4o-mini")


def test_the_managed_tuner_without_a_service_says_it_needs_one(tmp_path):
    from ragtune.tuning.managed import ManagedConfig

    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "output": "b"}\n')
    config = ManagedConfig.build(name="n", data=data, base="openai:gpt-4o-mini")
    with pytest.raises(ConfigError, match="the managed tuner needs a provider's fine-tuning service"):
        build_tuner("managed", config, TunerParts(ModelRegistry(tmp_path), base_model="gpt-4o-mini"))


def test_a_registered_tuner_is_built_through_the_same_signature(tmp_path, register_plugin):
    seen = {}
    register_plugin(tuners, "mine", lambda config, parts: seen.setdefault("built", (config, parts.registry)))
    registry = ModelRegistry(tmp_path)
    assert build_tuner("mine", "settings", TunerParts(registry)) == ("settings", registry)


def test_the_registry_loads_no_training_library():
    code = ("import sys, ragtune.tuning, ragtune.tuning.kinds; "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
