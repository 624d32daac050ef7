"""A LoRA run launched in two processes (torchrun, gloo on the CPU) publishes one version whose adapter equals what
one process trains on the same batches; the card records the world size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import ConfigError
from ragtune.tuning.launch import Launch, Launcher, command
from ragtune.tuning.lora import LoraConfig


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A two-layer Llama with the bundled model's tokenizer (and chat template), saved as a folder."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, set_seed

    from ragtune.generation.hf_models import resolve_causal_lm

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(resolve_causal_lm(None))
    set_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _data(tmp_path: Path) -> Path:
    """Eight rows of equal token length (one digit each), so a mean over one batch equals the mean of two halves."""
    path = tmp_path / "codes.jsonl"
    path.write_text("".join(json.dumps({"input": f"item {d}", "output": f"code {9 - d}"}) + "\n" for d in range(1, 9)),
                    encoding="utf-8")
    return path


def _adapter(ws: Workspace, ref: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(ws.models.path(ref) / "adapter" / "adapter_model.safetensors"))


def test_the_launch_command_lines():
    torchrun = command(Launch(Launcher.torchrun, 4), "ragtune.api.launched", Path("/job"))
    assert torchrun[1:] == ["-m", "torch.distributed.run", "--nproc_per_node", "4", "--nnodes", "1", "--standalone", "-m",
                            "ragtune.api.launched", "/job"]
    accelerate = command(Launch(Launcher.accelerate, 2), "ragtune.api.launched", Path("/job"))
    assert accelerate[1:4] == ["-m", "accelerate.commands.launch", "--multi_gpu"] and "--num_processes" in accelerate
    with pytest.raises(ConfigError):
        Launch(Launcher.torchrun, 0)


@pytest.mark.slow
def test_two_processes_train_the_adapter_one_process_trains(tmp_path, tiny_base):
    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home")}, env={}))
    settings = dict(data=_data(tmp_path), base=f"local:{tiny_base}", max_steps=2, eval_fraction=0, dropout=0, rank=4, alpha=8,
                    targets="attention", max_length=64, learning_rate=1e-2, warmup_ratio=0, save_steps=100, seed=3,
                    system="Map the item to its code.")
    single = ws.tune_lora(LoraConfig(name="single", batch_size=4, **settings))
    events = []
    launched = ws.tune_lora(LoraConfig(name="ddp", batch_size=2, **settings), events.append, Launch(Launcher.torchrun, 2))
    assert launched.ref == "ddp@v1" and ws.models.versions("ddp") == [1]
    assert launched.metrics["world_size"] == 2 and single.metrics["world_size"] == 1
    assert launched.metrics["steps"] == 2 and any(e.kind == "step" for e in events)
    assert not list((ws.models.model_dir("ddp")).glob(".rank-*"))  # the other rank's scratch is gone
    one, two = _adapter(ws, single.ref), _adapter(ws, launched.ref)
    assert one.keys() == two.keys()
    moved = [float(one[k].abs().max()) for k in one if "lora_B" in k]  # B starts at zero: how far training moved it
    assert moved and min(moved) > 1e-2
    # Adam turns float noise in near-zero gradients into steps of up to lr; 1e-3 is a twentieth of the update.
    assert max(float((one[k] - two[k]).abs().max()) for k in one) < 1e-3


def test_fsdp_without_a_launcher_or_on_the_cpu_is_refused(tmp_path):
    from typer.testing import CliRunner

    from ragtune.cli import app

    args = ["tune", "lora", "--data", str(_data(tmp_path)), "--name", "x", "--fsdp"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--fsdp needs --launcher" in result.stderr
    result = CliRunner().invoke(app, [*args, "--launcher", "torchrun", "--device", "cpu"])
    assert result.exit_code == 2 and "CUDA devices" in result.stderr
