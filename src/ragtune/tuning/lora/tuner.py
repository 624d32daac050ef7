"""LoRA fine-tuning of a causal LM with peft and the transformers ``Trainer``.

A run lives in ``<home>/models/<name>/.run/`` (settings, checkpoints, log) until it finishes; only then is
the adapter staged and published as the next version ``NAME@vN`` (``BaseTuner``). A killed or failed run
therefore never becomes a version and never touches an earlier one, and ``resume`` continues it from its last
checkpoint.

Loss is computed on the completion only (the assistant replies, rendered with the base model's chat
template). Training runs on the CPU by default; on CUDA it uses bf16 where supported and, optionally,
4-bit QLoRA through bitsandbytes. The data side is in ``lora/data.py``, the model side in ``lora/model.py``.
"""

from __future__ import annotations

import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune.errors import ConfigError, InputError
from ragtune.tuning.base import BEST_DIR, BaseTuner, Progress, Staging, TrainingEvent, training_device
from ragtune.tuning.base_models import BaseModelRef, resolve_base_model
from ragtune.tuning.data.examples import file_sha256, read_examples
from ragtune.tuning.generate import require_peft
from ragtune.tuning.heldout import QUESTIONS_FILE, write_training_questions
from ragtune.tuning.lora.config import LoraConfig
from ragtune.tuning.lora.data import EncodedData, prepare_data
from ragtune.tuning.lora.model import Collator, completion_trainer_class, load_base, target_modules_for
from ragtune.components.registry import DataInfo, ModelCard, ModelRegistry
from ragtune.tuning.runs import (LOG_FILE, RunCallback, RunState, loss_metrics, open_run, peak_rss_mb, stop_reason,
                                 train_to_end, trainer_arguments)

ADAPTER_DIR = "adapter"


@dataclass
class _Trained:
    """A finished training session: the trainer and its callback, the result, and what the card reports of it."""

    trainer: Any
    callback: _RunCallback
    result: Any
    max_steps: int
    trainable: int
    session_s: float
    elapsed: float


