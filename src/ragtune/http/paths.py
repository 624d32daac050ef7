"""Server paths never leave the server: JSON, problem and event-stream bodies name files relative to the workspace.

An uploaded document is stored under ``<home>/uploads/<index>/``; its source, the errors that name it and the
job results that hold run folders would otherwise tell every client where the server keeps its data. This ASGI
middleware rewrites ``<home>/`` to nothing in those bodies, so clients see ``uploads/alpha/a_b.txt``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_TEXT_TYPES = (b"application/json", b"application/problem+json", b"text/event-stream")


class HideServerPaths:
    """Rewrites the workspace's absolute path out of JSON and event-stream response bodies."""

    def __init__(self, app: Any, home: Path) -> None:
        self.app = app
        absolute = {str(Path(os.path.abspath(home))), str(Path(home).resolve())}
        self.prefixes = sorted({(p.rstrip("/") + "/").encode() for p in absolute}, key=len, reverse=True)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rewrite = False

        async def send_rewritten(message: dict) -> None:
            nonlocal rewrite
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                rewrite = content_type.startswith(_TEXT_TYPES)
                if rewrite:  # the length changes: the body goes out chunked
                    message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != b"content-length"]}
            elif message["type"] == "http.response.body" and rewrite:
                body = message.get("body", b"")
                for prefix in self.prefixes:
                    body = body.replace(prefix, b"")
                message = {**message, "body": body}
            await send(message)

        await self.app(scope, receive, send_rewritten)
