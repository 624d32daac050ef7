"""Eval and decide answers on Ray: an ``AnswerExecutor`` (``ragtune.evaluation.executor``).

Each model spec gets its own actors, each holding what answers (an ``Answerer`` over components built from the same
configuration: generators loaded once, the index opened once). A local model (``local``, ``tuned:``, ``gguf:``, ``extractive``
...) gets one single-threaded actor per CPU, or one per GPU with ``ray.answer_gpus``; an API or served model
(``anthropic:``, ``openai:``) gets one threaded actor with the run's concurrency limit, so the provider sees no
more requests at once than a local run would send. The calls are spread over the actors, a bounded number in
flight, and each answer is yielded back to the run as it finishes; the run caches it. A generator actor whose
worker dies is restarted and its call retried (``ray.max_retries``). The actors are released when the run ends.
"""

from __future__ import annotations

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

    def _actors(self, ray: Any, spec: str, workers: int) -> tuple[list[Any], int]:
        """The actors for ``spec`` and how many calls each takes at once."""
        cfg = self.config
        actor = ray.remote(_AnswerActor)
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": cfg.max_retries, "max_task_retries": cfg.max_retries}
        if remote_model(spec):
            return [actor.options(**options, max_concurrency=workers).remote(self.actor_config)], workers
        count = cfg.answer_actors or cluster_slots(ray, cfg.answer_gpus)
        if cfg.answer_gpus:
            options["num_gpus"] = cfg.answer_gpus
        return [actor.options(**options).remote(self.actor_config) for _ in range(count)], 1

    def run(self, requests: Sequence[AskRequest], workers: Callable[[str], int]) -> Iterator[AnswerOutcome]:
        """Every request answered on the actors of its model, yielded as each finishes."""
        if not requests:
            return
        ray = connect(self.config)
        by_model: dict[str, list[int]] = {}
        for position, request in enumerate(requests):
            by_model.setdefault(request.model or "", []).append(position)
        for spec, positions in by_model.items():
            actors, per_actor = self._actors(ray, spec, workers(spec))
            try:
                yield from self._spread(ray, actors, per_actor, [(p, requests[p]) for p in positions])
            finally:
                for handle in actors:
                    ray.kill(handle)

    @staticmethod
    def _spread(ray: Any, actors: list[Any], per_actor: int, todo: list[tuple[int, AskRequest]]) -> Iterator[AnswerOutcome]:
        """Round-robin over ``actors``, at most two rounds of ``per_actor`` calls each in flight."""
        limit = len(actors) * per_actor * 2
        pending: list[Any] = []
        queue = iter(enumerate(todo))
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < limit:
                item = next(queue, None)
                if item is None:
                    exhausted = True
                    break
                n, (position, request) = item
                pending.append(actors[n % len(actors)].run.remote(position, request))
            if not pending:
                break
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:
                for ref in pending:
                    ray.cancel(ref)
                cause = getattr(exc, "cause", None)
                raise (cause if isinstance(cause, Exception) else exc) from None
