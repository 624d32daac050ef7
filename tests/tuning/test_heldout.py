"""Training questions are kept out of evaluation: by id, by normalised text and by near-duplicate text."""

from ragtune.evaluation.questions import Question
from ragtune.tuning.data.examples import read_examples
from ragtune.tuning.heldout import read_training_questions, seen_in_training, write_training_questions


def q(qid: str, text: str) -> Question:
    return Question(id=qid, question=text)


SEEN = [{"id": "t1", "text": "How often must API keys be rotated by the admin team?"},
        {"id": None, "text": "What does the audit log record?"}]


def test_matches_by_id_text_and_near_duplicate_and_keeps_the_rest():
    questions = [q("t1", "A different question with the same id"),
                 q("x2", "what does the AUDIT log record"),
                 q("x3", "How often must API keys be rotated by the admin team ?!"),
                 q("x4", "How often must the API keys be rotated by the admin team?"),
                 q("x5", "How often must passwords be changed?"),
                 q("x6", "What is the audit log?")]
    found = seen_in_training(questions, SEEN)
    assert found["t1"] == "same id"
    assert found["x2"] == "same text" and found["x3"] == "same text"
    assert found["x4"].startswith("near-duplicate of training question 't1'")
    assert "x5" not in found and "x6" not in found


def test_questions_file_round_trip_takes_ids_and_question_fields(tmp_path):
    chat, plain = tmp_path / "chat.jsonl", tmp_path / "plain.jsonl"
    chat.write_text('{"id": 7, "question": "Why?", "messages": [{"role": "user", "content": "Context ... Why?"}, '
                    '{"role": "assistant", "content": "Because."}]}\n', encoding="utf-8")
    plain.write_text('{"input": "plain prompt", "output": "plain answer"}\n', encoding="utf-8")
    path = tmp_path / "questions.jsonl"
    assert write_training_questions(path, read_examples(chat).valid + read_examples(plain).valid) == 2
    assert read_training_questions(path) == [{"id": "7", "text": "Why?"}, {"id": None, "text": "plain prompt"}]
    assert read_training_questions(tmp_path / "absent.jsonl") == []
