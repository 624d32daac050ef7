import json

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.questions import load_beir, load_questions, load_squad


def write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_load_questions_with_references(tmp_path):
    p = write(tmp_path / "q.jsonl", [
        {"id": "1", "question": "Port?", "reference_answer": "8420", "gold_doc_ids": ["install"], "category": "ops"},
        {"id": "2", "question": "Unknowable?", "answerable": False},
    ])
    q1, q2 = load_questions(p)
    assert q1.reference_answers == ["8420"] and q1.gold_doc_ids == ["install"] and q1.metadata == {"category": "ops"}
    assert q2.answerable is False and q2.reference_answers == []


@pytest.mark.parametrize("row,message", [
    ({"id": "1"}, ":1: field 'question' is missing"),
    ({"question": "x"}, ":1: field 'id' is missing"),
    ({"id": "1", "question": "x", "answerable": "yes"}, "'answerable' must be true or false"),
    ({"id": "1", "question": "x", "schema": {"type": 5}}, "not a valid JSON Schema"),
])
def test_bad_rows_name_file_line_field(tmp_path, row, message):
    p = write(tmp_path / "bad.jsonl", [row])
    with pytest.raises(InputError, match=message):
        load_questions(p)


def test_duplicate_ids(tmp_path):
    p = write(tmp_path / "d.jsonl", [{"id": "1", "question": "a"}, {"id": "1", "question": "b"}])
    with pytest.raises(InputError, match=":2: duplicate id '1'"):
        load_questions(p)


def test_beir_import_real_scifact(shared_data):
    questions, qrels = load_beir(shared_data / "scifact", "test")
    assert len(questions) == 300
    q = questions[0]
    assert q.gold_doc_ids and set(q.gold_doc_ids) <= set(qrels[q.id])


def test_squad_import(tmp_path):
    p = tmp_path / "squad.json"
    p.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "a", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}]},
        {"id": "b", "question": "Where is Rome?", "answers": [], "is_impossible": True}]}]}]}))
    a, b = load_squad(p)
    assert a.reference_answers == ["France"] and a.reference_contexts == ["Paris is in France."]
    assert b.answerable is False


def test_a_number_for_a_reference_answer_is_named_by_line(tmp_path):
    from ragtune.errors import InputError
    from ragtune.evaluation.questions import load_questions

    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "Q?", "reference_answer": "x"}\n'
                    '{"id": "b", "question": "How many?", "reference_answer": 123}\n')
    import pytest

    with pytest.raises(InputError, match="q.jsonl.*2.*'reference_answer' must be a string"):
        load_questions(path)
