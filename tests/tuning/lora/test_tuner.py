"""Real LoRA runs on SmolLM2-135M with tiny budgets (a few steps, max length 64, a handful of rows)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragtune.errors import ConfigError, InputError
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.lora.tuner import LoraTuner
from ragtune.components.registry import ModelRegistry

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[3] / "src"
TINY = dict(max_length=64, batch_size=2, logging_steps=1, system="JSON.", rank=4, alpha=8, targets="attention")


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_a_run_publishes_v1_with_its_card_and_a_second_run_adds_v2(tmp_path, intents_file):
    registry = ModelRegistry(tmp_path / "home")
    events = []
    card = LoraTuner(LoraConfig(data=intents_file, name="intents", max_steps=2, save_steps=1, eval_fraction=0.2, **TINY),
                     registry).train(events.append)
    assert card.ref == "intents@v1" and card.kind == "lora"
    v1 = registry.path("intents@v1")
    assert (v1 / "adapter" / "adapter_config.json").is_file() and (v1 / "adapter" / "chat_template.jinja").is_file()
    assert json.loads((v1 / "adapter" / "adapter_config.json").read_text())["target_modules"] is not None
    assert card.data.sha256 == hashlib.sha256(intents_file.read_bytes()).hexdigest()
    assert card.data.rows == {"total": 12, "train": 10, "eval": 2, "dropped": 0, "truncated": 0}
    assert card.metrics["steps"] == 2 and card.metrics["eval_loss"] is not None and card.metrics["train_loss"] is not None
    assert card.metrics["train_tokens"] > 0 and card.metrics["peak_rss_mb"] > 100
    assert card.settings["rank"] == 4 and card.library_versions["peft"] and card.wall_time_s > 0
    assert [json.loads(line)["event"] for line in (v1 / "train.log").read_text().splitlines()][0] == "start"
    assert {e.kind for e in events} >= {"start", "step", "eval"} and any(e.eta_s is not None for e in events if e.kind == "step")
    assert not (registry.model_dir("intents") / ".run").exists()

    before = _tree_digest(v1)
    second = LoraTuner(LoraConfig(data=intents_file, name="intents", max_steps=1, eval_fraction=0, **TINY), registry).train()
    assert second.ref == "intents@v2" and registry.versions("intents") == [1, 2]
    assert _tree_digest(v1) == before


def test_rows_over_the_max_length_are_dropped_or_truncated(tmp_path, jsonl, rows):
    data = rows(6) + [{"input": "play " + "really " * 60 + "loud music", "output": {"intent": "PlayMusic", "slots": {}}}]
    path = jsonl(tmp_path / "long.jsonl", data)
    registry = ModelRegistry(tmp_path / "home")
    dropped = LoraTuner(LoraConfig(data=path, name="long", max_steps=1, eval_fraction=0, **TINY), registry).train()
    assert dropped.data.rows["dropped"] == 1 and dropped.data.rows["train"] == 6
    cut = LoraTuner(LoraConfig(data=path, name="long", max_steps=1, eval_fraction=0, truncate=True, **TINY), registry).train()
    assert cut.data.rows["truncated"] == 1 and cut.data.rows["train"] == 7 and cut.data.rows["dropped"] == 0


def test_bad_data_and_unknown_base_models_never_create_a_version(tmp_path, jsonl, rows):
    registry = ModelRegistry(tmp_path / "home")
    bad = jsonl(tmp_path / "bad.jsonl", rows(4) + ['{"input": "x"'])
    with pytest.raises(InputError, match=r"bad.jsonl:5"):
        LoraTuner(LoraConfig(data=bad, name="bad", max_steps=1, **TINY), registry).train()
    good = jsonl(tmp_path / "good.jsonl", rows(4))
    with pytest.raises(ConfigError, match="no such folder"):
        LoraTuner(LoraConfig(data=good, name="bad", base=str(tmp_path / "nowhere"), max_steps=1, **TINY), registry).train()
    with pytest.raises(ConfigError, match="Anthropic API offers no fine-tuning"):
        LoraTuner(LoraConfig(data=good, name="bad", base="anthropic:claude-sonnet-4-5", max_steps=1, **TINY), registry).train()
    with pytest.raises(InputError, match="no interrupted run"):
        LoraTuner(LoraConfig(data=good, name="bad", max_steps=1, resume=True, **TINY), registry).train()
    assert registry.versions("bad") == []


def test_a_killed_run_leaves_no_version_and_resume_completes_it(tmp_path, jsonl, rows):
    home = tmp_path / "home"
    data = jsonl(tmp_path / "kill.jsonl", rows(24))
    registry = ModelRegistry(home)
    LoraTuner(LoraConfig(data=data, name="k", max_steps=1, eval_fraction=0, **TINY), registry).train()  # an earlier version
    v1 = _tree_digest(registry.path("k@v1"))
    args = ["--data", str(data), "--name", "k", "--max-steps", "12", "--save-steps", "2", "--max-length", "64", "--batch-size", "2",
            "--eval-fraction", "0", "--system", "JSON.", "--rank", "4", "--alpha", "8", "--targets", "attention"]
    env = {**os.environ, "RAGTUNE_HOME": str(home), "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ragtune", "tune", "lora", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    checkpoints = home / "models" / "k" / ".run" / "checkpoints"
    deadline = time.monotonic() + 600
    try:
        while not any(checkpoints.glob("checkpoint-*/ragtune-complete")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert registry.versions("k") == [1] and _tree_digest(registry.path("k@v1")) == v1
    assert (home / "models" / "k" / ".run" / "run.json").is_file()

    with pytest.raises(InputError, match=r"other settings \(rank\)"):
        LoraTuner(LoraConfig(data=data, name="k", max_steps=12, save_steps=2, eval_fraction=0, resume=True,
                             **{**TINY, "rank": 8}), registry).train()
    events = []
    card = LoraTuner(LoraConfig(data=data, name="k", max_steps=12, save_steps=2, eval_fraction=0, resume=True, **TINY),
                     registry).train(events.append)
    assert card.ref == "k@v2" and card.metrics["steps"] == 12
    assert any(e.kind == "info" and e.message.startswith("resuming from checkpoint-") for e in events)
    starts = [json.loads(line) for line in (registry.path("k@v2") / "train.log").read_text().splitlines()
              if json.loads(line)["event"] == "start"]
    assert starts[0]["step"] == 0 and starts[-1]["step"] >= 2  # the second session started from the checkpoint
    assert _tree_digest(registry.path("k@v1")) == v1 and not (home / "models" / "k" / ".run").exists()


@pytest.mark.gpu
def test_qlora_on_cuda(tmp_path, intents_file):
    pytest.importorskip("bitsandbytes")
    card = LoraTuner(LoraConfig(data=intents_file, name="q", max_steps=1, device="cuda", load_in_4bit=True, **TINY),
                     ModelRegistry(tmp_path)).train()
    assert card.metrics["device"] == "cuda" and card.settings["load_in_4bit"]
