"""Candidates side by side: the candidates of an eval or decide run that use different models answer at once, where
the machine has the cores for it.

A *lane* is every candidate of one model (``base``, ``prompt`` and ``rag`` of the model; ``ft`` of a tuned version):
its candidates answer one after another, in their order, so each model sees exactly the batches it would see in a
run that takes the candidates one by one, and the answers are the same. Lanes run on threads, ``at_once`` of them at
a time, the lane with the most candidates first. A local model computes on ``generation.threads`` threads, so the
machine's cores hold ``cores // threads`` lanes at once (``candidates_at_once``); ``generation.parallel_candidates``
(``RAGTUNE_PARALLEL_CANDIDATES``) sets the number instead, 1 for one candidate after another.

After a failure no other candidate starts; the failure is raised once the candidates already answering end (their
answers are cached, so the same command resumes from there).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TypeVar

from ragtune.machine import loaded_device, machine_cores

if TYPE_CHECKING:
    from ragtune.evaluation.base import AnswerRecord
    from ragtune.components.parts import Components
    from ragtune.evaluation.questions import Question
    from ragtune.evaluation.runner import EvalRunner, VariantPlan

T = TypeVar("T")


def candidates_at_once(lanes: int, setting: int | None, threads: int | None, device: str = "cpu",
                       cores: int | None = None) -> int:
    """How many of ``lanes`` answer at once: ``setting`` when given; else, on the CPU, as many as the machine's
    ``cores`` (default ``machine_cores()``) hold at ``threads`` per generation; one on a GPU. Never more than ``lanes``."""
    if lanes <= 1:
        return 1
    if setting is not None:
        return max(1, min(setting, lanes))
    if device != "cpu":
        return 1
    cores = machine_cores() if cores is None else cores
    return max(1, min(lanes, cores // max(1, threads or 1)))


def run_lanes(lanes: Sequence[str], fn: Callable[[int], T], at_once: int,
              finished: Callable[[int], None] | None = None) -> list[T]:
    """``fn(i)`` for every item ``i`` (``lanes[i]``: its lane), results in item order. Items of one lane run one after
    another in item order; ``at_once`` lanes at a time (1: every item in order, on this thread). ``finished(i)`` is
    called for each item in item order, once it and every item before it are done. The first failure, in item order,
    is raised when no item is running any more; no item starts after a failure."""
    results: list[T | None] = [None] * len(lanes)
    if at_once <= 1 or len(set(lanes)) <= 1:
        for i in range(len(lanes)):
            results[i] = fn(i)
            if finished is not None:
                finished(i)
        return results  # type: ignore[return-value]
    return _on_threads(lanes, fn, at_once, finished or (lambda i: None), results)


def _on_threads(lanes: Sequence[str], fn: Callable[[int], T], at_once: int, finished: Callable[[int], None],
                results: list[T | None]) -> list[T]:
    groups: dict[str, list[int]] = {}
    for i, lane in enumerate(lanes):
        groups.setdefault(lane, []).append(i)
    todo = iter(sorted(groups.values(), key=len, reverse=True))  # the longest lane first (stable for equal lengths)
    lock = threading.Lock()
    failures: dict[int, BaseException] = {}
    done: set[int] = set()
    reported = 0

    def report(i: int) -> None:
        nonlocal reported
        done.add(i)
        while reported in done:
            finished(reported)
            reported += 1

    def work() -> None:
        while True:
            with lock:
                lane = next(todo, None) if not failures else None
            if lane is None:
                return
            for i in lane:
                if failures:
                    return
                try:
                    results[i] = fn(i)
                except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                    with lock:
                        failures[i] = exc
                    return
                with lock:
                    report(i)

    threads = [threading.Thread(target=work, name=f"ragtune-lane-{n}", daemon=True) for n in range(min(at_once, len(groups)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # a timed join lets Ctrl-C reach this thread
            thread.join(0.5)
    if failures:
        raise failures[min(failures)]
    return results  # type: ignore[return-value]


def load_models(components: "Components", specs: Iterable[str], index: str | None) -> None:
    """Load, one after another on this thread, the models the lanes would otherwise load at once (loading two
    transformers models on two threads at the same time is not safe), each through the components' cache that the
    lanes then take it from: each model of ``specs``, and the embedder, reranker and support scorer that answers over
    ``index`` use."""
    for spec in dict.fromkeys(specs):
        components.generator(spec).load()
    if index is None:
        return
    embedder = components.index(index).embedder()  # the index's own model, at the precision it records, as answers query it
    embedder.embed_query("load")  # an embedder loads on its first text whatever it embeds queries with
    for part in (components.reranker(), components.support_scorer(embedder)):
        load = getattr(part, "load", None)
        if callable(load):
            load()


def side_by_side(components: "Components", lanes: Sequence[str], fn: Callable[[int], T], at_once: int, index: str | None,
                 also_load: Sequence[str] = (), finished: Callable[[int], None] | None = None) -> list[T]:
    """``run_lanes`` for candidates: with more than one at once, their models (and ``also_load``) loaded first, and
    torch held to each lane's share of the cores while they answer."""
    if at_once <= 1:
        return run_lanes(lanes, fn, 1, finished)
    load_models(components, [*lanes, *also_load], index)
    with cores_shared(at_once):
        return run_lanes(lanes, fn, at_once, finished)


@contextmanager
def cores_shared(at_once: int, cores: int | None = None) -> Iterator[None]:
    """Within the block, torch (when loaded) computes on at most ``cores // at_once`` threads (each lane's share),
    fewer if it was set to fewer. Torch's thread count is one setting of the whole process, so every thread sees the
    share while the block runs; the count it had before comes back when the block ends, by an error too."""
    torch = sys.modules.get("torch")
    share = max(1, (machine_cores() if cores is None else cores) // max(1, at_once))
    before = torch.get_num_threads() if torch is not None else share
    if torch is None or before <= share:
        yield
        return
    torch.set_num_threads(share)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def answer_variants(runner: "EvalRunner", plans: Sequence["VariantPlan"],
                    questions: Sequence["Question"]) -> list[list["AnswerRecord"]]:
    """Each plan's answers (``EvalRunner.answer_all``), plans of different model specs side by side where it pays."""
    generation = runner.components.config.generation
    lanes = [plan.spec for plan in plans]
    at_once = candidates_at_once(len(set(lanes)), generation.parallel_candidates, generation.threads,
                                 loaded_device(generation.device))
    index = next((plan.index for plan in plans if plan.index is not None), None)
    return side_by_side(runner.components, lanes, lambda i: runner.answer_all(plans[i], questions), at_once, index)
