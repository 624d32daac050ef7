"""ragtune: adapt a language model to your domain with RAG, fine-tuning or both, and measure which pays."""

from ragtune.api import Answer, Citation, Hit, IngestReport, Index, Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import (
    ConfigError,
    EmbedderMismatchError,
    IndexNotFoundError,
    InputError,
    MissingKeyError,
    ProviderError,
    RagtuneError,
)

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Citation",
    "ConfigError",
    "EmbedderMismatchError",
    "Hit",
    "Index",
    "IndexNotFoundError",
    "IngestReport",
    "InputError",
    "MissingKeyError",
    "ProviderError",
    "RagtuneConfig",
    "RagtuneError",
    "Workspace",
    "__version__",
]
