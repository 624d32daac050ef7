"""How an eval run works through its questions: one after another, a few at a time on threads (remote models), or
on member threads of a generator's ``BatchQueue`` (local models that decode in batches).

With a batch queue, ``workers`` threads each take the next question until none is left, all of them members of the
queue for as long as they work: a batch starts as soon as every thread still working waits on the model, so the
questions of one variant are answered ``workers`` at a time in one batch, whatever each spends on retrieval or
citations first. The order in which questions are taken (``order``) can put similar lengths together.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

from ragtune.generation.batching import BatchQueue

Progress = Callable[[str, int, int], None]


def run_each(stage: str, items: Sequence[Any], fn: Callable[[Any], Any], workers: int, progress: Progress,
             queue: BatchQueue | None = None, order: Sequence[int] | None = None) -> list[Any]:
    """``fn`` over ``items``, results in the items' order, ``workers`` at a time, reporting ``(stage, done, total)``.

    The first exception stops the work (what is running finishes) and is raised here."""
    total = len(items)
    progress(stage, 0, total)
    if queue is not None and workers > 1 and total > 1:
        return _as_members(stage, items, fn, workers, progress, queue, order or range(total))
    results: list[Any] = [None] * total
    if workers <= 1:
        for i, item in enumerate(items):
            results[i] = fn(item)
            progress(stage, i + 1, total)
        return results
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ragtune-eval") as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
                results[futures[future]] = future.result()
                done += 1
            progress(stage, done, total)
    return results


def _as_members(stage: str, items: Sequence[Any], fn: Callable[[Any], Any], workers: int, progress: Progress,
                queue: BatchQueue, order: Sequence[int]) -> list[Any]:
    total = len(items)
    results: list[Any] = [None] * total
    todo = iter(order)
    lock = threading.Lock()
    failures: list[BaseException] = []
    done = 0
    threads = min(workers, total)
    joined = threading.Barrier(threads)

    def work() -> None:
        nonlocal done
        with queue.member():
            joined.wait()  # every thread is a member before the first asks
            while not failures:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                try:
                    results[i] = fn(items[i])
                except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                    failures.append(exc)
                    return
                with lock:
                    done += 1
                    progress(stage, done, total)

    started = [threading.Thread(target=work, name="ragtune-eval", daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    if failures:
        raise failures[0]
    return results
