"""``ft`` and ``rag+ft`` on a provider's fine-tuning service, when ``-m`` names a model whose provider fine-tunes
(``openai:<model>[@<base url>]``: OpenAI or any server with its fine-tuning surface).

- ``ft`` trains a job on the rows the LoRA ``ft`` would get (the training examples and the training questions with
  their reference answers, under the model-alone system prompt), converted to the provider's chat rows and checked
  against its documented limits (``ragtune.tuning.managed.examples``).
- ``rag+ft`` trains on RAFT rows when the training questions carry references: each question as ``ask`` prompts it
  over the index, its oracle chunk among distractors, the answer cited to the oracle (``ragtune.tuning.raft``);
  the provider's chat rows carry that context as text. Without such questions it is the ``ft`` model over retrieval.
- Each job is named ``decide-<run>-ft`` (or ``-raft``): a rerun finds the version already published from the same
  rows and base and starts no job; a job an interrupted run left running is followed again, not started twice.
- Costs come from the version's card: trained tokens (billed by the provider: measured; estimated: assumed) × the
  dated training price, answers at the fine-tuned model's price, hosting where the provider charges for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragtune.config import GenerationConfig
from ragtune.decide.candidates import TRAIN_SYSTEM, raft_settings
from ragtune.decide.config import DecideConfig
from ragtune.decide.data import DecideData
from ragtune.errors import RagtuneError
from ragtune.costs.prices import PriceTable
from ragtune.generation.base import Generator, untrainable_reason
from ragtune.tuning.base import RUN_DIR
from ragtune.tuning.data.examples import file_sha256
from ragtune.tuning.managed import JobRecord, ManagedConfig, fine_tuning_service, is_managed
from ragtune.tuning.managed.prices import inference_price
from ragtune.components.registry import ModelCard, ModelRegistry
from ragtune.tuning.service import TrainingProgress, Tuning

EPOCHS = 3
"""Passes of a managed job over its rows: as many as the local ft's LoRA."""


def tuning_route(generator: Generator, spec: str, generation: GenerationConfig) -> tuple[bool, str | None]:
    """Whether ft and rag+ft train on the provider's service, and why they cannot train at all (None: they can, by
    LoRA here or there)."""
    reason = untrainable_reason(generator, spec)
    if reason is None or not is_managed(spec):
        return False, reason
    why = managed_reason(spec, generation)
    return why is None, None if why is None else f"{reason}; nor on its provider's service: {why}"


def managed_reason(spec: str, generation: GenerationConfig) -> str | None:
    """Why ``spec`` cannot be fine-tuned on its provider's service for ``decide`` (None: it can); only called for a
    model LoRA cannot tune here whose provider ``is_managed`` names."""
    try:
        service, _ = fine_tuning_service(spec, generation)
        if service.provider != "openai":
            return (f"a {service.provider} custom model answers through the provider's own hosting, not through ragtune: "
                    f"train it with ragtune tune lora --base {spec}")
        service.ready()
    except RagtuneError as exc:
        return str(exc)
    return None


def published(models: ModelRegistry, name: str, sha256: str, base: str) -> ModelCard | None:
    """The latest managed version of ``name`` trained on data of ``sha256`` from ``base``, or None."""
    for version in reversed(models.versions(name)):
        card = models.card(f"{name}@v{version}")
        if card.kind == "managed" and card.data is not None and card.data.sha256 == sha256 \
                and card.base_model.get("spec") == base:
            return card
    return None


def with_version_price(prices: PriceTable, record: dict[str, Any]) -> PriceTable:
    """``prices`` with the fine-tuned model's per-token price of a kept managed record under ``tuned:<ref>`` (a price
    the table already gives is kept)."""
    price = inference_price((record.get("managed") or {}).get("cost") or {})
    key = f"tuned:{record['ref']}"
    if price is None or key in prices.prices:
        return prices
    return prices.model_copy(update={"prices": {**prices.prices, key: price}})


class ManagedTraining:
    """Trains (or reuses) one decide run's managed versions (see the module docstring)."""

    def __init__(self, tuning: Tuning, config: DecideConfig, spec: str, run_dir: Path, notes: list[str]) -> None:
        self.tuning, self.config, self.spec, self.run_dir, self.notes = tuning, config, spec, run_dir, notes
        self.models: ModelRegistry = tuning.components.models

    def train(self, how: str, name: str, data: DecideData, on_event: TrainingProgress, label: str) -> dict[str, Any]:
        """The kept record of ``label``'s version (``how``: ``lora`` on the ft rows, ``raft`` on RAFT rows)."""
        rows = data.write_ft_rows(self.run_dir / "ft_train.jsonl") if how == "lora" else self._raft_rows(data)
        card = published(self.models, name, file_sha256(rows), self.spec)
        reused = card is not None
        resumed = JobRecord.load(self.models.model_dir(name) / RUN_DIR) is not None
        if card is None:
            config = ManagedConfig(name=name, data=rows, base=self.spec, system=TRAIN_SYSTEM if how == "lora" else None,
                                   epochs=EPOCHS, seed=self.config.seed, poll_interval_s=self.config.poll_interval_s,
                                   resume=resumed)
            card = self.tuning.managed(config, on_event, self.config.prices)
        managed, training = card.managed, (card.cost or {}).get("training") or {}
        tokens = card.metrics.get("trained_tokens")
        self.notes.append(f"{label}: " + (f"reused {card.ref} (already trained on the same rows): no new job" if reused else
                          f"{managed.get('provider')} job {managed.get('job_id')}" + (" (followed again)" if resumed else "")
                          + f", {tokens:,} trained tokens ({training.get('label')})"))
        return {"ref": card.ref, "seconds": card.wall_time_s, "device": "provider", "how": how, "route": "managed",
                "on_format": bool(data.train_examples) and how == "lora", "rows": card.data.rows if card.data else None,
                "managed": {"provider": managed.get("provider"), "job_id": managed.get("job_id"),
                            "model_id": managed.get("model_id"), "trained_tokens": tokens,
                            "billed": bool(card.metrics.get("trained_tokens_billed")), "polls": card.metrics.get("polls"),
                            "reused": reused, "resumed": resumed and not reused, "cost": card.cost}}

    def _raft_rows(self, data: DecideData) -> Path:
        """RAFT rows of the training questions over the index, written in the run folder (the seed keeps them the same)."""
        index = str(self.config.index)
        settings = raft_settings(self.tuning.components.index(index).manifest.chunks, self.config.seed)
        raft = self.tuning.raft_data(data.train_questions, index, settings)
        for skipped in raft.skipped[:3]:
            self.notes.append(f"rag+ft: question '{skipped['id']}' gave no RAFT row: {skipped['reason']}")
        return raft.write(self.run_dir / "raft_managed")
