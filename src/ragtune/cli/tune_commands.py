"""Tuning commands: ``tune lora``, ``tune raft``, ``tune embeddings``, ``tune reranker``."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from ragtune.cli.data_commands import read_system
from ragtune.cli.index_commands import workspace
from ragtune.cli.output import emit_json, err, handle_errors, options, out, with_options
from ragtune.api import validation_message
from ragtune.errors import InputError
from ragtune.api import TrainingEvent
from ragtune.api import EmbeddingLoss, EmbeddingTuneConfig
from ragtune.api import Launch, Launcher
from ragtune.api import Device, LoraConfig, LoraTargets
from ragtune.api import PairsConfig
from ragtune.api import NoOracleTarget
from ragtune.api import RerankerHead, RerankerLoss, RerankerTuneConfig

JsonFlag = typer.Option(False, "--json", help="Print the new version's card as one JSON document on stdout.")


def parse_duration(text: Optional[str]) -> Optional[float]:
    """Seconds in ``90``, ``90s``, ``20m`` or ``1.5h``."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise InputError(f"--budget '{text}': expected a duration such as 90s, 20m or 1h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _clock(seconds: Optional[float]) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class TrainingProgress:
    """A progress bar with loss and ETA on a terminal; one line every ``every_s`` seconds otherwise (both on stderr)."""

    def __init__(self, every_s: float = 15.0) -> None:
        self.bar = Progress(TextColumn("[bold]train[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                            console=err, transient=False) if err.is_terminal else None
        self.task: TaskID | None = None
        self.every_s, self.last = every_s, 0.0
        self.loss: Optional[float] = None
        self.eval_loss: Optional[float] = None
        self.eta: Optional[float] = None

    def __enter__(self) -> "TrainingProgress":
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.__exit__(*exc)

    def __call__(self, event: TrainingEvent) -> None:
        console = self.bar.console if self.bar else err
        if event.kind == "info" or event.kind == "start":
            console.print(f"[dim]{event.message}[/]", highlight=False)
            if event.kind == "start" and self.bar:
                self.task = self.bar.add_task("train", total=event.max_steps, completed=event.step or 0, info="")
            return
        self.loss = event.loss if event.loss is not None else self.loss
        self.eta = event.eta_s if event.eta_s is not None else self.eta
        if event.kind == "eval" and event.scores is not None:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in event.scores.items()
                              if k in ("ndcg@10", "mrr@10", "recall@10", "base_ndcg@10"))
            console.print(f"held-out {shown} ({event.message or f'step {event.step}'})", highlight=False)
            if event.max_steps is None:
                return
        elif event.kind == "eval":
            self.eval_loss = event.eval_loss
            console.print(f"eval loss {event.eval_loss:.4f} at step {event.step}", highlight=False)
        info = (f"loss {self.loss:.4f}" if self.loss is not None else "loss -") + \
               (f"  eval {self.eval_loss:.4f}" if self.eval_loss is not None else "") + f"  ETA {_clock(self.eta)}"
        if self.bar and self.task is not None:
            self.bar.update(self.task, completed=event.step, total=event.max_steps, info=info)
        elif event.kind == "step" and (time.monotonic() - self.last >= self.every_s or event.step == event.max_steps):
            self.last = time.monotonic()
            err.print(f"step {event.step}/{event.max_steps}  {info}", highlight=False)


def pairs_config(pairs: Optional[Path], beir: Optional[Path], split: str, from_index: Optional[str], generator: Optional[str],
                 samples: int, negatives: int, negatives_from: Optional[str], margin: float, eval_fraction: float,
                 eval_corpus_size: int, seed: int) -> PairsConfig:
    """The pair source of a ``tune embeddings`` / ``tune reranker`` command (bad combinations name the flags)."""
    from pydantic import ValidationError

    try:
        return PairsConfig(pairs=pairs, beir=beir, split=split, from_index=from_index, generator=generator, samples=samples,
                           negatives=negatives, negatives_from=negatives_from, margin=margin, eval_fraction=eval_fraction,
                           eval_corpus_size=eval_corpus_size, seed=seed)
    except ValidationError as exc:
        message = validation_message(exc)
        raise InputError(message.replace("a pairs file", "--pairs FILE").replace("a BEIR folder", "--beir DIR")
                         .replace("or an index", "or --from-index NAME")
                         .replace("it needs from_index", "it needs --from-index")) from None


def train_and_report(train: Callable, as_json: bool) -> None:
    """Run a training with a progress display; print ``NAME@vN`` (or the card with ``--json``) and its figures:
    losses, and the held-out scores before and after when the model has them."""
    try:
        with TrainingProgress() as progress:
            card = train(progress)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: no version was created; continue with the same command and --resume[/]")
        raise typer.Exit(130) from None
    if as_json:
        emit_json(card.model_dump(mode="json"))
        return
    m = card.metrics
    out.print(card.ref, highlight=False)
    held = card.scores.get("held_out")
    scores = (f", held-out ndcg@10 {held['before'].get('ndcg@10')} -> {held['after'].get('ndcg@10')}" if held else
              f", eval loss {m.get('eval_loss')}" if card.kind == "lora" else "")
    err.print(f"{m['steps']} steps, train loss {m.get('train_loss')}{scores}, {card.wall_time_s:.0f} s ({m.get('stopped_by')})",
              highlight=False)
    for note in m.get("notes", []):
        err.print(f"[yellow]note:[/] {note}", highlight=False)


PAIR_OPTIONS = options(
    name=(str, typer.Option(..., "--name", help="Registry name; the run becomes NAME@vN (never overwriting).")),
    pairs=(Optional[Path], typer.Option(None, "--pairs", help="JSONL of query/positive(/negative) rows.")),
    beir=(Optional[Path], typer.Option(None, "--beir", help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).")),
    split=(str, typer.Option("train", "--split", help="Qrels split of the BEIR folder.")),
    from_index=(Optional[str], typer.Option(None, "--from-index", help="No labels: synthetic queries from this index's chunks.")),
    generator=(Optional[str], typer.Option(None, "--generator", help="Model spec that writes the synthetic questions "
                                                                     "(default: offline titles, headings, key sentences).")),
    samples=(int, typer.Option(1000, "--samples", min=1, help="Chunks sampled for synthetic pairs.")),
    negatives_from=(Optional[str], typer.Option(None, "--negatives-from", help="Index to mine hard negatives from, BM25 + dense "
                                                "(default: --from-index; a BEIR folder alone: BM25 over its corpus).")),
    margin=(float, typer.Option(0.95, "--margin", min=0.01, max=1.0, help="False-negative guard: drop candidates scoring above "
                                                                           "this share of the positive's dense score.")),
    eval_fraction=(float, typer.Option(0.1, "--eval-fraction", min=0, max=0.49,
                                       help="Share of queries held out for evaluation.")),
    eval_corpus_size=(int, typer.Option(1000, "--eval-corpus-size", min=10, help="Documents the held-out queries are searched in "
                                                                                   "(positives, hard candidates, distractors).")),
)
TRAINING_OPTIONS = options(
    epochs=(float, typer.Option(1.0, "--epochs", min=0.01, help="Passes over the pairs.")),
    max_steps=(Optional[int], typer.Option(None, "--max-steps", min=1, help="Stop after N optimiser steps.")),
    time_budget=(Optional[str], typer.Option(None, "--budget", "--time-budget",
                                             help="Stop and publish after this long (90s, 20m, 1h).")),
    batch_size=(int, typer.Option(32, "--batch-size", min=2, help="Pairs per batch.")),
    max_seq_length=(int, typer.Option(256, "--max-seq-length", min=16, help="Longest training input in tokens.")),
    save_steps=(int, typer.Option(50, "--save-steps", min=1, help="Checkpoint every N steps.")),
    eval_steps=(Optional[int], typer.Option(None, "--eval-steps", min=1, help="Evaluate every N steps (default: every epoch).")),
    early_stopping=(Optional[int], typer.Option(None, "--early-stopping", min=1,
                                                help="Stop after N evaluations without a better held-out nDCG@10.")),
    seed=(int, typer.Option(0, "--seed", help="Random seed.")),
    device=(Device, typer.Option(Device.cpu, "--device", help="cpu, cuda or auto.")),
    resume=(bool, typer.Option(False, "--resume", help="Continue the interrupted run of --name from its last checkpoint.")),
    as_json=(bool, JsonFlag),
)


LAUNCH_OPTIONS = options(
    launcher=(Optional[Launcher], typer.Option(None, "--launcher", help="Train data-parallel in --nproc processes started by "
                                                                         "accelerate or torchrun (DDP; gloo on CPUs, NCCL on "
                                                                         "GPUs).")),
    nproc=(int, typer.Option(2, "--nproc", min=1, help="With --launcher: processes on this machine (one per GPU).")),
    fsdp=(bool, typer.Option(False, "--fsdp", help="With --launcher: shard the model (FSDP) instead of replicating it (DDP).")),
)


def launch_of(opts: dict[str, Any]) -> Optional[Launch]:
    """The launch a tune command asked for (None: one process)."""
    if opts["launcher"] is None:
        if opts["fsdp"]:
            raise InputError("--fsdp needs --launcher accelerate or --launcher torchrun")
        return None
    return Launch(opts["launcher"], opts["nproc"], opts["fsdp"])


TRAINING_OPTIONS += LAUNCH_OPTIONS


LORA_OPTIONS = options(
    name=(str, typer.Option(..., "--name", help="Registry name; the run becomes NAME@vN (never overwriting).")),
    base=(str, typer.Option("local", "--base", help="Open-weight base model: local, local:<folder or hub id>, gguf:<file>.")),
    eval_data=(Optional[Path], typer.Option(None, "--eval-examples", "--eval-data",
                                            help="Held-out examples for eval loss (default: a share of the examples).")),
    eval_fraction=(float, typer.Option(0.1, "--eval-fraction", min=0, max=0.49,
                                       help="Share of the examples held out when no --eval-examples.")),
    epochs=(float, typer.Option(1.0, "--epochs", min=0.01, help="Passes over the data.")),
    max_steps=(Optional[int], typer.Option(None, "--max-steps", min=1, help="Stop after N optimiser steps.")),
    time_budget=(Optional[str], typer.Option(None, "--budget", "--time-budget",
                                             help="Stop and publish after this long (90s, 20m, 1h).")),
    learning_rate=(float, typer.Option(2e-4, "--lr", help="Peak learning rate.")),
    rank=(int, typer.Option(16, "--rank", "-r", min=1, help="LoRA rank.")),
    alpha=(float, typer.Option(32, "--alpha", help="LoRA alpha.")),
    dropout=(float, typer.Option(0.05, "--dropout", help="LoRA dropout.")),
    targets=(LoraTargets, typer.Option(LoraTargets.all_linear, "--targets", help="attention or all-linear (per architecture).")),
    target_modules=(list[str], typer.Option([], "--target-module",
                                            help="Explicit module name (repeatable; overrides --targets).")),
    batch_size=(int, typer.Option(4, "--batch-size", min=1, help="Rows per batch.")),
    grad_accum=(int, typer.Option(1, "--grad-accum", min=1, help="Batches per optimiser step.")),
    truncate=(bool, typer.Option(False, "--truncate", help="Cut longer rows (prompt first) instead of dropping them.")),
    save_steps=(int, typer.Option(50, "--save-steps", min=1, help="Checkpoint every N steps.")),
    eval_steps=(Optional[int], typer.Option(None, "--eval-steps", min=1, help="Evaluate every N steps (default: every epoch).")),
    early_stopping=(Optional[int], typer.Option(None, "--early-stopping", min=1,
                                                help="Stop after N evaluations without improvement.")),
    seed=(int, typer.Option(0, "--seed", help="Random seed.")),
    device=(Device, typer.Option(Device.cpu, "--device", help="cpu, cuda or auto.")),
    four_bit=(bool, typer.Option(False, "--4bit", help="QLoRA: 4-bit base weights (bitsandbytes, CUDA only).")),
    resume=(bool, typer.Option(False, "--resume", help="Continue the interrupted run of --name from its last checkpoint.")),
    as_json=(bool, JsonFlag),
)
LORA_OPTIONS += LAUNCH_OPTIONS


def lora_config(opts: dict[str, Any], *, data: Path, system: Optional[str]) -> LoraConfig:
    """The ``LoraConfig`` of a ``tune lora`` / ``tune raft`` command from its parsed options."""
    keys = ("name", "base", "eval_data", "eval_fraction", "epochs", "max_steps", "learning_rate", "rank", "alpha", "dropout",
            "targets", "batch_size", "grad_accum", "max_length", "truncate", "save_steps", "eval_steps", "early_stopping", "seed",
            "device", "resume")
    return LoraConfig.build(data=data, system=system, time_budget_s=parse_duration(opts["time_budget"]),
                            target_modules=opts["target_modules"] or None, load_in_4bit=opts["four_bit"],
                            **{k: opts[k] for k in keys})


def pair_settings(opts: dict[str, Any]) -> dict[str, Any]:
    """The settings every retrieval tune command shares, from its parsed options."""
    data = pairs_config(opts["pairs"], opts["beir"], opts["split"], opts["from_index"], opts["generator"], opts["samples"],
                        opts["negatives"], opts["negatives_from"], opts["margin"], opts["eval_fraction"],
                        opts["eval_corpus_size"], opts["seed"])
    keys = ("name", "base", "epochs", "max_steps", "learning_rate", "batch_size", "max_seq_length", "save_steps", "eval_steps",
            "early_stopping", "seed", "device", "resume")
    return {"data": data, "time_budget_s": parse_duration(opts["time_budget"]), **{k: opts[k] for k in keys}}


MANAGED_OPTIONS = options(
    poll_interval=(float, typer.Option(10.0, "--poll-interval", min=0,
                                       help="Managed job (--base openai:/bedrock:): seconds between polls.")),
    role_arn=(Optional[str], typer.Option(None, "--role-arn", help="bedrock: the IAM role the service assumes.")),
    s3_uri=(Optional[str], typer.Option(None, "--s3-uri", help="bedrock: s3://bucket/prefix for the data and outputs.")),
    region=(Optional[str], typer.Option(None, "--region", help="bedrock: the AWS region (default: boto3's configuration).")),
    prices=(Optional[Path], typer.Option(None, "--prices",
                                         help="Price file (JSON or TOML) with training_per_mtok / hosting_per_hour.")),
)


@handle_errors
@with_options(options(data=(Path, typer.Option(..., "--examples", "--data",
                                               help="Training examples (JSONL; see: ragtune data check).")),
                      system=(Optional[str], typer.Option(None, "--system",
                                                          help="System prompt for rows without one (text or @file).")),
                      max_length=(int, typer.Option(512, "--max-length", min=16, help="Longest row in tokens."))),
              LORA_OPTIONS, MANAGED_OPTIONS)
def lora(**opts: Any) -> None:
    """LoRA fine-tune a causal LM on examples, or run a provider's fine-tuning job (--base openai:MODEL[@URL],
    bedrock:MODEL); prints the new version NAME@vN."""
    from ragtune.api import is_managed

    if is_managed(opts["base"]):
        managed(opts)
        return
    config = lora_config(opts, data=opts["data"], system=read_system(opts["system"]))
    ws = workspace()
    train_and_report(lambda progress: ws.tune_lora(config, progress, launch_of(opts)), opts["as_json"])


def managed(opts: dict[str, Any]) -> None:
    """``tune lora`` on a provider's service: follow the job on stderr, print ``NAME@vN`` (or the card with --json)."""
    from ragtune.api import ManagedConfig, PriceTable

    config = ManagedConfig.build(name=opts["name"], data=opts["data"], base=opts["base"], system=read_system(opts["system"]),
                                 epochs=opts["epochs"], seed=opts["seed"], resume=opts["resume"],
                                 poll_interval_s=opts["poll_interval"], role_arn=opts["role_arn"], s3_uri=opts["s3_uri"])
    prices = PriceTable.load(opts["prices"]) if opts["prices"] is not None else None
    ws = workspace()
    try:
        with TrainingProgress() as progress:
            card = ws.tune_managed(config, progress, prices, opts["region"])
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted: the job keeps running at the provider; follow it with the same command and --resume, "
                  f"or cancel it with: ragtune models cancel {config.name}[/]")
        raise typer.Exit(130) from None
    if opts["as_json"]:
        emit_json(card.model_dump(mode="json"))
        return
    out.print(card.ref, highlight=False)
    training = card.cost.get("training", {})
    usd = training.get("usd")
    err.print(f"{card.managed.get('provider')} job {card.managed.get('job_id')}: "
              f"{card.metrics.get('trained_tokens'):,} trained tokens, "
              f"training {'$' + format(usd, '.4f') if usd is not None else 'cost unknown'} ({training.get('label')}"
              f"{', prices of ' + training['as_of'] if training.get('as_of') else ''}); answers as tuned:{card.name} "
              f"through {card.managed.get('model_id')}", highlight=False)


@handle_errors
@with_options(options(
    index=(str, typer.Option(..., "--index", help="Index whose chunks become the oracle and distractor context.")),
    questions=(Path, typer.Option(..., "--questions", help="Questions with reference answers (JSONL: id, question, "
                                                           "reference_answer[, reference_contexts | gold_doc_ids]).")),
    distractors=(int, typer.Option(3, "--distractors", min=0, max=20, help="Distractor chunks per row.")),
    oracle_share=(float, typer.Option(0.8, "--oracle-share", min=0.0, max=1.0,
                                      help="Share of rows whose context holds the oracle.")),
    without_oracle=(NoOracleTarget, typer.Option(NoOracleTarget.answer, "--without-oracle",
                                                 help="Target of rows without the oracle: answer (RAFT) or abstain.")),
    system=(Optional[str], typer.Option(None, "--system", help="Extra system prompt, as ask --system gives it (text or @file).")),
    max_length=(int, typer.Option(2048, "--max-length", min=16, help="Longest row in tokens (context included).")),
), LORA_OPTIONS)
def raft(**opts: Any) -> None:
    """RAFT: LoRA-tune on questions answered over an index's chunks (oracle among distractors); prints NAME@vN."""
    from ragtune.api import RaftSettings

    if not opts["questions"].is_file():
        raise InputError(f"{opts['questions']}: no such file")
    settings = RaftSettings(distractors=opts["distractors"], oracle_share=opts["oracle_share"],
                            no_oracle_target=opts["without_oracle"], system=read_system(opts["system"]), seed=opts["seed"])
    config = lora_config(opts, data=opts["questions"], system=None)
    ws = workspace()
    train_and_report(lambda progress: ws.tune_raft(opts["questions"], opts["index"], settings, config, progress, launch_of(opts)),
                     opts["as_json"])


@handle_errors
@with_options(PAIR_OPTIONS, options(
    negatives=(int, typer.Option(1, "--negatives", min=0, max=32, help="Hard negatives per pair (0: in-batch only).")),
    base=(str, typer.Option("local", "--base",
                            help="Start from: local (the default embedder's MiniLM), local:<folder>, tuned:<name>.")),
    loss=(EmbeddingLoss, typer.Option(EmbeddingLoss.mnrl, "--loss", help="mnrl or cached-mnrl (large batches, little memory).")),
    mini_batch_size=(int, typer.Option(16, "--mini-batch-size", min=1, help="cached-mnrl: texts per forward pass.")),
    matryoshka=(Optional[str], typer.Option(None, "--matryoshka", help="Matryoshka dimensions, e.g. 384,256,128,64.")),
    dim=(Optional[int], typer.Option(None, "--dim", min=8, help="Publish embeddings truncated to this dimension.")),
    learning_rate=(float, typer.Option(2e-5, "--lr", help="Peak learning rate.")),
), TRAINING_OPTIONS)
def embeddings(**opts: Any) -> None:
    """Fine-tune the embedding model on pairs, a BEIR folder, or an index's own chunks; prints NAME@vN."""
    dims = None
    if opts["matryoshka"]:
        try:
            dims = [int(d) for d in opts["matryoshka"].split(",") if d.strip()]
        except ValueError:
            raise InputError(f"--matryoshka '{opts['matryoshka']}': expected whole numbers such as 384,256,128") from None
    config = EmbeddingTuneConfig.build(**pair_settings(opts), loss=opts["loss"], mini_batch_size=opts["mini_batch_size"],
                                       matryoshka_dims=dims, output_dim=opts["dim"])
    ws = workspace()
    train_and_report(lambda progress: ws.tune_embeddings(config, progress, launch_of(opts)), opts["as_json"])


@handle_errors
@with_options(PAIR_OPTIONS, options(
    negatives=(int, typer.Option(4, "--negatives", min=0, max=32, help="Hard negatives per pair.")),
    base=(str, typer.Option("local", "--base", help="Start from: local (the default embedder's backbone, new head), "
                                                     "local:<cross-encoder folder>, tuned:<reranker>.")),
    loss=(RerankerLoss, typer.Option(RerankerLoss.mnrl, "--loss", help="mnrl (listwise, learns fastest) or bce (pointwise).")),
    head=(RerankerHead, typer.Option(RerankerHead.segment_cosine, "--head",
                                     help="With --base local: segment-cosine (query/passage token cosine, starts useful) or "
                                          "classifier (new layer).")),
    learning_rate=(float, typer.Option(5e-5, "--lr", help="Peak learning rate.")),
), TRAINING_OPTIONS)
def reranker(**opts: Any) -> None:
    """Train a cross-encoder reranker on pairs with mined hard negatives; use it with --rerank tuned:NAME."""
    config = RerankerTuneConfig.build(**pair_settings(opts), loss=opts["loss"], head=opts["head"])
    ws = workspace()
    train_and_report(lambda progress: ws.tune_reranker(config, progress, launch_of(opts)), opts["as_json"])


def register(app: typer.Typer) -> None:
    tune = typer.Typer(no_args_is_help=True, help="Fine-tune models; each run adds a version to the model registry.")
    app.add_typer(tune, name="tune")
    tune.command("lora")(lora)
    tune.command("raft")(raft)
    tune.command("embeddings")(embeddings)
    tune.command("reranker")(reranker)
