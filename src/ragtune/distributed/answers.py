"""Eval and decide answers on Ray: an ``AnswerExecutor`` (``ragtune.evaluation.executor``).

Each model spec gets its own pool of actors, each actor holding what answers (an ``Answerer`` over components built
from the same configuration: generators loaded once, the index opened once). The pools of every model in a run
start together and share the cluster: a local model (``local``, ``tuned:``, ``gguf:``, ``extractive`` ...) gets its
share of one single-threaded actor per CPU (per GPU with ``ray.answer_gpus``; ``ray.answer_actors`` in all instead),
at least one; an API or served model (``anthropic:``, ``openai:``) gets one threaded actor with the run's concurrency
limit, so the provider sees no more requests at once than a local run would send. Every pool's first calls are
submitted before the first answer is awaited, so candidates of different models answer at the same time; each pool
keeps a bounded number of calls in flight, and each answer is yielded back to the run as it finishes; the run caches
it. A pool is released as soon as its model's last answer is in (a pool still waiting for room on the cluster then
starts). A generator actor whose worker dies is restarted and its call retried (``ray.max_retries``); any other
failure cancels what is in flight and stops the run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from ragtune.components.parts import Components
from ragtune.components.process import prepare_process
from ragtune.config import Engine, RagtuneConfig
from ragtune.distributed import cluster_slots, connect, require_ray
from ragtune.errors import QuestionError
from ragtune.evaluation.config import REMOTE_PREFIXES
from ragtune.evaluation.executor import AnswerOutcome
from ragtune.generation.answer import AskRequest


class _AnswerActor:
    """A Ray actor: prepares its process, builds components of the run's configuration (answering locally) once,
    and answers requests with their ``Answerer``."""

    def __init__(self, config: RagtuneConfig) -> None:
        prepare_process(config)
        self.answerer = Components(config.model_copy(update={"engine": Engine.local})).answerer

    def run(self, position: int, request: AskRequest) -> AnswerOutcome:
        try:
            answer = self.answerer.ask(request)
        except QuestionError as exc:  # this question only; any other error means the whole run is wrong
            return AnswerOutcome(position, error=str(exc))
        return AnswerOutcome(position, answer=answer.to_json())


def remote_model(spec: str) -> bool:
    """Whether ``spec`` is served over the network (an API or a model server) rather than run by the worker."""
    return spec.split(":", 1)[0].lower() in REMOTE_PREFIXES


def shares(total: int, count: int) -> list[int]:
    """``total`` actors split between ``count`` pools as evenly as can be (the first ones get the remainder), at least
    one each."""
    base, extra = divmod(max(0, total), max(1, count))
    return [max(1, base + (n < extra)) for n in range(count)]


@dataclass
class Pool:
    """The actors of one model spec and the calls still to make on them: at most two rounds of ``per_actor`` calls
    each in flight, round-robin."""

    spec: str
    actors: list[Any]
    per_actor: int
    todo: deque[tuple[int, AskRequest]]
    in_flight: int = 0
    sent: int = 0
    released: bool = False

    def room(self) -> int:
        """How many more calls to submit now."""
        return min(len(self.todo), len(self.actors) * self.per_actor * 2 - self.in_flight)

    def finished(self) -> bool:
        return not self.todo and not self.in_flight


class RayAnswers:
    """Answers eval requests on Ray actors (see the module docstring), each built from ``config``."""

    def __init__(self, config: RagtuneConfig) -> None:
        self.actor_config = config.model_copy(update={"home": config.home.resolve()})
        self.config = config.ray

    @classmethod
    def of(cls, config: RagtuneConfig) -> "RayAnswers | None":
        """The executor of eval and decide answers for ``config``: Ray's with ``engine = "ray"``; None: this process."""
        if config.engine is not Engine.ray:
            return None
        require_ray()
        return cls(config)

    def _pools(self, ray: Any, by_model: dict[str, list[tuple[int, AskRequest]]],
               workers: Callable[[str], int]) -> list[Pool]:
        """A pool per model spec, the local models sharing the cluster's slots (what the API actors leave)."""
        cfg = self.config
        actor = ray.remote(_AnswerActor)
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": cfg.max_retries, "max_task_retries": cfg.max_retries}
        remote = [spec for spec in by_model if remote_model(spec)]
        local = [spec for spec in by_model if not remote_model(spec)]
        slots = cfg.answer_actors or cluster_slots(ray, cfg.answer_gpus) - (0 if cfg.answer_gpus else len(remote))
        pools = []
        for spec in remote:
            threads = workers(spec)
            handle = actor.options(**options, max_concurrency=threads).remote(self.actor_config)
            pools.append(Pool(spec, [handle], threads, deque(by_model[spec])))
        local_options = {**options, "num_gpus": cfg.answer_gpus} if cfg.answer_gpus else options
        for spec, count in zip(local, shares(slots, len(local))):
            handles = [actor.options(**local_options).remote(self.actor_config) for _ in range(count)]
            pools.append(Pool(spec, handles, 1, deque(by_model[spec])))
        return pools

    def run(self, requests: Sequence[AskRequest], workers: Callable[[str], int]) -> Iterator[AnswerOutcome]:
        """Every request answered on the actors of its model, every model at once, yielded as each finishes."""
        if not requests:
            return
        ray = connect(self.config)
        by_model: dict[str, list[tuple[int, AskRequest]]] = {}
        for position, request in enumerate(requests):
            by_model.setdefault(request.model or "", []).append((position, request))
        pools = self._pools(ray, by_model, workers)
        try:
            yield from self._spread(ray, pools)
        finally:
            for pool in pools:
                self._release(ray, pool)

    def _spread(self, ray: Any, pools: list[Pool]) -> Iterator[AnswerOutcome]:
        """Every pool's calls: each pool's first ones submitted before any answer is awaited, then each pool topped up
        as its answers come in, and released once it has none left."""
        owners: dict[Any, Pool] = {}
        for pool in pools:
            owners.update(self._fill(pool))
        while owners:
            ready = self._wait(ray, list(owners))
            pool = owners.pop(ready)
            pool.in_flight -= 1
            try:
                outcome = ray.get(ready)
            except ray.exceptions.RayTaskError as exc:
                for ref in owners:
                    ray.cancel(ref)
                cause = getattr(exc, "cause", None)
                raise (cause if isinstance(cause, Exception) else exc) from None
            if pool.finished():
                self._release(ray, pool)
            owners.update(self._fill(pool))
            yield outcome

    def _fill(self, pool: Pool) -> dict[Any, Pool]:
        """Calls submitted to ``pool`` until it has as many in flight as it takes (or none left to make)."""
        refs: dict[Any, Pool] = {}
        for _ in range(pool.room()):
            position, request = pool.todo.popleft()
            refs[self._submit(pool.actors[pool.sent % len(pool.actors)], position, request)] = pool
            pool.sent += 1
            pool.in_flight += 1
        return refs

    def _submit(self, actor: Any, position: int, request: AskRequest) -> Any:
        """One call on ``actor`` (a reference to its ``AnswerOutcome``)."""
        return actor.run.remote(position, request)

    def _wait(self, ray: Any, refs: list[Any]) -> Any:
        """The first of ``refs`` to finish."""
        ready, _ = ray.wait(refs, num_returns=1)
        return ready[0]

    @staticmethod
    def _release(ray: Any, pool: Pool) -> None:
        if not pool.released:
            pool.released = True
            for handle in pool.actors:
                ray.kill(handle)
