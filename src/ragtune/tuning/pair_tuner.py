"""The training loop shared by the retrieval tuners: sentence-transformers trainers over query/positive pairs.

A run lives in ``<home>/models/<name>/.run/`` until it finishes: ``run.json`` (settings fingerprint, elapsed
time, best score), ``pairs.json`` (the prepared pairs, so a resumed run trains on exactly the same data even
when a generator wrote them), ``checkpoints/``, ``best/`` (the model with the best held-out score) and
``train.log``. Only a finished run is staged and published as ``NAME@vN``; a killed or failed one leaves no
version and ``resume`` continues it from its last checkpoint.

Each epoch (or every ``eval_steps``) the held-out split is evaluated; early stopping watches its primary
metric, and the published model is the best-scoring one. The held-out scores before and after training go
on the card beside the base model, the data hash, the pair counts and the settings.

A subclass supplies the model-specific parts: ``load_model``, ``train_dataset``, ``loss``, ``evaluator``,
``trainer_classes``, ``training_arguments`` and, where the published model differs from the trained one, ``save``.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from ragtune.errors import InputError
from ragtune.tuning.base import TrainingEvent, training_device
from ragtune.tuning.pair_config import PairTuneConfig
from ragtune.tuning.pairs import PairData
from ragtune.tuning.registry import DataInfo, ModelCard, ModelRegistry, check_model_name
from ragtune.common import library_versions, write_json_atomic
from ragtune.tuning.runs import LOG_FILE, RUN_DIR, Notify, RunCallback, RunState, open_run, train_to_end, training_lock
from ragtune.tuning.tuned import MODEL_DIR

PreparePairs = Callable[[Callable[[str], None]], PairData]


def short_scores(metrics: dict[str, Any], name: str = "held-out") -> dict[str, float]:
    """Evaluator metrics with the evaluator's prefixes removed (``eval_held-out_cosine_ndcg@10`` -> ``ndcg@10``)."""
    out = {}
    for key, value in metrics.items():
        if not isinstance(value, (int, float)):
            continue
        short = re.sub(rf"^(eval_)?{re.escape(name)}_", "", key)
        short = re.sub(r"^(cosine|dot)_", "", short)
        if "@" in short or short in ("map", "base_map"):
            out[short] = round(float(value), 4)
    return out


