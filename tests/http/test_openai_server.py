"""The OpenAI-compatible model server, driven by the official openai SDK over loopback."""

import os
import subprocess
import sys
import time

import httpx
import openai
import pytest

from ragtune.generation import FakeGenerator
from ragtune.http.openai_server import create_app

REPLY = "Port 8420 is the default."


@pytest.fixture
def fake_server(loopback):
    gen = FakeGenerator(REPLY)
    with loopback(create_app(gen, "northwind-small")) as url:
        yield url, gen


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def test_chat_completion_with_usage(fake_server):
    url, gen = fake_server
    reply = client(url).chat.completions.create(
        model="anything", max_tokens=50,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Which port?"}])
    assert reply.model == "northwind-small" and reply.choices[0].message.content == REPLY
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (4, 5, 9)
    assert gen.prompts[-1].messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Which port?"}]


def test_streaming_chunks_and_usage(fake_server):
    url, _ = fake_server
    chunks = list(client(url).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Which port?"}], stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY and len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 5
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_max_tokens_limits_the_reply(fake_server):
    url, _ = fake_server
    reply = client(url).chat.completions.create(model="m", max_tokens=2, messages=[{"role": "user", "content": "Which?"}])
    assert reply.choices[0].message.content == "Port 8420 " and reply.choices[0].finish_reason == "length"


def test_models_and_bad_requests(fake_server):
    url, _ = fake_server
    assert [m.id for m in client(url).models.list()] == ["northwind-small"]
    with pytest.raises(openai.BadRequestError) as err:
        client(url).chat.completions.create(model="m", messages=[])
    assert "messages" in str(err.value)
    raw = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.slow
def test_serve_model_command_serves_the_local_model(closed_port, tmp_path):
    """``ragtune serve-model local`` in its own process, asked by the openai SDK."""
    env = {**os.environ, "RAGTUNE_HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "ragtune", "serve-model", "local", "--port", str(closed_port),
                             "--name", "smollm2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{closed_port}"
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "serve-model did not start"
            time.sleep(0.3)
        reply = client(url).chat.completions.create(model="smollm2", max_tokens=8,
                                                    messages=[{"role": "user", "content": "What is the capital of France?"}])
        assert "Paris" in reply.choices[0].message.content and reply.usage.completion_tokens >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)
