"""Eval and decide on Ray give the rows a local run gives, through the same cache: a rerun on either engine, or a
run resumed on the other one, generates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.api import EvalConfig, Workspace
from ragtune.config import RagtuneConfig
from ragtune.distributed.answers import RayAnswers, shares
from ragtune.generation.answer import AskRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LONG = {"id": "long", "question": "Why? " * 5000}  # too long for the fake model's window: an error row, on both engines
# A local model's cost is its measured compute time at the machine's hourly price, so it is timed too.
_TIMING = ("latency", "machine", "cached", "cost_usd", "cost_per_1k")


def _ws(home: Path, engine: str) -> Workspace:
    ws = Workspace(RagtuneConfig.load({"home": str(home), "engine": engine, "embedder": {"model": "fake:64"},
                                       "ray": {"answer_actors": 2}}, env={}))
    if not ws.store.exists("docs"):
        ws.ingest([str(EXAMPLES / "docs")], "docs")
    return ws


def _questions(tmp_path: Path) -> Path:
    """Three of the example questions (with references and gold documents), and one far too long."""
    rows = (EXAMPLES / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:3] + [json.dumps(LONG)]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _rows(result) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith(_TIMING)} for row in result.rows]


@pytest.mark.parametrize("model", ["extractive", "fake"])
def test_a_ray_eval_gives_the_local_rows_and_a_rerun_generates_nothing(ray_local, tmp_path, model):
    questions = _questions(tmp_path)
    config = EvalConfig.create(variants="base,rag", index="docs", model=model)
    local = _ws(tmp_path / "local", "local").evaluate(questions, config)
    on_ray = _ws(tmp_path / "ray", "ray").evaluate(questions, config)
    assert _rows(on_ray) == _rows(local) and len(on_ray.rows) == 8
    untimed = lambda result: {v: {m: x for m, x in ms.items() if not m.startswith(_TIMING)} for v, ms in result.aggregates.items()}
    assert untimed(on_ray) == untimed(local)
    assert on_ray.config["run"]["generated"] == local.config["run"]["generated"]
    assert (model == "fake") == any(r.get("error") for r in on_ray.rows)
    again = _ws(tmp_path / "ray", "ray").evaluate(questions, config)
    assert again.config["run"]["generated"] == 0 and _rows(again) == _rows(local)


def test_a_run_resumed_on_the_other_engine_reuses_the_cache(ray_local, tmp_path):
    questions = _questions(tmp_path)
    first = _ws(tmp_path / "home", "local").evaluate(questions, EvalConfig.create(variants="base", index="docs",
                                                                                     model="extractive"))
    both = _ws(tmp_path / "home", "ray").evaluate(questions, EvalConfig.create(variants="base,rag", index="docs",
                                                                                 model="extractive"))
    run = both.config["run"]
    assert run["cached"] == first.config["run"]["generated"] and run["generated"] == 4


class _Recording(RayAnswers):
    """Ray's executor, recording each call it submits (with its model) and each time it waits for an answer."""

    def __init__(self, config: RagtuneConfig) -> None:
        super().__init__(config)
        self.events: list[tuple[str, str | None]] = []

    def _submit(self, actor, position, request):
        self.events.append(("submit", request.model))
        return super()._submit(actor, position, request)

    def _wait(self, ray, refs):
        self.events.append(("wait", None))
        return super()._wait(ray, refs)


def test_the_models_of_a_ray_run_answer_at_the_same_time(ray_local, tmp_path):
    executor = _Recording(_ws(tmp_path / "ray", "ray").config)
    requests = [AskRequest(q, "docs", model) for model in ("extractive", "fake") for q in ("When?", "Who?", "How?")]
    outcomes = list(executor.run(requests, lambda spec: 1))
    before_first_wait = executor.events[:executor.events.index(("wait", None))]
    assert {model for _, model in before_first_wait} == {"extractive", "fake"}
    assert sorted(o.position for o in outcomes) == list(range(len(requests)))
    assert all(o.answer is not None for o in outcomes)


def test_the_models_share_the_clusters_actors():
    assert shares(5, 2) == [3, 2] and shares(2, 2) == [1, 1]
    assert shares(1, 3) == [1, 1, 1]  # each model gets one: the later ones start as the first are released


@pytest.mark.slow
def test_decide_on_ray_recommends_what_a_local_decide_does(ray_local, tmp_path):
    fields = dict(questions=EXAMPLES / "questions.jsonl", index="docs", model="extractive", candidates="base,rag",
                  queries_per_month=50_000)
    local = _ws(tmp_path / "local", "local").decide(**fields)
    on_ray = _ws(tmp_path / "ray", "ray").decide(**fields)
    assert on_ray.recommendation == local.recommendation
    assert _rows(on_ray) == _rows(local)
