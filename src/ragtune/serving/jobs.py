"""Background jobs for long work behind the HTTP API (eval runs, advice): a record on disk per job, run one at a time.

A job lives in ``<home>/jobs/<id>/``: ``job.json`` (kind, index, status, progress, error, summary, written
atomically on every change) and, once it has succeeded, its files (``report.html``, ``report.md``,
``result.json``). Statuses: ``queued`` → ``running`` → ``succeeded`` or ``failed``. A job whose server stopped
before it finished is marked ``failed`` with that reason the next time a runner opens the store, so no job is
left "running" forever and none disappears.

Report links carry a token (an HMAC of the job id and an expiry under the runner's secret), so a browser can
open a report in a tab of its own without sending the API key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ragtune.common import utc_now, write_json_atomic
from ragtune.errors import InputError, JobNotFoundError, RagtuneError

JOB_FILES = {"html": "report.html", "markdown": "report.md", "json": "result.json"}
TERMINAL = ("succeeded", "failed")
_ACTIVE: set[str] = set()  # ids of the jobs queued or running in this process


@dataclass
class Job:
    """One job's record (``job.json``)."""

    id: str
    kind: str
    index: str
    status: str = "queued"
    created_at: str = field(default_factory=utc_now)
    started_at: str | None = None
    finished_at: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


JobWork = Callable[[Path, Callable[[str, int, int], None]], dict[str, Any]]
"""What a job runs: ``work(folder, progress) -> summary``; it writes its files into ``folder``."""


class JobStore:
    """Job records under ``<home>/jobs``."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "jobs"

    def folder(self, job_id: str) -> Path:
        if not job_id or not all(c in "0123456789abcdef" for c in job_id) or len(job_id) != 32:
            raise JobNotFoundError(f"no job '{job_id}'")
        return self.root / job_id

    def get(self, job_id: str) -> Job:
        path = self.folder(job_id) / "job.json"
        if not path.is_file():
            raise JobNotFoundError(f"no job '{job_id}'")
        return Job(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, job: Job) -> None:
        folder = self.folder(job.id)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "job.json", job.to_json())

    def all(self) -> list[Job]:
        """Every job, newest first."""
        if not self.root.is_dir():
            return []
        jobs = []
        for folder in self.root.iterdir():
            try:
                jobs.append(self.get(folder.name))
            except (JobNotFoundError, ValueError, TypeError, json.JSONDecodeError):
                continue
        return sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=True)

    def file(self, job_id: str, kind: str) -> Path:
        """The path of a finished job's ``html`` / ``markdown`` / ``json`` file."""
        job = self.get(job_id)
        name = JOB_FILES.get(kind)
        if name is None or name not in job.files:
            raise JobNotFoundError(f"job '{job_id}' has no {kind} file" + ("" if job.status == "succeeded" else " (it is "
                                                                                                                f"{job.status})"))
        return self.folder(job_id) / name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobRunner:
    """Runs jobs in a background thread, one at a time, recording each step in the ``JobStore``."""

    def __init__(self, store: JobStore, secret: bytes | None = None, link_ttl_s: float = 3600.0) -> None:
        self.store = store
        self.secret = secret or secrets.token_bytes(32)
        self.link_ttl_s = link_ttl_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragtune-job")
        self._lock = threading.Lock()
        self._recover()

    def _recover(self) -> None:
        for job in self.store.all():
            mine = job.pid == os.getpid()
            if job.status not in TERMINAL and ((mine and job.id not in _ACTIVE) or (not mine and not _alive(job.pid))):
                job.status, job.finished_at = "failed", utc_now()
                job.error = "the server stopped before the job finished; submit it again"
                self.store.save(job)

    def submit(self, kind: str, index: str, request: dict[str, Any], work: JobWork) -> Job:
        """Record a new job and queue it; returns the queued record at once."""
        job = Job(id=uuid.uuid4().hex, kind=kind, index=index, request=request)
        _ACTIVE.add(job.id)
        self.store.save(job)
        self._pool.submit(self._run, job.id, work)
        return job

    def _run(self, job_id: str, work: JobWork) -> None:
        try:
            self._run_recorded(job_id, work)
        finally:
            _ACTIVE.discard(job_id)

    def _run_recorded(self, job_id: str, work: JobWork) -> None:
        job = self.store.get(job_id)
        job.status, job.started_at = "running", utc_now()
        self.store.save(job)
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] < 0.5 and done < total:
                return
            last[0] = now
            with self._lock:
                current = self.store.get(job_id)
                current.progress = {"stage": stage, "done": done, "total": total}
                self.store.save(current)

        folder = self.store.folder(job_id)
        try:
            summary = work(folder, progress)
        except Exception as exc:  # noqa: BLE001 - the job records any failure; the server keeps running
            with self._lock:
                job = self.store.get(job_id)
                job.status, job.finished_at = "failed", utc_now()
                job.error = str(exc) if isinstance(exc, (InputError, RagtuneError)) else f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, (InputError, RagtuneError)):
                    (folder / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
                self.store.save(job)
            return
        with self._lock:
            job = self.store.get(job_id)
            job.status, job.finished_at, job.summary = "succeeded", utc_now(), summary
            job.files = sorted(name for name in JOB_FILES.values() if (folder / name).is_file())
            self.store.save(job)

    def wait(self, job_id: str, timeout_s: float = 60.0) -> Job:
        """The job once it has finished (for tests and the CLI); ``TimeoutError`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.store.get(job_id)
            if job.status in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout_s:.0f} s")
            time.sleep(0.05)

    # --- report links ---------------------------------------------------------------------------

    def link_token(self, job_id: str, key_id: str | None = None, now: float | None = None) -> str:
        """A token opening ``job_id``'s files until it expires, for as long as ``key_id`` (the key it was made
        for, if any) is not revoked: ``<expiry>.<key id or ->.<hmac>``."""
        expires = int((now or time.time()) + self.link_ttl_s)
        key = key_id or "-"
        return f"{expires}.{key}.{self._mac(job_id, key, expires)}"

    def _mac(self, job_id: str, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{job_id}.{key}.{expires}".encode(), hashlib.sha256).hexdigest()

    def token_key(self, job_id: str, token: str, now: float | None = None) -> str | None:
        """The key id ``token`` was made for ('' for none) if it opens ``job_id``'s files now; ``None`` otherwise."""
        try:
            expires_text, key, mac = token.split(".", 2)
            expires = int(expires_text)
        except ValueError:
            return None
        if not hmac.compare_digest(self._mac(job_id, key, expires), mac) or (now or time.time()) > expires:
            return None
        return "" if key == "-" else key

    def check_token(self, job_id: str, token: str, now: float | None = None) -> bool:
        """Whether ``token`` is a valid, unexpired link token for ``job_id`` (the key's state aside)."""
        return self.token_key(job_id, token, now) is not None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
