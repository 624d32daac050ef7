"""The managed fine-tuning seam: a ``FineTuningService`` runs a provider's fine-tuning job, and a ``JobRecord``
keeps that job's identity in the run folder so an interrupted command can follow it again (``--resume``) or
cancel it (``ragtune models cancel``).

A service checks its credentials (``ready``), then does four things: ``start`` (upload the converted examples
and create the job), ``status`` (one poll), ``events`` (the provider's messages not seen yet) and ``cancel``.
Every status is mapped onto one vocabulary: ``queued``, ``running``, ``succeeded``, ``failed`` and ``cancelled``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ragtune.common import write_json_atomic
from ragtune.errors import StoreError

JOB_FILE = "job.json"
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class ProviderLimits:
    """A provider's documented limits on training data (``as_of``: when they were read)."""

    min_rows: int
    max_rows: int | None
    max_example_tokens: int
    roles: tuple[str, ...] = ("system", "user", "assistant")
    as_of: str = ""


@dataclass
class JobStatus:
    """One poll of a job, in the common vocabulary."""

    id: str
    status: str  # queued, running, succeeded, failed or cancelled
    provider_status: str = ""
    trained_tokens: int | None = None
    model_id: str | None = None  # what answers once the job has succeeded
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    job_time_s: float | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass
class JobEvent:
    """One of the provider's messages about a job; ``metrics`` when it reports training figures (step, loss)."""

    message: str
    metrics: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class FineTuningService(Protocol):
    """A provider's fine-tuning jobs (see the module docstring)."""

    provider: str
    limits: ProviderLimits
    hosting_note: str | None  # how the provider charges for hosting the trained model, when it does

    def ready(self) -> None:
        """Check the credentials before anything is sent: ``MissingKeyError`` naming the variable to set."""
        ...

    def rows(self, messages: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
        """The provider's training rows for each conversation (chat messages ending with the reply to learn)."""
        ...

    def start(self, data: Path, base_model: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Upload ``data`` (the provider's JSONL) and start the job; what identifies it (``job_id`` at least)."""
        ...

    def status(self, job_id: str) -> JobStatus:
        ...

    def events(self, job_id: str, seen: set[str]) -> list[JobEvent]:
        """The job's messages whose ids are not in ``seen``, oldest first (their ids are added to ``seen``)."""
        ...

    def cancel(self, job_id: str) -> JobStatus:
        ...

    def endpoint(self) -> dict[str, Any]:
        """What a card records to answer through the trained model later (the server, the region)."""
        ...


@dataclass
class JobRecord:
    """A started job, kept in the run folder until its version is published (or the job ends without one)."""

    provider: str
    base: str
    job_id: str
    data_sha256: str
    rows: int
    estimated_tokens: int
    started: dict[str, Any] = field(default_factory=dict)  # what ``start`` returned (file id, S3 URI ...)
    format: str | None = None  # the examples' format as given

    def save(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / JOB_FILE, asdict(self))

    @classmethod
    def load(cls, run_dir: Path) -> "JobRecord | None":
        path = run_dir / JOB_FILE
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise StoreError(f"{path}: unreadable job record: {exc}") from exc
