"""The ``serve-model`` command: a model as an OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

from typing import Optional

import typer

from ragtune.api import Workspace
from ragtune.cli.output import err, handle_errors
from ragtune.api import RagtuneConfig


def register(app: typer.Typer) -> None:
    @app.command("serve-model")
    @handle_errors
    def serve_model(
        spec: str = typer.Argument(..., help="Model spec: local[:<dir>], gguf:<file>, tuned:<name>[@vN], ..."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
        name: Optional[str] = typer.Option(None, "--name", help="Model id the API reports (default: the spec)."),
        max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="Answer length when a request gives none."),
    ) -> None:
        """Serve a model as an OpenAI-compatible endpoint (/v1/chat/completions, streaming, usage counts)."""
        from ragtune.http.openai_server import serve

        generator = Workspace(RagtuneConfig.load()).generator(spec)
        err.print(f"serving {spec} at http://{host}:{port}/v1 (Ctrl-C stops)", highlight=False)
        serve(generator, host, port, name, max_tokens)
