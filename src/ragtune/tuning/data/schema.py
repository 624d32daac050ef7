"""Infer a JSON Schema from the JSON outputs of a data set, and measure how many outputs fit it.

The schema describes the consensus of the rows: types, keys and string values that occur only rarely
(fewer than ``max(2, 0.2%)`` of the values at that place, once there are 50 or more) are treated as deviations and
left out, so the rows that carry them do not fit. Keys present in at least 98% of the objects are required; string fields
with a few common values that cover 99% of the rows (an intent, a label) become an ``enum``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def json_type(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), "string")


def _common(count: int, total: int) -> bool:
    return total < 50 or count >= max(2, 0.002 * total)


def infer_schema(values: list[Any], required_share: float = 0.98, max_enum: int = 20) -> dict[str, Any]:
    """A JSON Schema that most of ``values`` fit (see the module docstring for the rules)."""
    if not values:
        return {}
    total = len(values)
    types = Counter(json_type(v) for v in values)
    if {"integer", "number"} <= set(types):
        types["number"] += types.pop("integer")
    kept = sorted(t for t, c in types.items() if _common(c, total)) or [types.most_common(1)[0][0]]
    schema: dict[str, Any] = {"type": kept[0] if len(kept) == 1 else kept}
    if "object" in kept:
        objects = [v for v in values if isinstance(v, dict)]
        keys = Counter(k for o in objects for k in o)
        schema["properties"] = {k: infer_schema([o[k] for o in objects if k in o], required_share, max_enum)
                                for k in sorted(keys) if _common(keys[k], len(objects))}
        required = sorted(k for k in schema["properties"] if keys[k] >= required_share * len(objects))
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
    if "array" in kept:
        items = [item for v in values if isinstance(v, list) for item in v]
        if items:
            schema["items"] = infer_schema(items, required_share, max_enum)
    if kept == ["string"]:
        counts = Counter(v for v in values if isinstance(v, str))
        common = sorted(v for v, c in counts.items() if _common(c, total))
        covered = sum(counts[v] for v in common)
        if 0 < len(common) <= max_enum and total >= 10 * len(common) and covered >= 0.99 * sum(counts.values()):
            schema["enum"] = common
    return schema


def fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value`` is valid against ``schema``."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema).is_valid(value)
