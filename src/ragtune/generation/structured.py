"""Structured output without tuning: instruct with a JSON Schema, validate the reply, repair once.

``--json-schema FILE`` on generation uses this module: the schema goes into the system prompt
(``schema_instruction``), the first JSON value in the reply is extracted (``extract_json``) and validated
(``validate``), and an invalid reply gets one repair turn that quotes the errors (``generate_structured``).
It makes "system prompt + schema" a fair rival to fine-tuning a format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ragtune.errors import InputError

Messages = list[dict[str, str]]


def load_schema(path: Path | str) -> dict[str, Any]:
    """Read a JSON Schema file; ``InputError`` names the file when it is not JSON or not a valid schema."""
    from jsonschema import exceptions, validators

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such schema file")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(schema, dict):
        raise InputError(f"{path}: a JSON Schema must be an object")
    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        raise InputError(f"{path}: not a valid JSON Schema: {exc.message}") from exc
    return schema


def extract_json(text: str) -> Any:
    """The first JSON object or array in ``text`` (code fences and prose around it are skipped); ``None`` if none."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch not in "{[":
            continue
        try:
            value, _ = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            continue
        return value
    return None


def validate(value: Any, schema: dict[str, Any]) -> list[str]:
    """Readable errors of ``value`` against ``schema`` (empty when valid), each prefixed with its JSON path."""
    from jsonschema import validators

    validator = validators.validator_for(schema)(schema)
    return [f"{e.json_path}: {e.message}" for e in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))]


def schema_instruction(schema: dict[str, Any]) -> str:
    """System-prompt text that asks for a reply that is only a JSON value fitting ``schema``."""
    return ("Reply with only a JSON object, no other text. It must be valid against this JSON Schema:\n"
            + json.dumps(schema, ensure_ascii=False, separators=(",", ":")))


def with_schema(messages: Messages, schema: dict[str, Any]) -> Messages:
    """``messages`` with the schema instruction appended to the system prompt (or added as one)."""
    instruction = schema_instruction(schema)
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n\n" + instruction}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


@dataclass
class StructuredResult:
    """The outcome of ``generate_structured``: the last reply, its parsed value and whether it fits the schema."""

    text: str
    value: Any
    valid: bool
    errors: list[str] = field(default_factory=list)
    attempts: int = 1
    constrained: bool = False  # decoded under the schema's token mask

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "value": self.value, "valid": self.valid, "errors": self.errors, "attempts": self.attempts,
                "constrained": self.constrained}


def check_reply(text: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """Parse and validate one reply: ``(value, errors)``."""
    value = extract_json(text)
    if value is None:
        return None, ["$: the reply contains no JSON object"]
    return value, validate(value, schema)


def generate_structured(messages: Messages, generate: Callable[[Messages], str], schema: dict[str, Any],
                        repairs: int = 1, instruct: bool = True) -> StructuredResult:
    """Generate a reply that fits ``schema``: instruct (optionally), validate, and retry ``repairs`` times with the errors."""
    conversation = with_schema(messages, schema) if instruct else list(messages)
    text = generate(conversation)
    value, errors = check_reply(text, schema)
    attempts = 1
    while errors and attempts <= repairs:
        shown = "\n".join(f"- {e}" for e in errors[:10])
        conversation = [*conversation, {"role": "assistant", "content": text},
                        {"role": "user", "content": f"That reply does not fit the JSON Schema:\n{shown}\n"
                                                    "Reply again with only the corrected JSON object."}]
        text = generate(conversation)
        value, errors = check_reply(text, schema)
        attempts += 1
    return StructuredResult(text=text, value=value, valid=not errors, errors=errors, attempts=attempts)
