"""The HTTP face: a FastAPI app over ``ragtune.api`` (routes parse, call the API, and format; no logic)."""

from ragtune.http.app import create_app

__all__ = ["create_app"]
