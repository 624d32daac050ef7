"""What ``DecideRunner`` needs from a workspace: the evaluation ports, an evaluation of a question set, the
trainings (LoRA, RAFT, a provider's job) and the store the facts are measured in. ``ragtune.api`` builds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from ragtune.evaluation.base import EvalResult
from ragtune.evaluation.config import EvalConfig
from ragtune.evaluation.ports import EvalPorts
from ragtune.costs.prices import PriceTable
from ragtune.evaluation.questions import Question
from ragtune.index.base import Store
from ragtune.tuning.base import TrainingEvent
from ragtune.tuning.lora import LoraConfig
from ragtune.components.registry import ModelCard, ModelRegistry

if TYPE_CHECKING:
    from ragtune.tuning.managed import ManagedConfig
    from ragtune.tuning.raft import RaftData, RaftSettings

TrainingProgress = Callable[[TrainingEvent], None]


class EvaluateFn(Protocol):
    def __call__(self, questions: Sequence[Question], config: EvalConfig, *,
                 progress: Callable[[str, int, int], None] | None = None) -> EvalResult: ...


@dataclass(frozen=True)
class DecidePorts:
    """Everything a decision run uses of a workspace."""

    eval: EvalPorts
    evaluate: EvaluateFn
    tune_lora: Callable[[LoraConfig, TrainingProgress | None], ModelCard]
    tune_raft: Callable[..., ModelCard]
    """``(questions, index, raft settings, lora config, progress)``: a RAFT training over the index."""
    store: Store
    distill: Callable[..., ModelCard] | None = None
    """``(questions, teacher, lora config, index, schema, prices, progress)``: the teacher's checked answers train the
    student (``Workspace.distill``)."""
    tune_managed: Callable[[ManagedConfig, TrainingProgress | None, PriceTable | None], ModelCard] | None = None
    """A provider's fine-tuning job, published as a ``managed`` version (``Workspace.tune_managed``)."""
    raft_data: Callable[[Sequence[Question], str, RaftSettings], RaftData] | None = None
    """``(questions, index, raft settings)``: the RAFT rows over the index, built without training."""
    models: ModelRegistry | None = None
    """The model registry: a managed version already trained on the same rows is reused, not paid for twice."""
