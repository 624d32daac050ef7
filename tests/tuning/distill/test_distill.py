"""``distill`` end to end: a teacher answers over a real index, its checked answers train the small student (SmolLM2,
LoRA, two steps), and the version records the teacher, the counts and its cost; bad input exits 2."""

from __future__ import annotations

import json
import shutil

import pytest

from ragtune.tuning.lora import LoraConfig


@pytest.fixture
def questions(example_docs):
    return example_docs.parent / "questions.jsonl"


def test_a_teacher_that_abstains_on_everything_exits_2(cli, questions):
    code, out, err = cli("distill", "--questions", questions, "--teacher", "fake", "--name", "small")
    assert code == 2 and out == ""
    assert "nothing to train the student on" in " ".join(err.split())
    code, out, _ = cli("models", "--json")
    assert json.loads(out) == []


def test_distill_without_questions_says_what_it_needs(cli):
    code, _, err = cli("distill", "--teacher", "fake", "--name", "small")
    assert code == 2
    assert "distill needs --questions FILE" in " ".join(err.split())


def test_distill_with_an_unknown_index_exits_2(cli, questions):
    code, _, err = cli("distill", "--questions", questions, "--teacher", "fake", "--name", "small", "--index", "nope")
    assert code == 2
    assert "no index named 'nope'" in err


@pytest.mark.slow
def test_the_student_is_trained_on_the_teachers_checked_answers(tmp_path, example_docs, questions, ws_for):
    docs = tmp_path / "docs"
    shutil.copytree(example_docs, docs)
    ws = ws_for(tmp_path / "home", generation={"max_new_tokens": 48})
    ws.ingest([str(docs)], "support")
    student = LoraConfig(data=questions, name="support-small", max_steps=2, batch_size=1, eval_fraction=0, rank=4, alpha=8,
                         targets="attention", logging_steps=1)
    card = ws.distill(questions, "fake", student, index="support")
    source = card.data.source
    assert card.ref == "support-small@v1" and card.kind == "lora"
    assert source["kind"] == "distilled" and source["teacher"] == "fake" and source["index"] == "support"
    assert source["counts"]["asked"] == 26
    assert source["counts"]["kept"] + source["counts"]["abstained"] + source["counts"]["unsupported"] == 26
    assert card.data.rows["train"] == source["counts"]["kept"]
    assert source["teacher_cost"] == {"usd": 0.0, "label": "measured"}  # the fake runs on own hardware
    rows = (ws.models.path(card.ref) / card.files["teacher_rows"]).read_text().splitlines()
    assert len(rows) == source["counts"]["kept"]
    assert "[1]" not in rows[0]


def test_distill_without_questions_asks_the_teacher_synthetic_questions_from_the_index(cli, example_docs):
    cli("ingest", example_docs, "--index", "support")
    code, _, err = cli("distill", "--teacher", "fake:No idea.", "--index", "support", "--name", "small", "--generate", 4)
    assert (code, "all 4 questions failed the checks" in " ".join(err.split())) == (2, True)
