"""One executor shared by candidates on threads: the requests of every member go out in one run, each caller gets its
own answers back at its own positions, and a failure reaches every caller after the answers that came before it."""

from __future__ import annotations

import threading

import pytest

from ragtune.evaluation.executor import AnswerOutcome
from ragtune.evaluation.gathered import GatheredAnswers
from ragtune.generation.answer import AskRequest


class Recording:
    """An executor that answers each request with its question, in reverse order, and records every run it is given;
    with ``fail_after``, it raises after that many answers."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.runs: list[list[str]] = []
        self.fail_after = fail_after

    def run(self, requests, workers):
        self.runs.append([r.question for r in requests])
        for n, position in enumerate(reversed(range(len(requests)))):
            if n == self.fail_after:
                raise RuntimeError("the cluster is gone")
            request = requests[position]
            yield AnswerOutcome(position, answer={"answer": request.question, "workers": workers(request.model)})


def _members(gathered: GatheredAnswers, asks: dict[str, list[AskRequest]]) -> dict[str, list]:
    """Each name's requests answered by ``gathered`` on a member thread of its own: outcomes, or the error raised."""
    got: dict[str, list] = {name: [] for name in asks}

    def member(name: str) -> None:
        with gathered.member():
            try:
                got[name].extend(gathered.run(asks[name], lambda spec: len(spec)))
            except RuntimeError as exc:
                got[name].append(exc)

    threads = [threading.Thread(target=member, args=(name,)) for name in asks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return got


ASKS = {"base": [AskRequest("b0", model="m"), AskRequest("b1", model="m")],
        "ft": [AskRequest("f0", model="tuned:m@v1"), AskRequest("f1", model="tuned:m@v1"), AskRequest("f2", model="tuned:m@v1")]}


def test_every_members_requests_go_out_in_one_run():
    recording = Recording()
    _members(GatheredAnswers(recording, members=2), ASKS)
    assert len(recording.runs) == 1
    assert sorted(recording.runs[0]) == ["b0", "b1", "f0", "f1", "f2"]


def test_each_caller_gets_its_own_answers_at_its_own_positions():
    got = _members(GatheredAnswers(Recording(), members=2), ASKS)
    for name, asks in ASKS.items():
        assert sorted(o.position for o in got[name]) == list(range(len(asks)))
        assert all(o.answer["answer"] == asks[o.position].question for o in got[name])


def test_each_model_keeps_the_workers_its_caller_gives():
    got = _members(GatheredAnswers(Recording(), members=2), ASKS)
    assert {o.answer["workers"] for o in got["ft"]} == {len("tuned:m@v1")}


def test_a_failure_reaches_every_caller_after_the_answers_before_it():
    got = _members(GatheredAnswers(Recording(fail_after=1), members=2), ASKS)
    # the one answer before the failure is the last request (the ft caller's third), then both callers see the error
    assert [o.position for o in got["ft"][:-1]] == [2]
    assert all(isinstance(items[-1], RuntimeError) for items in got.values())


def test_requests_made_after_a_run_began_go_in_a_later_run():
    recording = Recording()
    gathered = GatheredAnswers(recording)
    first = gathered.run([AskRequest("a")], lambda spec: 1)
    assert next(first).answer["answer"] == "a"
    assert [o.answer["answer"] for o in gathered.run([AskRequest("b")], lambda spec: 1)] == ["b"]
    assert recording.runs == [["a"], ["b"]]


def test_no_requests_start_no_run():
    recording = Recording()
    assert list(GatheredAnswers(recording).run([], lambda spec: 1)) == []
    assert recording.runs == []


def test_a_member_that_leaves_without_asking_does_not_hold_the_others():
    recording = Recording()
    gathered = GatheredAnswers(recording, members=2)
    with gathered.member():
        pass  # a candidate whose rows were kept: nothing to ask
    with gathered.member():
        assert len(list(gathered.run(ASKS["base"], lambda spec: 1))) == 2


@pytest.mark.parametrize("members", [0, 1])
def test_a_caller_outside_any_member_is_not_held(members):
    recording = Recording()
    gathered = GatheredAnswers(recording, members=members)
    if members:
        with gathered.member():
            pass
    assert len(list(gathered.run(ASKS["ft"], lambda spec: 1))) == 3
