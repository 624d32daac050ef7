"""ragtune: adapt a language model to your domain with RAG, fine-tuning or both, and measure which pays."""

from ragtune.api import Answer, Citation, Hit, IngestReport, Index, Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import (
    ConfigError,
    EmbedderMismatchError,
    EvaluationError,
    IndexNotFoundError,
    InputError,
    MissingKeyError,
    ModelNotFoundError,
    ProviderError,
    QuestionError,
    RagtuneError,
    StoreError,
    TuningError,
)

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Citation",
    "ConfigError",
    "EmbedderMismatchError",
    "EvaluationError",
    "Hit",
    "Index",
    "IndexNotFoundError",
    "IngestReport",
    "InputError",
    "MissingKeyError",
    "ModelNotFoundError",
    "ProviderError",
    "QuestionError",
    "RagtuneConfig",
    "RagtuneError",
    "StoreError",
    "TuningError",
    "Workspace",
    "__version__",
]
