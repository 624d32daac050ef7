"""The Generator contract (ragtune/generation/base.py), run against every generator that runs offline.

fake and extractive in-process; ``openai:`` against ``ragtune serve-model``'s app serving the fake generator on
loopback, and ``anthropic:`` against the loopback Messages API peer (tests/conftest.py); the bundled SmolLM2
(``local``), the same model served over the OpenAI API, llama.cpp and ONNX Runtime GenAI (where installed) are slow.

Each returns the text with its token usage, the streamed pieces concatenate to the text a call without
streaming returns, the context window is reported, and failures are ragtune's error types.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, InputError, MissingKeyError, ProviderError
from ragtune.generation import load_generator
from ragtune.generation.base import ContextBlock, GenerateOptions, Generation, Generator, Usage, stream_generation
from ragtune.generation.fake import FakeGenerator
from ragtune.generation.gguf import llama_cpp_installed
from ragtune.generation.onnx_genai_export import onnx_genai_installed
from ragtune.generation.prompts import rag_prompt
from ragtune.http.openai_server import create_app

BLOCKS = [ContextBlock(1, "The audit log records every sign-in and every change to a secret. Entries are kept for 400 days.",
                       "audit#0", "audit", "/kb/audit.txt"),
          ContextBlock(2, "API keys must be rotated every 90 days from the admin console.", "keys#0", "keys", "/kb/keys.md")]
PROMPT = rag_prompt("How long are audit log entries kept?", BLOCKS)
OPTIONS = GenerateOptions(max_new_tokens=12)
SERVED_REPLY = "Audit log entries are kept for 400 days [1]."


@dataclass
class Case:
    generator: Generator
    window: int  # the context window it must report
    model_tokens: bool = True  # usage counted by a model (False: no model, usage is zero)


@pytest.fixture(scope="module")
def fake_openai_url(loopback):
    with loopback(create_app(FakeGenerator(SERVED_REPLY), "fake-model")) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def messages_url(loopback, messages_app):
    with loopback(messages_app([], [])) as url:
        yield url


@pytest.fixture(scope="module")
def smollm_openai_url(smollm, loopback):
    with loopback(create_app(smollm, "smollm2")) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def onnx_home(tmp_path_factory):
    """One workspace for the module, so the local model is exported once."""
    return tmp_path_factory.mktemp("onnx-home")


def _case(name: str, request, monkeypatch) -> Case:
    fixture = request.getfixturevalue
    if name == "fake":
        return Case(load_generator("fake"), 4096)
    if name == "extractive":
        return Case(load_generator("extractive"), 1_000_000, model_tokens=False)
    if name == "openai":
        return Case(load_generator(f"openai:fake-model@{fixture('fake_openai_url')}", GenerationConfig(max_retries=0)), 8192)
    if name == "anthropic":
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-123")
        config = GenerationConfig(anthropic_base_url=fixture("messages_url"), max_retries=0, context_window=50_000)
        return Case(load_generator("anthropic:claude-sonnet-5", config), 50_000)
    if name == "local":
        return Case(fixture("smollm"), 8192)
    if name == "openai-local":
        config = GenerationConfig(max_retries=0, context_window=8192)
        return Case(load_generator(f"openai:smollm2@{fixture('smollm_openai_url')}", config), 8192)
    if name == "onnx":
        return Case(load_generator("local", GenerationConfig(local_backend="onnx", threads=1), fixture("onnx_home")), 8192)
    return Case(load_generator("local", GenerationConfig(local_backend="gguf", threads=1)), 8192)  # gguf


SLOW_GGUF = [pytest.mark.slow, pytest.mark.skipif(not llama_cpp_installed(), reason="llama-cpp-python is not installed")]
SLOW_ONNX = [pytest.mark.slow, pytest.mark.skipif(not onnx_genai_installed(), reason="onnxruntime-genai is not installed")]


@pytest.fixture(params=["fake", "extractive", "openai", "anthropic", pytest.param("local", marks=pytest.mark.slow),
                        pytest.param("openai-local", marks=pytest.mark.slow), pytest.param("gguf", marks=SLOW_GGUF),
                        pytest.param("onnx", marks=SLOW_ONNX)])
def case(request, monkeypatch) -> Case:
    return _case(request.param, request, monkeypatch)


def test_generate_returns_text_and_usage(case):
    out = case.generator.generate(PROMPT, OPTIONS)
    assert isinstance(out, Generation) and isinstance(out.text, str) and out.text.strip()
    assert out.finish_reason in ("stop", "length") and out.model == case.generator.spec
    assert isinstance(out.usage, Usage)
    if case.model_tokens:
        assert out.usage.input_tokens > 20  # the prompt holds two context blocks and the question
        assert 1 <= out.usage.output_tokens <= OPTIONS.max_new_tokens
    else:
        assert out.usage == Usage(0, 0)


def test_streamed_pieces_make_the_same_text_as_one_call(case):
    pieces: list[str] = []
    streamed = case.generator.generate(PROMPT, OPTIONS, on_text=pieces.append)
    whole = case.generator.generate(PROMPT, OPTIONS)
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == streamed.text == whole.text
    assert streamed.usage == whole.usage and streamed.finish_reason == whole.finish_reason
    *texts, final = list(stream_generation(case.generator, PROMPT, OPTIONS))
    assert isinstance(final, Generation) and "".join(texts) == final.text == whole.text


def test_context_window_and_token_counts(case):
    gen = case.generator
    assert gen.context_window == case.window
    assert gen.count_tokens("") == 0
    text = PROMPT.messages[-1]["content"]
    one, two = gen.count_tokens(text), gen.count_tokens(text + "\n" + text)
    assert 10 <= one < gen.context_window and one < two <= 2 * one + 2


FAILURES = {
    "unknown spec": (lambda ctx: load_generator("nope:model"), ConfigError, "unknown model spec 'nope:model'"),
    "extractive takes no argument": (lambda ctx: load_generator("extractive:x"), ConfigError, "takes no argument"),
    "local model folder missing": (lambda ctx: load_generator(f"local:{ctx['tmp']}/none").load(), ConfigError,
                                   "local model '.*/none': no such folder or file"),
    "openai server unreachable": (lambda ctx: load_generator(f"openai:m@http://127.0.0.1:{ctx['port']}/v1",
                                                             GenerationConfig(max_retries=0)).generate(PROMPT),
                                  ProviderError, "cannot reach the model server at http://127.0.0.1"),
    "openai without a key or server": (lambda ctx: load_generator("openai:gpt-x").generate(PROMPT), MissingKeyError,
                                       "OPENAI_API_KEY"),
    "anthropic without a key": (lambda ctx: load_generator("anthropic:claude-sonnet-5").generate(PROMPT), MissingKeyError,
                                "ANTHROPIC_API_KEY"),
    "anthropic unreachable": (lambda ctx: ctx["claude"](f"http://127.0.0.1:{ctx['port']}").generate(PROMPT), ProviderError,
                              "cannot reach http://127.0.0.1"),
    "anthropic refuses the key": (lambda ctx: ctx["claude"](ctx["refusing"]).generate(PROMPT), InputError,
                                  "refused the key in ANTHROPIC_API_KEY"),
}


@pytest.fixture(scope="module")
def refusing_messages_url(loopback, messages_app):
    with loopback(messages_app(["401"] * 50, [])) as url:
        yield url


@pytest.mark.parametrize("failure", list(FAILURES))
def test_failures_are_ragtune_errors(failure, request, monkeypatch, tmp_path, closed_port):
    call, error, message = FAILURES[failure]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ctx = {"tmp": tmp_path, "port": closed_port}
    if failure.startswith("anthropic") and failure != "anthropic without a key":
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-123")
        ctx["claude"] = lambda url: load_generator("anthropic:claude-sonnet-5",
                                                   GenerationConfig(anthropic_base_url=url, max_retries=0, timeout_s=5))
        if failure == "anthropic refuses the key":
            ctx["refusing"] = request.getfixturevalue("refusing_messages_url")
    with pytest.raises(error, match=message) as caught:
        call(ctx)
    assert type(caught.value).__module__ == "ragtune.errors"
