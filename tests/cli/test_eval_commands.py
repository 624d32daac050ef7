"""``ragtune eval``: the default command with its reports, compare, retrieval, updates, and the exit-code contract."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from ragtune.cli import app
from ragtune.generation import FakeGenerator, generators

QUESTIONS = [
    {"id": "retention", "question": "How long are audit entries kept?", "reference_answer": "400 days",
     "gold_doc_ids": ["audit-log.md"]},
    {"id": "port", "question": "Which port does the server listen on by default?", "reference_answer": "8420",
     "gold_doc_ids": ["install-guide.txt"]},
    {"id": "mercury", "question": "What is the boiling point of mercury?", "answerable": False},
]


def said(result) -> str:
    """stderr with line wrapping undone."""
    return " ".join(result.stderr.split())


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def run(support_home, tmp_path):
    home = tmp_path / "ws"
    shutil.copytree(support_home, home)

    def invoke(*args):
        return CliRunner().invoke(app, [str(a) for a in args], env={"RAGTUNE_HOME": str(home), "RAGTUNE_EMBEDDER": "fake:64"})

    return invoke


@pytest.fixture
def questions(tmp_path):
    return jsonl(tmp_path / "q.jsonl", QUESTIONS)


def test_eval_writes_results_report_and_summary(run, questions, tmp_path):
    out, html, md = tmp_path / "results" / "run1.json", tmp_path / "run1.html", tmp_path / "run1.md"
    result = run("eval", questions, "--index", "support", "--variants", "base,rag", "-m", "extractive",
                 "--out", out, "--report", html, "--markdown", md)
    assert result.exit_code == 0, result.stderr
    assert "token F1" in result.stdout and "base" in result.stdout and "rag" in result.stdout
    assert "6 answers generated, 0 from the cache" in said(result) and f"wrote {out}" in said(result)
    doc = json.loads(out.read_text())
    assert doc["config"]["index"] == "support" and doc["config"]["format_version"] == 1
    assert {"token_f1", "exact_match", "faithfulness", "citation_precision", "latency_ms_p50", "input_tokens",
            "output_tokens", "cost_per_1k_queries"} <= set(doc["aggregates"]["rag"])
    assert html.read_text().count("<svg") > 5 and md.read_text().startswith("## ragtune eval: q.jsonl (3 questions)")
    again = run("eval", questions, "--index", "support", "--variants", "base,rag", "-m", "extractive", "--json")
    assert again.exit_code == 0 and again.stdout.count("\n") == 1
    assert json.loads(again.stdout)["config"]["run"]["cached"] == 6


def test_compare_two_runs(run, questions, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("eval", questions, "-i", "support", "--variants", "rag", "-m", "extractive", "--out", a).exit_code == 0
    assert run("eval", questions, "-i", "support", "--variants", "rag", "-m", "fake:I do not know.", "--out", b).exit_code == 0
    result = run("eval", "compare", a, b, "--json", "--markdown", tmp_path / "cmp.md")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    f1 = next(c for c in doc["changes"] if c["metric"] == "token_f1")
    assert f1["variant"] == "rag" and f1["delta"] < 0 and f1["paired"]
    assert doc["settings_changed"]["model"] == {"a": "extractive", "b": "fake:I do not know."}
    assert "token F1" in (tmp_path / "cmp.md").read_text()
    human = run("eval", "compare", a, b)
    assert human.exit_code == 0 and "token F1" in human.stdout and "setting model" in said(human)


def test_retrieval_scores_with_intervals(run, questions, tmp_path):
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    jsonl(beir / "queries.jsonl", [{"_id": "q1", "text": "How long are audit entries kept?"},
                                   {"_id": "q2", "text": "Which port does the server listen on?"}])
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tdocs/audit-log.md\t1\nq2\tdocs/install-guide.txt\t1\n")
    result = run("eval", "retrieval", "--index", "support", "--beir", beir, "--k", "3", "--recall-k", "5", "--mode", "lexical", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["judged"] == 2 and set(doc["metrics"]) == {"ndcg@3", "recall@5", "mrr@3"}
    assert doc["metrics"]["recall@5"]["mean"] == 1.0 and len(doc["metrics"]["mrr@3"]["ci95"]) == 2
    by_questions = run("eval", "retrieval", "--index", "support", "--questions", questions, "--mode", "lexical")
    assert by_questions.exit_code == 0 and "ndcg@10" in by_questions.stdout
    assert run("eval", "retrieval", "--index", "support").exit_code == 2


def test_updates_from_the_command_line(run, tmp_path):
    docs = jsonl(tmp_path / "docs.jsonl", [
        {"id": "a", "published": "2021-01-05", "body": "In 2021, after a long search, Alice Smith became chief executive of Acme Corp in Leeds."},
        {"id": "b", "published": "2023-03-01", "body": "Bob Jones is the chief executive of Acme Corp."}])
    qs = jsonl(tmp_path / "timed.jsonl", [
        {"q": "Who is the chief executive of Acme Corp?", "a": "Alice Smith", "from": "2021-01-01", "to": "2023-03-01"},
        {"q": "Who is the chief executive of Acme Corp?", "a": "Bob Jones", "from": "2023-03-01"}])
    result = run("eval", "updates", "--docs", docs, "--questions", qs, "--t1", "2022-01-01", "--t2", "2024-01-01",
                 "-m", "extractive", "--mode", "lexical", "--id-field", "id", "--text-field", "body", "--date-field", "published",
                 "--question-field", "q", "--answer-field", "a", "--valid-from-field", "from", "--valid-to-field", "to",
                 "--out", tmp_path / "u.json", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["variants"]["rag"]["moved"]["mean"] == 1.0 and "ft side not measured" in doc["notes"][0]
    assert json.loads((tmp_path / "u.json").read_text())["config"]["t2"] == "2024-01-01"
    bad = run("eval", "updates", "--docs", docs, "--questions", qs, "--t1", "2022-13-01", "--t2", "2024-01-01")
    assert bad.exit_code == 2 and "--t1 '2022-13-01'" in said(bad)


@pytest.mark.parametrize("extra, message", [
    (["--variants", "base,gpt"], "unknown variant 'gpt'"),
    (["--variants", "base,ft"], "variant 'ft' needs a tuned model: give --tuned NAME[@vN]"),
    (["--variants", "rag"], "variant 'rag' needs an index"),
    (["--variants", "ft", "--tuned", "ghost"], "ghost"),
    (["--variants", "base", "--report", "r.txt"], "the format is the extension, .html or .md"),
])
def test_bad_settings_exit_2(run, questions, extra, message):
    result = run("eval", questions, "-m", "extractive", *extra)
    assert result.exit_code == 2 and message in said(result) and result.stdout == ""
    assert "Traceback" not in said(result)


def test_bad_files_exit_2(run, questions, tmp_path):
    no_question = jsonl(tmp_path / "nq.jsonl", [{"id": "1", "question": "ok?"}, {"id": "2", "answer": "x"}])
    result = run("eval", no_question, "-m", "extractive", "--variants", "base")
    assert result.exit_code == 2 and "nq.jsonl:2: field 'question' is missing" in said(result)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "objekt"}))
    result = run("eval", questions, "-m", "extractive", "--variants", "base", "--json-schema", schema)
    assert result.exit_code == 2 and "not a valid JSON Schema" in said(result)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"config": {"format_version": 99}, "rows": [], "aggregates": {}}))
    result = run("eval", "compare", old, old)
    assert result.exit_code == 2 and "format_version 99; this ragtune reads format_version 1" in said(result)


def test_an_interrupted_run_exits_1_and_resumes(run, questions, register_plugin):
    state = {"calls": 0}

    class Flaky(FakeGenerator):
        def generate(self, prompt, options=None, on_text=None):
            state["calls"] += 1
            if state.get("fail") and state["calls"] > 2:
                raise ConnectionError("server gone")
            return super().generate(prompt, options, on_text)

    register_plugin(generators, "flaky", lambda rest, config, home: Flaky(spec="flaky"))
    state["fail"] = True
    result = run("eval", questions, "-m", "flaky", "--variants", "base")
    assert result.exit_code == 1 and "ConnectionError: server gone" in said(result) and "resume" in said(result)
    state.update(fail=False, calls=0)
    resumed = run("eval", questions, "-m", "flaky", "--variants", "base", "--json")
    assert resumed.exit_code == 0 and state["calls"] == 1
    assert json.loads(resumed.stdout)["config"]["run"] == {**json.loads(resumed.stdout)["config"]["run"], "cached": 2, "generated": 1}
