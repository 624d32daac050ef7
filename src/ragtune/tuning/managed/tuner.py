"""``ManagedTuner``: a provider's fine-tuning job behind the tuner seam, published as a ``managed`` version.

The run folder (``<home>/models/<name>/.run/``) holds the converted data and the job record from the moment the
job is created, so a command that is interrupted (Ctrl-C, a lost terminal) leaves the job running at the provider
and ``resume`` follows the same job; ``cancel_job`` cancels it. A job that fails or is cancelled at the provider
publishes nothing (its message is the ``TuningError``) and clears the run folder; one that succeeds becomes the
next version, whose card holds the provider, job id, base model, data sha256, trained tokens, the provider's
metrics and the billed cost.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

from ragtune.errors import InputError, TuningError
from ragtune.costs.prices import PriceTable
from ragtune.tuning.base import RUN_DIR, BaseTuner, Progress, Staging, TrainingEvent
from ragtune.tuning.data.examples import file_sha256
from ragtune.tuning.managed.base import JOB_FILE, FineTuningService, JobRecord, JobStatus
from ragtune.tuning.managed.config import ManagedConfig
from ragtune.tuning.managed.examples import check_and_convert
from ragtune.costs.training import fine_tuning_price, job_cost, price_key
from ragtune.components.registry import DataInfo, ModelCard, ModelRegistry

DATA_FILE = "provider_data.jsonl"
EVENTS_FILE = "events.log"
SETTINGS = {"name", "base", "data", "system", "epochs", "seed", "poll_interval_s", "role_arn", "s3_uri"}  # what a job uses


class ManagedTuner(BaseTuner):
    """Runs one managed job to its end and publishes it (see the module docstring)."""

    kind = "managed"
    libraries = ("openai", "boto3")

    def __init__(self, config: ManagedConfig, registry: ModelRegistry, service: FineTuningService, base_model: str,
                 prices: PriceTable | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, registry)
        if not config.resume and not Path(config.data).is_file():
            raise InputError(f"{config.data}: no such file")
        self.config: ManagedConfig = config
        self.service, self.base_model, self.prices, self.sleep = service, base_model, prices, sleep

    def _fit(self, staging: Staging, notify: Progress) -> ModelCard:
        started = time.monotonic()
        record = self._resumed() if self.config.resume else self._start(notify)
        job, polls, metrics, log = self._watch(record, notify)
        if job.status != "succeeded":
            shutil.rmtree(self.run_dir, ignore_errors=True)  # the job is over: nothing to resume
            why = f": {job.error}" if job.error else ""
            raise TuningError(f"{self.service.provider} job {job.id} {job.status}{why}; no version was created")
        return self._card(staging.path, record, job, polls, metrics, log, time.monotonic() - started)

    def _resumed(self) -> JobRecord:
        record = JobRecord.load(self.run_dir)
        if record is None:
            raise InputError(f"model '{self.config.name}' has no interrupted managed job to resume; start one without --resume")
        if record.base != self.config.base:
            raise InputError(f"--resume: the job of '{self.config.name}' trains {record.base}, not {self.config.base}")
        return record

    def _start(self, notify: Progress) -> JobRecord:
        cfg = self.config
        pending = JobRecord.load(self.run_dir)
        if pending is not None:
            raise InputError(f"job {pending.job_id} of '{cfg.name}' was started and not followed to its end: follow it with "
                             f"--resume, or cancel it with: ragtune models cancel {cfg.name}")
        converted = check_and_convert(Path(cfg.data), cfg.system, self.service, self.run_dir / DATA_FILE)
        notify(TrainingEvent("info", message=f"uploading {converted.rows} examples (about {converted.estimated_tokens:,} tokens) "
                                             f"to {self.service.provider} for {self.base_model}"))
        settings = {"suffix": cfg.name[:18], "epochs": max(1, round(cfg.epochs)), "seed": cfg.seed, "name": cfg.name,
                    "role_arn": cfg.role_arn, "s3_uri": cfg.s3_uri}
        started = self.service.start(converted.path, self.base_model, settings)
        record = JobRecord(provider=self.service.provider, base=cfg.base, job_id=started["job_id"],
                           data_sha256=file_sha256(Path(cfg.data)), rows=converted.rows,
                           estimated_tokens=converted.estimated_tokens,
                           started=started, format=converted.format)
        record.save(self.run_dir)
        notify(TrainingEvent("start", step=0, message=f"started {self.service.provider} job {record.job_id}; Ctrl-C leaves it "
                                                      f"running (follow it again with --resume)"))
        return record

    def _watch(self, record: JobRecord, notify: Progress) -> tuple[JobStatus, int, dict[str, Any], list[str]]:
        """Poll the job until it ends: its last status, the polls made, the provider's last metrics and its messages."""
        seen: set[str] = set()
        polls, metrics, log, shown = 0, {}, [], ""
        while True:
            job = self.service.status(record.job_id)
            polls += 1
            for event in self.service.events(record.job_id, seen):
                log.append(event.message)
                metrics.update(event.metrics)
                notify(TrainingEvent("info", message=f"{self.service.provider}: {event.message}",
                                     step=event.metrics.get("step"), max_steps=event.metrics.get("total_steps")))
            line = f"job {job.id}: {job.provider_status or job.status}" + (
                f", {job.trained_tokens:,} trained tokens" if job.trained_tokens else "")
            if line != shown:
                notify(TrainingEvent("info", message=line))
                shown = line
            if job.done:
                return job, polls, metrics, log
            self.sleep(self.config.poll_interval_s)

    def _card(self, staging: Path, record: JobRecord, job: JobStatus, polls: int, metrics: dict[str, Any], log: list[str],
              followed_s: float) -> ModelCard:
        cfg = self.config
        for name in (DATA_FILE, JOB_FILE):
            if (self.run_dir / name).is_file():
                shutil.copy2(self.run_dir / name, staging / name)
        (staging / EVENTS_FILE).write_text("".join(m + "\n" for m in log), encoding="utf-8")
        billed = job.trained_tokens is not None
        tokens = job.trained_tokens if billed else record.estimated_tokens * max(1, round(cfg.epochs))
        key = price_key(self.service.provider, self.base_model)
        cost = job_cost(fine_tuning_price(self.prices, self.service.provider, self.base_model), tokens, billed, key,
                        self.service.hosting_note)
        card = self.card(
            base_model={"spec": cfg.base, "provider": self.service.provider, "model": self.base_model},
            data=DataInfo(path=str(cfg.data), sha256=record.data_sha256, rows={"total": record.rows, "train": record.rows},
                          format=record.format),
            managed={"provider": self.service.provider, "job_id": job.id, "model_id": job.model_id, **self.service.endpoint(),
                     **{k: v for k, v in record.started.items() if k != "job_id"}},
            metrics={"trained_tokens": tokens, "trained_tokens_billed": billed, "provider_metrics": {**metrics, **job.metrics},
                     "provider_status": job.provider_status, "polls": polls, "job_time_s": job.job_time_s,
                     "resumed": cfg.resume},
            cost=cost, wall_time_s=round(followed_s, 2), files={"data": DATA_FILE, "job": JOB_FILE, "log": EVENTS_FILE},
        )
        return card.model_copy(update={"settings": cfg.model_dump(mode="json", include=SETTINGS)})


def cancel_job(registry: ModelRegistry, name: str, service_for: Callable[[str], FineTuningService]) -> JobStatus:
    """Cancel the job that ``name``'s interrupted run follows, and clear the run; ``service_for(base)`` builds its service."""
    run_dir = registry.model_dir(name) / RUN_DIR
    record = JobRecord.load(run_dir)
    if record is None:
        raise InputError(f"model '{name}' has no managed job in progress to cancel")
    job = service_for(record.base).cancel(record.job_id)
    shutil.rmtree(run_dir, ignore_errors=True)
    return job
