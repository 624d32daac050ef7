"""The API reference at /docs works offline: every asset it names is served by ragtune itself; and the favicon."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ragtune.http import create_app
from ragtune.http.routes import reference


def test_the_reference_loads_swagger_ui_from_this_server(client):
    pytest.importorskip("swagger_ui_bundle")
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text) + re.findall(r"""url: ?['"]([^'"]+)['"]""", page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert "/docs/assets/swagger-ui-bundle.js" in assets and "/openapi.json" in page.text
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_the_swagger_ui_script_is_served(client):
    pytest.importorskip("swagger_ui_bundle")
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text


def test_without_swagger_ui_the_reference_lists_the_routes(served, monkeypatch):
    monkeypatch.setattr(reference, "swagger_ui_folder", lambda: None)
    page = TestClient(create_app(served)).get("/docs")
    assert page.status_code == 200 and "/v1/indexes/{name}/ask" in page.text and "<script" not in page.text


def test_the_favicon_is_served(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml") and "<svg" in icon.text
