import pytest
from typer.testing import CliRunner

from ragtune.cli import app


@pytest.fixture
def cli(monkeypatch):
    """Run ragtune commands in-process with the fake embedder; returns (exit_code, stdout, stderr)."""
    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:64")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return run
