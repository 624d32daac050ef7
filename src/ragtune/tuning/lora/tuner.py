"""LoRA fine-tuning of a causal LM with peft and the transformers ``Trainer``.

A run lives in ``<home>/models/<name>/.run/`` (settings, checkpoints, log) until it finishes; only then is
the adapter staged and published as the next version ``NAME@vN``. A killed or failed run therefore never
becomes a version and never touches an earlier one, and ``resume`` continues it from its last checkpoint.

Loss is computed on the completion only (the assistant replies, rendered with the base model's chat
template). Training runs on the CPU by default; on CUDA it uses bf16 where supported and, optionally,
4-bit QLoRA through bitsandbytes.
"""

from __future__ import annotations

import random
import resource
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ragtune.errors import ConfigError, InputError
from ragtune.tuning.base import TrainingEvent
from ragtune.tuning.base_models import BaseModelRef, resolve_base_model
from ragtune.tuning.chat import IGNORE_INDEX, encode_example, ensure_chat_template, truncate_example
from ragtune.tuning.data.examples import Example, file_sha256, read_examples
from ragtune.tuning.generate import require_peft
from ragtune.tuning.heldout import QUESTIONS_FILE, write_training_questions
from ragtune.tuning.lora.config import Device, LoraConfig, LoraTargets
from ragtune.tuning.registry import DataInfo, ModelCard, ModelRegistry, check_model_name
from ragtune.common import library_versions
from ragtune.tuning.runs import LOG_FILE, RUN_DIR, RunCallback, RunState, open_run, train_to_end, training_lock

ADAPTER_DIR = "adapter"

# Linear layers per architecture: (attention, MLP). Unknown architectures fall back to peft's own table
# (attention) or to peft's "all-linear" selection.
_LLAMA_LIKE = (["q_proj", "k_proj", "v_proj", "o_proj"], ["gate_proj", "up_proj", "down_proj"])
TARGET_MODULES: dict[str, tuple[list[str], list[str]]] = {
    **{t: _LLAMA_LIKE for t in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
                                 "gemma3", "gemma3_text", "olmo", "olmo2", "granite", "smollm3", "cohere", "starcoder2", "deepseek_v2")},
    "phi3": (["qkv_proj", "o_proj"], ["gate_up_proj", "down_proj"]),
    "phi": (["q_proj", "k_proj", "v_proj", "dense"], ["fc1", "fc2"]),
    "gpt2": (["c_attn"], ["c_proj", "c_fc"]),
    "gpt_neox": (["query_key_value"], ["dense", "dense_h_to_4h", "dense_4h_to_h"]),
    "falcon": (["query_key_value"], ["dense", "dense_h_to_4h", "dense_4h_to_h"]),
    "opt": (["q_proj", "k_proj", "v_proj", "out_proj"], ["fc1", "fc2"]),
}


def target_modules_for(model_type: str, targets: LoraTargets) -> list[str] | str:
    """The module names LoRA wraps for an architecture (``"all-linear"`` when it is unknown and all are wanted)."""
    if model_type in TARGET_MODULES:
        attention, mlp = TARGET_MODULES[model_type]
        return list(attention) if targets is LoraTargets.attention else attention + mlp
    if targets is LoraTargets.all_linear:
        return "all-linear"
    try:
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as mapping
    except ImportError:  # pragma: no cover - depends on the peft version
        mapping = {}
    if model_type in mapping:
        return list(mapping[model_type])
    return "all-linear"


@dataclass
class EncodedData:
    """Token ids and labels ready for the trainer, with what was dropped or cut."""

    train: list[dict[str, list[int]]]
    eval: list[dict[str, list[int]]]
    dropped_lines: list[int]
    truncated: int
    format: str | None
    total_rows: int


def encode_rows(examples: list[Example], tokenizer: Any, max_length: int, truncate: bool) -> tuple[list[dict], list[int], int]:
    """Encode examples; rows over ``max_length`` are cut (``truncate``) or dropped (their lines returned)."""
    rows, dropped, truncated = [], [], 0
    for e in examples:
        ids, labels = encode_example(tokenizer, e.messages)
        if len(ids) > max_length:
            if not truncate:
                dropped.append(e.line)
                continue
            ids, labels = truncate_example(ids, labels, max_length)
            truncated += 1
            if all(lab == IGNORE_INDEX for lab in labels):
                dropped.append(e.line)
                continue
        rows.append({"input_ids": ids, "labels": labels})
    return rows, dropped, truncated


