"""Errors as RFC 9457 problem documents (``application/problem+json``), mapped once for every route.

A ``RagtuneError`` keeps the message the CLI prints, as ``detail``; its class name is ``code``; its status is the
one its class declares (``http_status``, drawn in the tree in ``ragtune.errors``). Request bodies that are not JSON
are 400; bodies that do not fit the schema are 422 with one entry per field. Failures that are not ragtune's own
are 500 with no detail.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragtune.errors import RagtuneError

log = logging.getLogger("ragtune.http")

PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """The body of every error response."""

    type: str = Field("about:blank", description="Problem type; 'about:blank' means: see the status.")
    title: str = Field(description="The HTTP status phrase.")
    status: int
    detail: str = Field(description="What went wrong, in the words the CLI uses.")
    code: str = Field(description="The ragtune error class, or an HTTP-level code (Unauthorized, Forbidden, ...).")
    errors: list[dict[str, Any]] | None = Field(None, description="For 422: one entry per invalid field.")


class HTTPProblem(Exception):
    """Raised by routes for HTTP-level refusals (401, 403, 404 out of scope) with a problem body."""

    def __init__(self, status: int, detail: str, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers
        self.code = code or HTTPStatus(status).phrase.replace(" ", "")


def status_for(exc: RagtuneError) -> int:
    """The HTTP status of a ragtune error: the one its class declares."""
    return exc.http_status


def problem_body(status: int, detail: str, code: str, **extra: Any) -> dict[str, Any]:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem(status: int, detail: str, code: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(problem_body(status, detail, code, **extra), status_code=status, media_type=PROBLEM, headers=headers)


def problem_for(exc: BaseException) -> dict[str, Any]:
    """The problem body for any exception (used where no response can be returned, e.g. inside a stream)."""
    if isinstance(exc, RagtuneError):
        return problem_body(status_for(exc), str(exc), type(exc).__name__)
    if isinstance(exc, HTTPProblem):
        return problem_body(exc.status, exc.detail, exc.code)
    return problem_body(500, "internal error (see the server log)", "InternalError")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]  # where the field was sent, not part of its name
    return ".".join(parts) or "(body)"


class BodyTooLarge(StarletteHTTPException):
    """Raised while a request body is read past the server's limit."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is larger than this server accepts")


class BodyLimit:
    """ASGI middleware: a request body above ``max_bytes`` is refused with a 413 problem, declared or streamed."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem(413, "the request body is larger than this server accepts", "RequestEntityTooLarge")(scope, receive,
                                                                                                               send)
            return
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(RagtuneError)
    async def ragtune_error(request: Request, exc: RagtuneError) -> JSONResponse:
        return problem(status_for(exc), str(exc), type(exc).__name__)

    @app.exception_handler(HTTPProblem)
    async def http_problem(request: Request, exc: HTTPProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            reason = (bad_json[0].get("ctx") or {}).get("error", "invalid JSON")
            return problem(400, f"the request body is not valid JSON: {reason}", "InvalidJSON")
        fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in errors]
        detail = "; ".join(f"field '{f['field']}': {f['message']}" for f in fields)
        return problem(422, detail, "ValidationError", errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(exc.status_code, detail, HTTPStatus(exc.status_code).phrase.replace(" ", ""),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error (see the server log)", "InternalError")
