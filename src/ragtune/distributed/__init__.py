"""Beyond one machine: ingest and evaluation on Ray (the ``ragtune[ray]`` extra; ``engine = "ray"``).

- ``RayIngest`` (``ingest.py``) is a ``SyncEngine``: files are read and parsed by Ray tasks, the changed documents
  chunked by Ray Data tasks and embedded by an actor pool that holds the embedder; the comparison of content
  hashes and the one atomic commit stay with ``ragtune.index.sync``, so the outcome equals a local ingest.
- ``RayAnswers`` (``answers.py``) is an ``AnswerExecutor``: the questions of every candidate of an eval or decide
  run fan out together to actors that hold the generators (a pool per model, sharing the cluster), and every answer
  comes back to the run, which caches it as a local run does.

Without an address a local Ray is started with every core of this machine (``ray.num_cpus`` to limit it); with
one (``auto``, or the head node's ``HOST:PORT``, 6379 by default) the work goes to that cluster, whose nodes need
``ragtune[ray]`` installed and the same paths (a shared file system, or PostgreSQL as the store).
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from ragtune.config import RayConfig
from ragtune.errors import ConfigError

INSTALL = "pip install 'ragtune[ray]'"
CONNECT_TIMEOUT_S = 10.0
"""How long joining a cluster at ``HOST:PORT`` waits for its head node to answer before giving up."""


def require_ray() -> Any:
    """The ``ray`` module; ``ConfigError`` (exit 2) naming the extra when it is not installed."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"the ray engine needs Ray, which is not installed: {INSTALL}") from None
    return ray


def connect(config: RayConfig) -> Any:
    """Ray, initialised: the running one, the cluster at ``config.address``, or a new local one."""
    if config.address:
        check_address(config.address)
    ray = require_ray()
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if config.address:
            options["address"] = config.address
        else:  # a local Ray: its workers import the ragtune this process runs
            options["num_cpus"] = config.num_cpus
            options["runtime_env"] = {"env_vars": {"PYTHONPATH": _python_path()}}
        try:
            ray.init(**options)
        except ConnectionError as exc:
            raise ConfigError(f"cannot reach the Ray cluster at '{config.address}': {exc}") from None
    quiet_data()
    return ray


def check_address(address: str) -> None:
    """``ConfigError`` (exit 2) unless ``address`` is ``auto`` or a ``HOST:PORT`` that answers within
    ``CONNECT_TIMEOUT_S`` (Ray itself would retry an unreachable address for minutes)."""
    if address == "auto":
        return
    if address.startswith("ray://"):
        raise ConfigError(f"Ray address '{address}': the ray:// client form is not supported; give the head node's "
                          "HOST:PORT (6379 by default) or 'auto' on a cluster node")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"Ray address '{address}': expected 'auto' or HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at '{address}' within {CONNECT_TIMEOUT_S:g} s: "
                          f"{exc.strerror or exc}") from None


def _python_path() -> str:
    """``PYTHONPATH`` with the folder this ragtune is imported from first."""
    here = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([here, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])


def quiet_data() -> None:
    """Ray Data without its progress bars and per-operator logs (ragtune reports its own progress on stderr)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.verbose_stats_logs = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def cluster_slots(ray: Any, gpus: float) -> int:
    """How many one-CPU (or, with ``gpus``, ``gpus``-GPU) actors the cluster holds at once (at least one)."""
    resources = ray.cluster_resources()
    if gpus > 0:
        return max(1, int(resources.get("GPU", 0) // gpus))
    return max(1, int(resources.get("CPU", 1)))


__all__ = ["INSTALL", "cluster_slots", "connect", "quiet_data", "require_ray"]
