"""``ragtune mcp``: the MCP server on stdio (tools: search, ask, list_indexes, ingest)."""

from __future__ import annotations

from pathlib import Path

import typer

from ragtune.api import Workspace
from ragtune.cli.output import handle_errors
from ragtune.api import RagtuneConfig
from ragtune.errors import ConfigError, InputError
from ragtune.api import check_index_name


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def mcp(
        indexes: list[str] = typer.Option([], "--index", "-i", help="Only these indexes are visible (repeatable; default: all)."),
        roots: list[Path] = typer.Option([], "--root",
                                         help="Folders the ingest tool may read (repeatable; default: the working directory)."),
        models: list[str] = typer.Option([], "--model", "-m",
                                         help="Model specs the ask tool may use (repeatable; default: the configured one and "
                                              "extractive)."),
        read_only: bool = typer.Option(False, "--read-only", help="Leave the ingest tool out."),
    ) -> None:
        """Serve MCP on stdio for assistants and IDEs (stdout carries the protocol; logs go to stderr)."""
        try:
            from ragtune.mcp.server import run_stdio
        except ImportError as exc:  # pragma: no cover - the serve extra is missing
            raise ConfigError("ragtune mcp needs: pip install 'ragtune[serve]'") from exc
        for name in indexes:
            check_index_name(name)
        for root in roots:
            if not root.is_dir():
                raise InputError(f"--root {root}: no such folder")
        ws = Workspace(RagtuneConfig.load({"serve": {"models": list(models) or None}}))
        run_stdio(ws, indexes=indexes, roots=roots, read_only=read_only)
