"""What is set once per process: the thread pools, the model hubs kept offline, and file modes.

These are process-wide, so building a ``Workspace`` never touches them; each entry point calls ``prepare_process``:
the CLI's ``main``, the HTTP app factory, the MCP server, and the worker processes ragtune starts (Ray actors,
launched training ranks). A program that embeds the library calls it too if it wants the same settings.
"""

from __future__ import annotations

from ragtune.config import RagtuneConfig
from ragtune.errors import RagtuneError
from ragtune.machine import apply_threads, default_threads, private_files


def prepare_process(config: RagtuneConfig | None = None) -> None:
    """Size the thread pools to ``config.threads`` (by default the configuration ragtune.toml and ``RAGTUNE_*`` give;
    the machine's cores where that cannot be read: the command that reads it reports why), keep the model hubs
    offline (``HF_HUB_OFFLINE``, ... where unset) and make every file this process creates its owner's alone (umask 077)."""
    if config is None:
        try:
            config = RagtuneConfig.load()
        except RagtuneError:
            config = None
    apply_threads(config.threads if config is not None and config.threads else default_threads())
    private_files()

