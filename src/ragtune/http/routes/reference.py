"""The API reference at /docs, served offline: Swagger UI's files come from the ``swagger-ui-bundle`` package and are
served by this server (no CDN); without that package, a plain page lists every route from the OpenAPI schema.
Also the favicon."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from ragtune.http.routes.page import STATIC

ASSETS = "/docs/assets"
router = APIRouter(include_in_schema=False)


def swagger_ui_folder() -> Path | None:
    """Where the installed ``swagger-ui-bundle`` keeps Swagger UI's files, or None."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    folder = Path(swagger_ui_bundle.swagger_ui_path)
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@router.get("/docs")
def reference(request: Request) -> HTMLResponse:
    if swagger_ui_folder() is not None:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="ragtune API reference",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url="/favicon.ico", oauth2_redirect_url="/docs/oauth2-redirect")
    return HTMLResponse(_route_list(request.app))


@router.get("/docs/oauth2-redirect")
def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def _route_list(app: FastAPI) -> str:
    """A plain reference page: every route with its summary, and the schema's address."""
    rows = []
    for path, methods in app.openapi().get("paths", {}).items():
        for method, op in methods.items():
            summary = html.escape(op.get("summary") or "")
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td><td>{summary}</td></tr>")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>ragtune API reference</title>"
            "<link rel=icon href=/favicon.ico></head><body><h1>ragtune API reference</h1>"
            "<p>The full schema is <a href=/openapi.json>/openapi.json</a>. For the interactive reference, install "
            "<code>swagger-ui-bundle</code> (the <code>serve</code> extra).</p><table>" + "".join(rows)
            + "</table></body></html>")


def install(app: FastAPI) -> None:
    """Add the reference routes and, where Swagger UI is installed, serve its files under /docs/assets."""
    app.include_router(router)
    folder = swagger_ui_folder()
    if folder is not None:
        app.mount(ASSETS, StaticFiles(directory=folder), name="swagger-ui")
