"""The real thing: `ragtune serve` in its own process on a loopback port, spoken to with httpx."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def ragtune(env, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "ragtune", *args], env=env, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture
def server_env(tmp_path):
    env = {**os.environ, "RAGTUNE_HOME": str(tmp_path / "home"), "RAGTUNE_EMBEDDER": "fake:64",
           "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return env


def start(env, port, *args):
    proc = subprocess.Popen([sys.executable, "-m", "ragtune", "serve", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.3)
    proc.terminate()
    raise AssertionError("server did not start")


def stop(proc) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_serve_with_keys_on_loopback(server_env, docs_dir, closed_port):
    assert ragtune(server_env, "ingest", str(docs_dir), "--index", "support").returncode == 0
    created = json.loads(ragtune(server_env, "keys", "create", "--index", "support", "--role", "reader", "--json").stdout)
    proc, base = start(server_env, closed_port)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            assert http.get("/v1/indexes").status_code == 401
            h = {"Authorization": f"Bearer {created['key']}"}
            assert [i["name"] for i in http.get("/v1/indexes", headers=h).json()] == ["support"]
            hits = http.post("/v1/indexes/support/search", headers=h, json={"query": "audit log retention", "k": 3}).json()["hits"]
            assert hits[0]["doc_id"] == "docs/audit.txt"
            answer = http.post("/v1/indexes/support/ask", headers=h, json={"question": "How long are audit entries kept?"}).json()
            assert "400 days" in answer["answer"] and answer["citations"][0]["doc_id"] == "docs/audit.txt"
            with http.stream("POST", "/v1/indexes/support/ask/stream", headers=h,
                             json={"question": "How long are audit entries kept?"}) as r:
                lines = [line for line in r.iter_lines() if line.startswith("event: ")]
            assert lines[-1] == "event: answer" and "event: delta" in lines
            r = http.post("/v1/indexes/support/documents", headers=h, files=[("files", ("x.md", b"# X\n\nx\n"))])
            assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    finally:
        stop(proc)


def test_no_auth_warns_and_refuses_a_public_interface(server_env, closed_port):
    result = ragtune(server_env, "serve", "--no-auth", "--host", "0.0.0.0", "--port", str(closed_port))
    assert result.returncode == 2 and "loopback" in result.stderr
    proc, base = start(server_env, closed_port, "--no-auth")
    try:
        assert httpx.get(f"{base}/v1/indexes", timeout=30).json() == []
    finally:
        err = stop(proc)
    assert "warning" in err and "--no-auth" in err
