"""``anthropic:`` against a loopback server that speaks the Messages API wire format (SSE events, 529)."""


import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import InputError, ProviderError
from ragtune.generation.anthropic import AnthropicGenerator
from ragtune.generation.base import GenerateOptions, Prompt

REPLY = ["Audit entries are ", "kept for 400 days ", "[1]."]


@pytest.fixture
def claude_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-123")


def config(url: str, retries: int = 2) -> GenerationConfig:
    return GenerationConfig(anthropic_base_url=url, max_retries=retries, timeout_s=20)


PROMPT = Prompt(messages=[{"role": "system", "content": "Cite blocks."}, {"role": "user", "content": "How long?"}])


def test_overloaded_reply_is_retried_then_streamed(loopback, messages_app, claude_key):
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


def test_overloaded_event_inside_the_stream_is_retried(loopback, messages_app, claude_key):
    seen: list[dict] = []
    with loopback(messages_app(["midstream"], seen)) as url:
        out = AnthropicGenerator("claude-sonnet-5", config(url)).generate(PROMPT)
    assert len(seen) == 2 and out.text == "".join(REPLY)


def test_persistent_overload_becomes_a_provider_error(loopback, messages_app, claude_key):
    with loopback(messages_app(["529"] * 5, [])) as url:
        with pytest.raises(ProviderError, match="529"):
            AnthropicGenerator("claude-sonnet-5", config(url, retries=1)).generate(PROMPT)


def test_refused_key_names_the_variable(loopback, messages_app, claude_key):
    with loopback(messages_app(["401"], [])) as url:
        with pytest.raises(InputError, match="ANTHROPIC_API_KEY"):
            AnthropicGenerator("claude-sonnet-5", config(url)).generate(PROMPT)


def test_unreachable_server_names_the_url(claude_key, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(ProviderError, match=f"cannot reach {url}"):
        AnthropicGenerator("claude-sonnet-5", config(url, retries=1)).generate(PROMPT)


def test_ask_with_claude_gives_a_cited_answer(loopback, messages_app, claude_key, ws_for, support_home):
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
