"""Joining a Ray cluster: an address that does not answer is a clear error (exit 2) at once, never a long wait."""

from __future__ import annotations

import socket

import pytest

from ragtune.distributed import check_address
from ragtune.errors import ConfigError


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_closed_port_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at '127.0.0.1:"):
        check_address(f"127.0.0.1:{_closed_port()}")


def test_the_client_form_is_named_as_unsupported():
    with pytest.raises(ConfigError, match="HOST:PORT"):
        check_address("ray://127.0.0.1:10001")


def test_an_open_port_passes():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_address(f"127.0.0.1:{server.getsockname()[1]}")


def test_ingest_with_an_unreachable_address_exits_2_and_leaves_no_index(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ragtune.cli import app

    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:16")
    (tmp_path / "a.md").write_text("# a\n\nwords\n")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(tmp_path / "a.md"), "--index", "kb", "--engine", "ray",
                                 "--ray-address", f"127.0.0.1:{_closed_port()}"])
    assert result.exit_code == 2
    assert "cannot reach the Ray cluster" in result.stderr
    assert runner.invoke(app, ["indexes", "--json"]).stdout.strip() == "[]"
