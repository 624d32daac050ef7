"""Fixtures for the tuning tests: example files and (slow) one tiny trained version shared by a module."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

for _var, _value in {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}.items():
    os.environ.setdefault(_var, _value)

INTENTS = {
    "PlayMusic": ["play {x} on spotify", "put on some {x}", "I want to hear {x}"],
    "GetWeather": ["weather in {x} tomorrow", "will it rain in {x}", "forecast for {x}"],
}
VALUES = ["jazz", "Paris", "Lyon", "rock", "Oslo", "blues"]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8")
    return path


def intent_rows(n: int = 12) -> list[dict]:
    """Small, distinct text -> JSON rows for two intents."""
    rows = []
    for i in range(n):
        intent = sorted(INTENTS)[i % 2]
        template = INTENTS[intent][(i // 2) % 3]
        value = VALUES[(i // 6) % len(VALUES)] + ("" if i < 36 else f" {i}")
        slot = "genre" if intent == "PlayMusic" else "city"
        rows.append({"input": template.format(x=value), "output": {"intent": intent, "slots": {slot: value}}})
    return rows


@pytest.fixture
def jsonl():
    """``jsonl(path, rows)``: write rows (dicts, or raw strings for broken lines) as a JSONL file."""
    return write_jsonl


@pytest.fixture
def rows():
    """``rows(n)``: n distinct text -> JSON intent examples."""
    return intent_rows


@pytest.fixture
def intents_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "intents.jsonl", intent_rows(12))


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
