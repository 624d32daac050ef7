"""Format metrics for structured outputs: JSON parse rate, JSON Schema validity, per-field accuracy."""

from __future__ import annotations

import json
from typing import Any

from ragtune.errors import InputError
from ragtune.generation.structured import extract_json as _first_json


def extract_json(text: str) -> Any | None:
    """The whole text as JSON when it parses, else the first JSON object or array inside it; ``None`` if none."""
    try:
        return json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return _first_json(text)


def check_schema(schema: Any, where: str = "schema") -> None:
    """``InputError`` unless ``schema`` is a valid JSON Schema."""
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InputError(f"{where}: not a valid JSON Schema: {exc.message}") from exc


def schema_valid(value: Any, schema: Any) -> bool:
    """Whether ``value`` satisfies the JSON Schema ``schema``."""
    import jsonschema

    return jsonschema.validators.validator_for(schema)(schema).is_valid(value)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as ``{"a.b": leaf}`` pairs (lists stay leaves)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1] if prefix else "": value}


def field_scores(predicted: Any, reference: Any) -> dict[str, float]:
    """Per-field exact accuracy (``field_acc.<path>``) and micro precision/recall/F1 over leaf fields."""
    ref = flatten(reference)
    pred = flatten(predicted) if isinstance(predicted, dict) else {}
    out = {f"field_acc.{k}": float(k in pred and pred[k] == v) for k, v in ref.items()}
    correct = sum(1 for k, v in ref.items() if k in pred and pred[k] == v)
    precision = correct / len(pred) if pred else float(not ref)
    recall = correct / len(ref) if ref else 1.0
    out["fields_precision"] = precision
    out["fields_recall"] = recall
    out["fields_f1"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return out
