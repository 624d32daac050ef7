"""Amazon Bedrock model customization through ``boto3``: ``--base bedrock:<model id>`` (Claude 3 Haiku and the
open-weight models Bedrock fine-tunes).

The data goes to S3 (``--s3-uri s3://bucket/prefix``) and the job runs as the IAM role given by ``--role-arn``;
credentials and region come from boto3's usual chain (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``, ``AWS_REGION`` ...).
Bedrock reports no trained tokens, so the training cost is the data's estimated tokens × epochs (``assumed``);
a custom model answers only on provisioned throughput, whose hourly price the card states when the price table
has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ragtune.errors import ConfigError, InputError, MissingKeyError, ProviderError
from ragtune.tuning.managed.base import JobEvent, JobStatus, ProviderLimits

# Bedrock quotas for Claude 3 Haiku fine-tuning (200k variant): records per job and tokens per record (read 2025-06).
LIMITS = ProviderLimits(min_rows=1, max_rows=10_000, max_example_tokens=32_000, as_of="2025-06")
HOSTING = ("Bedrock serves a custom model only on provisioned throughput, billed per model unit and hour (no-commit, "
           "1 or 6 months); add hosting_per_hour under this key in a price file to have it counted")
_STATUS = {"InProgress": "running", "Completed": "succeeded", "Failed": "failed", "Stopping": "running", "Stopped": "cancelled"}
_INPUT_ERRORS = {"ValidationException", "AccessDeniedException", "ResourceNotFoundException", "ServiceQuotaExceededException"}


class BedrockCustomization:
    """Model customization jobs on Amazon Bedrock (see the module docstring)."""

    provider: str = "bedrock"
    limits: ProviderLimits = LIMITS
    hosting_note: str | None = HOSTING

    def __init__(self, region: str | None = None, bedrock: Any = None, s3: Any = None) -> None:
        self.region = region
        self._bedrock, self._s3 = bedrock, s3
        self._last: dict[str, dict[str, Any]] = {}  # the latest reply per job: events read its statusDetails

    def clients(self) -> tuple[Any, Any]:
        """The ``bedrock`` and ``s3`` clients (made on first use)."""
        if self._bedrock is None or self._s3 is None:
            try:
                import boto3
                from botocore.exceptions import NoRegionError
            except ImportError as exc:
                raise ConfigError("'bedrock:' fine-tuning needs boto3: pip install 'ragtune[bedrock]'") from exc
            try:
                self._bedrock = self._bedrock or boto3.client("bedrock", region_name=self.region)
                self._s3 = self._s3 or boto3.client("s3", region_name=self.region)
            except NoRegionError as exc:
                raise ConfigError("'bedrock:' fine-tuning needs a region: set AWS_REGION (or AWS_DEFAULT_REGION)") from exc
        return self._bedrock, self._s3

    def ready(self) -> None:
        """boto3's chain must find credentials (clients given to the constructor bring their own)."""
        if self._bedrock is not None:
            return
        self.clients()
        import boto3

        if boto3.Session().get_credentials() is None:
            raise MissingKeyError("Bedrock: no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")

    def rows(self, messages: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
        """Bedrock's conversation rows: the system prompt beside the user and assistant turns."""
        rows = []
        for conversation in messages:
            row: dict[str, Any] = {"messages": [m for m in conversation if m["role"] != "system"]}
            system = "\n\n".join(m["content"] for m in conversation if m["role"] == "system")
            if system:
                row = {"system": system, **row}
            rows.append(row)
        return rows

    def start(self, data: Path, base_model: str, settings: dict[str, Any]) -> dict[str, Any]:
        role, uri = settings.get("role_arn"), settings.get("s3_uri")
        if not role or not uri:
            raise ConfigError("'bedrock:' fine-tuning needs --role-arn (the IAM role Bedrock assumes) and --s3-uri s3://bucket/prefix")
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"--s3-uri '{uri}': expected s3://bucket/prefix")
        bedrock, s3 = self.clients()
        name, prefix = settings["name"], parsed.path.strip("/")
        key = "/".join(filter(None, (prefix, name, data.name)))
        with _errors("upload the training data to S3"):
            s3.put_object(Bucket=parsed.netloc, Key=key, Body=data.read_bytes())
        output = f"s3://{parsed.netloc}/" + "/".join(filter(None, (prefix, name, "output"))) + "/"
        with _errors("start the model customization job"):
            reply = bedrock.create_model_customization_job(
                jobName=f"{name}-{data.stat().st_mtime_ns}", customModelName=name, roleArn=role, baseModelIdentifier=base_model,
                customizationType="FINE_TUNING", trainingDataConfig={"s3Uri": f"s3://{parsed.netloc}/{key}"},
                outputDataConfig={"s3Uri": output}, hyperParameters={"epochCount": str(settings.get("epochs") or 1)})
        return {"job_id": reply["jobArn"], "training_data": f"s3://{parsed.netloc}/{key}", "output": output}

    def status(self, job_id: str) -> JobStatus:
        with _errors(f"read job {job_id}"):
            job = self.clients()[0].get_model_customization_job(jobIdentifier=job_id)
        self._last[job_id] = job
        created, ended = job.get("creationTime"), job.get("endTime")
        metrics = {k: v for k, v in (("training", job.get("trainingMetrics")), ("validation", job.get("validationMetrics"))) if v}
        return JobStatus(id=job_id, status=_STATUS.get(job.get("status", ""), "running"), provider_status=job.get("status", ""),
                         model_id=job.get("outputModelArn"), error=job.get("failureMessage"), metrics=metrics,
                         job_time_s=(ended - created).total_seconds() if created and ended else None)

    def events(self, job_id: str, seen: set[str]) -> list[JobEvent]:
        """Bedrock keeps no event list: the stages of the last poll's ``statusDetails`` as they change."""
        details = self._last.get(job_id, {}).get("statusDetails") or {}
        fresh = []
        for stage, value in details.items():
            status = (value or {}).get("status")
            if status and f"{stage}:{status}" not in seen:
                seen.add(f"{stage}:{status}")
                fresh.append(JobEvent(f"{stage.removesuffix('Details')}: {status}"))
        return fresh

    def cancel(self, job_id: str) -> JobStatus:
        with _errors(f"stop job {job_id}"):
            self.clients()[0].stop_model_customization_job(jobIdentifier=job_id)
        return self.status(job_id)

    def endpoint(self) -> dict[str, Any]:
        return {"region": self.clients()[0].meta.region_name}


class _errors:
    """Turns botocore's errors while ``doing`` something into ragtune's."""

    def __init__(self, doing: str) -> None:
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            raise MissingKeyError(f"Bedrock: no AWS credentials to {self.doing}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                                  "AWS_SECRET_ACCESS_KEY") from exc
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", "")
            if code in _INPUT_ERRORS:
                raise InputError(f"Bedrock refused to {self.doing} ({code}): {message}") from exc
            raise ProviderError(f"Bedrock failed to {self.doing} ({code}): {message}") from exc
        if isinstance(exc, BotoCoreError):
            raise ProviderError(f"Bedrock failed to {self.doing}: {exc}") from exc
