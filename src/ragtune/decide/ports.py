"""What ``DecideRunner`` needs from a workspace: the evaluation ports, an evaluation of a question set, the two
trainings (LoRA and RAFT) and the store the facts are measured in. ``ragtune.api`` builds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from ragtune.evaluation.base import EvalResult
from ragtune.evaluation.config import EvalConfig
from ragtune.evaluation.ports import EvalPorts
from ragtune.evaluation.questions import Question
from ragtune.index.base import Store
from ragtune.tuning.base import TrainingEvent
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.registry import ModelCard

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
