import math

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
