"""``ragtune questions generate`` from the command line, and ``decide`` on what it writes: the decision says its
questions are synthetic in its JSON, on the terminal and in the Markdown report; bad input exits 2 naming the field."""

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def support(cli):
    code, _, err = cli("ingest", EXAMPLES / "docs", "--index", "support")
    assert code == 0, err


@pytest.fixture
def qa(cli, support, tmp_path) -> Path:
    out = tmp_path / "qa.jsonl"
    code, _, err = cli("questions", "generate", "--index", "support", "--n", 8, "--out", out)
    assert code == 0, err
    return out


def test_generate_writes_the_rows_and_reports_the_counts(cli, support, tmp_path):
    code, out, _ = cli("questions", "generate", "--index", "support", "--n", 5, "--out", tmp_path / "qa.jsonl", "--json")
    doc = json.loads(out)
    assert (code, doc["generated"], doc["model"], doc["tried"]) == (0, 5, "extractive", 5)


def test_generate_reports_progress_on_stderr(cli, support, tmp_path):
    _, _, err = cli("questions", "generate", "--index", "support", "--n", 3, "--out", tmp_path / "qa.jsonl")
    assert "questions: 3/3 kept" in err


def test_decide_on_synthetic_questions_says_so_in_its_json(cli, qa):
    code, out, err = cli("decide", "--index", "support", "-q", qa, "-m", "extractive", "--candidates", "base,rag", "--json")
    doc = json.loads(out)
    assert (code, doc["verdict"]["synthetic_questions"]) == (0, 8), err


def test_decide_on_synthetic_questions_warns_on_the_terminal(cli, qa):
    _, _, err = cli("decide", "--index", "support", "-q", qa, "-m", "extractive", "--candidates", "base,rag")
    assert "8 of 8 questions are synthetic" in " ".join(err.split())


def test_decide_on_synthetic_questions_says_so_in_the_markdown_report(cli, qa, tmp_path):
    cli("decide", "--index", "support", "-q", qa, "-m", "extractive", "--candidates", "base,rag", "--report", tmp_path / "d.md")
    assert "questions are synthetic" in (tmp_path / "d.md").read_text()


def test_decide_again_from_its_rows_still_says_synthetic(cli, qa, tmp_path):
    cli("decide", "--index", "support", "-q", qa, "-m", "extractive", "--candidates", "base,rag", "--out", tmp_path / "d.json")
    code, out, _ = cli("decide", "--rows", tmp_path / "d.json", "--json")
    assert json.loads(out)["verdict"]["synthetic_questions"] == 8


@pytest.mark.parametrize("n", ["0", "-2"])
def test_n_below_one_exits_2_naming_it(cli, support, tmp_path, n):
    code, _, err = cli("questions", "generate", "--index", "support", "--n", n, "--out", tmp_path / "qa.jsonl")
    assert (code, "--n" in err) == (2, True)


def test_an_unknown_index_exits_2(cli, tmp_path):
    code, _, err = cli("questions", "generate", "--index", "nope", "--out", tmp_path / "qa.jsonl")
    assert (code, "'nope'" in err) == (2, True)


def test_an_empty_index_exits_2(cli, tmp_path):
    (tmp_path / "blank").mkdir()
    cli("ingest", tmp_path / "blank", "--index", "empty")
    code, _, err = cli("questions", "generate", "--index", "empty", "--out", tmp_path / "qa.jsonl")
    assert (code, "holds no chunks" in err) == (2, True)


def test_an_existing_out_file_exits_2_unless_forced(cli, support, tmp_path):
    (tmp_path / "qa.jsonl").write_text("mine\n")
    code, _, err = cli("questions", "generate", "--index", "support", "--n", 2, "--out", tmp_path / "qa.jsonl")
    assert (code, "--force" in err, (tmp_path / "qa.jsonl").read_text()) == (2, True, "mine\n")


def test_a_model_that_replies_garbage_exits_2_with_the_rejects_counted(cli, support, tmp_path):
    code, _, err = cli("questions", "generate", "--index", "support", "--n", 2, "-m", "fake:garbage", "--out",
                       tmp_path / "qa.jsonl")
    assert (code, "unparseable 6" in " ".join(err.split())) == (2, True)


def test_distill_without_questions_or_index_names_both(cli):
    code, _, err = cli("distill", "--teacher", "fake", "--name", "small")
    assert (code, "--index NAME" in " ".join(err.split())) == (2, True)
