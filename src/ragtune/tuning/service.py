"""``Tuning``: fine-tuning over the components, into their model registry. Each method checks what it names (an
index, the pairs' sources), then hands the work to its tuner (``ragtune.tuning.kinds``) or to a provider's job
(``ragtune.tuning.managed``). The workspace and ``decide`` both call it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from ragtune.components.parts import Components
from ragtune.components.registry import ModelCard
from ragtune.errors import InputError
from ragtune.evaluation.questions import Question
from ragtune.tuning.base import TrainingEvent
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.kinds import TunerParts, build_tuner
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairData, PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

if TYPE_CHECKING:
    from ragtune.costs.prices import PriceTable
    from ragtune.tuning.managed import JobStatus, ManagedConfig
    from ragtune.tuning.raft import RaftBuilder, RaftData, RaftSettings

TrainingProgress = Callable[[TrainingEvent], None]


class Tuning:
    """Trains and publishes ``NAME@vN`` versions with ``components`` (see the module docstring)."""

    def __init__(self, components: Components) -> None:
        self.components = components

    def lora(self, config: LoraConfig, progress: TrainingProgress | None = None) -> ModelCard:
        """LoRA fine-tune and publish ``NAME@vN``."""
        return build_tuner("lora", config, TunerParts(self.components.models)).train(progress)

    def check_pair_sources(self, data: PairsConfig) -> None:
        """``IndexNotFoundError`` for an index the pairs are drawn from that does not exist, before any training."""
        for name in (data.from_index, data.negatives_from):
            if name:
                self.components.store.manifest(name)

    def prepare_pairs(self, data: PairsConfig, notify: Callable[[str], None] | None = None) -> PairData:
        """The training pairs ``data`` names, with mined negatives and a held-out split (``ragtune.tuning.pairs``)."""
        from ragtune.tuning.pairs import build_pairs

        self.check_pair_sources(data)
        parts = self.components
        generator = parts.generator(data.generator) if data.generator else None
        return build_pairs(data, store=parts.store, embedder_for=lambda name: parts.index(name).embedder(None),
                           generator=generator, notify=notify)

    def pairs(self, kind: str, config: EmbeddingTuneConfig | RerankerTuneConfig,
              progress: TrainingProgress | None = None) -> ModelCard:
        """Fine-tune an embedder (``kind``: ``embeddings``) or a reranker (``reranker``) on pairs; publish ``NAME@vN``."""
        self.check_pair_sources(config.data)
        parts = TunerParts(self.components.models, prepare=lambda notify: self.prepare_pairs(config.data, notify))
        return build_tuner(kind, config, parts).train(progress)

    def raft_builder(self, index: str, raft: "RaftSettings") -> "RaftBuilder":
        """What builds RAFT rows over ``index``'s chunks (which must hold documents)."""
        from ragtune.tuning.raft import RaftBuilder

        reader = self.components.index(index)
        generation = reader.filled().generation
        return RaftBuilder(index, generation, reader.retriever(), lambda: self.components.store.all_chunks(index), raft)

    def raft(self, questions: Sequence[Question], index: str, raft: "RaftSettings", lora: LoraConfig,
             progress: TrainingProgress | None = None, builder: "RaftBuilder | None" = None) -> ModelCard:
        """RAFT: LoRA-tune on ``questions`` answered over ``index``'s chunks and publish ``NAME@vN`` (``tuning.raft``)."""
        parts = TunerParts(self.components.models, raft=builder or self.raft_builder(index, raft), questions=questions,
                           index_generation=lambda: self.components.store.manifest(index).generation)
        return build_tuner("raft", lora, parts).train(progress)

    def raft_data(self, questions: Sequence[Question], index: str, raft: "RaftSettings") -> "RaftData":
        """The RAFT rows ``raft`` would train on, built without training."""
        return self.raft_builder(index, raft).build(list(questions))

    def managed(self, config: "ManagedConfig", progress: TrainingProgress | None = None,
                prices: "PriceTable | None" = None, region: str | None = None) -> ModelCard:
        """Fine-tune on a provider's service and publish ``NAME@vN`` once its job succeeds (``ragtune.tuning.managed``)."""
        from ragtune.tuning.managed import fine_tuning_service

        service, model = fine_tuning_service(config.base, self.components.config.generation, region)
        parts = TunerParts(self.components.models, service=service, base_model=model, prices=prices)
        return build_tuner("managed", config, parts).train(progress)

    def cancel_managed(self, ref: str, region: str | None = None) -> "JobStatus":
        """Cancel the provider's job behind ``NAME`` (or ``NAME@vN``, the version it would become) and clear its run."""
        from ragtune.components.registry import parse_ref
        from ragtune.tuning.managed import cancel_job, fine_tuning_service

        models, generation = self.components.models, self.components.config.generation
        name, version = parse_ref(ref)
        pending = (models.versions(name) or [0])[-1] + 1
        if version is not None and version != pending:
            raise InputError(f"{ref}: {'a published version has no job to cancel' if version < pending else 'no such version'}"
                             f" (the job in progress would become {name}@v{pending})")
        return cancel_job(models, name, lambda base: fine_tuning_service(base, generation, region)[0])

    def distill(self, questions: Sequence[Question] | None, teacher: str, student: LoraConfig, index: str | None = None,
                schema: dict | None = None, prices: "PriceTable | None" = None, progress: TrainingProgress | None = None,
                generate: int = 100) -> ModelCard:
        """Distil ``teacher`` into ``student`` on its checked answers (``Workspace.distill``; ``ragtune.tuning.distill``)."""
        import shutil

        from ragtune.costs.prices import PriceTable
        from ragtune.generation.answer import AskRequest
        from ragtune.tuning.distill import teacher_rows

        parts = self.components
        generation = parts.index(index).filled().generation if index is not None else None
        synthetic = None
        if questions is None:
            questions, synthetic = self._synthetic(index, generate)
        folder = parts.models.model_dir(student.name) / ".distill"
        answerer = parts.answerer
        made = teacher_rows(list(questions), lambda q: answerer.ask(AskRequest(q.question, index, teacher,
                                                                               schema=schema or q.schema)),
                            folder, over_index=index is not None, schema=schema, notify=progress)
        cost = (prices or PriceTable.default()).cost(teacher, parts.generator(teacher).pricing, made.input_tokens,
                                                     made.output_tokens)
        source = {"kind": "distilled", "teacher": teacher, "index": index, "counts": made.counts, "index_generation": generation,
                  "teacher_tokens": {"input": made.input_tokens, "output": made.output_tokens},
                  "teacher_cost": {"usd": None if cost is None else round(cost, 6),
                                   "label": "unknown" if cost is None else "measured"},
                  **({"synthetic_questions": synthetic} if synthetic is not None else {})}
        student_parts = TunerParts(parts.models, data_source=source,
                                   attachments={"teacher_rows": made.rows, "teacher_dropped": made.dropped})
        card = build_tuner("lora", student.model_copy(update={"data": made.rows}), student_parts).train(progress)
        shutil.rmtree(folder, ignore_errors=True)
        return card

    def _synthetic(self, index: str | None, n: int) -> tuple[list[Question], dict]:
        """``n`` synthetic questions written from ``index`` for a distillation given none, and their summary."""
        from ragtune.evaluation.questions import questions_from_rows
        from ragtune.evaluation.synthetic import questions_from_index

        if index is None:
            raise InputError("distill needs --questions FILE (JSONL with id and question per line), or --index NAME "
                             "to write synthetic questions from")
        made = questions_from_index(self.components, index, n)
        summary = made.summary()
        if not made.rows:
            raise InputError(f"index '{index}': no synthetic question passed the round trip "
                             f"(rejected: {summary['rejected']}); give --questions FILE")
        return questions_from_rows((f"{index}:synthetic:{i}", r) for i, r in enumerate(made.rows, start=1)), summary
