"""The command-line face: parses input, calls ``ragtune.api``, formats output. No logic of its own."""

from ragtune.cli.app import app, main

__all__ = ["app", "main"]
