"""Managed fine-tuning on an OpenAI-compatible API, against the fake provider on loopback: a job that takes several
polls is published with its card, one that fails or is cancelled publishes nothing, an interrupted job is followed
again with resume or cancelled, and the version answers through the provider's fine-tuned model id."""

from __future__ import annotations

import json

import pytest

from ragtune.errors import ConfigError, InputError, MissingKeyError, TuningError
from ragtune.generation import Prompt
from ragtune.tuning.data.examples import file_sha256
from ragtune.tuning.managed import ManagedConfig
from ragtune.tuning.managed.base import JOB_FILE

from .fake_fine_tuning import Script


@pytest.fixture
def examples(tmp_path, jsonl, rows):
    return jsonl(tmp_path / "intents.jsonl", rows(12))


def managed(examples, url, model="gpt-4.1-mini", **extra):
    return ManagedConfig.build(name="intents", data=examples, base=f"openai:{model}@{url}", poll_interval_s=0,
                               system="Reply with the intent as JSON.", **extra)


def test_a_job_that_takes_several_polls_is_published_with_its_card(workspace, provider, examples):
    state, url = provider
    state.script = Script(running_polls=3)
    seen = []
    card = workspace.tune_managed(managed(examples, url), seen.append)
    job = state.jobs["ftjob-1"]
    assert card.ref == "intents@v1"
    assert card.kind == "managed"
    assert card.managed["job_id"] == "ftjob-1"
    assert card.managed["model_id"] == job["fine_tuned_model"]
    assert card.managed["base_url"] == url
    assert card.base_model["model"] == "gpt-4.1-mini"
    assert card.data.sha256 == file_sha256(examples)
    assert card.data.format == "input_output"
    assert "learning_rate" not in card.settings  # the provider chose it
    assert card.metrics["trained_tokens"] == job["trained_tokens"]
    assert card.metrics["trained_tokens_billed"] is True
    assert card.metrics["polls"] == 4  # three that see it running, one that sees it succeed
    assert card.metrics["provider_metrics"]["train_loss"] == 0.333
    assert card.metrics["job_time_s"] == 240.0
    assert any("Fine-tuning job started" in (e.message or "") for e in seen)


def test_the_cost_is_trained_tokens_at_the_dated_training_price(workspace, provider, examples):
    state, url = provider
    card = workspace.tune_managed(managed(examples, url))
    training = card.cost["training"]
    assert training["label"] == "measured"
    assert training["usd"] == pytest.approx(state.jobs["ftjob-1"]["trained_tokens"] * 5.00 / 1e6)
    assert training["as_of"] == "2025-06"
    assert card.cost["inference"]["output_per_mtok"] == 3.20


def test_a_model_without_a_price_has_its_cost_labelled_unknown(workspace, provider, examples):
    _, url = provider
    card = workspace.tune_managed(managed(examples, url, model="my-own-model"))
    assert card.cost["training"]["label"] == "unknown"
    assert card.cost["training"]["usd"] is None


def test_the_upload_is_chat_jsonl_with_the_system_prompt(workspace, provider, examples):
    state, url = provider
    workspace.tune_managed(managed(examples, url, epochs=3))
    uploaded = [json.loads(line) for line in state.files["file-1"].decode().splitlines()]
    assert len(uploaded) == 12
    assert [m["role"] for m in uploaded[0]["messages"]] == ["system", "user", "assistant"]
    assert uploaded[0]["messages"][0]["content"] == "Reply with the intent as JSON."
    assert state.jobs["ftjob-1"]["hyperparameters"] == {"n_epochs": 3}


def test_the_version_answers_through_the_fine_tuned_model(workspace, provider, examples):
    state, url = provider
    workspace.tune_managed(managed(examples, url))
    generation = workspace.generator("tuned:intents").generate(Prompt(messages=[{"role": "user", "content": "play jazz"}]))
    assert generation.text == f"answer from {state.jobs['ftjob-1']['fine_tuned_model']}"


def test_a_managed_version_has_no_adapter_to_export(workspace, provider, examples, tmp_path):
    _, url = provider
    workspace.tune_managed(managed(examples, url))
    with pytest.raises(ConfigError, match="keeps its weights"):
        workspace.export_model("intents", tmp_path / "out")


def test_a_failed_job_shows_its_message_and_registers_nothing(workspace, provider, examples):
    state, url = provider
    state.script = Script(running_polls=2, outcome="failed", error="the file holds rows this model cannot train on")
    with pytest.raises(TuningError, match="failed: the file holds rows this model cannot train on"):
        workspace.tune_managed(managed(examples, url))
    assert workspace.models.versions("intents") == []
    assert not (workspace.models.model_dir("intents") / ".run").exists()


def test_a_job_cancelled_at_the_provider_registers_nothing(workspace, provider, examples):
    state, url = provider
    state.script = Script(running_polls=1, outcome="cancelled")
    with pytest.raises(TuningError, match="ftjob-1 cancelled"):
        workspace.tune_managed(managed(examples, url))
    assert workspace.models.versions("intents") == []


def _interrupt_after_start(event):
    if event.kind == "start":
        raise KeyboardInterrupt


def test_an_interrupted_job_is_followed_again_with_resume(workspace, provider, examples):
    state, url = provider
    state.script = Script(running_polls=2)
    with pytest.raises(KeyboardInterrupt):
        workspace.tune_managed(managed(examples, url), _interrupt_after_start)
    assert workspace.models.versions("intents") == []
    assert (workspace.models.model_dir("intents") / ".run" / JOB_FILE).is_file()
    with pytest.raises(InputError, match="follow it with --resume"):
        workspace.tune_managed(managed(examples, url))
    card = workspace.tune_managed(managed(examples, url, resume=True))
    assert card.managed["job_id"] == "ftjob-1"
    assert len(state.jobs) == 1
    assert len(state.files) == 1
    assert card.metrics["resumed"] is True


def test_resume_without_a_job_is_refused(workspace, provider, examples):
    _, url = provider
    with pytest.raises(InputError, match="no interrupted managed job to resume"):
        workspace.tune_managed(managed(examples, url, resume=True))


def test_cancel_stops_the_interrupted_job_and_clears_the_run(workspace, provider, examples):
    state, url = provider
    state.script = Script(running_polls=5)
    with pytest.raises(KeyboardInterrupt):
        workspace.tune_managed(managed(examples, url), _interrupt_after_start)
    job = workspace.cancel_managed("intents@v1")
    assert job.status == "cancelled"
    assert ("POST", "/fine_tuning/jobs/ftjob-1/cancel", None) in state.requests
    assert not (workspace.models.model_dir("intents") / ".run").exists()
    assert workspace.models.versions("intents") == []


def test_cancel_of_a_published_version_is_refused(workspace, provider, examples):
    _, url = provider
    workspace.tune_managed(managed(examples, url))
    with pytest.raises(InputError, match="a published version has no job to cancel"):
        workspace.cancel_managed("intents@v1")
    with pytest.raises(InputError, match="no managed job in progress"):
        workspace.cancel_managed("intents")


def test_missing_credentials_name_the_variable(workspace, examples, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = ManagedConfig.build(name="intents", data=examples, base="openai:gpt-4.1-mini", poll_interval_s=0)
    with pytest.raises(MissingKeyError, match="set OPENAI_API_KEY"):
        workspace.tune_managed(config)
    assert workspace.models.versions("intents") == []
