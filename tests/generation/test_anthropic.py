"""``anthropic:`` against a loopback server that speaks the Messages API wire format (SSE events, 529)."""

import json
import re

import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import InputError, ProviderError
from ragtune.generation.anthropic import AnthropicGenerator
from ragtune.generation.base import GenerateOptions, Prompt

REPLY = ["Audit entries are ", "kept for 400 days ", "[1]."]
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def messages_app(script: list[str], seen: list[dict]):
    """A Messages API peer: each request takes the next step of ``script`` ('529', 'midstream', '401', 'ok')."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI()

    @app.post("/v1/messages")
    async def messages(request: Request):
        body = await request.json()
        auth = request.headers.get("authorization", "")
        seen.append({"body": body, "key": request.headers.get("x-api-key") or auth.removeprefix("Bearer ")})
        step = script.pop(0) if script else "ok"
        user = body["messages"][-1]["content"]
        blocks = re.findall(r"^\[(\d+)\] \(source: [^)]*\)\n(.*?)(?=\n\n\[\d+\] \(source|\n\nQuestion:)", user, re.S | re.M)
        cited = next((n for n, text in blocks if "400 days" in text), "1")
        reply = [*REPLY[:-1], f"[{cited}]."]
        if step == "529":
            return JSONResponse(OVERLOADED, status_code=529)
        if step == "401":
            return JSONResponse({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
                                status_code=401)
        start = sse("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 321, "output_tokens": 1}}})
        if step == "midstream":
            events = [start, sse("error", OVERLOADED)]
        else:
            events = [start, sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                         "content_block": {"type": "text", "text": ""}}),
                      sse("ping", {"type": "ping"})]
            events += [sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": t}}) for t in reply]
            events += [sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                       sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                             "usage": {"output_tokens": 12}}),
                       sse("message_stop", {"type": "message_stop"})]
        return StreamingResponse(iter(events), media_type="text/event-stream")

    return app


@pytest.fixture
def claude_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-123")


def config(url: str, retries: int = 2) -> GenerationConfig:
    return GenerationConfig(anthropic_base_url=url, max_retries=retries, timeout_s=20)


PROMPT = Prompt(messages=[{"role": "system", "content": "Cite blocks."}, {"role": "user", "content": "How long?"}])


def test_overloaded_reply_is_retried_then_streamed(loopback, claude_key):
    seen: list[dict] = []
    with loopback(messages_app(["529"], seen)) as url:
        gen = AnthropicGenerator("claude-sonnet-5", config(url))
        pieces: list[str] = []
        out = gen.generate(PROMPT, GenerateOptions(max_new_tokens=50), on_text=pieces.append)
    assert len(seen) == 2  # the 529 and the retry
    assert pieces == REPLY and out.text == "".join(REPLY)
    assert (out.usage.input_tokens, out.usage.output_tokens) == (321, 12)
    body = seen[-1]["body"]
    assert seen[-1]["key"] == "sk-test-123" and body["model"] == "claude-sonnet-5" and body["stream"] is True
    assert body["system"] == "Cite blocks." and body["messages"] == [{"role": "user", "content": "How long?"}]
    assert body["max_tokens"] == 50


def test_overloaded_event_inside_the_stream_is_retried(loopback, claude_key):
    seen: list[dict] = []
    with loopback(messages_app(["midstream"], seen)) as url:
        out = AnthropicGenerator("claude-sonnet-5", config(url)).generate(PROMPT)
    assert len(seen) == 2 and out.text == "".join(REPLY)


def test_persistent_overload_becomes_a_provider_error(loopback, claude_key):
    with loopback(messages_app(["529"] * 5, [])) as url:
        with pytest.raises(ProviderError, match="529"):
            AnthropicGenerator("claude-sonnet-5", config(url, retries=1)).generate(PROMPT)


def test_refused_key_names_the_variable(loopback, claude_key):
    with loopback(messages_app(["401"], [])) as url:
        with pytest.raises(InputError, match="ANTHROPIC_API_KEY"):
            AnthropicGenerator("claude-sonnet-5", config(url)).generate(PROMPT)


def test_unreachable_server_names_the_url(claude_key, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(ProviderError, match=f"cannot reach {url}"):
        AnthropicGenerator("claude-sonnet-5", config(url, retries=1)).generate(PROMPT)


def test_ask_with_claude_gives_a_cited_answer(loopback, claude_key, ws_for, support_home):
    seen: list[dict] = []
    with loopback(messages_app([], seen)) as url:
        ws = ws_for(support_home, generation={"anthropic_base_url": url, "max_retries": 1})
        answer = ws.ask("How long are audit entries kept?", "support", model="anthropic:claude-sonnet-5")
    user = seen[0]["body"]["messages"][0]["content"]
    assert "[1] (source:" in user and "Question: How long are audit entries kept?" in user
    marker = next(b.number for b in answer.context if "400 days" in b.text)
    assert answer.answer == f"Audit entries are kept for 400 days [{marker}]."
    [citation] = answer.citations
    assert citation.origin == "model" and citation.marker == marker and "400 days" in citation.quote
    assert answer.to_json()["usage"] == {"input_tokens": 321, "output_tokens": 12}
