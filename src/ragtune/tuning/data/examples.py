"""Fine-tuning examples: reading the accepted formats into one shape, with every problem located.

One JSONL file holds one format:

- ``{"input", "output"}``: ``output`` is a string, or a JSON object/array (the format task);
- chat: ``{"messages": [{"role", "content"}, ...]}`` (OpenAI style) or ShareGPT
  ``{"conversations": [{"from", "value"}, ...]}``;
- Alpaca: ``{"instruction", "input", "output"}`` (``input`` may be empty).

Every row may carry a ``system`` field; a file-wide system prompt is given by the caller and applies to the
rows that have none. Each row becomes an ``Example`` whose ``messages`` end with the assistant reply that
training learns (the completion); everything before it is the prompt.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ragtune.common import normalise_text
from ragtune.errors import InputError


class ExampleFormat(str, Enum):
    """The row shapes a file may use."""

    input_output = "input_output"
    chat = "chat"
    sharegpt = "sharegpt"
    alpaca = "alpaca"


_ROLES = {"system", "user", "assistant"}
_SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}


@dataclass
class Issue:
    """One problem in a file, located by line and field."""

    file: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f": field '{self.field}'" if self.field else "")
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class Example:
    """One training example: chat messages ending with the assistant reply to learn."""

    line: int
    format: ExampleFormat
    messages: list[dict[str, str]]
    raw: dict[str, Any]
    output_json: Any = None  # the completion parsed as a JSON object or array, when it is one

    @property
    def prompt(self) -> list[dict[str, str]]:
        return self.messages[:-1]

    @property
    def completion(self) -> str:
        return self.messages[-1]["content"]

    @property
    def completion_field(self) -> str:
        return {ExampleFormat.input_output: "output", ExampleFormat.alpaca: "output",
                ExampleFormat.chat: "messages", ExampleFormat.sharegpt: "conversations"}[self.format]


@dataclass
class ExampleSet:
    """The examples of one file, the problems found reading it, and what the file is."""

    path: Path
    sha256: str
    examples: list[Example]
    issues: list[Issue]
    format: ExampleFormat | None
    lines: int
    blank_lines: int = 0
    json_outputs: bool = False  # most completions are JSON objects: the format task
    invalid_lines: set[int] = field(default_factory=set)

    @property
    def valid(self) -> list[Example]:
        """Examples on lines with no issue."""
        return [e for e in self.examples if e.line not in self.invalid_lines]

    def raise_for_issues(self, limit: int = 5) -> None:
        """``InputError`` listing the first issues, if there are any."""
        if self.issues:
            shown = "; ".join(str(i) for i in self.issues[:limit])
            more = f" (and {len(self.issues) - limit} more)" if len(self.issues) > limit else ""
            raise InputError(f"{len(self.issues)} problem(s) in the examples: {shown}{more}. "
                             f"See all of them with: ragtune data check {self.path}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prompt_key(example: Example) -> str:
    """Normalised text of the prompt (every message before the completion)."""
    return "\n".join(f"{m['role']}:{normalise_text(m['content'])}" for m in example.prompt)


def json_completion(text: str) -> Any:
    """The completion parsed as JSON when it is an object or an array; ``None`` otherwise."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, (dict, list)) else None


def detect_format(row: dict[str, Any]) -> ExampleFormat | None:
    """The format a row is written in, from its keys."""
    if "messages" in row:
        return ExampleFormat.chat
    if "conversations" in row:
        return ExampleFormat.sharegpt
    if "instruction" in row:
        return ExampleFormat.alpaca
    if "input" in row or "output" in row:
        return ExampleFormat.input_output
    return None


