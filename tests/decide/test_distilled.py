"""``decide --teacher``: the candidates ``distilled`` (the decide model trained on the teacher's checked answers) and
``teacher``, scored on the same held-out questions as the others and costed with the teacher's one-off cost labelled."""

import pytest

from ragtune.decide.config import DecideConfig
from ragtune.costs.candidates import Training
from ragtune.decide.costs import candidate_cost
from ragtune.decide.distilled import restore
from ragtune.generation.base import PricingBasis
from ragtune.errors import InputError

ROWS = [{"id": f"q{i}", "latency_ms": 100.0, "input_tokens": 200, "output_tokens": 20} for i in range(4)]


def test_the_teacher_is_measured_and_a_student_that_cannot_be_trained_is_skipped_with_the_reason(support, questions_file):
    d = support.decide(questions=questions_file, index="support", model="extractive", candidates="base,rag", teacher="fake")
    doc = d.to_json()
    assert list(doc["candidates"]) == ["base", "rag", "distilled", "teacher"]
    distilled, teacher = doc["candidates"]["distilled"], doc["candidates"]["teacher"]
    assert not distilled["measured"] and "the student extractive" in distilled["skipped_reason"]
    assert teacher["measured"] and teacher["model"] == "fake"
    assert teacher["n"] == doc["candidates"]["rag"]["n"] == doc["split"]["test"]  # the same held-out questions
    assert {r["id"] for r in d.rows if r["candidate"] == "teacher"} == {r["id"] for r in d.rows if r["candidate"] == "rag"}
    assert teacher["verdict"] in ("as good", "worse", "not yet known")


def test_a_decision_with_the_teacher_is_decided_again_from_its_rows(support, questions_file, tmp_path):
    d = support.decide(questions=questions_file, index="support", model="extractive", candidates="rag", teacher="fake")
    again = support.decide_rows(d.write(tmp_path / "decide.json"), index="support")
    assert list(again.candidates) == ["rag", "teacher"]
    assert again.candidates["teacher"].score == d.candidates["teacher"].score


def test_the_reports_show_the_teacher(support, questions_file, tmp_path):
    from ragtune.api import write_decision_report

    d = support.decide(questions=questions_file, index="support", model="extractive", candidates="rag", teacher="fake")
    assert "teacher" in write_decision_report(d, tmp_path / "decide.md").read_text()
    assert "teacher" in write_decision_report(d, tmp_path / "decide.html").read_text()


def test_without_a_teacher_no_candidate_is_added(support, questions_file):
    d = support.decide(questions=questions_file, index="support", model="extractive", candidates="rag")
    assert list(d.candidates) == ["rag"]


def test_an_unknown_teacher_fails_before_anything_runs(support, questions_file):
    with pytest.raises(InputError):
        support.decide(questions=questions_file, index="support", model="extractive", candidates="rag", teacher="nope:x")


def _cost(training: Training | None):
    return candidate_cost("rag+ft", "tuned:s@v1", PricingBasis.machine_seconds, ROWS, DecideConfig(questions=None),
                          training, 0.0, "stated")


def test_the_teachers_measured_cost_is_a_labelled_one_off():
    plain = _cost(Training("s@v1", 36.0, "cpu"))
    record = {"ref": "s@v1", "seconds": 36.0, "device": "cpu", "teacher": "openai:gpt-4.1", "teacher_usd": 0.5,
              "teacher_tokens": {"input": 100_000, "output": 20_000}}
    distilled = _cost(restore(record, PricingBasis.per_token))
    assert distilled.one_off_usd == pytest.approx(plain.one_off_usd + 0.5)
    assert distilled.figures.items["teacher_usd"].basis == "measured"
    assert "100,000 input and 20,000 output tokens" in distilled.figures.items["teacher_usd"].source
    assert distilled.per_query_usd == plain.per_query_usd  # answering costs the same: only the one-off differs


def test_a_teacher_without_a_price_makes_the_total_unknown_not_zero():
    record = {"ref": "s@v1", "seconds": 36.0, "device": "cpu", "teacher": "openai:unlisted", "teacher_usd": None}
    cost = _cost(restore(record, PricingBasis.per_token))
    assert cost.figures.items["teacher_usd"].basis == "unknown"
    assert cost.total_usd is None


def test_a_teacher_on_own_hardware_is_labelled_assumed():
    record = {"ref": "s@v1", "seconds": 36.0, "device": "cpu", "teacher": "fake", "teacher_usd": 0.0}
    assert _cost(restore(record, PricingBasis.machine_seconds)).figures.items["teacher_usd"].basis == "assumed"


@pytest.mark.slow
def test_the_student_is_distilled_within_the_budget_and_scored_beside_the_teacher(support, questions_file):
    d = support.decide(questions=questions_file, index="support", model="local", candidates="rag", teacher="fake",
                       budget_s=600, max_steps=2, batch_size=1, max_length=64, queries_per_month=1000)
    distilled, teacher = d.candidates["distilled"], d.candidates["teacher"]
    assert distilled.measured and distilled.model.startswith("tuned:decide-")
    assert distilled.training["how"] == "distil" and distilled.training["teacher"] == "fake"
    assert distilled.training["counts"]["kept"] > 0
    assert distilled.n == teacher.n == d.candidates["rag"].n
    assert distilled.cost_figures["teacher_usd"]["basis"] == "assumed"  # the fake teacher runs here
    card = support.model_card(distilled.training["ref"])
    assert card.data.source["kind"] == "distilled" and card.data.rows["train"] == distilled.training["counts"]["kept"]
    assert not any("was trained on index" in n for n in d.notes)  # the index has not changed since the teacher read it
