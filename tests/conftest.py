"""Shared fixtures: offline settings, a small index over examples/docs, the local model loaded once, and
real servers on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

for _var, _value in {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
                     "TRANSFORMERS_OFFLINE": "1", "LANCE_LOG": "error"}.items():
    os.environ.setdefault(_var, _value)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DOCS = REPO / "examples" / "docs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(app) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("loopback server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_config(home: Path, **sections):
    """A RagtuneConfig for tests: workspace at ``home``, the fake embedder, and the given section overrides."""
    from ragtune.config import RagtuneConfig

    overrides = {"home": str(home), "embedder": {"model": "fake:64"}}
    for key, value in sections.items():
        if isinstance(value, dict):
            overrides.setdefault(key, {}).update(value)
        else:
            overrides[key] = value
    return RagtuneConfig.load(overrides, env={})


@pytest.fixture(scope="session")
def support_home(tmp_path_factory) -> Path:
    """A workspace holding index 'support' built from examples/docs with the fake embedder (read-only for tests)."""
    from ragtune.api import Workspace

    home = tmp_path_factory.mktemp("support-ws")
    Workspace(make_config(home)).ingest([str(EXAMPLE_DOCS)], "support")
    return home


@pytest.fixture(scope="session")
def smollm():
    """SmolLM2-135M-Instruct (the default local model), loaded once per test session."""
    from ragtune.config import GenerationConfig
    from ragtune.generation.local import LocalGenerator

    return LocalGenerator(None, config=GenerationConfig(threads=1)).load()


@pytest.fixture(scope="session")
def config_for():
    """``config_for(home, **sections)``: a test RagtuneConfig (see ``make_config``)."""
    return make_config


@pytest.fixture(scope="session")
def example_docs() -> Path:
    return EXAMPLE_DOCS


@pytest.fixture(scope="session")
def loopback():
    """``with loopback(app) as url``: an ASGI app served on a free loopback port."""
    return serve_app


@pytest.fixture(scope="session")
def ws_for(config_for):
    """``ws_for(home, **sections)``: a Workspace over ``home`` with the test configuration."""
    from ragtune.api import Workspace

    return lambda home, **sections: Workspace(config_for(home, **sections))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()
