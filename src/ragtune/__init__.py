"""ragtune: adapt a language model to your domain with RAG, fine-tuning or both, and measure which pays."""

from ragtune.api import Hit, IngestReport, Index, Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import (
    ConfigError,
    EmbedderMismatchError,
    IndexNotFoundError,
    InputError,
    RagtuneError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "EmbedderMismatchError",
    "Hit",
    "Index",
    "IndexNotFoundError",
    "IngestReport",
    "InputError",
    "RagtuneConfig",
    "RagtuneError",
    "Workspace",
    "__version__",
]
