"""``local_backend = "onnx"``: plain local through ONNX Runtime GenAI, on a tiny random Llama (with the local model's
tokenizer) exported by the package's model builder; its greedy answers against the transformers generator's."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from ragtune.config import GenerationConfig, LocalBackend
from ragtune.errors import ConfigError, InputError
from ragtune.generation import load_generator
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.generation.onnx_genai import OnnxGenAIGenerator
from ragtune.generation import onnx_genai_export
from ragtune.generation.onnx_genai_export import CONFIG_FILE, export_folder, export_root

INSTALLED = importlib.util.find_spec("onnxruntime_genai") is not None and importlib.util.find_spec("onnx_ir") is not None
MISSING = "onnxruntime-genai and onnx-ir are not installed (ragtune[onnx-genai])"
needs_onnx_genai = pytest.mark.skipif(not INSTALLED, reason=MISSING)

SYSTEM = "You answer questions about the deployment guide in one short sentence."
QUESTIONS = ["How do I enable the plugin?", "Where are logs kept?", "What port does the hub listen on by default?",
             "Who can approve a template?"]
CAP = 10


def prompt(question: str) -> Prompt:
    return Prompt(messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A folder holding a 2-layer Llama with random weights (seeded) and the local model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ragtune.generation.hf_models import resolve_causal_lm

    tokenizer = AutoTokenizer.from_pretrained(resolve_causal_lm(None))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         initializer_range=0.2, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    folder = tmp_path_factory.mktemp("tiny") / "llama"
    LlamaForCausalLM(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def onnx_gen(tiny, tmp_path_factory) -> OnnxGenAIGenerator:
    """The tiny model through ONNX Runtime GenAI, exported into a workspace of its own."""
    if not INSTALLED:
        pytest.skip(MISSING)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAGTUNE_MODEL_CACHE", raising=False)
        generator = OnnxGenAIGenerator(str(tiny), config=GenerationConfig(threads=1, batch_size=4),
                                       home=tmp_path_factory.mktemp("home"))
        return generator.load()


@pytest.fixture(scope="module")
def reference(tiny):
    """The transformers generator on the same folder."""
    from ragtune.generation.local import LocalGenerator

    return LocalGenerator(str(tiny), config=GenerationConfig(threads=1, batch_size=4))


@needs_onnx_genai
def test_the_export_is_made_in_the_onnx_cache_of_the_workspace(onnx_gen):
    assert onnx_gen.export == export_root(onnx_gen.home) / onnx_gen.export.name
    assert (onnx_gen.export / CONFIG_FILE).is_file()
    assert onnx_gen.export.parent == onnx_gen.home.resolve() / "models" / ".onnx"


@pytest.fixture(scope="module")
def replies(onnx_gen, reference) -> tuple[list, list]:
    """The greedy replies to ``QUESTIONS`` in one batch, without stop strings: ONNX Runtime GenAI's and transformers'."""
    options = GenerateOptions(max_new_tokens=CAP, stop=[])
    return (onnx_gen.generate_batch([prompt(q) for q in QUESTIONS], options),
            reference.generate_batch([prompt(q) for q in QUESTIONS], options))


@needs_onnx_genai
def test_greedy_batch_answers_equal_transformers(replies):
    mine, theirs = replies
    assert [g.text for g in mine] == [g.text for g in theirs]
    assert len({g.text for g in mine}) == len(QUESTIONS)  # each prompt its own reply: a mixed-up batch would show


@needs_onnx_genai
def test_usage_counts_prompt_and_reply_tokens(replies):
    mine, theirs = replies
    assert [g.usage for g in mine] == [g.usage for g in theirs]
    assert all(g.usage.output_tokens == CAP and g.finish_reason == "length" for g in mine)


@needs_onnx_genai
@pytest.mark.parametrize("stop", [["a"], ["e"]])
def test_stop_strings_end_replies_as_transformers_ends_them(onnx_gen, reference, stop):
    options = GenerateOptions(max_new_tokens=CAP, stop=stop)
    mine = onnx_gen.generate_batch([prompt(q) for q in QUESTIONS], options)
    theirs = reference.generate_batch([prompt(q) for q in QUESTIONS], options)
    assert [(g.text, g.usage.output_tokens) for g in mine] == [(g.text, g.usage.output_tokens) for g in theirs]
    assert any(g.usage.output_tokens < CAP for g in mine)  # the stop string did end some reply early


@needs_onnx_genai
def test_streamed_pieces_make_the_reply(onnx_gen):
    pieces: list[str] = []
    streamed = onnx_gen.generate(prompt(QUESTIONS[1]), GenerateOptions(max_new_tokens=CAP, stop=["e"]), on_text=pieces.append)
    alone = onnx_gen.generate_batch([prompt(QUESTIONS[1])], GenerateOptions(max_new_tokens=CAP, stop=["e"]))[0]
    assert "".join(pieces) == streamed.text == alone.text


@needs_onnx_genai
def test_a_prompt_too_long_for_the_window_is_skipped_and_the_others_answered(onnx_gen):
    long = prompt(" ".join(["word"] * 600))
    results = onnx_gen.generate_batch([long, prompt(QUESTIONS[0])], GenerateOptions(max_new_tokens=CAP, stop=[]))
    assert isinstance(results[0], InputError) and "does not fit" in str(results[0])
    assert results[1].usage.output_tokens == CAP


@needs_onnx_genai
def test_declares_no_constrained_decoding(onnx_gen):
    assert onnx_gen.constrains({"type": "object"}) is False


def test_export_is_reused_until_the_model_changes(tiny, tmp_path, monkeypatch):
    built: list[Path] = []

    def build(source, folder):
        built.append(folder)
        folder.mkdir()
        (folder / CONFIG_FILE).write_text("{}")

    monkeypatch.delenv("RAGTUNE_MODEL_CACHE", raising=False)
    monkeypatch.setattr(onnx_genai_export, "build_export", build)
    model = Path(shutil.copytree(tiny, tmp_path / "model"))
    first = export_folder(model, tmp_path)
    assert export_folder(model, tmp_path) == first and len(built) == 1
    (model / "generation_config.json").write_text((model / "generation_config.json").read_text() + "\n")
    assert export_folder(model, tmp_path) != first and len(built) == 2


@needs_onnx_genai
def test_a_model_the_builder_cannot_export_is_named_and_leaves_nothing(tmp_path, monkeypatch):
    odd = tmp_path / "odd-model"
    odd.mkdir()
    (odd / "config.json").write_text('{"architectures": ["OddForCausalLM"], "model_type": "odd"}')
    monkeypatch.delenv("RAGTUNE_MODEL_CACHE", raising=False)
    with pytest.raises(ConfigError, match="odd-model.*cannot export it"):
        export_folder(odd, tmp_path)
    assert [p.name for p in export_root(tmp_path).iterdir() if not p.name.endswith(".lock")] == []


def test_without_the_package_the_error_names_the_extra(monkeypatch):
    from ragtune.generation import onnx_genai

    monkeypatch.setattr(onnx_genai, "onnx_genai_installed", lambda: False)
    generator = load_generator("local", GenerationConfig(local_backend=LocalBackend.onnx))
    with pytest.raises(InputError, match=r"ragtune\[onnx-genai\]"):
        generator.load()


def test_the_onnx_setting_picks_onnx_genai():
    assert isinstance(load_generator("local", GenerationConfig(local_backend=LocalBackend.onnx)), OnnxGenAIGenerator)


def test_auto_never_picks_onnx_genai():
    assert not isinstance(load_generator("local", GenerationConfig(local_backend=LocalBackend.auto)), OnnxGenAIGenerator)


@needs_onnx_genai
def test_threads_follow_the_generation_setting(onnx_gen, tiny, monkeypatch):
    import onnxruntime_genai as og

    overlays: list[dict] = []

    class Recording(og.Config):
        def overlay(self, text: str) -> None:
            overlays.append(json.loads(text))
            super().overlay(text)

    monkeypatch.setattr(og, "Config", Recording)
    monkeypatch.delenv("RAGTUNE_MODEL_CACHE", raising=False)
    OnnxGenAIGenerator(str(tiny), config=GenerationConfig(threads=3), home=onnx_gen.home).load()
    options = overlays[0]["model"]["decoder"]["session_options"]
    assert options["intra_op_num_threads"] == 3
