"""``openai:`` through the official SDK against real OpenAI-compatible servers on loopback:
``ragtune serve-model``'s app serving SmolLM2 (loaded once), and llama-cpp-python's server where installed."""

import importlib.util

import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import ProviderError
from ragtune.generation import load_generator
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.http.openai_server import create_app

FRANCE = Prompt(messages=[{"role": "user", "content": "What is the capital of France?"}])


@pytest.fixture(scope="module")
def smollm_url(smollm, loopback):
    with loopback(create_app(smollm, "smollm2")) as url:
        yield f"{url}/v1"


@pytest.mark.slow
def test_generates_through_a_served_local_model(smollm, smollm_url):
    gen = load_generator(f"openai:smollm2@{smollm_url}", GenerationConfig(max_retries=0))
    out = gen.generate(FRANCE, GenerateOptions(max_new_tokens=10))
    direct = smollm.generate(FRANCE, GenerateOptions(max_new_tokens=10, stop=[]))
    assert "Paris" in out.text and out.text == direct.text  # greedy on both sides
    assert (out.usage.input_tokens, out.usage.output_tokens) == (direct.usage.input_tokens, direct.usage.output_tokens)


@pytest.mark.slow
def test_streams_through_a_served_local_model(smollm_url):
    gen = load_generator(f"openai:smollm2@{smollm_url}", GenerationConfig(max_retries=0))
    pieces = []
    out = gen.generate(FRANCE, GenerateOptions(max_new_tokens=10), on_text=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == out.text and "Paris" in out.text
    assert out.usage.output_tokens >= 1 and out.usage.input_tokens > 10


@pytest.mark.slow
def test_ask_through_a_served_model_cites_or_falls_back(smollm_url, ws_for, support_home):
    ws = ws_for(support_home, generation={"max_new_tokens": 24, "max_retries": 0})
    answer = ws.ask("Which port does the server listen on?", "support", model=f"openai:smollm2@{smollm_url}")
    assert answer.model == f"openai:smollm2@{smollm_url}" and answer.usage.input_tokens > 100
    assert not answer.abstained and answer.citations
    assert all(f"[{c.marker}]" in answer.answer for c in answer.citations)
    assert {c.marker for c in answer.citations} <= {b.number for b in answer.context}


def test_unreachable_server_names_the_url_after_retries(closed_port):
    url = f"http://127.0.0.1:{closed_port}/v1"
    gen = load_generator(f"openai:m@{url}", GenerationConfig(max_retries=1, timeout_s=5))
    with pytest.raises(ProviderError, match=f"cannot reach the model server at {url} \\(tried 2 times\\)"):
        gen.generate(FRANCE)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python (the gguf extra) is not installed")
def test_generates_through_llama_cpp_server(loopback):
    from llama_cpp.server.app import create_app as llama_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    from ragtune.generation.hf_models import default_gguf

    app = llama_app(server_settings=ServerSettings(), model_settings=[ModelSettings(model=str(default_gguf()), n_threads=1,
                                                                                    model_alias="smollm2")])
    with loopback(app) as url:
        out = load_generator(f"openai:smollm2@{url}/v1", GenerationConfig(max_retries=0)).generate(
            FRANCE, GenerateOptions(max_new_tokens=10))
    assert "Paris" in out.text and out.usage.output_tokens >= 1
