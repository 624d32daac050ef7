"""/v1/indexes/{name}/documents: list, upload (multipart), ingest server paths, remove."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.concurrency import run_in_threadpool

from ragtune.api import Index, Workspace
from ragtune.errors import UploadTooLargeError
from ragtune.http.auth import ReaderIndex, WriterIndex, workspace
from ragtune.http.schemas import DocumentInfo, IngestPathsRequest, IngestResult, RemoveResult

router = APIRouter(prefix="/v1/indexes/{name}/documents", tags=["documents"])


@router.get("", response_model=list[DocumentInfo], summary="Documents of an index")
def list_documents(index: Index = ReaderIndex) -> list[dict]:
    return [d.to_json() for d in index.documents()]


@router.post("", response_model=IngestResult, summary="Upload files and ingest them in one commit (writer)")
async def upload_documents(files: list[UploadFile] = File(..., description="Files (txt, md, html, pdf, docx, jsonl)."),
                           index: Index = WriterIndex, ws: Workspace = Depends(workspace)) -> dict:
    limit = int(ws.config.serve.max_upload_mb * 1024 * 1024)
    payload = []
    for upload in files:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise UploadTooLargeError(f"{upload.filename}: above the upload limit of {limit} bytes")
        payload.append((upload.filename or "", data))
    report = await run_in_threadpool(index.ingest_uploads, payload)
    return report.to_json()


@router.post("/paths", response_model=IngestResult, summary="Ingest files or folders inside the server's allowed roots (writer)")
def ingest_paths(body: IngestPathsRequest, index: Index = WriterIndex, ws: Workspace = Depends(workspace)) -> dict:
    report = ws.ingest(body.paths, index.name, create=False, include=body.include, exclude=body.exclude,
                       roots=ws.config.serve.roots)
    return report.to_json()


@router.delete("/{doc_id:path}", response_model=RemoveResult, summary="Remove a document (writer)")
def remove_document(doc_id: str, index: Index = WriterIndex) -> RemoveResult:
    return RemoveResult(index=index.name, removed=index.remove([doc_id]))
