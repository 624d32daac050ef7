"""Managed fine-tuning: a provider's fine-tuning job behind the tuner seam (one file per provider)."""

from ragtune.tuning.managed.base import FineTuningService, JobEvent, JobRecord, JobStatus, ProviderLimits
from ragtune.tuning.managed.config import ManagedConfig
from ragtune.tuning.managed.routes import ANTHROPIC_REFUSAL, fine_tuning_service, is_managed
from ragtune.tuning.managed.tuner import ManagedTuner, cancel_job

__all__ = ["ANTHROPIC_REFUSAL", "FineTuningService", "JobEvent", "JobRecord", "JobStatus", "ManagedConfig", "ManagedTuner",
           "ProviderLimits", "cancel_job", "fine_tuning_service", "is_managed"]
