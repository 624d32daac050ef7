"""POST /v1/indexes/{name}/search: ranked chunks."""

from __future__ import annotations

from fastapi import APIRouter

from ragtune.api import Index
from ragtune.http.auth import ReaderIndex
from ragtune.http.schemas import SearchRequest, SearchResponse

router = APIRouter(prefix="/v1/indexes/{name}", tags=["search"])


@router.post("/search", response_model=SearchResponse, summary="The k best chunks for a query (reader)")
def search(body: SearchRequest, index: Index = ReaderIndex) -> dict:
    filters = body.filters.to_filters() if body.filters else None
    hits = index.search(body.query, k=body.k, mode=body.mode, filters=filters)
    return hits.to_json()
