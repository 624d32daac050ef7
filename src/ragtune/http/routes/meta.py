"""/v1/health (no key needed) and /v1/models."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ragtune import __version__
from ragtune.api import Workspace
from ragtune.http.auth import principal, workspace
from ragtune.http.schemas import Health, ModelsResponse
from ragtune.serving import Principal

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/health", response_model=Health, summary="Liveness (no key needed)")
def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/models", response_model=ModelsResponse, summary="Model specs that ask accepts here")
def models(who: Principal = Depends(principal), ws: Workspace = Depends(workspace)) -> ModelsResponse:
    return ModelsResponse(default=ws.served_model(None), models=ws.served_models())
