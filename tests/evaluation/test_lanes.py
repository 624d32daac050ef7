"""Candidates side by side: how many lanes answer at once, lanes that overlap while each keeps its order, the first
failure stopping the rest, and an eval whose variants of two models answer at once giving the rows of one by one."""

from __future__ import annotations

import threading

import pytest

from ragtune.components.parts import Components
from ragtune.components.reader import IndexReader
from ragtune.embeddings import FakeEmbedder, embedders
from ragtune.evaluation.config import EvalConfig
from ragtune.evaluation.lanes import candidates_at_once, cores_shared, load_models, run_lanes
from ragtune.generation import FakeGenerator, generators
from ragtune.retrieval import rerankers

from .conftest import QUESTIONS

# A local model's cost is its measured compute time, so latency and cost are timings; ``cached`` differs on a rerun.
_TIMING = ("latency", "machine", "cached", "cost_usd", "cost_per_1k")


@pytest.mark.parametrize(("lanes", "setting", "threads", "device", "cores", "expected"), [
    (3, None, 1, "cpu", 2, 2),  # two cores, one thread a generation: two candidates at once
    (3, None, 2, "cpu", 2, 1),  # one generation takes both cores: one after another
    (2, None, 4, "cpu", 16, 2),  # never more than the lanes
    (3, None, 4, "cpu", 16, 3),
    (3, None, 1, "cuda", 16, 1),  # on a GPU the GPU is the limit
    (3, 1, 1, "cpu", 16, 1),  # the setting turns it off
    (3, 2, 2, "cpu", 2, 2),  # or forces a number
    (2, 8, 1, "cpu", 2, 2),
    (1, None, 1, "cpu", 16, 1),
])
def test_candidates_at_once_follows_the_cores_and_the_threads(lanes, setting, threads, device, cores, expected):
    assert candidates_at_once(lanes, setting, threads, device, cores) == expected


def test_lanes_overlap_and_each_keeps_its_order():
    meet = threading.Barrier(2, timeout=30)  # the first items of both lanes must run at the same time to pass it
    started: list[int] = []
    finished: list[int] = []

    def work(i: int) -> str:
        started.append(i)
        if i in (0, 1):
            meet.wait()
        return f"answer {i}"

    lanes = ["model", "tuned", "model", "tuned", "model"]
    assert run_lanes(lanes, work, 2, finished.append) == [f"answer {i}" for i in range(5)]
    assert [i for i in started if lanes[i] == "model"] == [0, 2, 4]
    assert [i for i in started if lanes[i] == "tuned"] == [1, 3]
    assert finished == [0, 1, 2, 3, 4]  # reported in item order, whichever lane ended first


def test_one_at_a_time_runs_every_item_in_order_on_the_calling_thread():
    seen: list[tuple[int, str]] = []
    run_lanes(["a", "b", "a"], lambda i: seen.append((i, threading.current_thread().name)), 1)
    assert seen == [(i, threading.current_thread().name) for i in range(3)]


def test_after_a_failure_no_item_starts_and_the_first_failure_is_raised():
    started: list[int] = []
    release = threading.Event()

    def work(i: int) -> None:
        started.append(i)
        if i == 0:
            raise ValueError("the model server went away")
        release.wait(30)  # the other lane's first item is running when the failure happens

    def fail_then_release(i: int) -> None:
        try:
            work(i)
        finally:
            if i == 0:
                release.set()

    with pytest.raises(ValueError, match="went away"):
        run_lanes(["model", "tuned", "model", "tuned"], fail_then_release, 2)
    assert 2 not in started  # the failed lane stops


def _rows(result) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith(_TIMING)} for row in result.rows]


def test_variants_of_two_models_side_by_side_give_the_rows_of_one_by_one(eval_ws, questions_file, tuned_model):
    config = EvalConfig.create(variants="base,rag,ft,rag+ft", model="extractive", index="support", tuned="support-ft")
    one_by_one = eval_ws(generation={"parallel_candidates": 1}).evaluate(questions_file, config)
    stages: list[str] = []
    side_by_side = eval_ws(generation={"parallel_candidates": 2}).evaluate(
        questions_file, config.model_copy(update={"cache": False}), progress=lambda stage, done, total: stages.append(stage))
    assert _rows(side_by_side) == _rows(one_by_one) and len(side_by_side.rows) == 4 * len(QUESTIONS)
    assert side_by_side.config["run"]["generated"] == 4 * len(QUESTIONS)  # answered again, not read from the cache
    assert set(stages) == {"base", "rag", "ft", "rag+ft"}
    again = eval_ws(generation={"parallel_candidates": 2}).evaluate(questions_file, config)
    assert again.config["run"]["cached"] == 4 * len(QUESTIONS) and _rows(again) == _rows(one_by_one)


def test_torch_keeps_to_each_lanes_share_of_the_cores_and_comes_back():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        with cores_shared(2, cores=4):
            inside = torch.get_num_threads()
        with cores_shared(4, cores=16):  # a share above the threads set: left as it is
            unchanged = torch.get_num_threads()
        assert (inside, unchanged, torch.get_num_threads()) == (2, 4, 4)
    finally:
        torch.set_num_threads(before)


def test_torch_threads_come_back_when_the_block_fails():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        with pytest.raises(RuntimeError), cores_shared(2, cores=4):
            raise RuntimeError("a lane failed")
        assert torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)


def test_models_load_through_the_components_caches_without_a_search(eval_home, config_for, register_plugin, monkeypatch):
    loaded: list[str] = []

    class Generator(FakeGenerator):
        def load(self):
            loaded.append(f"generator {self.spec}")
            return super().load()

    class Embedder(FakeEmbedder):
        def embed_query(self, text):
            loaded.append("embedder")
            return super().embed_query(text)

        def embed_queries(self, texts):
            loaded.append("embedder")
            return super().embed_queries(texts)

    class Reranker:
        def load(self):
            loaded.append("reranker")

        def rerank(self, query, candidates, k):
            return candidates[:k]

    register_plugin(generators, "counted", lambda rest, config, home: Generator(spec=f"counted:{rest}"))
    built: list[Embedder] = []
    register_plugin(embedders, "fake", lambda rest, config, home: built.append(Embedder(int(rest))) or built[-1])
    register_plugin(rerankers, "counted", lambda rest, config, home: Reranker())
    monkeypatch.setattr(IndexReader, "search_batch", lambda *a, **k: pytest.fail("a search ran to load the models"))
    components = Components(config_for(eval_home, rerank={"model": "counted:r"}))
    load_models(components, ["counted:a", "counted:b", "counted:a"], "support")
    assert loaded == ["generator counted:a", "generator counted:b", "embedder", "reranker"]
    assert components.index("support").embedder() is built[0]  # what answers then query with: the one loaded
