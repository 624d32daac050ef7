"""The workspace's tuning methods: LoRA, RAFT, embedding and reranker fine-tuning, and export. Each one checks
what it names in the workspace, then hands the work to its tuner in ``ragtune.tuning``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ragtune.errors import ConfigError, InputError
from ragtune.evaluation.questions import Question, load_questions, questions_from_rows
from ragtune.tuning import ModelCard, TrainingEvent
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.kinds import TunerParts, build_tuner
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairData, PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

if TYPE_CHECKING:
    from ragtune.api.workspace import Workspace
    from ragtune.costs.prices import PriceTable
    from ragtune.tuning.managed import JobStatus, ManagedConfig
    from ragtune.tuning.base import TrainingConfig
    from ragtune.tuning.launch import Launch
    from ragtune.tuning.raft import RaftBuilder, RaftData, RaftSettings

TrainingProgress = Callable[[TrainingEvent], None]


class TuningMethods:
    """Fine-tuning into the workspace's model registry (mixed into ``Workspace``)."""

    def _launched(self: "Workspace", method: str, args: tuple, training: "TrainingConfig", launch: "Launch",
                  progress: TrainingProgress | None) -> ModelCard:
        """``method(*args)`` run data-parallel by ``launch``'s processes (``ragtune.tuning.launch``); rank 0 publishes.
        ``training``: the settings among ``args`` that say where it trains."""
        from ragtune.tuning.base import training_device
        from ragtune.tuning.launch import LaunchedJob, run_launched

        if launch.fsdp and training_device(training.device) == "cpu":
            raise ConfigError("--fsdp shards the model over CUDA devices; on CPUs train data-parallel without it (DDP), "
                              "or give --device cuda on a machine with GPUs")
        config = self.config.model_copy(update={"home": self.config.home.resolve()})
        return run_launched(launch, "ragtune.api.launched", LaunchedJob(config, method, args), progress)

    def tune_lora(self: "Workspace", config: LoraConfig, progress: TrainingProgress | None = None,
                  launch: "Launch | None" = None) -> ModelCard:
        """LoRA fine-tune and publish ``NAME@vN``; a killed run leaves no version and ``config.resume`` continues it.
        With ``launch`` (``accelerate``/``torchrun``, ``nproc``) it trains data-parallel in that many processes."""
        if launch is not None:
            return self._launched("tune_lora", (config,), config, launch, progress)
        return build_tuner("lora", config, TunerParts(self.models)).train(progress)

    def prepare_pairs(self: "Workspace", data: PairsConfig, notify: Callable[[str], None] | None = None) -> PairData:
        """The training pairs ``data`` names (file, BEIR folder or an index's chunks) with mined negatives and a held-out
        split."""
        from ragtune.tuning.pairs import build_pairs

        self._check_pair_sources(data)
        generator = self.generator(data.generator) if data.generator else None
        return build_pairs(data, store=self.store, embedder_for=lambda name: self.index(name).embedder(None),
                           generator=generator, notify=notify)

    def _check_pair_sources(self: "Workspace", data: PairsConfig) -> None:
        for name in (data.from_index, data.negatives_from):
            if name:
                self.store.manifest(name)  # IndexNotFoundError before any training starts

    def tune_embeddings(self: "Workspace", config: EmbeddingTuneConfig, progress: TrainingProgress | None = None,
                        launch: "Launch | None" = None) -> ModelCard:
        """Fine-tune an embedder on pairs and publish ``NAME@vN`` (use it as ``tuned:NAME``; ``reindex`` moves an index
        onto it)."""
        self._check_pair_sources(config.data)
        if launch is not None:
            return self._launched("tune_embeddings", (config,), config, launch, progress)
        parts = TunerParts(self.models, prepare=lambda notify: self.prepare_pairs(config.data, notify))
        return build_tuner("embeddings", config, parts).train(progress)

    def tune_reranker(self: "Workspace", config: RerankerTuneConfig, progress: TrainingProgress | None = None,
                      launch: "Launch | None" = None) -> ModelCard:
        """Fine-tune a cross-encoder reranker on pairs with mined negatives and publish ``NAME@vN`` (``--rerank tuned:NAME``)."""
        self._check_pair_sources(config.data)
        if launch is not None:
            return self._launched("tune_reranker", (config,), config, launch, progress)
        parts = TunerParts(self.models, prepare=lambda notify: self.prepare_pairs(config.data, notify))
        return build_tuner("reranker", config, parts).train(progress)

    def tune_raft(self: "Workspace", questions: str | Path | Sequence[Question], index: str, raft: "RaftSettings",
                  lora: LoraConfig, progress: TrainingProgress | None = None, launch: "Launch | None" = None) -> ModelCard:
        """RAFT: LoRA-tune on questions answered over ``index``'s chunks (oracle among distractors) and publish ``NAME@vN``.

        ``lora.data`` is replaced by the rows built here (``ragtune.tuning.raft``); use the version as ``tuned:NAME``
        with ``ask --index`` or in the ``rag+ft`` eval variant.
        """
        builder = self._raft_builder(index, raft)  # IndexNotFoundError before anything is built
        loaded = load_questions(questions) if isinstance(questions, (str, Path)) else list(questions)
        if launch is not None:
            return self._launched("tune_raft", (loaded, index, raft, lora), lora, launch, progress)
        parts = TunerParts(self.models, raft=builder, questions=loaded,
                           index_generation=lambda: self.index(index).manifest.generation)
        return build_tuner("raft", lora, parts).train(progress)

    def raft_data(self: "Workspace", questions: Sequence[Question], index: str, raft: "RaftSettings") -> "RaftData":
        """The RAFT rows ``tune_raft`` would train on (each question with its oracle chunk among distractors, as ``ask``
        prompts), built without training: a provider's fine-tuning job takes them as chat examples."""
        return self._raft_builder(index, raft).build(list(questions))

    def _raft_builder(self: "Workspace", index: str, raft: "RaftSettings") -> "RaftBuilder":
        from ragtune.tuning.raft import RaftBuilder

        target = self.index(index)
        manifest = target.manifest
        if manifest.chunks == 0:
            raise InputError(f"index '{index}' holds no documents: add some with ragtune ingest PATH --index {index}")
        return RaftBuilder(index, manifest.generation, target.retriever(), lambda: self.store.all_chunks(index), raft)

    def tune_managed(self: "Workspace", config: "ManagedConfig", progress: TrainingProgress | None = None,
                     prices: "PriceTable | None" = None, region: str | None = None) -> ModelCard:
        """Fine-tune on a provider's service (``config.base``: ``openai:<model>[@<url>]`` or ``bedrock:<model id>``) and
        publish ``NAME@vN`` once its job succeeds; an interrupted call leaves the job running and ``config.resume``
        follows it again (``ragtune.tuning.managed``)."""
        from ragtune.tuning.managed import ManagedTuner, fine_tuning_service

        service, model = fine_tuning_service(config.base, self.config.generation, region)
        return ManagedTuner(config, self.models, service, model, prices).train(progress)

    def cancel_managed(self: "Workspace", ref: str, region: str | None = None) -> "JobStatus":
        """Cancel the provider's job behind ``NAME`` (or ``NAME@vN``, the version it would become) and clear its run."""
        from ragtune.tuning.managed import cancel_job, fine_tuning_service
        from ragtune.components.registry import parse_ref

        name, version = parse_ref(ref)
        pending = (self.models.versions(name) or [0])[-1] + 1
        if version is not None and version != pending:
            raise InputError(f"{ref}: {'a published version has no job to cancel' if version < pending else 'no such version'}"
                             f" (the job in progress would become {name}@v{pending})")
        return cancel_job(self.models, name, lambda base: fine_tuning_service(base, self.config.generation, region)[0])

    def distill(self: "Workspace", questions: str | Path | Sequence[Question] | None, teacher: str, student: LoraConfig,
                index: str | None = None, schema: dict | None = None, prices: "PriceTable | None" = None,
                progress: TrainingProgress | None = None, generate: int = 100) -> ModelCard:
        """Distil ``teacher`` into ``student``: the teacher answers ``questions`` (over ``index`` when given), the answers
        that abstain, are unsupported by their citations or do not fit ``schema`` are dropped and counted, and the student
        (``student.base``, LoRA) is trained on the rest and published as ``NAME@vN`` (``ragtune.tuning.distill``).

        Without ``questions``, ``generate`` synthetic questions are written from ``index`` (``generate_questions``) and
        the version's card records that they are synthetic."""
        import shutil

        from ragtune.costs.prices import PriceTable
        from ragtune.tuning.distill import teacher_rows
        from ragtune.tuning.lora import LoraTuner

        manifest = self.index(index).manifest if index is not None else None
        if manifest is not None and manifest.chunks == 0:
            raise InputError(f"index '{index}' holds no documents: add some with ragtune ingest PATH --index {index}")
        synthetic = None
        if questions is None:
            if index is None:
                raise InputError("distill needs --questions FILE (JSONL with id and question per line), or --index NAME "
                                 "to write synthetic questions from")
            made_questions = self.generate_questions(index, generate)
            synthetic = made_questions.summary()
            if not made_questions.rows:
                raise InputError(f"index '{index}': no synthetic question passed the round trip "
                                 f"(rejected: {synthetic['rejected']}); give --questions FILE")
            loaded = questions_from_rows((f"{index}:synthetic:{i}", r) for i, r in enumerate(made_questions.rows, start=1))
        else:
            loaded = load_questions(questions) if isinstance(questions, (str, Path)) else list(questions)
        folder = self.models.model_dir(student.name) / ".distill"
        made = teacher_rows(loaded, lambda q: self.ask(q.question, index, model=teacher, schema=schema or q.schema), folder,
                            over_index=index is not None, schema=schema, notify=progress)
        pricing = self.generator(teacher).pricing
        cost = (prices or PriceTable.default()).cost(teacher, pricing, made.input_tokens, made.output_tokens)
        source = {"kind": "distilled", "teacher": teacher, "index": index, "counts": made.counts,
                  "index_generation": manifest.generation if manifest is not None else None,
                  "teacher_tokens": {"input": made.input_tokens, "output": made.output_tokens},
                  "teacher_cost": {"usd": None if cost is None else round(cost, 6),
                                   "label": "unknown" if cost is None else "measured"},
                  **({"synthetic_questions": synthetic} if synthetic is not None else {})}
        config = student.model_copy(update={"data": made.rows})
        card = LoraTuner(config, self.models, data_source=source,
                         attachments={"teacher_rows": made.rows, "teacher_dropped": made.dropped}).train(progress)
        shutil.rmtree(folder, ignore_errors=True)
        return card

    def export_model(self: "Workspace", ref: str, out: str | Path, merge: bool = False) -> Path:
        """Write a version as a folder usable without ragtune (merged weights with ``merge``)."""
        from ragtune.tuning.export import export_model

        return export_model(ref, self.config.home, out, merge=merge)
