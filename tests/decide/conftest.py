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


@pytest.fixture(scope="session")
def fake_fine_tuning():
    """The loopback fake of a provider's fine-tuning API (``tests/tuning/managed/fake_fine_tuning.py``), as a module."""
    import importlib.util
    import sys

    path = REPO / "tests" / "tuning" / "managed" / "fake_fine_tuning.py"
    spec = importlib.util.spec_from_file_location("decide_fake_fine_tuning", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module
