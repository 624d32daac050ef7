"""``ragtune serve-model SPEC``: any generator (a local model, a tuned one) as an OpenAI-compatible
chat-completions endpoint, so every tool that speaks that API can use it.

Routes: ``GET /v1/models``, ``POST /v1/chat/completions`` (``messages``, ``max_tokens`` or
``max_completion_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``, ``stream`` with
``stream_options.include_usage``), ``GET /health``. Replies carry token ``usage``; streamed replies are
server-sent ``chat.completion.chunk`` events ending with ``data: [DONE]``. One model serves one request
at a time. Errors come back in OpenAI's shape: ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragtune.errors import InputError, RagtuneError
from ragtune.api import GenerateOptions, Generation, Generator, Prompt, batch_queue_of, stream_generation


class ChatMessage(BaseModel):
    """One chat message; ``content`` may be a string or a list of text parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type", "text") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The fields of an OpenAI chat-completions request that a local model honours; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, value):
        return [value] if isinstance(value, str) else value

    def prompt(self) -> Prompt:
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in self.messages]
        return Prompt(messages=messages)

    def options(self, default_max_tokens: int) -> GenerateOptions:
        return GenerateOptions(max_new_tokens=self.max_completion_tokens or self.max_tokens or default_max_tokens,
                               temperature=self.temperature if self.temperature is not None else 0.0,
                               top_p=self.top_p if self.top_p is not None else 1.0, seed=self.seed,
                               stop=list(self.stop or []))


def _usage(generation: Generation) -> dict[str, int]:
    u = generation.usage
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens}


def _error(status: int, message: str, kind: str = "invalid_request_error"):
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=status, content={"error": {"message": message, "type": kind, "code": status}})


def create_app(generator: Generator, model_name: str | None = None, default_max_tokens: int = 256):
    """The FastAPI app serving ``generator`` under ``model_name`` (default: its spec)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import StreamingResponse

    name = model_name or generator.spec
    lock = threading.Lock()
    app = FastAPI(title="ragtune model server", version="1")
    created = int(time.time())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()]
        return _error(400, "; ".join(parts))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": name}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "ragtune"}]}

    batched = batch_queue_of(generator) is not None

    @app.post("/v1/chat/completions")
    def chat(request: ChatCompletionRequest):
        prompt, options = request.prompt(), request.options(default_max_tokens)
        reply_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        now = int(time.time())
        if not request.stream:
            try:
                with contextlib.nullcontext() if batched else lock:  # a local model batches concurrent requests
                    generation = generator.generate(prompt, options)
            except InputError as exc:
                return _error(400, str(exc))
            except RagtuneError as exc:
                return _error(500, str(exc), "server_error")
            return {"id": reply_id, "object": "chat.completion", "created": now, "model": name,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": generation.text},
                                 "finish_reason": generation.finish_reason, "logprobs": None}],
                    "usage": _usage(generation)}
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return StreamingResponse(_events(generator, lock, prompt, options, reply_id, now, name, include_usage),
                                 media_type="text/event-stream")

    return app


def _events(generator: Generator, lock: threading.Lock, prompt: Prompt, options: GenerateOptions, reply_id: str,
            created: int, name: str, include_usage: bool) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        if include_usage:
            body["usage"] = None
        return f"data: {json.dumps(body)}\n\n"

    with lock:
        yield chunk({"role": "assistant", "content": ""})
        try:
            for item in stream_generation(generator, prompt, options):
                if isinstance(item, Generation):
                    yield chunk({}, item.finish_reason)
                    if include_usage:
                        body = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": name,
                                "choices": [], "usage": _usage(item)}
                        yield f"data: {json.dumps(body)}\n\n"
                else:
                    yield chunk({"content": item})
        except RagtuneError as exc:
            yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error', 'code': 500}})}\n\n"
    yield "data: [DONE]\n\n"


def serve(generator: Generator, host: str = "127.0.0.1", port: int = 8000, model_name: str | None = None,
          default_max_tokens: int = 256, log_level: str = "warning") -> None:
    """Serve ``generator`` until interrupted (loads the model first, so a bad spec fails before listening)."""
    import uvicorn

    generator.load()
    uvicorn.run(create_app(generator, model_name, default_max_tokens), host=host, port=port, log_level=log_level)
