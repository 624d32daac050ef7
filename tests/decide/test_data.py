"""Splits: seeded and recorded, training rows never scored, examples held out as format questions."""

import pytest

from ragtune.decide.config import DecideConfig, parse_candidates, parse_duration
from ragtune.decide.data import FORMAT, KNOWLEDGE, load_data
from ragtune.errors import InputError


def test_questions_split_when_tuned_candidates_train(questions_file):
    config = DecideConfig(questions=questions_file, seed=3)
    data = load_data(config, split_questions=True)
    train_ids = {q.id for q in data.train_questions}
    assert train_ids and not train_ids & {q.id for q in data.test}
    assert data.split["questions"]["train_ids"] == [q.id for q in data.train_questions]
    assert load_data(config, split_questions=True).split == data.split  # seeded: the same split again
    assert {q.id for q in load_data(config, split_questions=False).test} >= train_ids  # nothing trains: all scored
    unanswerable = [q for q in data.test if not q.answerable]
    assert unanswerable  # questions without a reference are always held out


def test_examples_become_format_questions_with_the_inferred_schema(tickets_file):
    data = load_data(DecideConfig(examples=tickets_file, max_format_questions=10), split_questions=True)
    assert data.tasks() == [FORMAT] and len(data.test) <= 10
    q = data.test[0]
    assert q.id.startswith("example:") and q.reference_output and q.schema["type"] == "object"
    held = set(data.split["examples"]["held_out_lines"])
    assert not held & {e.line for e in data.train_examples}


def test_near_duplicates_of_training_rows_are_dropped(tmp_path, jsonl):
    rows = [{"id": f"q{i}", "question": f"For how many days are the audit log entries of the vault kept in the region number {i}?",
             "reference_answer": "400 days"} for i in range(6)]
    rows += [{"id": "other", "question": "Which port does the server listen on?"}]
    path = jsonl(tmp_path / "q.jsonl", rows)
    data = load_data(DecideConfig(questions=path, holdout=0.5), split_questions=True)
    assert data.split.get("dropped") and all(d["why"].startswith("near-duplicate") for d in data.split["dropped"])
    assert not {d["id"] for d in data.split["dropped"]} & {q.id for q in data.test}
    assert [q.id for q in data.test] == ["other"]


def test_examples_with_errors_are_reported_by_line(tmp_path, jsonl, questions_file):
    bad = jsonl(tmp_path / "ex.jsonl", [{"input": "a", "output": {"k": 1}}, "{not json", {"input": "b", "output": {"k": 2}}])
    data = load_data(DecideConfig(questions=questions_file, examples=bad), split_questions=True)
    assert "line 2" in data.examples_error and data.tasks() == [KNOWLEDGE]


def test_no_questions_refuses_and_points_to_advise(tmp_path, jsonl):
    bad = jsonl(tmp_path / "ex.jsonl", ["{not json"])
    with pytest.raises(InputError, match="ragtune advise"):
        load_data(DecideConfig(examples=bad), split_questions=True)


def test_durations_and_candidates_parse():
    assert parse_duration("20m") == 1200 and parse_duration("90s") == 90 and parse_duration("1.5h") == 5400
    assert parse_duration("45") == 45
    with pytest.raises(InputError, match="--budget 'soon'"):
        parse_duration("soon")
    assert [c.value for c in parse_candidates("rag+ft, base")] == ["base", "rag+ft"]
    with pytest.raises(InputError, match="unknown candidate 'lora'"):
        parse_candidates("base,lora")
