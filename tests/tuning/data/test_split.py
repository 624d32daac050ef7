import json

import pytest

from ragtune.errors import InputError
from ragtune.tuning.data import split_examples


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_split_is_deterministic_for_a_seed_and_keeps_lines_verbatim(tmp_path, jsonl, rows):
    src = jsonl(tmp_path / "all.jsonl", rows(40))
    a = split_examples(src, test=0.25, seed=7, out_dir=tmp_path / "a")
    b = split_examples(src, test=0.25, seed=7, out_dir=tmp_path / "b")
    c = split_examples(src, test=0.25, seed=8, out_dir=tmp_path / "c")
    assert (a.train_rows, a.test_rows) == (30, 10)
    assert _lines(a.test_path) == _lines(b.test_path) and _lines(a.train_path) == _lines(b.train_path)
    assert _lines(a.test_path) != _lines(c.test_path)
    original = _lines(src)
    assert sorted(_lines(a.train_path) + _lines(a.test_path)) == sorted(original)
    assert _lines(a.train_path) == [line for line in original if line in set(_lines(a.train_path))]  # original order


def test_stratified_split_keeps_each_share(tmp_path, jsonl, rows):
    data = rows(40) + [{"input": f"rate book {i}", "output": {"intent": "RateBook", "slots": {}}} for i in range(20)]
    report = split_examples(jsonl(tmp_path / "s.jsonl", data), test=0.25, seed=1, stratify="output.intent")
    assert report.strata == {"GetWeather": {"train": 15, "test": 5}, "PlayMusic": {"train": 15, "test": 5},
                             "RateBook": {"train": 15, "test": 5}}
    intents = [json.loads(line)["output"]["intent"] for line in _lines(report.test_path)]
    assert sorted(set(intents)) == ["GetWeather", "PlayMusic", "RateBook"]


def test_rows_with_the_same_prompt_stay_on_one_side(tmp_path, jsonl, rows):
    data = rows(20) + [{"input": rows(20)[0]["input"].upper(), "output": {"intent": "PlayMusic", "slots": {}}}] * 3
    report = split_examples(jsonl(tmp_path / "g.jsonl", data), test=0.3, seed=3)
    train_inputs = {json.loads(line)["input"].lower() for line in _lines(report.train_path)}
    test_inputs = {json.loads(line)["input"].lower() for line in _lines(report.test_path)}
    assert not train_inputs & test_inputs


def test_a_count_works_and_bad_requests_are_refused_without_writing(tmp_path, jsonl, rows):
    src = jsonl(tmp_path / "c.jsonl", rows(20))
    assert split_examples(src, test=3, seed=0).test_rows == 3
    with pytest.raises(InputError, match="already exists"):
        split_examples(src, test=3, seed=1)
    assert split_examples(src, test=4, seed=1, force=True).test_rows == 4
    with pytest.raises(InputError, match="leave at least one row"):
        split_examples(src, test=20, out_dir=tmp_path / "x")
    with pytest.raises(InputError, match="no row has this field"):
        split_examples(src, test=0.2, stratify="output.nothing", out_dir=tmp_path / "y")
    broken = jsonl(tmp_path / "broken.jsonl", rows(5) + ["{nope"])
    with pytest.raises(InputError, match="broken.jsonl:6"):
        split_examples(broken, out_dir=tmp_path / "z")
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
