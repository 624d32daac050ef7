"""Answer caps from the reference answers' lengths: derived per model, recorded in the run, applied to each answer."""

from ragtune.evaluation.answer_cap import answer_cap
from ragtune.evaluation.config import EvalConfig
from ragtune.evaluation.questions import Question

from .conftest import write_jsonl


def words(text: str) -> int:
    return len(text.split())


def test_the_cap_is_a_margin_over_the_longest_reference():
    questions = [Question("a", "q", reference_answers=["one two three"]),
                 Question("b", "q", reference_answers=[" ".join(["w"] * 40)])]
    assert answer_cap(questions, words, ceiling=512).max_new_tokens == 76  # 1.5 x 40 + 16


def test_short_references_get_the_floor():
    assert answer_cap([Question("a", "q", reference_answers=["Paris"])], words, ceiling=512).max_new_tokens == 32


def test_the_configured_maximum_stays_the_ceiling():
    assert answer_cap([Question("a", "q", reference_answers=[" ".join(["w"] * 400)])], words, ceiling=96).max_new_tokens == 96


def test_a_reference_output_counts_as_compact_json():
    question = Question("a", "q", reference_output={"intent": "play music", "slots": {"artist": "the beatles"}})
    # '{"intent":"play' 'music","slots":{"artist":"the' 'beatles"}}'
    assert answer_cap([question], words, ceiling=512).longest_reference_tokens == 3


def test_no_references_no_cap():
    assert answer_cap([Question("a", "q")], words, ceiling=512) is None


REPLY = " ".join(f"w{i}" for i in range(200))
LONG_REFERENCE = {"id": "a", "question": "Say many words.", "reference_answer": " ".join(["x"] * 20)}


def test_an_eval_run_caps_answers_and_records_the_cap(eval_ws, tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [LONG_REFERENCE])
    result = eval_ws().evaluate(path, EvalConfig.create(variants="base", model=f"fake:{REPLY}", cache=False))
    assert result.config["answer_caps"][f"fake:{REPLY}"]["max_new_tokens"] == 46
    assert result.rows[0]["output_tokens"] == 46


def test_without_the_cap_every_answer_gets_max_new_tokens(eval_ws, tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [LONG_REFERENCE])
    config = EvalConfig.create(variants="base", model=f"fake:{REPLY}", cache=False, answer_cap=False)
    result = eval_ws().evaluate(path, config)
    assert result.config["answer_caps"] == {} and result.rows[0]["output_tokens"] == 96
