"""An app over a workspace with two indexes (support, billing) and keys of every role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.http import create_app


@pytest.fixture
def serve_config(tmp_path) -> RagtuneConfig:
    return RagtuneConfig.load({"home": str(tmp_path / "home"), "embedder": {"model": "fake:64"},
                               "serve": {"max_upload_mb": 0.05}})


@pytest.fixture
def served(serve_config, docs_dir, tmp_path) -> Workspace:
    ws = Workspace(serve_config)
    ws.ingest([str(docs_dir)], index="support")
    other = tmp_path / "billing"
    other.mkdir()
    (other / "invoices.md").write_text("# Invoices\n\nInvoices are sent on the first day of each month.\n")
    ws.ingest([str(other)], index="billing")
    return ws


@pytest.fixture
def keys(served) -> dict[str, str]:
    made = {}
    for label, index, role in [("reader", "support", "reader"), ("writer", "support", "writer"),
                               ("admin", "support", "admin"), ("root", "*", "admin"), ("billing", "billing", "reader")]:
        made[label] = served.keys.create(index, role)[1]
    return made


@pytest.fixture
def client(served) -> TestClient:
    return TestClient(create_app(served), raise_server_exceptions=False)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def auth():
    """``auth(key)``: the Authorization header for a key."""
    return bearer
