"""Training runs that survive interruption, shared by every tuner built on a transformers ``Trainer``.

A run lives in ``<home>/models/<name>/.run/`` until it is published: ``run.json`` (the settings fingerprint,
the elapsed time, the best evaluation so far), ``checkpoints/`` and ``train.log`` (one JSON record per event).
``open_run`` starts a run afresh (discarding an interrupted one) or resumes it from its newest complete
checkpoint when the fingerprint matches (a checkpoint is complete once ``RunCallback`` has marked it; one cut
short by a kill is removed); ``RunCallback`` reports progress, writes the log, keeps the elapsed time across
resumes, enforces the time budget and does the early-stopping bookkeeping. ``trainer_arguments``,
``train_to_end`` and ``loss_metrics`` are the parts of a ``Trainer`` run every tuner sets up the same way.
"""

from __future__ import annotations

import json
import resource
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from ragtune.common import read_json, write_json_atomic
from ragtune.errors import InputError, TuningError
from ragtune.tuning import ranks
from ragtune.tuning.base import LOG_FILE, RUN_DIR, Progress, TrainingConfig, TrainingEvent

if TYPE_CHECKING:
    from ragtune.tuning.base import BaseTuner

__all__ = ["COMPLETE_MARKER", "LOG_FILE", "RUN_DIR", "Notify", "RunCallback", "RunState", "last_complete_checkpoint",
           "loss_metrics", "open_run", "peak_rss_mb", "stop_reason", "train_to_end", "trainer_arguments"]

COMPLETE_MARKER = "ragtune-complete"  # written into a checkpoint once the trainer has saved all of it
Notify = Progress


class RunState:
    """``run.json`` of a run in progress: its fingerprint and what must survive a resume. A rank other than 0 of a
    launched run holds it read-only (``writable`` false): it and its callbacks write nothing."""

    def __init__(self, path: Path, data: dict[str, Any], writable: bool = True) -> None:
        self.path, self.data, self.writable = path, data, writable

    def save(self) -> None:
        if self.writable:
            write_json_atomic(self.path, self.data)


def open_run(run_dir: Path, name: str, fingerprint: dict[str, Any], resume: bool, notify: Notify,
             initial: dict[str, Any]) -> tuple[RunState, str | None]:
    """The run's state and the checkpoint to resume from (None: from step 0).

    With ``resume`` the interrupted run must exist and have the same ``fingerprint`` (the error names the settings
    that differ); otherwise any interrupted run is discarded and a fresh one starts with ``initial`` state. Under a
    launcher rank 0 does this and the other ranks then join its run read-only.
    """
    with ranks.leader_first():
        if not ranks.is_leader():
            state = RunState(run_dir / "run.json", read_json(run_dir / "run.json", "run state"), writable=False)
            return state, _newest_complete(run_dir / "checkpoints") if resume else None
        return _open_run(run_dir, name, fingerprint, resume, notify, initial)


def _open_run(run_dir: Path, name: str, fingerprint: dict[str, Any], resume: bool, notify: Notify,
              initial: dict[str, Any]) -> tuple[RunState, str | None]:
    state_path = run_dir / "run.json"
    if resume:
        if not state_path.is_file():
            raise InputError(f"no interrupted run of '{name}' to resume; run without --resume to start one")
        state = RunState(state_path, read_json(state_path, "run state"))
        old = state.data.get("fingerprint", {})
        if old != fingerprint:
            changed = sorted(k for k in set(fingerprint) | set(old) if old.get(k) != fingerprint.get(k))
            raise InputError(f"--resume: the interrupted run of '{name}' used other settings ({', '.join(changed)}); "
                             "resume with the same data and settings, or start afresh without --resume")
        checkpoint = last_complete_checkpoint(run_dir / "checkpoints")
        notify(TrainingEvent("info", message=f"resuming from {Path(checkpoint).name}" if checkpoint
                             else "no checkpoint was written before the interruption: starting from step 0"))
        return state, checkpoint
    if run_dir.exists():
        notify(TrainingEvent("info", message=f"discarding an interrupted run of '{name}' (pass --resume to continue one)"))
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    state = RunState(state_path, {"fingerprint": fingerprint, "elapsed_s": 0.0, "best_step": None,
                                  "evals_without_improvement": 0, **initial})
    state.save()
    return state, None


