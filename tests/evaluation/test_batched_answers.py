"""Eval runs through a model that decodes in batches: the questions of a variant go to the model a batch at a time,
with the same rows, cache and resume as one at a time."""

import pytest

from ragtune.errors import EvaluationError
from ragtune.evaluation.config import EvalConfig
from ragtune.generation import FakeGenerator, generators
from ragtune.generation.batching import BatchQueue

from .conftest import QUESTIONS


class BatchingFake(FakeGenerator):
    """The fake generator behind a ``BatchQueue`` of 3: records each batch's size; fails from batch ``fail_at`` on."""

    def __init__(self, state: dict) -> None:
        super().__init__(spec="batched")
        self.state = state
        self.batch_queue = BatchQueue(self.generate_batch, max_batch=3)

    def generate(self, prompt, options=None, on_text=None):
        return self.batch_queue.submit(prompt, options or self.state["options"])

    def generate_batch(self, prompts, options):
        self.state["batches"].append(len(prompts))
        if self.state["fail_at"] is not None and len(self.state["batches"]) >= self.state["fail_at"]:
            raise RuntimeError("the model crashed")
        return [FakeGenerator.generate(self, p, o) for p, o in zip(prompts, options)]


@pytest.fixture
def batched(register_plugin) -> dict:
    from ragtune.generation.base import GenerateOptions

    state = {"batches": [], "fail_at": None, "options": GenerateOptions()}
    register_plugin(generators, "batched", lambda rest, config, home: BatchingFake(state))
    return state


def answers(result) -> list[tuple[str, str, str | None]]:
    return [(r["id"], r["variant"], r["answer"]) for r in result.rows]


def test_questions_reach_the_model_in_batches_with_the_same_rows(eval_ws, questions_file, batched):
    config = dict(variants="base,rag", index="support", cache=False)
    alone = eval_ws().evaluate(questions_file, EvalConfig.create(model="fake", **config))
    together = eval_ws().evaluate(questions_file, EvalConfig.create(model="batched", **config))
    assert answers(together) == answers(alone)
    shared = {"cost_usd", "machine_ms"}  # "fake" is priced; a batched answer has its share of the batch
    assert [set(r) - shared for r in together.rows] == [set(r) - shared for r in alone.rows]
    assert any(isinstance(r.get("machine_ms"), float) for r in together.rows)  # the answers the model wrote
    assert batched["batches"][0] == 3 and sum(batched["batches"]) <= 2 * len(QUESTIONS)


def test_a_batched_run_that_fails_resumes_from_its_cache(eval_ws, questions_file, batched):
    config = EvalConfig.create(variants="base", model="batched")
    batched["fail_at"] = 2
    with pytest.raises(EvaluationError, match="run the same command again to resume"):
        eval_ws().evaluate(questions_file, config)
    first = batched["batches"][0]
    batched.update(batches=[], fail_at=None)
    resumed = eval_ws().evaluate(questions_file, config)
    assert (resumed.config["run"]["cached"], resumed.config["run"]["generated"]) == (first, len(QUESTIONS) - first)
    assert sum(batched["batches"]) == len(QUESTIONS) - first


def test_concurrency_sets_the_questions_in_flight(eval_ws, questions_file, batched):
    eval_ws().evaluate(questions_file, EvalConfig.create(variants="base", model="batched", concurrency=2, cache=False))
    assert max(batched["batches"]) == 2


@pytest.mark.slow
def test_the_local_model_answers_an_eval_the_same_in_batches_as_one_at_a_time(eval_ws, questions_file):
    config = EvalConfig.create(variants="base", model="local", cache=False)
    one = eval_ws(generation={"batch_size": 1, "max_new_tokens": 16}).evaluate(questions_file, config)
    many = eval_ws(generation={"batch_size": 4, "max_new_tokens": 16}).evaluate(questions_file, config)
    assert answers(many) == answers(one)
    assert [r["output_tokens"] for r in many.rows] == [r["output_tokens"] for r in one.rows]