def prepare_data(config: LoraConfig, tokenizer: Any) -> EncodedData:
    """Read, check and encode the training (and held-out) examples; bad rows stop the run with their lines."""
    train_set = read_examples(config.data, system=config.system, mixed_outputs=config.mixed_outputs)
    train_set.raise_for_issues()
    train_examples = train_set.valid
    eval_examples: list[Example] = []
    if config.eval_data is not None:
        eval_set = read_examples(config.eval_data, system=config.system)
        eval_set.raise_for_issues()
        eval_examples = eval_set.valid
    elif config.eval_fraction > 0 and len(train_examples) >= 10:
        order = list(range(len(train_examples)))
        random.Random(config.seed).shuffle(order)
        n_eval = min(config.max_eval_rows, max(1, round(config.eval_fraction * len(train_examples))))
        held = set(order[:n_eval])
        eval_examples = [e for i, e in enumerate(train_examples) if i in held]
        train_examples = [e for i, e in enumerate(train_examples) if i not in held]
    eval_examples = eval_examples[: config.max_eval_rows]
    train, dropped, truncated = encode_rows(train_examples, tokenizer, config.max_length, config.truncate)
    evals, eval_dropped, _ = encode_rows(eval_examples, tokenizer, config.max_length, config.truncate)
    if not train:
        raise InputError(f"{config.data}: no example fits in --max-length {config.max_length} tokens "
                         f"({len(dropped)} dropped); raise --max-length or pass --truncate")
    return EncodedData(train, evals, dropped + eval_dropped, truncated, train_set.format.value if train_set.format else None,
                       len(train_set.valid))


class _Collator:
    """Pads a batch on the right: input ids with the pad token, labels with -100."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = [r["input_ids"] + [self.pad_id] * (width - len(r["input_ids"])) for r in rows]
        labels = [r["labels"] + [IGNORE_INDEX] * (width - len(r["labels"])) for r in rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def completion_trainer_class():
    """A ``Trainer`` whose loss projects onto the vocabulary only where a label is supervised.

    The default loss computes logits for every position; with long prompts (RAG context, RAFT rows) most of
    them are thrown away by the ``-100`` labels. Passing the supervised positions as ``logits_to_keep`` skips
    the LM head (and its backward pass) for the prompt. Models whose forward has no ``logits_to_keep`` take the
    default path; so does evaluation, which needs nothing but the loss either way.
    """
    import inspect

    import torch
    from transformers import Trainer

    class CompletionOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.get("labels")
            base = self.accelerator.unwrap_model(model)
            forward = getattr(getattr(base, "get_base_model", lambda: base)(), "forward", None)
            if labels is None or return_outputs or forward is None or "logits_to_keep" not in inspect.signature(forward).parameters:
                self.loss_is_scaled_for_ga = None
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            targets = labels[:, 1:]
            keep = (targets != IGNORE_INDEX).any(dim=0).nonzero().squeeze(-1)
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask"), logits_to_keep=keep)
            logits = outputs.logits.float()
            kept = targets[:, keep]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), kept.reshape(-1),
                                                     ignore_index=IGNORE_INDEX, reduction="sum")
            if num_items_in_batch is not None:  # the supervised tokens of the whole accumulated batch
                self.loss_is_scaled_for_ga = True
                return loss / torch.as_tensor(num_items_in_batch, device=loss.device, dtype=loss.dtype)
            self.loss_is_scaled_for_ga = False
            return loss / (kept != IGNORE_INDEX).sum().clamp(min=1)

    return CompletionOnlyTrainer


def _device(config: LoraConfig) -> str:
    import torch

    if config.device is Device.cpu:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if config.device is Device.cuda or config.load_in_4bit:
        raise ConfigError("--device cuda / --4bit: no CUDA device is available here; train on the CPU (--device cpu)")
    return "cpu"


def load_base(base: BaseModelRef, device: str, load_in_4bit: bool = False) -> tuple[Any, Any]:
    """Load the base model and its tokenizer for training (fp32 on CPU, bf16 on CUDA where supported)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if device == "cuda":
        kwargs["dtype"] = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if load_in_4bit:
            try:
                from transformers import BitsAndBytesConfig
                import bitsandbytes  # noqa: F401
            except ImportError as exc:
                raise ConfigError("4-bit QLoRA needs bitsandbytes: pip install bitsandbytes") from exc
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                               bnb_4bit_compute_dtype=kwargs["dtype"], bnb_4bit_use_double_quant=True)
            kwargs["device_map"] = {"": 0}
    try:
        tokenizer = AutoTokenizer.from_pretrained(base.location)
        model = AutoModelForCausalLM.from_pretrained(base.location, **kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"base model '{base.spec}' ({base.location}): cannot load it offline: {exc}") from exc
    ensure_chat_template(tokenizer)
    if device == "cuda" and not load_in_4bit:
        model.to("cuda")
    return model, tokenizer


