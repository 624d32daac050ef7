"""Fixtures for the decision tests: a workspace on the fake embedder with the example corpus, question and example files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.api import Workspace

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def jsonl():
    return write_jsonl


@pytest.fixture
def support(workspace: Workspace) -> Workspace:
    """The workspace with examples/docs ingested as the index 'support'."""
    workspace.ingest([str(EXAMPLES / "docs")], "support")
    return workspace


@pytest.fixture
def questions_file() -> Path:
    return EXAMPLES / "questions.jsonl"


@pytest.fixture
def tickets_file() -> Path:
    return EXAMPLES / "tickets.jsonl"
