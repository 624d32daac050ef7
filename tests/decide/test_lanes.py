"""``decide`` with candidates of different models side by side: the decision of one by one (rows apart from timings
and cost, notes, verdicts, the phases in candidate order), and a run interrupted in one lane resumed without
redoing the candidates that had finished."""

from __future__ import annotations

import shutil
import threading

import pytest

# A model's cost is its measured compute time, so latency and cost are timings; ``cached`` differs on a rerun.
_TIMING = ("latency", "machine", "cached", "cost_usd", "cost_per_1k")
FIELDS = dict(index="support", model="extractive", candidates="base,rag", teacher="fake", queries_per_month=50_000)


@pytest.fixture
def decide_in(ws_for, support_home, tmp_path, questions_file):
    """``decide_in(name, at_once, **fields)``: a decision in a fresh copy of the 'support' workspace."""
    def run(name: str, at_once: int, **fields):
        home = tmp_path / name
        if not home.exists():
            shutil.copytree(support_home, home)
        ws = ws_for(home, generation={"parallel_candidates": at_once})
        return ws.decide(questions=questions_file, **{**FIELDS, **fields})
    return run


def _rows(decision) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith(_TIMING)} for row in decision.rows]


def test_candidates_side_by_side_decide_as_one_by_one(decide_in):
    one_by_one, side_by_side = decide_in("one", 1), decide_in("two", 2)
    assert _rows(side_by_side) == _rows(one_by_one)
    assert {r["candidate"] for r in side_by_side.rows} == {"base", "rag", "teacher"}
    assert side_by_side.notes == one_by_one.notes
    assert side_by_side.recommendation == one_by_one.recommendation
    assert {n: c.score for n, c in side_by_side.candidates.items()} == {n: c.score for n, c in one_by_one.candidates.items()}
    assert side_by_side.run["resumed_phases"] == one_by_one.run["resumed_phases"]
    assert [p for p in side_by_side.run["resumed_phases"] if p.startswith("answer")] == [
        "answer base", "answer rag", "answer teacher"]


def test_a_run_stopped_in_one_lane_resumes_without_redoing_what_finished(decide_in, tmp_path):
    base_done = threading.Event()

    def stop_in_the_teacher(stage, done, total):
        if stage == "base" and done == total:
            base_done.set()
        if stage == "teacher" and done > 0:
            base_done.wait(30)  # the other lane has answered base by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        decide_in("home", 2, progress=stop_in_the_teacher)
    finished = {path.stem.replace("_", "+") for path in (tmp_path / "home").glob("decide/*/rows/*.json")}
    assert "base" in finished and "teacher" not in finished
    again: list[str] = []
    resumed = decide_in("home", 2, resume=True, progress=lambda stage, done, total: again.append(stage))
    assert "teacher" in again and not finished & set(again)  # what had finished is read back, not answered again
    assert _rows(resumed) == _rows(decide_in("fresh", 1))


class _InProcess:
    """An answer executor that answers here, recording the requests of each run it is given."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.runs: list[list] = []

    def run(self, requests, workers):
        from ragtune.errors import QuestionError
        from ragtune.evaluation.executor import AnswerOutcome

        self.runs.append(list(requests))
        for position, request in enumerate(requests):
            try:
                yield AnswerOutcome(position, answer=self.ws.components.answerer.ask(request).to_json())
            except QuestionError as exc:
                yield AnswerOutcome(position, error=str(exc))


def test_with_an_executor_every_candidate_goes_out_in_one_run(ws_for, support_home, tmp_path, questions_file, decide_in):
    shutil.copytree(support_home, tmp_path / "executor")
    ws = ws_for(tmp_path / "executor")
    executor = _InProcess(ws)
    ws._executor = lambda: executor
    decision = ws.decide(questions=questions_file, **FIELDS)
    assert len(executor.runs) == 1
    asked = {(r.model, r.index) for r in executor.runs[0]}  # base, rag and the teacher (fake, with retrieval)
    assert asked == {("extractive", None), ("extractive", "support"), ("fake", "support")}
    one_by_one = decide_in("one", 1)
    assert _rows(decision) == _rows(one_by_one)
    assert decision.notes == one_by_one.notes
    phases = [p for p in decision.run["resumed_phases"] if p.startswith("answer")]
    assert phases == ["answer base", "answer rag", "answer teacher"]
