"""/v1/keys: admins create, list and revoke keys within their own scope."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from ragtune.api import Workspace
from ragtune.http.auth import principal, workspace
from ragtune.http.errors import HTTPProblem
from ragtune.http.schemas import CreatedKey, CreateKeyRequest, KeyInfo
from ragtune.api import ALL_INDEXES, Principal, Role

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def admin(who: Principal = Depends(principal)) -> Principal:
    if not who.role.includes(Role.admin):
        raise HTTPProblem(403, f"this key ({who.role.value}) may not manage keys")
    return who


def _visible(who: Principal, index: str) -> bool:
    return who.index == ALL_INDEXES or index == who.index


@router.get("", response_model=list[KeyInfo], summary="Keys within this admin key's scope")
def list_keys(who: Principal = Depends(admin), ws: Workspace = Depends(workspace)) -> list[dict]:
    return [k.public() for k in ws.keys.list() if _visible(who, k.index)]


@router.post("", response_model=CreatedKey, status_code=201, summary="Create a key (shown once)")
def create_key(body: CreateKeyRequest, who: Principal = Depends(admin), ws: Workspace = Depends(workspace)) -> CreatedKey:
    if not _visible(who, body.index):
        raise HTTPProblem(403, f"this key may not create keys for '{body.index}'")
    record, key = ws.keys.create(body.index, body.role, body.name)
    return CreatedKey(key=key, index=record.index, role=record.role)


@router.delete("/{key_id}", status_code=204, summary="Revoke a key")
def revoke_key(key_id: str, who: Principal = Depends(admin), ws: Workspace = Depends(workspace)) -> Response:
    known = {k.id: k for k in ws.keys.list()}
    if key_id not in known or not _visible(who, known[key_id].index):
        raise HTTPProblem(404, f"no key with id '{key_id}'", "KeyNotFound")
    ws.keys.revoke(key_id)
    return Response(status_code=204)