def _newest_complete(folder: Path) -> str | None:
    """The newest checkpoint marked complete, found without removing anything."""
    found = sorted((int(p.name.split("-")[-1]), p) for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()) \
        if folder.is_dir() else []
    return next((str(path) for _, path in reversed(found) if (path / COMPLETE_MARKER).is_file()), None)


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint the trainer finished writing; checkpoints cut short by a kill are removed."""
    if not folder.is_dir():
        return None
    found = sorted((int(p.name.split("-")[-1]), p) for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit())
    for _, path in reversed(found):
        if (path / COMPLETE_MARKER).is_file():
            return str(path)
        shutil.rmtree(path, ignore_errors=True)
    return None


class RunCallback(TrainerCallback):
    """Step events with loss and ETA, the run log, the time budget and elapsed time across resumes.

    A subclass evaluates in ``on_evaluate`` and calls ``track_best`` then ``end_eval``.
    """

    def __init__(self, tuner: BaseTuner, state: RunState, notify: Notify, started: float) -> None:
        self.tuner, self.run, self.notify, self.started = tuner, state, notify, started
        self.time_budget_s, self.early_stopping = tuner.config.time_budget_s, tuner.config.early_stopping
        self.log_path = tuner.run_dir / LOG_FILE
        self.stopped_by: str | None = None
        self.last_eval_step: int | None = None
        self.train_started = started
        self.start_step = 0

    def elapsed(self) -> float:
        """Training seconds so far, earlier sessions of a resumed run included."""
        return self.run.data["elapsed_s"] + (time.monotonic() - self.started)

    def log(self, record: dict[str, Any]) -> None:
        if not self.run.writable:
            return
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"time_s": round(self.elapsed(), 2), **record}) + "\n")

    def on_train_begin(self, args, state, control, **kwargs):
        self.train_started = time.monotonic()
        self.start_step = state.global_step
        self.log({"event": "start", "step": state.global_step, "max_steps": state.max_steps})

    def on_step_end(self, args, state, control, **kwargs):
        done = state.global_step - self.start_step
        eta = (time.monotonic() - self.train_started) / done * (state.max_steps - state.global_step) if done else None
        loss = next((h["loss"] for h in reversed(state.log_history) if "loss" in h), None)
        self.notify(TrainingEvent("step", step=state.global_step, max_steps=state.max_steps, loss=loss, eta_s=eta,
                                  epoch=state.epoch))
        if self.time_budget_s:  # every rank stops at the same step (the clocks of the ranks differ a little)
            over = ranks.agree(self.elapsed() >= self.time_budget_s)
            if over and not control.should_training_stop:
                self.stopped_by = "time_budget"
                control.should_training_stop = True
                self.log({"event": "time_budget", "step": state.global_step})
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.log({"event": "log", "step": state.global_step, **(logs or {})})

    def on_save(self, args, state, control, **kwargs):
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if checkpoint.is_dir() and self.run.writable:
            (checkpoint / COMPLETE_MARKER).touch()
        self.run.data["elapsed_at_step"] = state.global_step
        self.end_eval()
        self.log({"event": "checkpoint", "step": state.global_step})

    def track_best(self, key: str, value: float, step: int, control, greater_is_better: bool) -> bool:
        """Record an evaluation under ``key``; True when it is the best so far, else count towards early stopping."""
        self.last_eval_step = step
        best = self.run.data.get(key)
        if best is None or (value > best if greater_is_better else value < best):
            self.run.data.update({key: round(value, 4), "best_step": step, "evals_without_improvement": 0})
            return True
        self.run.data["evals_without_improvement"] += 1
        if self.early_stopping and self.run.data["evals_without_improvement"] >= self.early_stopping:
            self.stopped_by = "early_stopping"
            control.should_training_stop = True
        return False

    def end_eval(self) -> None:
        """Bank the elapsed time and save the run state."""
        self.run.data["elapsed_s"] = self.elapsed()
        self.started = time.monotonic()
        self.run.save()


def train_to_end(trainer: Any, checkpoint: str | None, callback: RunCallback, has_eval: bool, name: str) -> Any:
    """Run ``trainer`` (from ``checkpoint`` when resuming) and evaluate the last step if no evaluation covered it.

    The trainer's own console printing is removed (progress goes through ``callback``). Interruptions and bad
    input pass through; any other failure becomes a ``TuningError`` that keeps the run.
    """
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    try:
        result = trainer.train(resume_from_checkpoint=checkpoint)
        if has_eval and callback.last_eval_step != trainer.state.global_step:
            trainer.evaluate()
        return result
    except (KeyboardInterrupt, InputError):
        raise
    except Exception as exc:  # noqa: BLE001 - torch and transformers raise many types
        raise TuningError(f"training '{name}' failed: {type(exc).__name__}: {exc} (the run is kept; --resume continues it "
                          "from its last checkpoint)") from exc


def trainer_arguments(args_class: type, config: TrainingConfig, run_dir: Path, max_steps: int, device: str,
                      **settings: Any) -> Any:
    """``args_class`` (transformers ``TrainingArguments`` or a subclass) for a run of ``config`` in ``run_dir``:
    checkpoints every ``save_steps`` (the last two kept), linear decay after warmup, quiet, with ``settings`` on top."""
    values = {
        "output_dir": str(run_dir / "checkpoints"), "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay, "warmup_steps": round(config.warmup_ratio * max_steps),
        "lr_scheduler_type": "linear",
        "max_steps": max_steps, "num_train_epochs": config.epochs, "logging_steps": config.logging_steps,
        "save_strategy": "steps",
        "save_steps": config.save_steps, "save_total_limit": 2, "seed": config.seed, "data_seed": config.seed,
        "use_cpu": device == "cpu", "report_to": "none", "disable_tqdm": True, "dataloader_num_workers": 0, "log_level": "error",
    }
    if ranks.fsdp_requested():
        values["fsdp"] = "full_shard auto_wrap"
    return args_class(**{**values, **settings})


def loss_metrics(trainer: Any, result: Any, max_steps: int, **extra: Any) -> dict[str, Any]:
    """Steps, epochs and training losses (first, last, mean) of a finished run, ``extra`` after the epochs."""
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {
        "steps": trainer.state.global_step, "max_steps": max_steps, "epochs": round(trainer.state.epoch or 0, 3), **extra,
        "train_loss": round(losses[-1], 4) if losses else None, "train_loss_first": round(losses[0], 4) if losses else None,
        "train_loss_mean": round(result.training_loss, 4) if result.training_loss is not None else None,
    }


def stop_reason(callback: RunCallback, config: TrainingConfig) -> str:
    """Why training stopped: the time budget, early stopping, the step limit or the epochs."""
    return callback.stopped_by or ("max_steps" if config.max_steps else "epochs")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
