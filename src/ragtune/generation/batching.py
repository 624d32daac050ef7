"""Answering many prompts at once: ``generate_batch`` on any generator, and ``BatchQueue``, which gathers the
``generate`` calls of concurrent threads into batches for a generator that decodes batches (``local``).

- ``generate_batch(generator, prompts, options)`` uses the generator's own ``generate_batch`` when it has one,
  else answers one prompt after another. Either way it returns one item per prompt, in order: a ``Generation``,
  or the ``InputError`` that says why that prompt was skipped (too long for the window); the others are answered.
- ``BatchQueue.submit(prompt, options)`` blocks until the answer is ready. One worker thread takes what is queued
  with the same decoding settings and hands it to the batch function. It starts a batch when the batch is full,
  when every *member* thread (``with queue.member():``, such as an eval run's workers) is waiting on it, or, with no
  members, when no call has arrived for ``gap_s`` (a server's concurrent requests, gathered by a short queue).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from ragtune.errors import InputError
from ragtune.generation.base import GenerateOptions, Generation, Generator, Prompt
from ragtune.generation.local_batch import plan_batches

BatchResult = list["Generation | InputError"]
BatchFn = Callable[[Sequence[Prompt], Sequence[GenerateOptions]], BatchResult]


def per_prompt(options: GenerateOptions | Sequence[GenerateOptions] | None, n: int) -> list[GenerateOptions | None]:
    """``options`` as one entry per prompt (one ``GenerateOptions`` for all, or one each)."""
    if options is None or isinstance(options, GenerateOptions):
        return [options] * n
    if len(options) != n:
        raise InputError(f"{len(options)} sets of options for {n} prompts")
    return list(options)


def generate_batch(generator: Generator, prompts: Sequence[Prompt],
                   options: GenerateOptions | Sequence[GenerateOptions] | None = None) -> BatchResult:
    """One ``Generation`` (or the ``InputError`` that skipped it) per prompt, in order; batched where the generator can.

    ``options``: one ``GenerateOptions`` for every prompt, or one per prompt."""
    batched = getattr(generator, "generate_batch", None)
    if callable(batched):
        return batched(prompts, options)
    results: BatchResult = []
    for prompt, opts in zip(prompts, per_prompt(options, len(prompts))):
        try:
            results.append(generator.generate(prompt, opts))
        except InputError as exc:
            if not exc.skips_one_prompt:
                raise
            results.append(exc)
    return results


def batch_queue_of(generator: Any) -> "BatchQueue | None":
    """The queue that gathers ``generator``'s concurrent calls into batches, or None where it answers one at a time."""
    queue = getattr(generator, "batch_queue", None)
    return queue if isinstance(queue, BatchQueue) else None


def batch_key(options: GenerateOptions) -> tuple:
    """Settings that must be equal within a batch (the JSON Schema may differ per row, but not whether there is one)."""
    return (options.max_new_tokens, options.temperature, options.top_p, options.seed,
            tuple(options.stop) if options.stop is not None else None, options.constrained, options.json_schema is not None)


def by_settings(prompts: Sequence[Prompt], given: GenerateOptions | Sequence[GenerateOptions] | None,
                default: GenerateOptions, answer_group: BatchFn) -> BatchResult:
    """``answer_group`` on each group of prompts that share their settings (``batch_key``), the answers back in order;
    ``given``: one set of options for all, one per prompt, or None (``default`` stands in for each one missing)."""
    options = [o or default for o in per_prompt(given, len(prompts))]
    results: BatchResult = [InputError("not answered")] * len(prompts)
    groups: dict[tuple, list[int]] = {}
    for i, o in enumerate(options):
        groups.setdefault(batch_key(o), []).append(i)
    for positions in groups.values():
        answered = answer_group([prompts[i] for i in positions], [options[i] for i in positions])
        for position, result in zip(positions, answered):
            results[position] = result
    return results


def in_batches(lengths: Sequence[int], cap: int, window: int, spec: str, batch_size: int,
               decode: Callable[[list[int]], Sequence[Generation]]) -> BatchResult:
    """One result per prompt (``lengths`` in tokens): an ``InputError`` for each one that does not fit ``window`` with
    room for a ``cap``-token answer, the others ``decode``d (positions in, replies out) in length-sorted batches
    (``local_batch.plan_batches``)."""
    results: BatchResult = [InputError("not answered")] * len(lengths)
    fits = []
    for j, n in enumerate(lengths):
        if n + cap > window:
            results[j] = InputError(f"the prompt is {n} tokens: with room for a {cap}-token answer it does not fit "
                                    f"the {window}-token window of {spec}; skipped")
        else:
            fits.append(j)
    for batch in plan_batches([lengths[j] for j in fits], batch_size, cap):
        rows = [fits[b] for b in batch]
        for j, generation in zip(rows, decode(rows)):
            results[j] = generation
    return results


@dataclass(eq=False)
class _Request:
    prompt: Prompt
    options: GenerateOptions
    member: bool
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None


class BatchQueue:
    """Gathers concurrent ``submit`` calls into batches for ``run`` (see the module docstring)."""

    def __init__(self, run: BatchFn, max_batch: int, gap_s: float = 0.02) -> None:
        self.run = run
        self.max_batch = max(1, max_batch)
        self.gap_s = gap_s
        self.batches = 0
        self.largest = 0
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._members = 0
        self._local = threading.local()
        self._last_arrival = 0.0
        self._worker: threading.Thread | None = None

    @contextmanager
    def member(self) -> Iterator[None]:
        """Within this block the calling thread counts as a member: a batch waits for it to submit or leave."""
        with self._cond:
            self._members += 1
        self._local.member = getattr(self._local, "member", 0) + 1
        try:
            yield
        finally:
            self._local.member -= 1
            with self._cond:
                self._members -= 1
                self._cond.notify_all()

    def submit(self, prompt: Prompt, options: GenerateOptions) -> Generation:
        """The answer to ``prompt``, decoded in a batch with whatever else is queued; its ``InputError`` is raised here."""
        request = _Request(prompt, options, member=getattr(self._local, "member", 0) > 0)
        with self._cond:
            self._pending.append(request)
            self._last_arrival = time.monotonic()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name="ragtune-batches", daemon=True)
                self._worker.start()
            self._cond.notify_all()
        request.done.wait()
        if isinstance(request.result, BaseException):
            raise request.result
        return request.result

    def _ready(self) -> bool:
        if not self._pending:
            return False
        if len(self._pending) >= self.max_batch:
            return True
        if self._members:
            return sum(r.member for r in self._pending) >= self._members
        return time.monotonic() - self._last_arrival >= self.gap_s

    def _take(self) -> list[_Request]:
        with self._cond:
            while not self._ready():
                self._cond.wait(timeout=self.gap_s if self._pending and not self._members else None)
            key = batch_key(self._pending[0].options)
            batch = [r for r in self._pending if batch_key(r.options) == key]
            self._pending = [r for r in self._pending if batch_key(r.options) != key]
            return batch

    def _serve(self) -> None:
        while True:
            batch = self._take()
            self.batches += 1
            self.largest = max(self.largest, len(batch))
            started = time.perf_counter()
            try:
                results: list[Any] = list(self.run([r.prompt for r in batch], [r.options for r in batch]))
            except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets the failure
                results = [exc] * len(batch)
            share = (time.perf_counter() - started) * 1000 / len(batch)
            results = [replace(r, shared_ms=share) if isinstance(r, Generation) else r for r in results]
            for request, result in zip(batch, results):
                request.result = result
                request.done.set()
