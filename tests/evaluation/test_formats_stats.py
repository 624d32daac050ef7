import math

import numpy as np

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.formats import check_schema, extract_json, field_scores, schema_valid
from ragtune.evaluation.stats import mean_ci95, percentile


def test_extract_json_from_chatty_text():
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('Sure! Here it is: {"intent": "Play", "slots": {}} hope it helps') == {"intent": "Play", "slots": {}}
    assert extract_json("no json here {broken") is None


def test_schema_validity_and_bad_schema():
    schema = {"type": "object", "required": ["intent"], "properties": {"intent": {"type": "string"}}}
    check_schema(schema)
    assert schema_valid({"intent": "x"}, schema)
    assert not schema_valid({"intent": 3}, schema)
    with pytest.raises(InputError, match="not a valid JSON Schema"):
        check_schema({"type": "no-such-type"}, "s.json")


def test_field_scores_micro_f1():
    ref = {"intent": "Add", "slots": {"a": "1", "b": "2"}}
    pred = {"intent": "Add", "slots": {"a": "1", "c": "3"}}
    s = field_scores(pred, ref)
    assert s["field_acc.intent"] == 1.0 and s["field_acc.slots.b"] == 0.0
    assert s["fields_precision"] == pytest.approx(2 / 3) and s["fields_recall"] == pytest.approx(2 / 3)
    assert field_scores("not a dict", ref)["fields_f1"] == 0.0


def test_bootstrap_interval_contains_mean_and_narrows():
    small = mean_ci95([0, 1] * 10)
    big = mean_ci95([0, 1] * 500)
    assert small["mean"] == big["mean"] == 0.5
    assert small["ci95"][0] < 0.5 < small["ci95"][1]
    assert (big["ci95"][1] - big["ci95"][0]) < (small["ci95"][1] - small["ci95"][0])
    assert math.isnan(mean_ci95([])["mean"])
    assert percentile([1, 2, 3, 4], 50) == 2.5


def test_percentile_interval_in_the_aggregate_shape():
    from ragtune.evaluation.stats import percentile_ci95

    out = percentile_ci95(list(range(1, 101)), 95)
    assert out["mean"] == pytest.approx(95.05) and out["n"] == 100
    assert out["ci95"][0] < 95.05 < out["ci95"][1]
    assert percentile_ci95([], 50)["n"] == 0 and percentile_ci95([3.0], 50)["ci95"] == [3.0, 3.0]


def test_paired_difference_is_tighter_than_unpaired():
    from ragtune.evaluation.stats import difference_ci95

    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 200)
    b = a + 0.05  # every question improves a little; questions differ a lot
    paired = difference_ci95(a, b, paired=True)
    unpaired = difference_ci95(a, b)
    assert paired["delta"] == pytest.approx(0.05) and paired["changed"] is True
    assert unpaired["changed"] is False and (unpaired["ci95"][1] - unpaired["ci95"][0]) > 10 * (paired["ci95"][1] - paired["ci95"][0] + 1e-9)
    same = difference_ci95([0.5] * 10, [0.5] * 10, paired=True)
    assert same["delta"] == 0.0 and same["changed"] is False
    with pytest.raises(ValueError):
        difference_ci95([1, 2], [1], paired=True)
