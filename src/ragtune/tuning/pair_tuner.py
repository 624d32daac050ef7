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

import re
import time
from pathlib import Path
from typing import Any, Callable

from ragtune.common import read_json, write_json_atomic
from ragtune.errors import InputError
from ragtune.tuning.base import BEST_DIR, BaseTuner, Staging, TrainingEvent, training_device
from ragtune.tuning.pair_config import PairTuneConfig
from ragtune.tuning.pairs import PairData
from ragtune.components.registry import DataInfo, ModelCard, ModelRegistry
from ragtune.tuning import ranks
from ragtune.tuning.runs import (LOG_FILE, Notify, RunCallback, RunState, loss_metrics, open_run, peak_rss_mb, stop_reason,
                                 train_to_end, trainer_arguments)
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


class PairTuner(BaseTuner):
    """Trains a retrieval model on prepared pairs and publishes it (see the module docstring)."""

    kind = ""
    primary_metric = "ndcg@10"
    libraries = ("torch", "transformers", "sentence-transformers")

    def __init__(self, config: PairTuneConfig, registry: ModelRegistry, prepare: PreparePairs) -> None:
        super().__init__(config, registry)
        self.config: PairTuneConfig = config
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

    def _start_run(self, notify: Notify) -> tuple[RunState, PairData, str | None]:
        """Resume the interrupted run with its cached pairs, or prepare the pairs and start afresh."""
        cfg = self.config
        pairs_path = self.run_dir / "pairs.json"
        with ranks.leader_first():  # under a launcher rank 0 prepares the pairs; the other ranks read them
            if ranks.is_leader():
                return self._lead_run(pairs_path, notify)
            state, checkpoint = open_run(self.run_dir, cfg.name, cfg.run_fingerprint(), cfg.resume, notify, {})
            return state, PairData.from_json(read_json(pairs_path, "pairs file")), checkpoint

    def _lead_run(self, pairs_path: Path, notify: Notify) -> tuple[RunState, PairData, str | None]:
        cfg = self.config
        if cfg.resume:
            state, checkpoint = open_run(self.run_dir, cfg.name, cfg.run_fingerprint(), True, notify, {})
            if not pairs_path.is_file():
                raise InputError(f"the interrupted run of '{cfg.name}' kept no pairs; start afresh without --resume")
            return state, PairData.from_json(read_json(pairs_path, "pairs file")), checkpoint
        data = self.prepare(lambda message: notify(TrainingEvent("info", message=message)))
        if not data.train:
            raise InputError(f"{data.where}: no training pairs left after the held-out split")
        state, _ = open_run(self.run_dir, cfg.name, cfg.run_fingerprint(), False, notify,
                            {"best_score": None, "before": None, "history": []})
        write_json_atomic(pairs_path, data.to_json())
        return state, data, None

    def _fit(self, staging: Staging, notify: Notify) -> ModelCard:
        from transformers import set_seed

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
            notify(TrainingEvent("info", message=f"scoring the base model on {data.counts.get('held_out_queries', 0)} held-out "
                                                 "queries"))
            state.data["before"] = short_scores(evaluator(model))
            state.save()
            notify(TrainingEvent("eval", step=0, scores=state.data["before"], message="before training"))
        callback = _PairRunCallback(self, state, notify, started, model)
        metrics = self._train(model, data, evaluator, device, callback, checkpoint)
        return self._stage(staging.path, model, base, data, metrics, callback)

    def _train(self, model: Any, data: PairData, evaluator: Any | None, device: str, callback: _PairRunCallback,
               checkpoint: str | None) -> dict[str, Any]:
        """Run the trainer (from ``checkpoint`` when resuming) to the end; the card's training figures."""
        cfg = self.config
        dataset = self.train_dataset(data)
        steps_per_epoch = max(1, -(-len(dataset) // cfg.batch_size))
        max_steps = cfg.max_steps or max(1, round(cfg.epochs * steps_per_epoch))
        trainer_cls, args_cls = self.trainer_classes()
        has_eval = evaluator is not None
        args = trainer_arguments(args_cls, cfg, self.run_dir, max_steps, device, logging_steps=min(cfg.logging_steps, max_steps),
                                 eval_strategy="steps" if has_eval else "no",
                                 eval_steps=(cfg.eval_steps or steps_per_epoch) if has_eval else None,
                                 **self.training_arguments())
        trainer = trainer_cls(model=model, args=args, train_dataset=dataset, loss=self.loss(model, data),
                              evaluator=evaluator, callbacks=[callback])
        callback.notify(TrainingEvent("start", step=0, max_steps=max_steps,
                                      message=f"{len(data.train)} training pairs ({len(dataset)} rows), "
                                              f"{data.counts.get('held_out_queries', 0)} "
                                              f"held-out queries, {max_steps} steps of {cfg.batch_size}"))
        result = train_to_end(trainer, checkpoint, callback, has_eval, cfg.name)
        return {
            **loss_metrics(trainer, result, max_steps, train_rows=len(dataset)),
            "best_score": callback.run.data["best_score"], "best_step": callback.run.data["best_step"],
            "primary_metric": callback.primary_metric, "stopped_by": stop_reason(callback, cfg),
            "train_runtime_s": round(result.metrics.get("train_runtime", 0.0), 2), "peak_rss_mb": peak_rss_mb(), "device": device,
            "eval_history": callback.history,
        }

    def _stage(self, staging: Path, model: Any, base: dict[str, Any], data: PairData, metrics: dict[str, Any],
               callback: _PairRunCallback) -> ModelCard:
        """Write the model (the best evaluated one, else the last) and the log; the card with the held-out scores."""
        target = staging / MODEL_DIR
        after = callback.last_scores
        if self.stage_model(target, "config.json", lambda folder: self.save(model, folder), callback.best_scores is not None):
            after = callback.best_scores
            metrics["published"] = f"best held-out {callback.primary_metric} (step {callback.run.data['best_step']})"
        else:
            metrics["published"] = "last step"
        self.stage_log(staging)
        scores = {}
        if callback.run.data.get("before") is not None:
            scores["held_out"] = {"before": callback.run.data["before"], "after": after or {},
                                  "queries": data.counts.get("held_out_queries", 0), "corpus": data.counts.get("eval_corpus", 0)}
        scores.update(self.after_training(target, data, callback.notify))
        return self.card(base_model=base, data=DataInfo(path=data.where, sha256=data.sha256, format=data.format,
                                                        rows=data.counts),
                         metrics={**metrics, "notes": data.notes}, scores=scores, wall_time_s=round(callback.elapsed(), 2),
                         files={"model": MODEL_DIR, "log": LOG_FILE})


class _PairRunCallback(RunCallback):
    """The run machinery, plus the held-out scores, early stopping on the primary metric, and the best model."""

    def __init__(self, tuner: PairTuner, state: RunState, notify: Notify, started: float, model: Any) -> None:
        super().__init__(tuner, state, notify, started)
        self.model = model
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
            if self.run.writable:
                self.tuner.save(self.model, self.tuner.run_dir / BEST_DIR)
        self.run.data["history"] = self.history
        self.end_eval()
        self.log({"event": "eval", "step": state.global_step, **scores})
        return control
