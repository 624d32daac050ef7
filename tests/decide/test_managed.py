"""decide with an API model whose provider fine-tunes: ft and rag+ft train managed jobs on the loopback fake of the
provider, answer through the fine-tuned model ids, are costed from the billed tokens, and are never paid for twice.

One workspace with the example index serves the module; each test's provider listens on its own port, so the model
spec, the run and the versions' names differ from test to test."""

from __future__ import annotations

import json

import pytest

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig

from .conftest import EXAMPLES

QUESTIONS = EXAMPLES / "questions.jsonl"
FIELDS = dict(questions=QUESTIONS, index="support", candidates="base,ft,rag+ft", poll_interval_s=0, holdout=0.3)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    home = tmp_path_factory.mktemp("managed") / "home"
    workspace = Workspace(RagtuneConfig.load({"home": str(home), "embedder": {"model": "fake:64"}}))
    workspace.ingest([str(EXAMPLES / "docs")], "support")
    return workspace


def _serve(loopback, fake_fine_tuning):
    state = fake_fine_tuning.FakeProvider(serves=("gpt-4.1-mini",))
    with loopback(fake_fine_tuning.fake_app(state)) as url:
        yield state, f"openai:gpt-4.1-mini@{url}/v1"


@pytest.fixture
def provider(loopback, fake_fine_tuning):
    """``(state, model spec)``: a fresh fake provider whose base model gpt-4.1-mini answers too."""
    yield from _serve(loopback, fake_fine_tuning)


@pytest.fixture(scope="module")
def run(ws, loopback, fake_fine_tuning):
    """One decision on the fake provider and a second run of the same settings: ``(state, first, second)``."""
    for state, model in _serve(loopback, fake_fine_tuning):
        first = ws.decide(model=model, **FIELDS)
        jobs_after_first = len(state.jobs)
        yield state, first, ws.decide(model=model, **FIELDS), jobs_after_first


@pytest.fixture(scope="module")
def decision(run):
    return run[1]


@pytest.fixture(scope="module")
def state(run):
    return run[0]


def _rows(state, job: str) -> list[dict]:
    return [json.loads(line) for line in state.files[state.jobs[job]["training_file"]].splitlines()]


def test_ft_and_rag_ft_each_train_one_managed_job(decision, run):
    jobs = {decision.candidates[c].training["managed"]["job_id"] for c in ("ft", "rag+ft")}
    assert (jobs, run[3]) == ({"ftjob-1", "ftjob-2"}, 2)


def test_ft_answers_through_its_fine_tuned_model_id(decision, state):
    answers = {r["answer"] for r in decision.rows if r["candidate"] == "ft"}
    assert answers == {f"answer from {state.jobs['ftjob-1']['fine_tuned_model']}"}


def test_rag_ft_asks_its_own_fine_tuned_model(decision, state):
    asked = {body["model"] for _, path, body in state.requests if path == "/chat/completions"}
    assert state.jobs["ftjob-2"]["fine_tuned_model"] in asked


def test_ft_trains_on_every_training_question_under_the_model_alone_prompt(decision, state):
    rows = _rows(state, "ftjob-1")
    trained = {r["messages"][1]["content"] for r in rows}
    questions = {q["id"]: q["question"] for q in map(json.loads, QUESTIONS.read_text(encoding="utf-8").splitlines())}
    assert trained == {questions[i] for i in decision.split["questions"]["train_ids"]}
    assert {r["messages"][0]["role"] for r in rows} == {"system"}


def test_rag_ft_trains_on_raft_rows_that_carry_the_retrieved_passages(decision, state):
    rows = _rows(state, "ftjob-2")
    assert decision.candidates["rag+ft"].training["how"] == "raft"
    assert all("[1]" in r["messages"][-2]["content"] for r in rows)  # the numbered passages of the ask prompt


def test_the_training_cost_is_the_billed_tokens_labelled_measured(decision, state):
    figures = decision.candidates["ft"].cost_figures
    assert figures["trained_tokens"] == {"value": state.jobs["ftjob-1"]["trained_tokens"], "basis": "measured",
                                         "source": "billed by the provider (job ftjob-1)"}
    assert figures["training_usd"]["basis"] == "measured"


def test_the_one_off_cost_is_the_billed_tokens_at_the_dated_training_price(decision, state):
    assert decision.candidates["ft"].one_off_usd == pytest.approx(state.jobs["ftjob-1"]["trained_tokens"] * 5.00 / 1e6)


