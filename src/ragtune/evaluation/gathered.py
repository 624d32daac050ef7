"""One ``AnswerExecutor`` shared by candidates answering at once on threads (``decide`` on Ray): their requests are
gathered into one run of the executor, so the questions of every candidate go out together.

Each thread answering a candidate is a *member* while it works. A run of the executor starts once every member is
waiting for answers (or has left), with the requests of all that wait; each caller gets its own answers back as
they come, at its own positions. Requests that arrive while a run is under way wait for the next one. A failure of
the run reaches every caller of that run after the answers that came before it (which the callers have cached).
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Sequence

from ragtune.evaluation.executor import AnswerExecutor, AnswerOutcome
from ragtune.generation.answer import AskRequest


@dataclass(eq=False)
class _Call:
    """One caller's requests, and where its answers (or the failure) go."""

    requests: Sequence[AskRequest]
    workers: Callable[[str], int]
    member: bool
    outcomes: "queue.SimpleQueue[AnswerOutcome | BaseException]" = field(default_factory=queue.SimpleQueue)


class GatheredAnswers:
    """``executor`` shared by member threads (see the module docstring); ``members``: threads that count as members
    before they enter ``member()`` (those about to start, so that none is missed by the first run)."""

    def __init__(self, executor: AnswerExecutor, members: int = 0) -> None:
        self.executor = executor
        self.runs = 0
        self._cond = threading.Condition()
        self._members = members
        self._reserved = members
        self._waiting: list[_Call] = []
        self._busy = False
        self._local = threading.local()

    @contextmanager
    def member(self) -> Iterator[None]:
        """Within this block the calling thread is a member: a run waits for it to ask or leave."""
        with self._cond:
            if self._reserved:
                self._reserved -= 1
            else:
                self._members += 1
        self._local.member = True
        try:
            yield
        finally:
            self._local.member = False
            with self._cond:
                self._members -= 1
                self._start_when_ready()

    def run(self, requests: Sequence[AskRequest], workers: Callable[[str], int]) -> Iterator[AnswerOutcome]:
        """``requests`` answered in the next gathered run, yielded as each finishes (positions within ``requests``)."""
        if not requests:
            return
        call = _Call(requests, workers, getattr(self._local, "member", False))
        with self._cond:
            self._waiting.append(call)
            self._start_when_ready()
        for _ in range(len(requests)):
            item = call.outcomes.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    def _start_when_ready(self) -> None:
        """Start a run (under the lock) when none is under way and every member is waiting."""
        if self._busy or not self._waiting or sum(c.member for c in self._waiting) < self._members:
            return
        calls, self._waiting = self._waiting, []
        self._busy = True
        self.runs += 1
        threading.Thread(target=self._serve, args=(calls,), name="ragtune-gathered", daemon=True).start()

    def _serve(self, calls: list[_Call]) -> None:
        owners = [(call, n) for call in calls for n in range(len(call.requests))]
        by_model = {request.model: call.workers for call in calls for request in call.requests}
        try:
            for outcome in self.executor.run([r for call in calls for r in call.requests],
                                             lambda spec: by_model.get(spec, calls[0].workers)(spec)):
                call, n = owners[outcome.position]
                call.outcomes.put(replace(outcome, position=n))
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of this run
            for call in calls:
                call.outcomes.put(exc)
        finally:
            with self._cond:
                self._busy = False
                self._start_when_ready()
