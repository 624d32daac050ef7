"""Fixtures for the decision tests: a workspace on the fake embedder with the example corpus, question and example files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.api import Workspace

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


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