class PairTuner:
    """Trains a retrieval model on prepared pairs and publishes it (see the module docstring)."""

    kind = ""
    primary_metric = "ndcg@10"
    extra_libraries: tuple[str, ...] = ("torch", "transformers", "sentence-transformers")

    def __init__(self, config: PairTuneConfig, registry: ModelRegistry, prepare: PreparePairs) -> None:
        check_model_name(config.name)
        self.config = config
        self.registry = registry
        self.prepare = prepare

    # --- the parts a subclass supplies -------------------------------------------------------------

    def base_model(self) -> dict[str, Any]:
        """``{"spec", "location", ...}`` of the model training starts from."""
        raise NotImplementedError

    def load_model(self, location: str, device: str) -> Any:
        raise NotImplementedError

    def train_dataset(self, data: PairData) -> Any:
        raise NotImplementedError

    def loss(self, model: Any, data: PairData) -> Any:
        raise NotImplementedError

    def evaluator(self, data: PairData) -> Any | None:
        raise NotImplementedError

    def trainer_classes(self) -> tuple[type, type]:
        """``(Trainer, TrainingArguments)`` classes."""
        raise NotImplementedError

    def training_arguments(self) -> dict[str, Any]:
        """Extra keyword arguments for the training arguments (a batch sampler, ...)."""
        return {}

    def save(self, model: Any, folder: Path) -> None:
        """Write the model as the artefact loads it (a subclass may set what only the published model carries)."""
        model.save(str(folder))

    def after_training(self, folder: Path, data: PairData, notify: Notify) -> dict[str, Any]:
        """Extra card scores measured on the model to be published (in ``folder``); none by default."""
        return {}

    # --- the shared loop ---------------------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        return self.registry.model_dir(self.config.name) / RUN_DIR

    def train(self, progress: Notify | None = None) -> ModelCard:
        """Train, publish ``NAME@vN`` and return its card; an interrupted run is left in ``.run`` for ``resume``."""
        with training_lock(self.registry.model_dir(self.config.name), self.config.name):
            return self._train_locked(progress or (lambda event: None))

    def _start_run(self, notify: Notify) -> tuple[RunState, PairData, str | None]:
        """Resume the interrupted run with its cached pairs, or prepare the pairs and start afresh."""
        cfg = self.config
        pairs_path = self.run_dir / "pairs.json"
        if cfg.resume:
            state, checkpoint = open_run(self.run_dir, cfg.name, cfg.run_fingerprint(), True, notify, {})
            if not pairs_path.is_file():
                raise InputError(f"the interrupted run of '{cfg.name}' kept no pairs; start afresh without --resume")
            return state, PairData.from_json(json.loads(pairs_path.read_text(encoding="utf-8"))), checkpoint
        data = self.prepare(lambda message: notify(TrainingEvent("info", message=message)))
        if not data.train:
            raise InputError(f"{data.where}: no training pairs left after the held-out split")
        state, _ = open_run(self.run_dir, cfg.name, cfg.run_fingerprint(), False, notify,
                            {"best_score": None, "before": None, "history": []})
        write_json_atomic(pairs_path, data.to_json())
        return state, data, None

    def _train_locked(self, notify: Notify) -> ModelCard:
        from transformers import set_seed
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        cfg = self.config
        base = self.base_model()
        state, data, checkpoint = self._start_run(notify)
        started = time.monotonic()
        device = training_device(cfg.device)
        set_seed(cfg.seed)
        notify(TrainingEvent("info", message=f"loading {base['spec']} ({base['location']}) on {device}"))
        model = self.load_model(base["location"], device)
        # Widget examples for the hub model card: computing them draws a progress bar; ragtune's card is card.json.
        model.model_card_data.generate_widget_examples = False
        model.model_card_data.widget = [{"source_sentence": "", "sentences": []}]
        evaluator = self.evaluator(data)
        if evaluator is not None and state.data.get("before") is None:
            notify(TrainingEvent("info", message=f"scoring the base model on {data.counts.get('held_out_queries', 0)} held-out queries"))
            state.data["before"] = short_scores(evaluator(model))
            state.save()
            notify(TrainingEvent("eval", step=0, scores=state.data["before"], message="before training"))
        dataset = self.train_dataset(data)
        steps_per_epoch = max(1, -(-len(dataset) // cfg.batch_size))
        max_steps = cfg.max_steps or max(1, round(cfg.epochs * steps_per_epoch))
        trainer_cls, args_cls = self.trainer_classes()
        has_eval = evaluator is not None
        args = args_cls(
            output_dir=str(self.run_dir / "checkpoints"), per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
            warmup_steps=round(cfg.warmup_ratio * max_steps), lr_scheduler_type="linear", max_steps=max_steps,
            num_train_epochs=cfg.epochs, logging_steps=min(cfg.logging_steps, max_steps), save_strategy="steps", save_steps=cfg.save_steps,
            save_total_limit=2, eval_strategy="steps" if has_eval else "no",
            eval_steps=(cfg.eval_steps or steps_per_epoch) if has_eval else None, seed=cfg.seed, data_seed=cfg.seed,
            use_cpu=device == "cpu", report_to="none", disable_tqdm=True, dataloader_num_workers=0, log_level="error",
            **self.training_arguments(),
        )
        callback = _PairRunCallback(self, state, notify, started, model)
        trainer = trainer_cls(model=model, args=args, train_dataset=dataset, loss=self.loss(model, data),
                              evaluator=evaluator, callbacks=[callback])
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        notify(TrainingEvent("start", step=0, max_steps=max_steps,
                             message=f"{len(data.train)} training pairs ({len(dataset)} rows), {data.counts.get('held_out_queries', 0)} "
                                     f"held-out queries, {max_steps} steps of {cfg.batch_size}"))
        result = train_to_end(trainer, checkpoint, callback, has_eval, cfg.name)
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        metrics = {
            "steps": trainer.state.global_step, "max_steps": max_steps, "epochs": round(trainer.state.epoch or 0, 3),
            "train_rows": len(dataset), "train_loss": round(losses[-1], 4) if losses else None,
            "train_loss_first": round(losses[0], 4) if losses else None,
            "train_loss_mean": round(result.training_loss, 4) if result.training_loss is not None else None,
            "best_score": state.data["best_score"], "best_step": state.data["best_step"], "primary_metric": callback.primary_metric,
            "stopped_by": callback.stopped_by or ("max_steps" if cfg.max_steps else "epochs"),
            "train_runtime_s": round(result.metrics.get("train_runtime", 0.0), 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "device": device,
            "eval_history": callback.history,
        }
        return self._publish(model, base, data, metrics, callback)

    def _publish(self, model: Any, base: dict[str, Any], data: PairData, metrics: dict[str, Any], callback: "_PairRunCallback") -> ModelCard:
        cfg = self.config
        staging = self.registry.staging(cfg.name)
        try:
            best = self.run_dir / "best"
            target = staging / MODEL_DIR
            after = callback.last_scores
            if best.is_dir() and (best / "config.json").is_file() and callback.best_scores is not None:
                shutil.copytree(best, target)
                after = callback.best_scores
                metrics["published"] = f"best held-out {callback.primary_metric} (step {callback.run.data['best_step']})"
            else:
                self.save(model, target)
                metrics["published"] = "last step"
            log = self.run_dir / LOG_FILE
            if log.is_file():
                shutil.copy2(log, staging / LOG_FILE)
            scores = {}
            if callback.run.data.get("before") is not None:
                scores["held_out"] = {"before": callback.run.data["before"], "after": after or {},
                                      "queries": data.counts.get("held_out_queries", 0), "corpus": data.counts.get("eval_corpus", 0)}
            scores.update(self.after_training(target, data, callback.notify))
            card = ModelCard(
                kind=self.kind, name=cfg.name, base_model=base,
                data=DataInfo(path=data.where, sha256=data.sha256, format=data.format, rows=data.counts),
                settings=cfg.model_dump(mode="json", exclude={"resume"}),
                metrics={**metrics, "notes": data.notes}, scores=scores, wall_time_s=round(callback.elapsed(), 2),
                library_versions=library_versions(*self.extra_libraries), files={"model": MODEL_DIR, "log": LOG_FILE},
            )
            published = self.registry.publish(staging, card)
        except BaseException:
            self.registry.discard(staging)
            raise
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return published


class _PairRunCallback(RunCallback):
    """The run machinery, plus the held-out scores, early stopping on the primary metric, and the best model."""

    def __init__(self, tuner: PairTuner, state: RunState, notify: Notify, started: float, model: Any) -> None:
        super().__init__(tuner.run_dir, state, notify, started, tuner.config.time_budget_s, tuner.config.early_stopping)
        self.tuner, self.model = tuner, model
        self.primary_metric = tuner.primary_metric
        self.last_scores: dict[str, float] | None = None
        self.best_scores: dict[str, float] | None = state.data.get("best_scores")
        self.history: list[dict[str, Any]] = list(state.data.get("history", []))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        scores = short_scores(metrics or {})
        if self.primary_metric not in scores:
            return control
        score = scores[self.primary_metric]
        self.last_scores = scores
        self.history.append({"step": state.global_step, "epoch": state.epoch, self.primary_metric: score})
        self.notify(TrainingEvent("eval", step=state.global_step, max_steps=state.max_steps, epoch=state.epoch, scores=scores))
        if self.track_best("best_score", score, state.global_step, control, greater_is_better=True):
            self.run.data["best_scores"] = self.best_scores = scores
            self.tuner.save(self.model, self.tuner.run_dir / "best")
        self.run.data["history"] = self.history
        self.end_eval()
        self.log({"event": "eval", "step": state.global_step, **scores})
        return control
