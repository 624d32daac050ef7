"""The one answer path: an ``AskRequest`` answered by ``components.answerer``, the same answer the workspace gives,
with the index's manifest read once; and a decision that trains and measures below the facade."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.api import AskRequest, Components, Workspace
from ragtune.errors import IndexNotFoundError, InputError, QuestionError

QUESTION = "How long are audit entries kept?"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def indexed(workspace: Workspace, docs_dir: Path) -> Workspace:
    workspace.ingest([str(docs_dir)], "kb")
    return workspace


def test_the_answerer_gives_the_answer_the_workspace_gives(indexed):
    direct = indexed.components.answerer.ask(AskRequest(QUESTION, "kb", "extractive", k=3))
    assert direct.answer == indexed.ask(QUESTION, "kb", model="extractive", k=3).answer


def test_an_answer_cites_the_document_that_holds_it(indexed):
    answer = indexed.components.answerer.ask(AskRequest(QUESTION, "kb", "extractive"))
    assert {Path(c.source).name for c in answer.citations} == {"audit.txt"}


def test_an_ask_reads_the_index_manifest_once(indexed, monkeypatch):
    store = indexed.components.store
    read, reads = store.manifest, []
    monkeypatch.setattr(store, "manifest", lambda name: reads.append(name) or read(name))
    indexed.ask(QUESTION, "kb", model="extractive")
    assert reads == ["kb"]


def test_the_parts_are_built_once_and_shared(workspace):
    assert workspace.generator("extractive") is workspace.components.generator("extractive")


@pytest.mark.parametrize("request_, error", [
    (AskRequest("   ", "kb"), QuestionError),
    (AskRequest(QUESTION, "kb", repairs=-1), InputError),
    (AskRequest(QUESTION, whole_corpus=True), InputError),
    (AskRequest(QUESTION, "nowhere"), IndexNotFoundError),
])
def test_bad_requests_are_refused_before_any_model_runs(indexed, request_, error):
    with pytest.raises(error):
        indexed.components.answerer.ask(request_)


def test_components_built_from_a_configuration_answer_without_a_workspace(indexed):
    answer = Components(indexed.config).answerer.ask(AskRequest(QUESTION, "kb", "extractive"))
    assert "400 days" in answer.answer


def test_decide_measures_through_the_eval_runner_not_the_facade(monkeypatch, workspace):
    def climbed(*args, **kwargs):
        raise AssertionError("decide called back into the workspace")

    workspace.ingest([str(EXAMPLES / "docs")], "support")
    for method in ("ask", "evaluate", "tune_lora", "tune_raft", "distill"):
        monkeypatch.setattr(Workspace, method, climbed)
    decision = workspace.decide(questions=EXAMPLES / "questions.jsonl", index="support", model="extractive",
                                candidates="base,rag", queries_per_month=1000)
    assert {n for n, c in decision.to_json()["candidates"].items() if c["measured"]} == {"base", "rag"}
