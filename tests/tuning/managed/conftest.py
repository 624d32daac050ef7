"""Fixtures for managed fine-tuning: the fake provider on loopback and a command runner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from .fake_fine_tuning import FakeProvider, fake_app


@pytest.fixture
def provider(loopback):
    """``(state, url)``: a fresh fake fine-tuning provider served on loopback (``url`` ends in /v1)."""
    state = FakeProvider()
    with loopback(fake_app(state)) as url:
        yield state, f"{url}/v1"


@pytest.fixture
def cli(monkeypatch):
    """Run ragtune commands in-process; returns (exit_code, stdout, stderr)."""
    from ragtune.cli import app

    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:64")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return run
