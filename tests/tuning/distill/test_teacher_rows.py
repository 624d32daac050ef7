"""The teacher's answers become student rows only when they pass the checks; every dropped answer is counted
with its reason, and a teacher whose answers all fail is a clear error."""

from __future__ import annotations

import json

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.questions import Question
from ragtune.generation.answer import Answer
from ragtune.generation.base import Usage
from ragtune.generation.citations import Citation
from ragtune.generation.structured import StructuredResult
from ragtune.tuning.distill import rejection, student_output, teacher_rows

SCHEMA = {"type": "object", "properties": {"intent": {"type": "string"}}, "required": ["intent"]}


def _citation():
    return Citation(marker=1, doc_id="docs/sla.md", chunk_id="docs/sla.md#0", source="docs/sla.md", page=None, text="t", quote="t",
                    support=0.9)


def test_an_abstention_is_dropped():
    assert rejection(Answer("q", "I cannot answer this.", abstained=True), over_index=True, schema=None) == "abstained"


def test_an_answer_over_an_index_without_citations_is_unsupported():
    assert rejection(Answer("q", "Ninety days."), over_index=True, schema=None) == "unsupported"


def test_an_answer_that_fell_back_to_quoting_is_unsupported():
    answer = Answer("q", "Keys rotate every 90 days [1].", citations=[_citation()], fallback="extractive")
    assert rejection(answer, over_index=True, schema=None) == "unsupported"


def test_a_cited_answer_passes():
    assert rejection(Answer("q", "Keys rotate every 90 days [1].", citations=[_citation()]), over_index=True, schema=None) is None


def test_an_answer_that_does_not_fit_the_schema_is_invalid():
    answer = Answer("q", "{}", structured=StructuredResult(text="{}", value={}, valid=False, errors=["'intent' is required"]))
    assert rejection(answer, over_index=False, schema=SCHEMA) == "invalid"


def test_the_student_learns_the_text_without_citation_markers():
    assert student_output(Answer("q", "Keys rotate every 90 days [1]. The old key works for 24 hours [1, 2].")) == \
        "Keys rotate every 90 days. The old key works for 24 hours."


def test_rows_keep_the_passing_answers_and_count_the_rest(tmp_path):
    questions = [Question(id=f"q{i}", question=f"question {i}?") for i in range(4)]
    answers = {"question 0?": Answer("", "Yes [1].", citations=[_citation()], usage=Usage(100, 10)),
               "question 1?": Answer("", "I cannot answer this.", abstained=True, usage=Usage(90, 8)),
               "question 2?": Answer("", "Unbacked claim.", usage=Usage(80, 5)),
               "question 3?": Answer("", "No [1].", citations=[_citation()], usage=Usage(70, 4))}
    made = teacher_rows(questions, lambda q: answers[q.question], tmp_path, over_index=True)
    assert made.counts == {"asked": 4, "kept": 2, "abstained": 1, "invalid": 0, "unsupported": 1}
    assert [json.loads(line) for line in made.rows.read_text().splitlines()] == [
        {"input": "question 0?", "output": "Yes."}, {"input": "question 3?", "output": "No."}]
    assert [json.loads(line)["reason"] for line in made.dropped.read_text().splitlines()] == ["abstained", "unsupported"]
    assert (made.input_tokens, made.output_tokens) == (340, 27)


def test_a_teacher_that_abstains_on_everything_is_an_error(tmp_path):
    questions = [Question(id=f"q{i}", question=f"question {i}?") for i in range(3)]
    with pytest.raises(InputError, match="all 3 questions failed the checks \\(3 abstained\\): nothing to train"):
        teacher_rows(questions, lambda q: Answer(q.question, "I cannot answer.", abstained=True), tmp_path, over_index=False)
    assert not (tmp_path / "teacher_rows.jsonl").exists()
