"""Shared fixtures: an isolated workspace per test, deterministic embeddings, small document trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402

SHARED_DATA = Path(os.environ.get("RAGTUNE_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own workspace and never reads a ragtune.toml or RAGTUNE_* from the caller."""
    for var in list(os.environ):
        if var.startswith("RAGTUNE_") and var not in ("RAGTUNE_SHARED_DATA", "RAGTUNE_MODEL_CACHE"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAGTUNE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_config(tmp_path) -> RagtuneConfig:
    return RagtuneConfig.load({"home": str(tmp_path / "home"), "embedder": {"model": "fake:64"}})


@pytest.fixture
def workspace(fake_config) -> Workspace:
    return Workspace(fake_config)


@pytest.fixture
def docs_dir(tmp_path) -> Path:
    """A small folder of support documents in several formats."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "keys.md").write_text(
        "# Keys\n\n## Rotation\n\nAPI keys must be rotated every 90 days from the admin console.\n\n"
        "## Revocation\n\nA revoked key stops working at once and cannot be restored.\n", encoding="utf-8")
    (root / "audit.txt").write_text(
        "The audit log records every sign-in and every change to a secret.\n\nEntries are kept for 400 days.\n",
        encoding="utf-8")
    (root / "faq.html").write_text(
        "<html><head><title>FAQ</title></head><body><nav>Home | Pricing</nav><main><h1>FAQ</h1><h2>Billing</h2>"
        "<p>The Team plan costs 8 USD per user per month.</p></main><footer>Copyright Northwind</footer></body></html>",
        encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