def test_answers_are_priced_at_the_fine_tuned_models_price(decision):
    ft = decision.candidates["ft"]
    assert "(0.8/3.2 USD per 1M in/out, as of 2025-06)" in ft.cost_basis
    assert ft.cost_per_1k_queries == pytest.approx((10 * 0.8 + 5 * 3.2) / 1e6 * 1000)  # the fake bills 10 in, 5 out


def test_a_rerun_reuses_the_published_versions_and_starts_no_job(run):
    state, first, again, _ = run
    assert len(state.jobs) == 2
    assert again.candidates["ft"].training["ref"] == first.candidates["ft"].training["ref"]
    assert again.candidates["rag+ft"].training["managed"]["reused"] is True


def test_an_interrupted_decide_follows_the_same_job_when_run_again(ws, provider, fake_fine_tuning):
    state, model = provider
    state.script = fake_fine_tuning.Script(running_polls=3)

    def interrupt(stage, done, total):
        if stage == "train ft" and done >= 1:  # the provider reported a step of the job
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ws.decide(model=model, progress=interrupt, **FIELDS)
    assert state.jobs["ftjob-1"]["status"] == "running"
    managed = ws.decide(model=model, **FIELDS).candidates["ft"].training["managed"]
    assert (managed["job_id"], managed["resumed"]) == ("ftjob-1", True)
    assert sorted(state.jobs) == ["ftjob-1", "ftjob-2"]


def test_a_job_that_fails_at_the_provider_skips_the_candidate_with_its_message(ws, provider, fake_fine_tuning):
    state, model = provider
    state.script = fake_fine_tuning.Script(outcome="failed", error="the data has too few distinct examples")
    d = ws.decide(model=model, **FIELDS)
    assert "the data has too few distinct examples" in d.candidates["ft"].skipped_reason
    assert d.candidates["base"].measured
    assert f"decide-{d.run['id']}-ft" not in {c.name for c in ws.model_cards()}


def test_too_few_rows_for_the_provider_skip_the_candidate_before_anything_is_uploaded(ws, provider):
    state, model = provider
    d = ws.decide(model=model, **{**FIELDS, "holdout": 0.9})  # 2 training questions: openai needs 10 examples
    assert "openai needs at least 10" in d.candidates["ft"].skipped_reason
    assert state.files == {}


def test_a_provider_without_fine_tuning_keeps_ft_skipped_naming_the_bedrock_route(ws, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "unused")
    d = ws.decide(model="anthropic:claude-3-haiku-20240307", **{**FIELDS, "candidates": "ft"})
    assert "fine-tuned through Amazon Bedrock model customization" in d.candidates["ft"].skipped_reason


def test_missing_credentials_skip_ft_naming_the_variable(ws, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    d = ws.decide(model="openai:gpt-4.1-mini", **{**FIELDS, "candidates": "ft"})
    assert "set OPENAI_API_KEY" in d.candidates["ft"].skipped_reason


def test_the_command_line_decides_with_managed_jobs(cli, ws, provider, monkeypatch):
    monkeypatch.setenv("RAGTUNE_HOME", str(ws.config.home))
    _, model = provider
    code, out, err = cli("decide", "--questions", QUESTIONS, "--index", "support", "-m", model, "--candidates", "base,ft",
                         "--holdout", "0.3", "--poll-interval", "0", "--json")
    assert code == 0, err
    ft = json.loads(out)["candidates"]["ft"]
    assert (ft["training"]["managed"]["job_id"], ft["cost_figures"]["training_usd"]["basis"]) == ("ftjob-1", "measured")


def test_a_training_budget_of_zero_starts_no_job(ws, provider):
    state, model = provider
    d = ws.decide(model=model, **{**FIELDS, "budget_s": 0})
    assert "a training budget of 0 s: no job is started" in d.candidates["ft"].skipped_reason
    assert state.jobs == {}


def test_tokens_the_provider_does_not_report_are_estimated_and_labelled_assumed(ws, provider, fake_fine_tuning):
    state, model = provider
    state.script = fake_fine_tuning.Script(reports_tokens=False)
    figures = ws.decide(model=model, **{**FIELDS, "candidates": "ft"}).candidates["ft"].cost_figures
    assert (figures["trained_tokens"]["basis"], figures["training_usd"]["basis"]) == ("assumed", "assumed")
    assert figures["trained_tokens"]["source"].startswith("estimated from the data")


def test_deciding_again_from_the_rows_prices_the_managed_answers_from_the_versions_cards(ws, decision, tmp_path):
    decision.write(tmp_path / "decide.json")
    again = ws.decide_rows(tmp_path / "decide.json", index="support", candidates="base,ft,rag+ft")
    assert again.candidates["ft"].cost_per_1k_queries == pytest.approx(decision.candidates["ft"].cost_per_1k_queries)