def read_examples(path: Path | str, system: str | None = None, mixed_outputs: bool = False) -> ExampleSet:
    """Read a JSONL file of examples; problems become ``Issue``s (the file as a whole must exist and be JSONL).

    ``mixed_outputs`` accepts text outputs beside a majority of JSON ones (a model taught two tasks at once).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    name = str(path)
    issues: list[Issue] = []
    parsed: list[tuple[int, dict[str, Any], ExampleFormat]] = []
    lines = blank = 0
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            for number, line in enumerate(fh, start=1):
                lines = number
                if not line.strip():
                    blank += 1
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    issues.append(Issue(name, number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"))
                    continue
                if not isinstance(row, dict):
                    issues.append(Issue(name, number, None, f"expected a JSON object, found {type(row).__name__}"))
                    continue
                fmt = detect_format(row)
                if fmt is None:
                    issues.append(Issue(name, number, None, "unknown example format: expected 'input'/'output', 'messages', "
                                                            "'conversations' or 'instruction'/'output' fields"))
                    continue
                parsed.append((number, row, fmt))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason} near byte {exc.start})") from exc
    formats = Counter(fmt for _, _, fmt in parsed)
    file_format = formats.most_common(1)[0][0] if formats else None
    examples: list[Example] = []
    for number, row, fmt in parsed:
        if file_format is not None and fmt is not file_format:  # (never None once a row is parsed)
            issues.append(Issue(name, number, None, f"{fmt.value} format, but the file is {file_format.value} "
                                                    f"({formats[file_format]} rows): one file holds one format"))
            continue
        example, row_issues = _to_example(name, number, row, fmt, system)
        issues.extend(row_issues)
        if example is not None:
            examples.append(example)
    json_rows = sum(1 for e in examples if e.output_json is not None)
    json_outputs = bool(examples) and json_rows * 2 > len(examples)
    if json_outputs and not mixed_outputs:
        for e in examples:
            if e.output_json is None:
                issues.append(Issue(name, e.line, e.completion_field, f"the output is not a JSON object or array, while "
                                                                      f"{json_rows} of {len(examples)} outputs in the file are"))
    invalid = {i.line for i in issues}
    return ExampleSet(path=path, sha256=file_sha256(path), examples=examples, issues=sorted(issues, key=lambda i: i.line),
                      format=file_format, lines=lines, blank_lines=blank, json_outputs=json_outputs, invalid_lines=invalid)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _RowIssues(list):
    """The issues of one row, with ``bad`` to add one."""

    def __init__(self, name: str, number: int) -> None:
        super().__init__()
        self.name, self.number = name, number

    def bad(self, field_name: str, message: str) -> None:
        self.append(Issue(self.name, self.number, field_name, message))


def _to_example(name: str, number: int, row: dict[str, Any], fmt: ExampleFormat,
                system: str | None) -> tuple[Example | None, list[Issue]]:
    issues = _RowIssues(name, number)
    row_system = row.get("system")
    if row_system is not None and (not isinstance(row_system, str) or not row_system.strip()):
        issues.bad("system", "must be a non-empty string when present")
        row_system = None
    if fmt in (ExampleFormat.input_output, ExampleFormat.alpaca):
        messages, output_json = _completion_messages(row, fmt, issues)
    else:
        messages, output_json = _chat_messages(row, fmt, issues), None
    if issues:
        return None, issues
    if output_json is None:
        output_json = json_completion(messages[-1]["content"])
    if messages[0]["role"] != "system":
        prompt_system = row_system or system
        if prompt_system:
            messages.insert(0, {"role": "system", "content": prompt_system})
    return Example(line=number, format=fmt, messages=messages, raw=row, output_json=output_json), issues


def _completion_messages(row: dict[str, Any], fmt: ExampleFormat, issues: _RowIssues) -> tuple[list[dict[str, str]], Any]:
    """The user and assistant messages of an input/output or Alpaca row, and its output when that is JSON."""
    prompt_field = "instruction" if fmt is ExampleFormat.alpaca else "input"
    prompt = row.get(prompt_field)
    if prompt is None:
        issues.bad(prompt_field, "missing")
    elif not isinstance(prompt, str) or not prompt.strip():
        issues.bad(prompt_field, "must be a non-empty string")
    extra = row.get("input") if fmt is ExampleFormat.alpaca else None
    if fmt is ExampleFormat.alpaca and extra is not None and not isinstance(extra, str):
        issues.bad("input", "must be a string (it may be empty)")
    output = row.get("output")
    output_json: Any = None
    if output is None:
        issues.bad("output", "missing")
    elif isinstance(output, (dict, list)):
        if not output:
            issues.bad("output", "is an empty JSON value")
        output_json = output
        output = json.dumps(output, ensure_ascii=False)
    elif not isinstance(output, str) or not output.strip():
        issues.bad("output", "must be a non-empty string or a JSON object")
    if issues:
        return [], None
    assert isinstance(prompt, str) and isinstance(output, str)  # every other case is an issue above
    user = prompt if not extra or not extra.strip() else f"{prompt}\n\n{extra}"
    return [{"role": "user", "content": user}, {"role": "assistant", "content": output}], output_json


def _chat_messages(row: dict[str, Any], fmt: ExampleFormat, issues: _RowIssues) -> list[dict[str, str]]:
    """The messages of a chat or ShareGPT row, which must end with the assistant's reply to a user."""
    key = "messages" if fmt is ExampleFormat.chat else "conversations"
    turns = row.get(key)
    if not isinstance(turns, list) or not turns:
        issues.bad(key, "must be a non-empty list of messages")
        return []
    role_key, text_key = ("role", "content") if fmt is ExampleFormat.chat else ("from", "value")
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(turns):
        where = f"{key}[{i}]"
        if not isinstance(turn, dict):
            issues.bad(where, "must be an object")
            continue
        role, content = turn.get(role_key), turn.get(text_key)
        role = role if fmt is ExampleFormat.chat else _SHAREGPT_ROLES.get(role) if isinstance(role, str) else None
        if role not in _ROLES:
            allowed = sorted(_ROLES) if fmt is ExampleFormat.chat else sorted(_SHAREGPT_ROLES)
            issues.bad(f"{where}.{role_key}", f"'{turn.get(role_key)}' is not one of {', '.join(allowed)}")
            continue
        if not isinstance(content, str) or not content.strip():
            issues.bad(f"{where}.{text_key}", "missing or empty")
            continue
        messages.append({"role": role, "content": content})
    if issues:
        return messages
    if messages[-1]["role"] != "assistant":
        issues.bad(f"{key}[{len(turns) - 1}]", "the last message must be the assistant's reply (the completion to learn)")
    if not any(m["role"] == "user" for m in messages[:-1]):
        issues.bad(key, "needs a user message before the assistant's reply")
    if any(m["role"] == "system" for m in messages[1:]):
        issues.bad(key, "a system message may only come first")
    return messages
