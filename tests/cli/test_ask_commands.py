"""``ragtune ask``: one JSON document with --json, readable text without, and the exit-code contract."""

import json

import pytest
from typer.testing import CliRunner

from ragtune.cli import app

QUESTION = "How long are audit entries kept?"


@pytest.fixture
def run(support_home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray ragtune.toml

    def invoke(*args, env=None):
        return CliRunner().invoke(app, list(args), env={"RAGTUNE_HOME": str(support_home), **(env or {})})

    return invoke


def test_json_is_one_document_with_cited_answer(run):
    result = run("ask", QUESTION, "--index", "support", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert result.stdout.count("\n") == 1
    assert {"answer", "citations", "abstained", "usage", "latency_ms"} <= set(doc)
    assert "400 days" in doc["answer"] and doc["abstained"] is False and doc["model"] == "extractive"
    c = doc["citations"][0]
    assert {"marker", "doc_id", "chunk_id", "source", "page", "text", "support"} <= set(c)
    assert f"[{c['marker']}]" in doc["answer"] and "400 days" in c["text"]
    assert {"retrieval", "generation"} <= set(doc["latency_ms"])


def test_text_output_lists_numbered_sources(run):
    result = run("ask", QUESTION, "--index", "support")
    assert result.exit_code == 0, result.stderr
    answer, sources = result.stdout.split("Sources")
    assert "400 days [" in answer
    assert "audit-log.md" in sources and "support" in sources and sources.strip().startswith("[")


def test_stream_json_prints_deltas_then_the_answer(run):
    result = run("ask", QUESTION, "--index", "support", "-m", "fake", "--stream", "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    deltas, final = rows[:-1], rows[-1]
    assert len(deltas) > 1 and "".join(d["delta"] for d in deltas) == final["raw_answer"]
    assert final["citations"]


def test_malformed_and_invented_citations_are_reported(run):
    result = run("ask", QUESTION, "--index", "support", "-m", "fake:Audit entries are kept for 400 days [source] [12].", "--json")
    doc = json.loads(result.stdout)
    assert {d["marker"] for d in doc["dropped_citations"]} == {"[source]", "[12]"}
    assert "[12]" not in doc["answer"] and "[source]" not in doc["answer"]
    assert doc["citations"] and {c["marker"] for c in doc["citations"]} <= {b["marker"] for b in doc["context"]}


def test_without_index_the_model_answers_alone(run):
    result = run("ask", "What is the capital of France?", "-m", "fake:Paris.", "--json")
    doc = json.loads(result.stdout)
    assert doc["answer"] == "Paris." and doc["index"] is None and doc["citations"] == []


def test_abstention_is_said_plainly(run, tmp_path):
    # the fake embedder's similarities are uncalibrated: judge relevance by question words alone
    (tmp_path / "ragtune.toml").write_text("[answer]\nmin_dense_score = 1.0\n")
    result = run("ask", "What is the boiling point of mercury?", "--index", "support", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["abstained"] is True and doc["citations"] == []
    assert doc["answer"] == "I cannot answer this from the provided documents."
    text = run("ask", "What is the boiling point of mercury?", "--index", "support")
    assert text.stdout.strip() == doc["answer"] and "abstained:" in text.stderr and "Sources" not in text.stdout


@pytest.mark.parametrize("args, code, message", [
    (["-m", "bogus:x"], 2, "unknown model spec 'bogus:x'"),
    (["-m", "anthropic:claude-sonnet-4-5"], 2, "ANTHROPIC_API_KEY"),
    (["--index", "nope"], 2, "no index named 'nope'"),
])
def test_bad_input_exits_2_with_a_message(run, monkeypatch, args, code, message):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    full = ["ask", QUESTION] + (args if "--index" in args else ["--index", "support", *args])
    result = run(*full)
    assert result.exit_code == code and message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_empty_index_and_long_question_exit_2(run, tmp_path, support_home):
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    Workspace(RagtuneConfig.load({"home": str(tmp_path / "ws"), "embedder": {"model": "fake:64"}}, env={})).create_index("empty")
    result = CliRunner().invoke(app, ["ask", QUESTION, "--index", "empty"], env={"RAGTUNE_HOME": str(tmp_path / "ws")})
    assert result.exit_code == 2 and "holds no documents" in result.stderr
    long = run("ask", "audit " * 5000, "--index", "support", "-m", "fake")
    assert long.exit_code == 2 and "window" in long.stderr


def test_unreachable_server_exits_1_naming_the_url(run, tmp_path, closed_port):
    (tmp_path / "ragtune.toml").write_text("[generation]\nmax_retries = 1\ntimeout_s = 5\n")
    url = f"http://127.0.0.1:{closed_port}/v1"
    result = run("ask", QUESTION, "--index", "support", "-m", f"openai:m@{url}")
    assert result.exit_code == 1 and url in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


def test_json_schema_answers_with_json(run, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object", "required": ["days"], "properties": {"days": {"type": "integer"}}}')
    result = run("ask", QUESTION, "-m", 'fake:Here you go: {"days": 400}', "--json-schema", str(schema), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["structured"] == {"text": 'Here you go: {"days": 400}', "value": {"days": 400}, "valid": True, "errors": [],
                                 "attempts": 1, "constrained": False}  # the fake model cannot be constrained: validated
    text = run("ask", QUESTION, "-m", 'fake:{"days": "x"}', "--json-schema", str(schema))
    assert text.exit_code == 0 and '"days": "x"' in text.stdout and "does not fit the schema" in text.stderr
    schema.write_text('{"type": 12}')
    bad = run("ask", QUESTION, "-m", "fake", "--json-schema", str(schema))
    assert bad.exit_code == 2 and "not a valid JSON Schema" in " ".join(bad.stderr.split())
