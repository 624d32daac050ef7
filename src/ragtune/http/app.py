"""The FastAPI app: ``create_app(workspace, auth=True)``; OpenAPI at /openapi.json, its reference at /docs (offline)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ragtune import __version__
from ragtune.api import Workspace, prepare_process
from ragtune.http import errors
from ragtune.http.paths import HideServerPaths
from ragtune.http.routes import ask, documents, indexes, jobs, keys, meta, page, reference, search
from ragtune.api import JobRunner, JobStore

_FRAMING = 64 * 1024  # multipart headers and boundaries on top of the files themselves


def create_app(workspace: Workspace | None = None, *, auth: bool = True) -> FastAPI:
    """The HTTP API over ``workspace``; with ``auth=False`` every caller is an admin (loopback development only)."""
    ws = workspace or Workspace()
    prepare_process(ws.config)  # threads, offline hubs, umask: set once for the serving process
    app = FastAPI(title="ragtune", version=__version__, docs_url=None, redoc_url=None,
                  description="Search and ask your indexes; run evals and the advisor as jobs; manage documents and keys. "
                              "Send `Authorization: Bearer KEY`.")
    app.add_middleware(HideServerPaths, home=ws.config.home)
    app.add_middleware(errors.BodyLimit, max_bytes=int(ws.config.serve.max_upload_mb * 1024 * 1024) + _FRAMING)
    app.state.workspace = ws
    app.state.auth = auth
    app.state.jobs = JobRunner(JobStore(ws.config.home))
    errors.install(app)
    for module in (meta, indexes, documents, search, ask, jobs, keys):
        app.include_router(module.router, responses={
            400: {"model": errors.Problem, "description": "Bad input"},
            401: {"model": errors.Problem, "description": "No valid key"},
            403: {"model": errors.Problem, "description": "The key's role is too small"},
            404: {"model": errors.Problem, "description": "No such index (or not one this key may see)"},
            422: {"model": errors.Problem, "description": "The body does not fit the schema"},
        })
    app.include_router(page.router)
    reference.install(app)  # /docs from packaged Swagger UI files: the reference works offline
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    return app
