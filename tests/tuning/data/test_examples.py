import json

import pytest

from ragtune.errors import InputError
from ragtune.tuning.data.examples import ExampleFormat, read_examples


def test_input_output_rows_with_json_outputs_become_chat_messages(tmp_path, jsonl):
    path = jsonl(tmp_path / "a.jsonl", [{"input": "play jazz", "output": {"intent": "PlayMusic"}},
                                              {"input": "hi", "output": "{\"intent\": \"Greet\"}", "system": "Row system."}])
    ex = read_examples(path, system="File system.")
    assert ex.format is ExampleFormat.input_output and ex.json_outputs and not ex.issues
    first, second = ex.examples
    assert first.messages == [{"role": "system", "content": "File system."}, {"role": "user", "content": "play jazz"},
                              {"role": "assistant", "content": json.dumps({"intent": "PlayMusic"})}]
    assert first.output_json == {"intent": "PlayMusic"}
    assert second.messages[0] == {"role": "system", "content": "Row system."}  # the row's own system prompt wins
    assert second.output_json == {"intent": "Greet"}  # a JSON string output counts as JSON


def test_chat_sharegpt_and_alpaca_formats(tmp_path, jsonl):
    chat = read_examples(jsonl(tmp_path / "c.jsonl", [{"messages": [
        {"role": "system", "content": "S"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]))
    assert chat.format is ExampleFormat.chat and chat.examples[0].completion == "a" and chat.examples[0].prompt[0]["content"] == "S"
    share = read_examples(jsonl(tmp_path / "s.jsonl", [{"conversations": [
        {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]))
    assert share.format is ExampleFormat.sharegpt
    assert share.examples[0].messages == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    alpaca = read_examples(jsonl(tmp_path / "al.jsonl", [{"instruction": "Translate", "input": "chat", "output": "cat"},
                                                               {"instruction": "Say hi", "input": "", "output": "hi"}]))
    assert alpaca.format is ExampleFormat.alpaca
    assert alpaca.examples[0].messages[0]["content"] == "Translate\n\nchat"
    assert alpaca.examples[1].messages[0]["content"] == "Say hi"


def test_malformed_lines_missing_and_empty_fields_are_located(tmp_path, jsonl):
    path = jsonl(tmp_path / "bad.jsonl", [
        {"input": "ok", "output": "fine"},
        '{"input": "broken", "output": ',
        {"input": "", "output": "x"},
        {"input": "no output"},
        "[1, 2]",
        {"something": "else"},
    ])
    ex = read_examples(path)
    found = {(i.line, i.field) for i in ex.issues}
    assert (2, None) in found and (3, "input") in found and (4, "output") in found and (5, None) in found and (6, None) in found
    assert "not valid JSON" in next(i.message for i in ex.issues if i.line == 2)
    assert [e.line for e in ex.valid] == [1]
    assert all(i.file == str(path) for i in ex.issues)
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        ex.raise_for_issues()


def test_mixed_formats_in_one_file_are_errors_on_the_minority_rows(tmp_path, jsonl):
    path = jsonl(tmp_path / "mixed.jsonl", [{"input": "a", "output": "b"}, {"input": "c", "output": "d"},
                                                  {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}])
    ex = read_examples(path)
    assert ex.format is ExampleFormat.input_output
    assert [(i.line, "one file holds one format" in i.message) for i in ex.issues] == [(3, True)]


def test_non_json_output_among_json_outputs_is_an_error(tmp_path, jsonl):
    rows = [{"input": f"q{i}", "output": {"a": i}} for i in range(3)] + [{"input": "q9", "output": "plain words"}]
    ex = read_examples(jsonl(tmp_path / "j.jsonl", rows))
    assert ex.json_outputs
    assert [(i.line, i.field) for i in ex.issues] == [(4, "output")]
    assert "3 of 4 outputs" in ex.issues[0].message


def test_chat_rows_must_end_with_the_assistant_and_use_known_roles(tmp_path, jsonl):
    ex = read_examples(jsonl(tmp_path / "c.jsonl", [
        {"messages": [{"role": "user", "content": "q"}]},
        {"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "a"}]},
    ]))
    fields = {(i.line, i.field) for i in ex.issues}
    assert (1, "messages[0]") in fields and (2, "messages[0].role") in fields and (3, "messages[0].content") in fields


def test_missing_file_and_non_utf8_are_input_errors(tmp_path, jsonl):
    with pytest.raises(InputError, match="no such file"):
        read_examples(tmp_path / "nope.jsonl")
    bad = tmp_path / "latin.jsonl"
    bad.write_bytes(b'{"input": "caf\xe9", "output": "x"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        read_examples(bad)
