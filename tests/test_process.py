"""Process-wide settings (thread pools, offline hubs, umask) are set by the entry points, never by building a
Workspace; ``tuned:`` is a built-in, there before any Workspace is built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def loose_umask():
    """The umask 022 during the test (the one before comes back afterwards)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


@pytest.fixture
def config(tmp_path) -> RagtuneConfig:
    return RagtuneConfig.load({"home": str(tmp_path / "ws"), "embedder": {"model": "fake:16"}})


def test_building_a_workspace_leaves_the_umask_alone(loose_umask, config):
    Workspace(config)
    assert _umask() == 0o022


def test_building_a_workspace_leaves_the_environment_alone(monkeypatch, config):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    Workspace(config)
    assert "HF_HUB_OFFLINE" not in os.environ


def test_the_http_app_factory_sets_the_umask(loose_umask, config):
    from ragtune.http import create_app

    create_app(Workspace(config))
    assert _umask() == 0o077


def test_the_mcp_server_sets_the_umask(loose_umask, config):
    pytest.importorskip("mcp")
    from ragtune.mcp.server import build_server

    build_server(Workspace(config))
    assert _umask() == 0o077


def test_the_cli_entry_point_sets_the_umask_and_keeps_the_hubs_offline(tmp_path):
    code = ("import os, sys; os.umask(0o022); os.environ.pop('HF_HUB_OFFLINE', None); sys.argv = ['ragtune', '--help']\n"
            "from ragtune.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "mask = os.umask(0); print(oct(mask), os.environ.get('HF_HUB_OFFLINE'), file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"} | {"PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stderr.split() == ["0o77", "1"]


def test_tuned_is_a_built_in_before_any_workspace_is_built():
    code = ("import ragtune.api\nfrom ragtune.generation import generators\nfrom ragtune.tuning.tuned import tuned_generator\n"
            "print(generators.get('tuned') is tuned_generator)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"
