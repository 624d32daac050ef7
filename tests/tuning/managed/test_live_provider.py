"""Against the real OpenAI fine-tuning API: start a job on the smallest model and cancel it at once (little or no
charge). Skipped unless OPENAI_API_KEY is set and LIVE_FINE_TUNING=1 asks for it:

    LIVE_FINE_TUNING=1 OPENAI_API_KEY=... pytest tests/tuning/managed/test_live_provider.py
"""

from __future__ import annotations

import os

import pytest

from ragtune.tuning.managed import ManagedConfig, ManagedTuner, fine_tuning_service

pytestmark = pytest.mark.skipif(not (os.environ.get("OPENAI_API_KEY") and os.environ.get("LIVE_FINE_TUNING") == "1"),
                                reason="needs OPENAI_API_KEY and LIVE_FINE_TUNING=1 (starts a real job, then cancels it)")


def _stop_following(event):
    if event.kind == "start":
        raise KeyboardInterrupt


def test_a_real_job_starts_and_is_cancelled(workspace, tmp_path, jsonl, rows):
    from ragtune.config import GenerationConfig
    from ragtune.tuning.managed.base import JobRecord

    examples = jsonl(tmp_path / "intents.jsonl", rows(12))
    config = ManagedConfig.build(name="live", data=examples, base="openai:gpt-4.1-nano-2025-04-14", poll_interval_s=5)
    service, model = fine_tuning_service(config.base, GenerationConfig())
    with pytest.raises(KeyboardInterrupt):
        ManagedTuner(config, workspace.models, service, model).train(_stop_following)
    record = JobRecord.load(workspace.models.model_dir("live") / ".run")
    assert record is not None
    assert service.cancel(record.job_id).status in ("cancelled", "running")
