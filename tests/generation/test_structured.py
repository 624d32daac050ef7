import json

import pytest

from ragtune.errors import InputError
from ragtune.generation.structured import extract_json, generate_structured, load_schema, schema_instruction, validate, with_schema

SCHEMA = {"type": "object", "required": ["intent"], "properties": {"intent": {"enum": ["A", "B"]}}, "additionalProperties": False}


def test_extract_json_finds_the_first_object_in_prose_and_fences():
    assert extract_json('Sure! ```json\n{"intent": "A", "x": [1, {"y": 2}]}\n``` done') == {"intent": "A", "x": [1, {"y": 2}]}
    assert extract_json('{broken {"intent": "B"}') == {"intent": "B"}
    assert extract_json("[1, 2] then {}") == [1, 2]
    assert extract_json("no json here") is None


def test_validate_reports_paths_and_messages():
    assert validate({"intent": "A"}, SCHEMA) == []
    errors = validate({"intent": "C", "extra": 1}, SCHEMA)
    assert any(e.startswith("$.intent:") for e in errors) and any("extra" in e for e in errors)


def test_load_schema_errors_name_the_file(tmp_path):
    good = tmp_path / "s.json"
    good.write_text(json.dumps(SCHEMA))
    assert load_schema(good) == SCHEMA
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(InputError, match=r"bad.json:1: not valid JSON"):
        load_schema(tmp_path / "bad.json")
    (tmp_path / "invalid.json").write_text(json.dumps({"type": "objekt"}))
    with pytest.raises(InputError, match="not a valid JSON Schema"):
        load_schema(tmp_path / "invalid.json")
    with pytest.raises(InputError, match="no such schema file"):
        load_schema(tmp_path / "missing.json")


def test_schema_goes_into_the_system_prompt():
    messages = with_schema([{"role": "system", "content": "Classify."}, {"role": "user", "content": "hi"}], SCHEMA)
    assert messages[0]["content"].startswith("Classify.\n\n") and schema_instruction(SCHEMA) in messages[0]["content"]
    assert with_schema([{"role": "user", "content": "hi"}], SCHEMA)[0]["role"] == "system"


def test_one_repair_turn_quotes_the_errors():
    seen = []
    replies = iter(['{"intent": "C"}', 'Fixed: {"intent": "B"}'])

    def generate(messages):
        seen.append(messages)
        return next(replies)

    result = generate_structured([{"role": "user", "content": "hi"}], generate, SCHEMA)
    assert result.valid and result.value == {"intent": "B"} and result.attempts == 2
    repair = seen[1][-1]["content"]
    assert repair.startswith("That reply does not fit") and "$.intent" in repair
    assert seen[1][-2] == {"role": "assistant", "content": '{"intent": "C"}'}


def test_repair_budget_is_respected_and_failure_is_reported():
    calls = []
    result = generate_structured([{"role": "user", "content": "hi"}], lambda m: calls.append(m) or "no json", SCHEMA, repairs=1)
    assert not result.valid and result.errors == ["$: the reply contains no JSON object"] and len(calls) == 2
    result = generate_structured([{"role": "user", "content": "hi"}], lambda m: '{"intent": "A"}', SCHEMA, repairs=0, instruct=False)
    assert result.valid and result.attempts == 1
