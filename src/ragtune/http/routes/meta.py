"""/v1/health (no key needed) and /v1/models."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ragtune import __version__
from ragtune.api import Workspace
from ragtune.http.auth import principal, workspace
from ragtune.http.errors import HTTPProblem
from ragtune.http.schemas import Health, ModelsResponse
from ragtune.api import Principal

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/health", response_model=Health, summary="Liveness (no key needed); 503 while the key store is unreadable",
            responses={503: {"description": "The key store cannot be read: every keyed request would fail."}})
def health(request: Request, ws: Workspace = Depends(workspace)) -> Health:
    if request.app.state.auth:
        try:
            ws.keys.list()
        except Exception as exc:  # noqa: BLE001 - any failure to read the keys makes this server unusable
            raise HTTPProblem(503, "the key store cannot be read: keyed requests fail until it is fixed",
                              "KeyStoreUnavailable") from exc
    return Health(status="ok", version=__version__)


@router.get("/models", response_model=ModelsResponse, summary="Model specs that ask accepts here")
def models(who: Principal = Depends(principal), ws: Workspace = Depends(workspace)) -> ModelsResponse:
    return ModelsResponse(default=ws.served_model(None), models=ws.served_models())
