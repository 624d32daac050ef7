"""OpenAI's fine-tuning API, and any server that offers the same surface (files and ``fine_tuning/jobs``),
through the official ``openai`` SDK: ``--base openai:<model>[@<base url>]``.

The key comes from the variable named by ``generation.openai_key_env`` (``OPENAI_API_KEY``); it is required
unless a base URL is given. A server that answers 404 on the fine-tuning routes offers no fine-tuning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, InputError, ProviderError
from ragtune.generation.openai_compat import openai_client
from ragtune.tuning.managed.base import JobEvent, JobStatus, ProviderLimits

# OpenAI's fine-tuning guide: at least 10 examples; per-example context of the 4.1 and 4o families (read 2025-06).
LIMITS = ProviderLimits(min_rows=10, max_rows=None, max_example_tokens=65_536, as_of="2025-06")
_STATUS = {"validating_files": "queued", "queued": "queued", "running": "running", "succeeded": "succeeded",
           "failed": "failed", "cancelled": "cancelled"}


class OpenAIFineTuning:
    """Fine-tuning jobs on an OpenAI-compatible API (see the module docstring)."""

    provider: str = "openai"
    limits: ProviderLimits = LIMITS
    hosting_note: str | None = None

    def __init__(self, base_url: str | None = None, config: GenerationConfig | None = None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.config = config or GenerationConfig()
        self._client: Any = None

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    def client(self) -> Any:
        """The SDK client (checks the key on first use)."""
        if self._client is None:
            self._client = openai_client(self.config, self.base_url, f"fine-tuning on {self.where}",
                                         "fine-tuning jobs on 'openai:'", "--base openai:<model>@http://host:port/v1")
        return self._client

    def ready(self) -> None:
        self.client()

    def rows(self, messages: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
        return [{"messages": conversation} for conversation in messages]

    def start(self, data: Path, base_model: str, settings: dict[str, Any]) -> dict[str, Any]:
        client = self.client()
        with self._errors("upload the training file"), open(data, "rb") as fh:
            uploaded = client.files.create(file=(data.name, fh), purpose="fine-tune")
        kwargs: dict[str, Any] = {"model": base_model, "training_file": uploaded.id, "suffix": settings.get("suffix")}
        if settings.get("epochs"):
            kwargs["hyperparameters"] = {"n_epochs": int(settings["epochs"])}
        if settings.get("seed") is not None:
            kwargs["seed"] = int(settings["seed"])
        with self._errors("start the fine-tuning job"):
            job = client.fine_tuning.jobs.create(**kwargs)
        return {"job_id": job.id, "file_id": uploaded.id}

    def status(self, job_id: str) -> JobStatus:
        with self._errors(f"read job {job_id}"):
            job = self.client().fine_tuning.jobs.retrieve(job_id)
        error = getattr(job, "error", None)
        message, code = (getattr(error, "message", None) or str(error), getattr(error, "code", None)) if error else (None, None)
        if message and code:
            message = f"{message} ({code})"
        created, finished = getattr(job, "created_at", None), getattr(job, "finished_at", None)
        return JobStatus(id=job.id, status=_STATUS.get(job.status, "running"), provider_status=job.status,
                         trained_tokens=getattr(job, "trained_tokens", None), model_id=getattr(job, "fine_tuned_model", None),
                         error=message, job_time_s=float(finished - created) if created and finished else None,
                         metrics={"result_files": list(getattr(job, "result_files", None) or [])})

    def events(self, job_id: str, seen: set[str]) -> list[JobEvent]:
        with self._errors(f"read the events of job {job_id}"):
            page = self.client().fine_tuning.jobs.list_events(job_id, limit=100)
        fresh = [e for e in reversed(list(page.data)) if e.id not in seen]  # the API lists newest first
        seen.update(e.id for e in fresh)
        return [JobEvent(e.message, dict(e.data or {}) if getattr(e, "type", None) == "metrics" else {}) for e in fresh]

    def cancel(self, job_id: str) -> JobStatus:
        with self._errors(f"cancel job {job_id}"):
            self.client().fine_tuning.jobs.cancel(job_id)
        return self.status(job_id)

    def endpoint(self) -> dict[str, Any]:
        return {"base_url": self.base_url}

    def _errors(self, doing: str) -> "_ProviderErrors":
        return _ProviderErrors(self, doing)


class _ProviderErrors:
    """Turns the SDK's errors while ``doing`` something into ragtune's, naming the server."""

    def __init__(self, service: OpenAIFineTuning, doing: str) -> None:
        self.service, self.doing = service, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        import openai

        if exc is None or not isinstance(exc, openai.OpenAIError):
            return
        where, key = self.service.where, self.service.config.openai_key_env
        if isinstance(exc, openai.APIConnectionError):
            raise ProviderError(f"cannot reach {where} to {self.doing}: {exc}") from exc
        if isinstance(exc, openai.AuthenticationError):
            raise InputError(f"{where} refused the key in {key} (401) trying to {self.doing}") from exc
        if isinstance(exc, openai.NotFoundError):
            raise ConfigError(f"{where} offers no fine-tuning here (404 trying to {self.doing}): {exc.message}") from exc
        if isinstance(exc, openai.BadRequestError):
            raise InputError(f"{where} refused to {self.doing} (400): {exc.message}") from exc
        if isinstance(exc, openai.APIStatusError):
            raise ProviderError(f"{where} replied {exc.status_code} trying to {self.doing}: {exc.message}") from exc
        raise ProviderError(f"{where} failed to {self.doing}: {exc}") from exc
