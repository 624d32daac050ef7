from ragtune.tuning.data.schema import fits, infer_schema


def test_consensus_schema_leaves_rare_keys_types_and_values_out():
    values = [{"intent": ["A", "B", "C"][i % 3], "slots": {"city": f"c{i}"} if i % 2 else {}, "score": i} for i in range(500)]
    values.append({"intent": "A", "slots": {"citty": "typo"}, "score": 1})  # a key seen once
    values.append({"intent": "Zzz", "slots": {}, "score": 2})  # a value seen once
    values.append({"intent": "B", "slots": {}, "score": "3"})  # a type seen once
    schema = infer_schema(values)
    assert schema["required"] == ["intent", "score", "slots"]
    assert schema["properties"]["intent"]["enum"] == ["A", "B", "C"]
    assert schema["properties"]["score"]["type"] == "integer"
    assert "citty" not in schema["properties"]["slots"]["properties"]
    assert "city" in schema["properties"]["slots"]["properties"] and "required" not in schema["properties"]["slots"]
    assert [fits(v, schema) for v in values[-3:]] == [False, False, False]
    assert sum(fits(v, schema) for v in values) == 500


def test_free_text_fields_get_no_enum_and_mixed_types_are_kept_when_common():
    values = [{"name": f"person {i}", "tags": ["a", "b"] if i % 2 else "a"} for i in range(100)]
    schema = infer_schema(values)
    assert "enum" not in schema["properties"]["name"]
    assert schema["properties"]["tags"]["type"] == ["array", "string"]
    assert all(fits(v, schema) for v in values)


def test_small_sets_keep_every_key():
    values = [{"a": 1}, {"a": 2, "b": "x"}]
    schema = infer_schema(values)
    assert set(schema["properties"]) == {"a", "b"} and schema["required"] == ["a"]
    assert all(fits(v, schema) for v in values)
