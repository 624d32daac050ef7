"""Synthetic questions from a real index (examples/docs, fake embedder): round-trip checked, stratified, seeded, marked;
a model's garbage and bad input are counted or refused, never a crash."""

from __future__ import annotations

import json

import pytest

from ragtune.errors import IndexNotFoundError, InputError
from ragtune.evaluation.questions import load_questions
from ragtune.evaluation.synthetic import stratified_order
from ragtune.index.base import ChunkRecord


@pytest.fixture
def ws(eval_ws):
    return eval_ws()


def test_every_kept_question_finds_its_chunk_within_k(ws):
    made = ws.generate_questions("support", 6, k=3)
    found = ws.index("support").search_batch([(r["id"], r["question"]) for r in made.rows], k=3)
    assert all(r["gold_chunk_ids"][0] in [h.chunk_id for h in hits] for r, (_, hits) in zip(made.rows, found))


def test_kept_questions_are_marked_synthetic_with_their_gold_document(ws):
    made = ws.generate_questions("support", 4)
    assert {(r["synthetic"], r["group"] == r["gold_doc_ids"][0]) for r in made.rows} == {(True, True)}


def test_the_written_file_is_a_question_set(ws, tmp_path):
    ws.generate_questions("support", 4, out=tmp_path / "qa.jsonl")
    questions = load_questions(tmp_path / "qa.jsonl")
    assert [q.metadata["synthetic"] for q in questions] == [True] * 4 and all(q.reference_answers for q in questions)


def test_questions_cover_every_document_before_any_gets_a_second(ws):
    made = ws.generate_questions("support", 5)
    assert made.summary()["documents_covered"] == 5


def test_the_same_seed_gives_the_same_questions(ws):
    first = ws.generate_questions("support", 5, seed=3)
    again = ws.generate_questions("support", 5, seed=3)
    assert [r["question"] for r in first.rows] == [r["question"] for r in again.rows]


def test_stratified_order_takes_one_chunk_per_document_per_round():
    chunks = [ChunkRecord(f"{d}#{i}", d, i, "text", 0, 4, None, (), source=d, doc_type="md") for d in "abc" for i in range(3 if d == "a" else 1)]
    assert sorted(c.doc_id for c in stratified_order(chunks, 0)[:3]) == ["a", "b", "c"]


def test_a_model_that_replies_garbage_is_counted_not_a_crash(ws):
    made = ws.generate_questions("support", 3, model="fake:no idea, sorry")
    assert (made.rows, made.rejected["unparseable"]) == ([], made.tried)


def test_an_answer_the_chunk_does_not_support_is_rejected(ws):
    reply = json.dumps({"question": "What is the capital city of France?", "answer": "Paris, on the river Seine, has been the capital since 987."})
    made = ws.generate_questions("support", 2, model=f"fake:{reply}", k=100)
    assert (made.rejected["unsupported"], made.rejected["duplicate"]) == (1, made.tried - 1)


def test_garbage_with_an_out_file_writes_nothing_and_names_the_index(ws, tmp_path):
    with pytest.raises(InputError, match="index 'support': no question passed the round trip"):
        ws.generate_questions("support", 2, model="fake:garbage", out=tmp_path / "qa.jsonl")
    assert not (tmp_path / "qa.jsonl").exists()


@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one_is_refused(ws, n):
    with pytest.raises(InputError, match="n: must be a whole number of at least 1"):
        ws.generate_questions("support", n)


def test_an_unknown_index_is_refused(ws):
    with pytest.raises(IndexNotFoundError):
        ws.generate_questions("nope", 3)


def test_an_empty_index_is_refused(ws):
    ws.create_index("empty")
    with pytest.raises(InputError, match="index 'empty' holds no chunks"):
        ws.generate_questions("empty", 3)


def test_an_existing_out_file_is_kept_without_force(ws, tmp_path):
    out = tmp_path / "qa.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(InputError, match="--force"):
        ws.generate_questions("support", 2, out=out)
    assert out.read_text() == "keep me\n"


def test_force_replaces_an_existing_out_file(ws, tmp_path):
    out = tmp_path / "qa.jsonl"
    out.write_text("old\n")
    ws.generate_questions("support", 2, out=out, force=True)
    assert len(load_questions(out)) == 2


def test_an_answer_that_only_restates_its_question_is_rejected(ws):
    reply = "Question: How do you view the audit log entries?\nAnswer: To view the audit log entries, you can follow these."
    made = ws.generate_questions("support", 1, model=f"fake:{reply}", attempts_per_question=1)
    assert made.rejected["restates_question"] == 1
