import pytest

from ragtune.tuning.base_models import load_tokenizer
from ragtune.tuning.data import check_examples, read_examples


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("local")[0]


def test_duplicates_near_duplicates_and_conflicting_outputs(tmp_path, jsonl, rows):
    data = rows(30) + [
        {"input": "play jazz on spotify", "output": {"intent": "PlayMusic", "slots": {"genre": "jazz"}}},  # exact copy of row 2
        {"input": "Play JAZZ on Spotify!", "output": {"intent": "PlayMusic", "slots": {"genre": "jazz"}}},  # near copy of row 2
        {"input": "weather in jazz tomorrow", "output": {"intent": "PlayMusic", "slots": {}}},  # row 1's prompt, other output
    ]
    report = check_examples(read_examples(jsonl(tmp_path / "d.jsonl", data))).to_json()
    dup = report["duplicates"]
    assert dup["exact"] == 1 and dup["exact_groups"] == [[2, 31]]
    assert dup["near"] == 1 and dup["near_groups"] == [[2, 31, 32]]
    assert dup["conflicting_prompts"] == 1 and dup["conflicting_groups"] == [[1, 33]]


def test_leakage_between_train_and_test(tmp_path, jsonl, rows):
    train = jsonl(tmp_path / "train.jsonl", rows(30))
    test = jsonl(tmp_path / "test.jsonl", [rows(30)[4], {"input": "something new", "output": {"intent": "X", "slots": {}}}])
    report = check_examples(read_examples(train), test=read_examples(test)).to_json()
    assert report["leakage"]["leaked"] == 1 and report["leakage"]["pairs"] == [[5, 1]]
    assert any("also appear in the training data" in r for r in report["verdict"]["reasons"])


def test_token_lengths_use_the_base_tokenizer_and_report_rows_over_the_max(tmp_path, jsonl, rows, tokenizer):
    data = rows(30) + [{"input": "tell me " + "very " * 80 + "long", "output": {"intent": "PlayMusic", "slots": {}}}]
    report = check_examples(read_examples(jsonl(tmp_path / "t.jsonl", data)), tokenizer=tokenizer, max_length=64,
                            tokenizer_name="SmolLM2").to_json()
    tokens = report["tokens"]
    assert tokens["rows"] == 31 and tokens["max"] > 80 and tokens["min"] < 64
    assert tokens["over_max"] == 1 and tokens["over_max_lines"] == [31]
    assert sum(b["rows"] for b in tokens["histogram"]) == 31
    assert any(b["over_max"] and b["rows"] for b in tokens["histogram"])
    assert report["verdict"]["level"] == "marginal"
    assert any("exceed the max length of 64" in r for r in report["verdict"]["reasons"])


def test_json_outputs_get_an_inferred_schema_and_a_fit_share(tmp_path, jsonl, rows):
    data = rows(60) + [{"input": "odd one", "output": {"intent": "PlayMusic", "slot": {"genre": "x"}}}]
    report = check_examples(read_examples(jsonl(tmp_path / "j.jsonl", data))).to_json()
    out = report["output"]
    assert out["kind"] == "json"
    assert out["schema"]["properties"]["intent"]["enum"] == ["GetWeather", "PlayMusic"]
    assert out["schema"]["required"] == ["intent", "slots"]
    assert out["misfits"] == 1 and out["misfit_lines"] == [61] and out["fit"] == round(60 / 61, 4)


def test_verdict_levels(tmp_path, jsonl, rows):
    small = check_examples(read_examples(jsonl(tmp_path / "s.jsonl", rows(8)))).to_json()["verdict"]
    assert small["level"] == "not_ready" and not small["ready"] and "only 8 usable" in small["reasons"][0]
    some = check_examples(read_examples(jsonl(tmp_path / "m.jsonl", rows(60)))).to_json()["verdict"]
    assert some["level"] == "marginal" and some["ready"]
    broken = check_examples(read_examples(jsonl(tmp_path / "b.jsonl", rows(60) + ["{oops"]))).to_json()
    assert broken["verdict"]["level"] == "not_ready" and broken["errors"][0]["line"] == 61
    two_shapes = [r if i % 3 else {"input": r["input"], "output": {"label": i}} for i, r in enumerate(rows(300))]
    verdict = check_examples(read_examples(jsonl(tmp_path / "x.jsonl", two_shapes))).to_json()["verdict"]
    assert verdict["level"] == "marginal" and any("2 top-level shapes" in r for r in verdict["reasons"])
    stray_keys = rows(300) + [{"input": f"odd {i}", "output": {"intent": "PlayMusic", "slots": {}, f"k{i}": 1}} for i in range(40)]
    verdict = check_examples(read_examples(jsonl(tmp_path / "y.jsonl", stray_keys))).to_json()["verdict"]
    assert verdict["level"] == "not_ready" and any("disagree on their structure" in r for r in verdict["reasons"])
    good = [{"input": f"request number {i}", "output": {"intent": ["A", "B"][i % 2], "n": i}} for i in range(250)]
    assert check_examples(read_examples(jsonl(tmp_path / "g.jsonl", good))).to_json()["verdict"]["level"] == "ready"
