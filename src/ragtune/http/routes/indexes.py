"""/v1/indexes: list, create, show and delete indexes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from ragtune.api import Index, Workspace, index_summary
from ragtune.http.auth import AdminIndex, ReaderIndex, principal, workspace
from ragtune.http.errors import HTTPProblem
from ragtune.http.schemas import CreateIndexRequest, DamagedIndexInfo, IndexInfo
from ragtune.api import IndexManifest
from ragtune.api import Principal, Role

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])


def info(m: IndexManifest) -> IndexInfo:
    return IndexInfo(**index_summary(m))


@router.get("", response_model=list[IndexInfo | DamagedIndexInfo], summary="Indexes this key may see")
def list_indexes(who: Principal = Depends(principal), ws: Workspace = Depends(workspace)) -> list[IndexInfo | DamagedIndexInfo]:
    """Every index in the key's scope; one that is damaged is listed as such (nothing of it shown to other keys)."""
    damaged = [DamagedIndexInfo(name=n, damaged=why) for n, why in ws.damaged_indexes().items() if who.sees(n)]
    return [info(m) for m in ws.indexes() if who.sees(m.name)] + damaged


@router.post("", response_model=IndexInfo, status_code=201, summary="Create an empty index (admin)")
def create_index(body: CreateIndexRequest, who: Principal = Depends(principal), ws: Workspace = Depends(workspace)) -> IndexInfo:
    if not who.sees(body.name) or not who.role.includes(Role.admin):
        # The same answer whether or not the index exists: nothing outside the key's scope is revealed.
        raise HTTPProblem(403, f"this key may not create index '{body.name}'")
    return info(ws.create_index(body.name).manifest)


@router.get("/{name}", response_model=IndexInfo, summary="One index")
def show_index(index: Index = ReaderIndex) -> IndexInfo:
    return info(index.manifest)


@router.delete("/{name}", status_code=204, summary="Delete an index and everything in it (admin)")
def delete_index(index: Index = AdminIndex, ws: Workspace = Depends(workspace)) -> Response:
    ws.delete_index(index.name)
    return Response(status_code=204)
