"""Comparing two runs: paired differences with intervals, verdicts by direction, settings that differ, versions."""

import json

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.base import FORMAT_VERSION, EvalResult, read_results
from ragtune.evaluation.compare import compare_files, compare_results
from ragtune.evaluation.metrics import aggregate


def make_result(f1: list[float], latency: list[float], **config) -> EvalResult:
    rows = [{"id": f"q{i}", "variant": "rag", "answer": "a", "citations": [], "token_f1": f, "latency_ms": ms}
            for i, (f, ms) in enumerate(zip(f1, latency))]
    rows += [{"id": f"q{i}", "variant": "base", "answer": "a", "citations": [], "token_f1": 0.2} for i in range(len(f1))]
    return EvalResult(config={"format_version": FORMAT_VERSION, "index": "support", "model": "local", **config},
                      rows=rows, aggregates=aggregate(rows, ["base", "rag"]))


def test_a_real_improvement_is_better_and_noise_is_the_same():
    f1 = [0.1 * (i % 10) for i in range(60)]
    before = make_result(f1, [100.0] * 60)
    after = make_result([f + 0.1 for f in f1], [150.0 + i % 3 for i in range(60)], model="local:other")
    comparison = compare_results(before, after, "run1", "run2")
    by = {(c.variant, c.metric): c for c in comparison.changes}
    f1_change = by[("rag", "token_f1")]
    assert f1_change.paired and f1_change.delta == pytest.approx(0.1) and f1_change.verdict == "better"
    assert f1_change.ci95[0] > 0
    assert by[("rag", "latency_ms_p50")].verdict == "worse" and by[("rag", "latency_ms_p50")].delta == pytest.approx(51.0)
    assert by[("base", "token_f1")].verdict == "same" and by[("base", "token_f1")].delta == 0.0
    assert comparison.settings == {"model": {"a": "local", "b": "local:other"}}
    md = comparison.to_markdown()
    assert "| rag | token F1 | 0.450 | 0.550 | +0.100 [" in md and "**better**" in md and "- model: 'local' → 'local:other'" in md


def test_different_questions_are_compared_unpaired_and_said_so():
    a = make_result([0.5, 0.6, 0.7], [10.0, 10.0, 10.0])
    b = make_result([0.5, 0.6], [10.0, 10.0])
    comparison = compare_results(a, b)
    assert not comparison.changes[0].paired and any("different questions" in n for n in comparison.notes)


def test_files_of_another_version_or_shape_are_refused(tmp_path):
    good = make_result([0.5, 0.6], [10.0, 12.0])
    good.write(tmp_path / "a.json")
    old = good.to_json()
    old["config"]["format_version"] = 0
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(InputError, match="old.json: results file has format_version 0; this ragtune reads format_version 1"):
        compare_files(tmp_path / "a.json", tmp_path / "old.json")
    (tmp_path / "none.json").write_text(json.dumps({"config": {}, "rows": [], "aggregates": {}}))
    with pytest.raises(InputError, match="no format_version"):
        read_results(tmp_path / "none.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(InputError, match="not an eval results file"):
        read_results(tmp_path / "list.json")
    assert read_results(tmp_path / "a.json").aggregates == json.loads(json.dumps(good.aggregates))
