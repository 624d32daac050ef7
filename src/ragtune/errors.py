"""The ragtune error tree.

Every error a user can cause or meet is a ``RagtuneError``; faces map them once
(CLI exit code, HTTP status, MCP error result)::

    RagtuneError                     exit 1 unless a subclass says otherwise
    ├── InputError                   exit 2: bad input (names the file, line or field)
    │   ├── ConfigError              a setting, model spec or missing extra
    │   ├── IndexNotFoundError       an index that does not exist
    │   ├── EmbedderMismatchError    querying an index with another embedding model
    │   ├── ChunkNotFoundError       a chunk id the index does not hold (or no longer: a commit replaced it)
    │   ├── MissingKeyError          an API key variable is unset (the message names it)
    │   ├── PathNotAllowedError      a server-side path outside the allowed roots
    │   ├── UploadTooLargeError      an upload above the size limit
    │   └── UnsupportedTypeError     an upload of a type no loader reads or the server refuses
    ├── StoreError                   the workspace or store cannot be read or written
    │   └── IndexBusyError           another process kept an index's writer lock past ``index.lock_timeout_s``
    ├── ProviderError                a model provider failed (network, server, quota)
    ├── TuningError                  training failed
    └── EvaluationError              an evaluation could not run
"""

from __future__ import annotations


class RagtuneError(Exception):
    """Base of every ragtune error; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InputError(RagtuneError):
    """Raised for bad input from the user: a file, a line, a field or a flag."""

    exit_code = 2


class ConfigError(InputError):
    """Raised for an invalid setting, an unknown model spec, or a missing optional extra."""


class IndexNotFoundError(InputError):
    """Raised when a named index does not exist in the workspace."""


class JobNotFoundError(InputError):
    """No background job with that id (or none the caller may see)."""


class EmbedderMismatchError(InputError):
    """Raised when an index is queried with an embedder other than the one that built it."""


class ChunkNotFoundError(InputError):
    """Raised when chunks are fetched by an id the index does not hold, e.g. after a concurrent re-ingest."""


class MissingKeyError(InputError):
    """Raised when a provider needs an API key whose environment variable is unset."""


class PathNotAllowedError(InputError):
    """Raised when a path given to a server lies outside its allowed roots (``..``, symlinks, absolute paths)."""


class UploadTooLargeError(InputError):
    """Raised when an uploaded file is larger than the server accepts."""


class UnsupportedTypeError(InputError):
    """Raised when an uploaded file has a type no loader reads, or one the server does not accept."""


class StoreError(RagtuneError):
    """Raised when the workspace or a store cannot be read or written."""

    exit_code = 2


class IndexBusyError(StoreError):
    """Raised when another process holds an index's writer lock for longer than ``index.lock_timeout_s``."""


class ProviderError(RagtuneError):
    """Raised when a model provider fails: unreachable server, bad reply, quota."""


class TuningError(RagtuneError):
    """Raised when a training run fails."""


class EvaluationError(RagtuneError):
    """Raised when an evaluation cannot run."""