class LoraTuner:
    """Fine-tunes a LoRA adapter and publishes it in the registry (the ``lora`` kind)."""

    kind = "lora"

    def __init__(self, config: LoraConfig, registry: ModelRegistry, data_source: dict[str, Any] | None = None,
                 attachments: dict[str, Path] | None = None) -> None:
        """``data_source`` says where the data came from (the card's ``data.source``); ``attachments`` are files
        copied into the version folder, by role."""
        check_model_name(config.name)
        if not Path(config.data).is_file():
            raise InputError(f"{config.data}: no such file")
        if config.eval_data is not None and not Path(config.eval_data).is_file():
            raise InputError(f"{config.eval_data}: no such file")
        self.config = config
        self.registry = registry
        self.data_source = data_source
        self.attachments = attachments or {}

    @property
    def run_dir(self) -> Path:
        return self.registry.model_dir(self.config.name) / RUN_DIR

    def train(self, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """Train, publish ``NAME@vN`` and return its card; an interrupted run is left in ``.run`` for ``resume``."""
        with training_lock(self.registry.model_dir(self.config.name), self.config.name):
            return self._train_locked(progress or (lambda event: None))

    def _train_locked(self, notify: Callable[[TrainingEvent], None]) -> ModelCard:
        import torch
        from transformers import TrainingArguments, set_seed
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        cfg = self.config
        data_sha = _sha256(cfg.data)
        base = resolve_base_model(cfg.base)
        for path in filter(None, (cfg.data, cfg.eval_data)):  # bad rows stop the run before anything is written
            read_examples(path, system=cfg.system, mixed_outputs=cfg.mixed_outputs).raise_for_issues()
        state, checkpoint = open_run(self.run_dir, cfg.name, {**cfg.run_fingerprint(), "data": data_sha}, cfg.resume, notify,
                                     {"best_eval_loss": None})
        started = time.monotonic()
        device = _device(cfg)
        set_seed(cfg.seed)
        notify(TrainingEvent("info", message=f"loading {base.spec} ({base.location}) on {device}"))
        model, tokenizer = load_base(base, device, cfg.load_in_4bit)
        data = prepare_data(cfg, tokenizer)
        if data.dropped_lines:
            notify(TrainingEvent("info", message=f"dropped {len(data.dropped_lines)} row(s) over {cfg.max_length} tokens "
                                                 f"(lines {', '.join(map(str, data.dropped_lines[:10]))}{' ...' if len(data.dropped_lines) > 10 else ''}); "
                                                 "pass --truncate to keep them"))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = self._wrap(model, device)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        steps_per_epoch = max(1, -(-len(data.train) // (cfg.batch_size * cfg.grad_accum)))
        max_steps = cfg.max_steps or max(1, round(cfg.epochs * steps_per_epoch))
        has_eval = bool(data.eval)
        bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
        args = TrainingArguments(
            output_dir=str(self.run_dir / "checkpoints"),
            per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
            gradient_accumulation_steps=cfg.grad_accum, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
            warmup_steps=round(cfg.warmup_ratio * max_steps), lr_scheduler_type="linear", max_steps=max_steps,
            num_train_epochs=cfg.epochs, logging_steps=cfg.logging_steps, save_strategy="steps", save_steps=cfg.save_steps,
            save_total_limit=2, eval_strategy=("steps" if cfg.eval_steps else "epoch") if has_eval else "no",
            eval_steps=cfg.eval_steps, seed=cfg.seed, data_seed=cfg.seed, use_cpu=device == "cpu", bf16=bf16,
            report_to="none", disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
            include_num_input_tokens_seen="non_padding", save_only_model=False, log_level="error", prediction_loss_only=True,
        )
        callback = _RunCallback(self, state, notify, started, model, has_eval)
        trainer = completion_trainer_class()(model=model, args=args, train_dataset=data.train, eval_dataset=data.eval or None,
                          data_collator=_Collator(tokenizer.pad_token_id), callbacks=[callback])
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        callback.steps_per_epoch = steps_per_epoch
        notify(TrainingEvent("start", step=0, max_steps=max_steps, message=f"{len(data.train)} training rows, {len(data.eval)} held out, "
                                                                           f"{trainable:,} trainable parameters"))
        result = train_to_end(trainer, checkpoint, callback, has_eval, cfg.name)
        session_s = time.monotonic() - started
        elapsed = callback.elapsed()
        tokens = trainer.state.num_input_tokens_seen - callback.tokens_at_start
        train_s = result.metrics.get("train_runtime", session_s)
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        metrics = {
            "steps": trainer.state.global_step, "max_steps": max_steps, "epochs": round(trainer.state.epoch or 0, 3),
            "train_loss": round(losses[-1], 4) if losses else None, "train_loss_first": round(losses[0], 4) if losses else None,
            "train_loss_mean": round(result.training_loss, 4), "eval_loss": callback.last_eval_loss,
            "best_eval_loss": state.data["best_eval_loss"], "best_step": state.data["best_step"],
            "stopped_by": callback.stopped_by or ("max_steps" if cfg.max_steps else "epochs"),
            "trainable_parameters": trainable, "train_tokens": tokens,
            "train_tokens_per_s": round(tokens / train_s, 1) if train_s else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "device": device,
            "eval_history": [{"step": h["step"], "epoch": h.get("epoch"), "eval_loss": round(h["eval_loss"], 4)}
                             for h in trainer.state.log_history if "eval_loss" in h],
        }
        return self._publish(model, tokenizer, base, data, metrics, elapsed, state, trainable)

    def _wrap(self, model: Any, device: str) -> Any:
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

    def _publish(self, model: Any, tokenizer: Any, base: BaseModelRef, data: EncodedData, metrics: dict[str, Any],
                 elapsed: float, state: RunState, trainable: int) -> ModelCard:
        cfg = self.config
        staging = self.registry.staging(cfg.name)
        try:
            best = self.run_dir / "best"
            adapter = staging / ADAPTER_DIR
            if best.is_dir() and (best / "adapter_config.json").is_file():
                shutil.copytree(best, adapter)
                metrics["published"] = f"best eval loss (step {state.data['best_step']})"
            else:
                model.save_pretrained(str(adapter))
                metrics["published"] = "last step"
            tokenizer.save_pretrained(str(adapter))
            write_training_questions(staging / QUESTIONS_FILE, read_examples(cfg.data, system=cfg.system, mixed_outputs=cfg.mixed_outputs).valid)
            for role, path in self.attachments.items():
                shutil.copy2(path, staging / path.name)
            log = self.run_dir / LOG_FILE
            if log.is_file():
                shutil.copy2(log, staging / LOG_FILE)
            card = ModelCard(
                kind=self.kind, name=cfg.name,
                base_model={"spec": base.spec, "location": base.location, "model_type": model.config.model_type,
                            "parameters": sum(p.numel() for p in model.parameters()) - trainable},
                data=DataInfo(path=str(cfg.data), sha256=_sha256(cfg.data), format=data.format,
                              rows={"total": data.total_rows, "train": len(data.train), "eval": len(data.eval),
                                    "dropped": len(data.dropped_lines), "truncated": data.truncated},
                              source=self.data_source),
                settings=cfg.model_dump(mode="json", exclude={"resume"}),
                metrics=metrics, wall_time_s=round(elapsed, 2),
                library_versions=library_versions("torch", "transformers", "peft", "accelerate"),
                files={"adapter": ADAPTER_DIR, "log": LOG_FILE, "questions": QUESTIONS_FILE,
                       **{role: path.name for role, path in self.attachments.items()}},
            )
            published = self.registry.publish(staging, card)
        except BaseException:
            self.registry.discard(staging)
            raise
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return published



def _sha256(path: Path) -> str:
    return file_sha256(Path(path))


class _RunCallback(RunCallback):
    """The run machinery, plus tokens seen, the eval loss, and the best adapter."""

    def __init__(self, tuner: LoraTuner, state: RunState, notify, started: float, model: Any, has_eval: bool) -> None:
        super().__init__(tuner.run_dir, state, notify, started, tuner.config.time_budget_s, tuner.config.early_stopping)
        self.tuner, self.model, self.has_eval = tuner, model, has_eval
        self.steps_per_epoch = 1
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
        if self.track_best("best_eval_loss", loss, state.global_step, control, greater_is_better=False):
            self.model.save_pretrained(str(self.tuner.run_dir / "best"))
        self.end_eval()
        return control
