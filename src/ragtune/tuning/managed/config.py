"""Settings of a managed fine-tuning job (``ragtune tune lora --base openai:...`` or ``bedrock:...``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ragtune.tuning.base import TrainingConfig


class ManagedConfig(TrainingConfig):
    """What a provider's job needs besides the workspace; the local training-loop fields it does not use are ignored."""

    data: Path = Field(..., description="Training examples (JSONL, any format ragtune data check accepts).")
    base: str = Field(..., description="Provider and base model: openai:<model>[@<base url>] or bedrock:<model id>.")
    system: str | None = Field(None, description="System prompt for rows that carry none.")
    poll_interval_s: float = Field(10.0, ge=0, description="Seconds between polls of the job.")
    role_arn: str | None = Field(None, description="Bedrock: the IAM role the service assumes to read and write S3.")
    s3_uri: str | None = Field(None, description="Bedrock: s3://bucket/prefix where the data is uploaded and outputs written.")