class LoraTuner(BaseTuner):
    """Fine-tunes a LoRA adapter and publishes it in the registry (the ``lora`` kind)."""

    kind = "lora"
    libraries = ("torch", "transformers", "peft", "accelerate")

    def __init__(self, config: LoraConfig, registry: ModelRegistry, data_source: dict[str, Any] | None = None,
                 attachments: dict[str, Path] | None = None) -> None:
        """``data_source`` says where the data came from (the card's ``data.source``); ``attachments`` are files
        copied into the version folder, by role."""
        super().__init__(config, registry)
        if not Path(config.data).is_file():
            raise InputError(f"{config.data}: no such file")
        if config.eval_data is not None and not Path(config.eval_data).is_file():
            raise InputError(f"{config.eval_data}: no such file")
        self.config: LoraConfig = config
        self.data_source = data_source
        self.attachments = attachments or {}

    def _fit(self, staging: Staging, notify: Progress) -> ModelCard:
        from transformers import set_seed

        cfg = self.config
        base = resolve_base_model(cfg.base)
        for path in filter(None, (cfg.data, cfg.eval_data)):  # bad rows stop the run before anything is written
            read_examples(path, system=cfg.system, mixed_outputs=cfg.mixed_outputs).raise_for_issues()
        state, checkpoint = open_run(self.run_dir, cfg.name, {**cfg.run_fingerprint(), "data": file_sha256(Path(cfg.data))},
                                     cfg.resume, notify, {"best_eval_loss": None})
        started = time.monotonic()
        device = training_device(cfg.device, cfg.load_in_4bit, "--device cuda / --4bit")
        set_seed(cfg.seed)
        notify(TrainingEvent("info", message=f"loading {base.spec} ({base.location}) on {device}"))
        model, tokenizer = load_base(base, device, cfg.load_in_4bit)
        data = prepare_data(cfg, tokenizer)
        if data.dropped_lines:
            lines = ", ".join(map(str, data.dropped_lines[:10])) + (" ..." if len(data.dropped_lines) > 10 else "")
            notify(TrainingEvent("info", message=f"dropped {len(data.dropped_lines)} row(s) over {cfg.max_length} tokens "
                                                 f"(lines {lines}); pass --truncate to keep them"))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = self._wrap(model)
        trained = self._train(model, tokenizer, data, device, state, checkpoint, started, notify)
        return self._stage(staging.path, model, tokenizer, base, data, self._metrics(trained, state, device), trained)

    def _wrap(self, model: Any) -> Any:
        peft = require_peft()
        cfg = self.config
        if cfg.load_in_4bit:
            model = peft.prepare_model_for_kbit_training(model)
        modules = cfg.target_modules or target_modules_for(model.config.model_type, cfg.targets)
        peft_config = peft.LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=modules,
                                     bias="none", task_type="CAUSAL_LM")
        try:
            return peft.get_peft_model(model, peft_config)
        except ValueError as exc:
            raise ConfigError(f"--target-modules {modules}: {exc}") from exc

    def _train(self, model: Any, tokenizer: Any, data: EncodedData, device: str, state: RunState, checkpoint: str | None,
               started: float, notify: Progress) -> _Trained:
        """Run the trainer (from ``checkpoint`` when resuming) to the end."""
        import torch
        from transformers import TrainingArguments

        cfg = self.config
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        steps_per_epoch = max(1, -(-len(data.train) // (cfg.batch_size * cfg.grad_accum)))
        max_steps = cfg.max_steps or max(1, round(cfg.epochs * steps_per_epoch))
        has_eval = bool(data.eval)
        args = trainer_arguments(
            TrainingArguments, cfg, self.run_dir, max_steps, device, gradient_accumulation_steps=cfg.grad_accum,
            eval_strategy=("steps" if cfg.eval_steps else "epoch") if has_eval else "no", eval_steps=cfg.eval_steps,
            bf16=device == "cuda" and torch.cuda.is_bf16_supported(), remove_unused_columns=False,
            include_num_input_tokens_seen="non_padding", save_only_model=False, prediction_loss_only=True,
        )
        callback = _RunCallback(self, state, notify, started, model)
        trainer = completion_trainer_class()(model=model, args=args, train_dataset=data.train, eval_dataset=data.eval or None,
                                             data_collator=Collator(tokenizer.pad_token_id), callbacks=[callback])
        notify(TrainingEvent("start", step=0, max_steps=max_steps, message=f"{len(data.train)} training rows, {len(data.eval)} "
                                                                           "held out, "
                                                                           f"{trainable:,} trainable parameters"))
        result = train_to_end(trainer, checkpoint, callback, has_eval, cfg.name)
        return _Trained(trainer, callback, result, max_steps, trainable, time.monotonic() - started, callback.elapsed())

    def _metrics(self, run: _Trained, state: RunState, device: str) -> dict[str, Any]:
        """The card's training figures."""
        trainer, callback = run.trainer, run.callback
        tokens = trainer.state.num_input_tokens_seen - callback.tokens_at_start
        train_s = run.result.metrics.get("train_runtime", run.session_s)
        return {
            **loss_metrics(trainer, run.result, run.max_steps), "eval_loss": callback.last_eval_loss,
            "best_eval_loss": state.data["best_eval_loss"], "best_step": state.data["best_step"],
            "stopped_by": stop_reason(callback, self.config), "trainable_parameters": run.trainable, "train_tokens": tokens,
            "train_tokens_per_s": round(tokens / train_s, 1) if train_s else None, "peak_rss_mb": peak_rss_mb(), "device": device,
            "eval_history": [{"step": h["step"], "epoch": h.get("epoch"), "eval_loss": round(h["eval_loss"], 4)}
                             for h in trainer.state.log_history if "eval_loss" in h],
        }

    def _stage(self, staging: Path, model: Any, tokenizer: Any, base: BaseModelRef, data: EncodedData, metrics: dict[str, Any],
               run: _Trained) -> ModelCard:
        """Write the adapter (the best evaluated one, else the last), the questions, attachments and log; the card."""
        cfg = self.config
        adapter = staging / ADAPTER_DIR
        if self.stage_model(adapter, "adapter_config.json", lambda target: model.save_pretrained(str(target))):
            metrics["published"] = f"best eval loss (step {run.callback.run.data['best_step']})"
        else:
            metrics["published"] = "last step"
        tokenizer.save_pretrained(str(adapter))
        write_training_questions(staging / QUESTIONS_FILE, read_examples(cfg.data, system=cfg.system,
                                                                         mixed_outputs=cfg.mixed_outputs).valid)
        for path in self.attachments.values():
            shutil.copy2(path, staging / path.name)
        self.stage_log(staging)
        return self.card(
            base_model={"spec": base.spec, "location": base.location, "model_type": model.config.model_type,
                        "parameters": sum(p.numel() for p in model.parameters()) - run.trainable},
            data=DataInfo(path=str(cfg.data), sha256=file_sha256(Path(cfg.data)), format=data.format,
                          rows={"total": data.total_rows, "train": len(data.train), "eval": len(data.eval),
                                "dropped": len(data.dropped_lines), "truncated": data.truncated},
                          source=self.data_source),
            metrics=metrics, wall_time_s=round(run.elapsed, 2),
            files={"adapter": ADAPTER_DIR, "log": LOG_FILE, "questions": QUESTIONS_FILE,
                   **{role: path.name for role, path in self.attachments.items()}},
        )


class _RunCallback(RunCallback):
    """The run machinery, plus tokens seen, the eval loss, and the best adapter."""

    def __init__(self, tuner: LoraTuner, state: RunState, notify: Progress, started: float, model: Any) -> None:
        super().__init__(tuner, state, notify, started)
        self.model = model
        self.last_eval_loss: float | None = None
        self.tokens_at_start = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.tokens_at_start = state.num_input_tokens_seen
        super().on_train_begin(args, state, control, **kwargs)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        loss = (metrics or {}).get("eval_loss")
        if loss is None:
            return control
        self.last_eval_loss = round(loss, 4)
        self.notify(TrainingEvent("eval", step=state.global_step, max_steps=state.max_steps, eval_loss=loss, epoch=state.epoch))
        if self.track_best("best_eval_loss", loss, state.global_step, control, greater_is_better=False) and self.run.writable:
            self.model.save_pretrained(str(self.tuner.run_dir / BEST_DIR))
        self.end_eval()
        return control
