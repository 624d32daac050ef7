"""One writer per index across processes: an exclusive ``flock`` held from reading an index's state through its commit.

The lock file lives outside the index's folder (``<home>/indexes/.locks/<name>.lock``), so dropping or recreating an
index never removes a lock another process waits on. The lock is re-entrant within a thread (a sync holds it and
the commit inside takes it again); another thread or process waits. A writer that has to wait says so once (a
warning on stderr, naming the process holding the lock) and gives up with ``IndexBusyError`` after ``timeout``
seconds. The holder's process id is written into the lock file for that message.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ragtune.errors import IndexBusyError, StoreError

log = logging.getLogger("ragtune.index")

_held = threading.local()


def held(path: Path) -> bool:
    """Whether this thread holds the lock at ``path``."""
    return bool(getattr(_held, "counts", {}).get(str(path)))


@contextmanager
def writer_lock(path: Path, index: str, timeout: float) -> Iterator[None]:
    """Hold the writer lock of ``index`` (file ``path``) for the block (see the module docstring)."""
    counts: dict[str, int] = _held.__dict__.setdefault("counts", {})
    key = str(path)
    if counts.get(key):
        counts[key] += 1
        try:
            yield
        finally:
            counts[key] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot write the workspace at {path.parent.parent}: the writer lock of index '{index}' "
                         f"cannot be opened ({exc.strerror or exc})") from exc
    try:
        _acquire(fd, index, timeout)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        counts[key] = 1
        try:
            yield
        finally:
            counts.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _acquire(fd: int, index: str, timeout: float) -> None:
    if _try(fd):
        return
    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
    log.warning("index '%s' is being written by another process (pid %s); waiting up to %g s for it "
                "(setting index.lock_timeout_s)", index, holder, timeout)
    deadline = time.monotonic() + timeout
    pause = 0.01
    while not _try(fd):
        left = deadline - time.monotonic()
        if left <= 0:
            raise IndexBusyError(f"index '{index}' is still being written by another process (pid {holder}) after "
                                 f"{timeout:g} s; nothing was changed. Try again when it has finished, or raise "
                                 "index.lock_timeout_s")
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.2)
