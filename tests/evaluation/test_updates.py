"""Knowledge updates without retraining: ingest to T1, ask; ingest to T2, ask again; who moved to the new truth."""

import datetime as dt

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.updates import TimedQuestionFields, UpdatesConfig, changed_questions, parse_date, states

from .conftest import write_jsonl

DOCS = [
    {"_id": "d1", "source_date": "3/1/2021", "text": "In March 2021, after a long search by the board, Alice Smith was appointed "
                                                      "chief executive of Acme Corp, the widget maker based in Leeds."},
    {"_id": "d2", "source_date": "2023-02-01", "text": "Bob Jones is the chief executive of Acme Corp."},
    {"_id": "d3", "source_date": "2020-01-01", "text": "Zed Widgets is headquartered in Oslo, Norway."},
]
QUESTIONS = [
    {"qid": 1, "question": "Who is the chief executive of Acme Corp?", "answer": "Alice Smith",
     "valid_from": "2021-03-01T00:00:00Z", "valid_to": "2023-02-01T00:00:00Z"},
    {"qid": 2, "question": "Who is the chief executive of Acme Corp?", "answer": "Bob Jones",
     "valid_from": "2023-02-01T00:00:00Z", "valid_to": None},
    {"qid": 3, "question": "Where is Zed Widgets headquartered?", "answer": "Oslo", "valid_from": "2019-01-01", "valid_to": None},
    {"qid": 4, "question": "Is Alice Smith the chief executive of Acme Corp?", "answer": "yes",
     "valid_from": "2021-03-01", "valid_to": "2023-02-01"},
    {"qid": 5, "question": "Is Alice Smith the chief executive of Acme Corp?", "answer": "no", "valid_from": "2023-02-01 00:00:00"},
]


@pytest.fixture
def dated(tmp_path):
    return write_jsonl(tmp_path / "docs.jsonl", DOCS), write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)


def config(dated, **fields):
    docs, questions = dated
    return UpdatesConfig.create(docs=docs, questions=questions, t1=dt.date(2022, 1, 1), t2=dt.date(2024, 1, 1),
                                model="extractive", mode="lexical", **fields)


def test_changed_questions_and_what_an_answer_states(dated):
    changed, total = changed_questions(dated[1], TimedQuestionFields(), dt.date(2022, 1, 1), dt.date(2024, 1, 1))
    assert total == 3 and [(c.question, c.old, c.new) for c in changed] == [
        ("Who is the chief executive of Acme Corp?", ["Alice Smith"], ["Bob Jones"]),
        ("Is Alice Smith the chief executive of Acme Corp?", ["yes"], ["no"])]
    assert states("Acme named Bob Jones [2].", "Bob Jones") and not states("Alice Smith runs it.", "Bob Jones")
    assert states("No, she left in 2023.", "no") and not states("There is no record of that.", "yes")
    assert not states("a member of the Maine House of Representatives", "member of the State Senate of Maine")
    assert states("She became Minister of Immigration and Citizenship", "Minister of Immigration, Refugees and Citizenship")
    assert parse_date("7/19/2011", "x") == dt.date(2011, 7, 19) and parse_date("2022-06-14 00:00:00", "x") == dt.date(2022, 6, 14)
    assert parse_date("01/2024", "x") == dt.date(2024, 1, 1) and parse_date("2024", "x") == dt.date(2024, 1, 1)
    assert parse_date("2022-07-06T00:00:00Z", "x") == dt.date(2022, 7, 6) and parse_date("", "x") is None


def test_rag_moves_to_the_new_truth_after_the_update(ws_for, tmp_path, dated):
    ws = ws_for(tmp_path / "home")
    result = ws.evaluate_updates(config(dated, skip_yes_no=True))
    assert result.config["documents_t1"] == 2 and result.config["documents_t2"] == 3
    assert result.config["questions_changed"] == 1 and list(result.variants) == ["rag"]
    row = result.rows[0]
    assert "Alice Smith" in row["answer_t1"] and "Bob Jones" not in row["answer_t1"] and "Bob Jones" in row["answer_t2"]
    rag = result.variants["rag"]
    assert rag["old_truth_t1"]["mean"] == 1.0 and rag["new_truth_t2"]["mean"] == 1.0 and rag["moved"]["mean"] == 1.0
    assert rag["stale_t2"]["mean"] == 0.0
    assert any("ft side not measured" in n for n in result.notes)
    # the index holds what was dated up to T2, and a second run re-syncs to T1 then T2 again
    assert {d.doc_id for d in ws.index("updates").documents()} == {"d1", "d2", "d3"}
    again = ws_for(tmp_path / "home").evaluate_updates(config(dated, skip_yes_no=True))
    assert again.variants == result.variants


def test_the_tuned_model_trained_at_t1_does_not_move(eval_ws, dated, tuned_model):
    result = eval_ws().evaluate_updates(config(dated, tuned="support-ft@v1"))
    assert list(result.variants) == ["rag", "ft"] and result.config["questions_asked"] == 2
    ft = [r for r in result.rows if r["variant"] == "ft"]
    assert all(r["answer_t1"] == r["answer_t2"] == tuned_model["support-ft@v1"] for r in ft)
    assert result.variants["ft"]["moved"]["mean"] == 0.0 and result.variants["ft"]["new_truth_t2"]["mean"] == 0.0


def test_bad_input(eval_ws, dated, tmp_path):
    with pytest.raises(InputError, match="must come after T1"):
        UpdatesConfig.create(docs=dated[0], questions=dated[1], t1=dt.date(2024, 1, 1), t2=dt.date(2022, 1, 1))
    with pytest.raises(InputError, match="index 'support' holds other documents"):
        eval_ws().evaluate_updates(config(dated, index="support"))
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"_id": "x", "source_date": "yesterday", "text": "t"}])
    with pytest.raises(InputError, match="bad.jsonl:1: field 'source_date': 'yesterday' is not a date"):
        eval_ws().evaluate_updates(config((bad, dated[1])))
    still = write_jsonl(tmp_path / "q.jsonl", [QUESTIONS[2]])
    with pytest.raises(InputError, match="no question changed its answer"):
        eval_ws().evaluate_updates(config((dated[0], still)))
    assert not eval_ws().store.exists("updates")
