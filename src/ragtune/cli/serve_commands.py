"""``ragtune serve``: the HTTP API (and web page) on one host and port."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Optional

import typer

from ragtune.api import Workspace
from ragtune.cli.output import err, handle_errors
from ragtune.api import RagtuneConfig
from ragtune.errors import ConfigError, InputError


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def serve(
        host: Optional[str] = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
        port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="TCP port (default 8400)."),
        no_auth: bool = typer.Option(False, "--no-auth", help="Serve without API keys: loopback development only."),
        models: list[str] = typer.Option([], "--model", "-m",
                                         help="A model spec clients may name in ask (repeatable; default: the configured one and "
                                              "extractive)."),
        roots: list[Path] = typer.Option([], "--root",
                                         help="A server folder that ingest-by-path may read (repeatable; default: none)."),
        max_upload_mb: Optional[float] = typer.Option(None, "--max-upload-mb", help="Largest upload in MiB (default 20)."),
    ) -> None:
        """Serve the HTTP API: OpenAPI at /docs, the web page at /."""
        try:
            import uvicorn

            from ragtune.http import create_app
        except ImportError as exc:
            raise ConfigError("ragtune serve needs: pip install 'ragtune[serve]'") from exc
        overrides = {"host": host, "port": port, "max_upload_mb": max_upload_mb,
                     "models": list(models) or None, "roots": [str(r) for r in roots] or None}
        config = RagtuneConfig.load({"serve": overrides})
        for root in config.serve.roots:
            if not root.is_dir():
                raise InputError(f"--root {root}: no such folder")
        if no_auth:
            if not is_loopback(config.serve.host):
                raise InputError(f"--no-auth is for loopback development only; {config.serve.host} is not a loopback address")
            err.print("[bold yellow]warning:[/] --no-auth: every local process can read, change and delete every index. "
                      "Use API keys (ragtune keys create) for anything else.", highlight=False)
        ws = Workspace(config)
        err.print(f"ragtune serving http://{config.serve.host}:{config.serve.port} (OpenAPI at /docs)", highlight=False)
        uvicorn.run(create_app(ws, auth=not no_auth), host=config.serve.host, port=config.serve.port, log_level="warning")
