"""POST /v1/indexes/{name}/ask: a cited answer, as JSON or as server-sent events.

``/ask`` returns the ``ask --json`` document. ``/ask/stream`` sends ``delta`` events (``{"text": ...}``)
as the model writes, then one ``answer`` event with the same document, or one ``error`` event with a
problem body. The model must be one the server serves (``GET /v1/models``): a client cannot make the
server load files or call hosts of its choosing.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ragtune.api import Index, Workspace
from ragtune.http.auth import ReaderIndex, workspace
from ragtune.http.errors import problem_for
from ragtune.http.schemas import AskRequest, AskResponse

router = APIRouter(prefix="/v1/indexes/{name}", tags=["ask"])


def checked_request(body: AskRequest, ws: Workspace = Depends(workspace)) -> AskRequest:
    """The request, with its model checked against the served models before any response starts."""
    ws.served_model(body.model)
    return body


def _ask(index: Index, body: AskRequest, on_text=None):
    filters = body.filters.to_filters() if body.filters else None
    return index.ask(body.question, model=index.workspace.served_model(body.model), k=body.k, mode=body.mode,
                     filters=filters, on_text=on_text)


@router.post("/ask", response_model=AskResponse, summary="A cited answer from the index (reader)")
def ask(body: AskRequest = Depends(checked_request), index: Index = ReaderIndex) -> dict:
    return _ask(index, body).to_json()


@router.post("/ask/stream", response_class=EventSourceResponse,
             summary="A cited answer as server-sent events: delta..., then answer (or error) (reader)")
def ask_stream(body: AskRequest = Depends(checked_request), index: Index = ReaderIndex) -> Iterator[ServerSentEvent]:
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            answer = _ask(index, body, on_text=lambda piece: events.put(("delta", piece)))
            events.put(("answer", answer.to_json()))
        except BaseException as exc:  # noqa: BLE001 - reported to the client as an error event
            events.put(("error", exc))

    threading.Thread(target=work, name="ragtune-ask", daemon=True).start()
    while True:
        kind, item = events.get()
        if kind == "delta":
            yield ServerSentEvent(event="delta", data={"text": item})
        elif kind == "answer":
            yield ServerSentEvent(event="answer", data=item)
            return
        else:
            yield ServerSentEvent(event="error", data=problem_for(item))
            return
