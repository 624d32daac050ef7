"""``ragtune tune lora --base openai:...`` and ``ragtune models cancel`` from the command line: a job followed to its
end, and each kind of bad input refused with exit 2 and nothing uploaded or registered."""

from __future__ import annotations

import json

import pytest

from .fake_fine_tuning import Script


def _flat(text: str) -> str:
    return " ".join(text.split())


def _squashed(text: str) -> str:
    """The text without any whitespace: the console wraps long paths anywhere."""
    return "".join(text.split())


@pytest.fixture
def examples(tmp_path, jsonl, rows):
    return jsonl(tmp_path / "intents.jsonl", rows(12))


def test_tune_lora_on_a_provider_prints_the_card_and_follows_the_job_on_stderr(cli, provider, examples):
    state, url = provider
    state.script = Script(running_polls=2)
    code, out, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base", f"openai:gpt-4.1-mini@{url}",
                         "--poll-interval", "0", "--json")
    assert code == 0, err
    card = json.loads(out)
    assert card["managed"]["job_id"] == "ftjob-1"
    assert "job ftjob-1: running" in err
    assert "Step 2/2: training loss=0.500" in err


def test_the_plain_report_names_the_cost_and_the_model_that_answers(cli, provider, examples):
    state, url = provider
    code, out, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base", f"openai:gpt-4.1-mini@{url}",
                         "--poll-interval", "0")
    assert code == 0, err
    assert out.strip() == "intents@v1"
    assert "(measured, prices of 2025-06)" in _flat(err)
    assert state.jobs["ftjob-1"]["fine_tuned_model"] in _flat(err)


def test_examples_over_the_provider_limits_are_refused_by_line_before_upload(cli, provider, tmp_path, jsonl, rows):
    state, url = provider
    data = rows(12)
    data[4] = {"input": "x " * 140_000, "output": {"intent": "PlayMusic"}}
    path = jsonl(tmp_path / "long.jsonl", data[:9] + ["{broken"] + data[9:])
    code, out, err = cli("tune", "lora", "--data", path, "--name", "intents", "--base", f"openai:gpt-4.1-mini@{url}",
                         "--poll-interval", "0")
    assert code == 2 and out == ""
    assert _squashed("long.jsonl:5: field 'output': about 70,0") in _squashed(err)
    assert _squashed("tokens: over openai's limit of 65,536 tokens per example (as of 2025-06)") in _squashed(err)
    assert _squashed("long.jsonl:10: not valid JSON") in _squashed(err)
    assert state.files == {}


def test_too_few_examples_are_refused(cli, provider, tmp_path, jsonl, rows):
    state, url = provider
    path = jsonl(tmp_path / "few.jsonl", rows(4))
    code, _, err = cli("tune", "lora", "--data", path, "--name", "intents", "--base", f"openai:gpt-4.1-mini@{url}")
    assert code == 2
    assert "4 usable example(s): openai needs at least 10" in _flat(err)
    assert state.files == {}


def test_a_server_without_fine_tuning_is_refused(cli, provider, examples):
    state, url = provider
    state.fine_tuning = False
    code, _, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base", f"openai:gpt-4.1-mini@{url}")
    assert code == 2
    assert "offers no fine-tuning here (404" in _flat(err)
    code, out, _ = cli("models", "--json")
    assert json.loads(out) == []


def test_anthropic_is_refused_with_the_bedrock_route(cli, examples):
    code, _, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base", "anthropic:claude-3-haiku")
    assert code == 2
    assert "the Anthropic API offers no fine-tuning" in _flat(err)
    assert "--base bedrock:anthropic.claude-3-haiku-20240307-v1:0:200k" in _flat(err)


def test_missing_credentials_exit_2_naming_the_variable(cli, examples, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, _, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base", "openai:gpt-4.1-mini")
    assert code == 2
    assert "set OPENAI_API_KEY" in _flat(err)


def test_a_failed_job_exits_non_zero_with_the_providers_message(cli, provider, examples):
    state, url = provider
    state.script = Script(outcome="failed", error="quota exceeded for fine-tuning")
    code, out, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base", f"openai:gpt-4.1-mini@{url}",
                         "--poll-interval", "0")
    assert code == 1 and out == ""
    assert "quota exceeded for fine-tuning" in _flat(err)


def test_models_cancel_without_a_job_is_exit_2(cli):
    code, _, err = cli("models", "cancel", "intents")
    assert code == 2
    assert "no managed job in progress" in _flat(err)


def test_bedrock_without_a_role_or_bucket_exits_2_naming_the_flags(cli, examples):
    code, _, err = cli("tune", "lora", "--data", examples, "--name", "intents", "--base",
                       "bedrock:anthropic.claude-3-haiku-20240307-v1:0:200k", "--region", "us-east-1")
    assert code == 2
    assert "needs --role-arn" in _flat(err) and "--s3-uri s3://bucket/prefix" in _flat(err)
    code, out, _ = cli("models", "--json")
    assert json.loads(out) == []
