"""The tuners registry: the four built-in tuners by name, built lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ragtune.evaluation.questions import Question
from ragtune.tuning import ModelRegistry, Tuner
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.kinds import tuners
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_four_tuners_are_registered_by_name_and_build_their_classes(tmp_path, pairs_file):
    from ragtune.tuning.embedding.tuner import EmbeddingTuner
    from ragtune.tuning.lora.tuner import LoraTuner
    from ragtune.tuning.raft import RaftTuner
    from ragtune.tuning.reranker.tuner import RerankerTuner

    assert tuners.names() == ["embeddings", "lora", "raft", "reranker"]
    registry = ModelRegistry(tmp_path / "home")
    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "output": "b"}\n')
    lora = LoraConfig(data=data, name="n")
    pairs = PairsConfig(pairs=pairs_file)
    built = {
        "lora": tuners.get("lora")(lora, registry),
        "raft": tuners.get("raft")(None, [Question(id="q1", question="q?")], lora, registry, lambda: 1),
        "embeddings": tuners.get("embeddings")(EmbeddingTuneConfig(name="e", data=pairs), registry, lambda notify: None),
        "reranker": tuners.get("reranker")(RerankerTuneConfig(name="r", data=pairs), registry, lambda notify: None),
    }
    classes = {"lora": LoraTuner, "raft": RaftTuner, "embeddings": EmbeddingTuner, "reranker": RerankerTuner}
    assert {name: type(tuner) for name, tuner in built.items()} == classes
    assert all(isinstance(tuner, Tuner) for tuner in built.values())
    assert {name: tuner.kind for name, tuner in built.items()} == {"lora": "lora", "raft": "lora", "embeddings": "embedding",
                                                                  "reranker": "reranker"}


def test_the_registry_loads_no_training_library():
    code = ("import sys, ragtune.tuning, ragtune.tuning.kinds; "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
