"""The ragtune error tree.

Every error a user can cause or meet is a ``RagtuneError``. Each class declares what the faces make of it, so
the mapping lives here, once: ``exit_code`` (the CLI's exit status: 2 for bad input, 1 for a failure) and
``http_status`` (the HTTP API's status); the MCP server turns every one into a tool error with the same message::

    RagtuneError                     exit 1  HTTP 500
    ├── InputError                   exit 2  HTTP 400  bad input (names the file, line or field)
    │   ├── ConfigError                       400  a setting, model spec or missing extra
    │   ├── IndexNotFoundError                404  an index that does not exist
    │   ├── ModelNotFoundError                404  a tuned model name or version not in the registry
    │   ├── JobNotFoundError                  404  a background job id unknown to the caller
    │   ├── EmbedderMismatchError             400  querying an index with another embedding model
    │   ├── MissingKeyError                   500  an API key variable is unset (the message names it)
    │   ├── PathNotAllowedError               403  a server-side path outside the allowed roots
    │   ├── UploadTooLargeError               413  an upload above the size limit
    │   ├── UnsupportedTypeError              415  an upload of a type no loader reads or the server refuses
    │   ├── EncryptedPdfError                 400  a PDF that needs a password
    │   └── QuestionError                     400  one question cannot be answered (empty, too long for the window);
    │                                                an evaluation records it on that question's row and goes on
    ├── StoreError                   exit 1  HTTP 500  the workspace or store cannot be read or written
    │   ├── SegmentError                      500  a search segment is missing, truncated or not the manifest's
    │   ├── ManifestDamagedError              500  an index's manifest is missing, unreadable or fails its checksum
    │   ├── IndexBusyError                    503  another process kept an index's writer lock past ``index.lock_timeout_s``
    │   └── ChunkNotFoundError                503  chunks replaced by a commit while a reader fetched them (try again)
    ├── ProviderError                exit 1  HTTP 502  a model provider failed (network, server, quota)
    ├── TuningError                  exit 1  HTTP 500  training failed
    ├── EvaluationError              exit 1  HTTP 500  an evaluation could not run
    └── ExportError                  exit 1  HTTP 500  an ONNX export cannot be made or used (the embedder falls back to torch)

A subclass inherits both numbers unless it declares its own.
"""

from __future__ import annotations

from typing import ClassVar


class RagtuneError(Exception):
    """Base of every ragtune error; ``exit_code`` is what the CLI returns, ``http_status`` what the HTTP API answers."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500


class InputError(RagtuneError):
    """Raised for bad input from the user: a file, a line, a field or a flag."""

    exit_code = 2
    http_status = 400
    skips_one_prompt: ClassVar[bool] = True
    """Whether a batch of prompts skips only the prompt that raised it and answers the others: so for a plain
    ``InputError`` (a prompt too long for the window); each subclass names a cause that fails the whole batch (a
    setting, a key, an index) unless it declares otherwise."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.skips_one_prompt = bool(cls.__dict__.get("skips_one_prompt", False))


class ConfigError(InputError):
    """Raised for an invalid setting, an unknown model spec, or a missing optional extra."""


class IndexNotFoundError(InputError):
    """Raised when a named index does not exist in the workspace."""

    http_status = 404


class ModelNotFoundError(InputError):
    """Raised when a model name or version is not in the registry."""

    http_status = 404


class JobNotFoundError(InputError):
    """Raised for a background job id that does not exist (or that the caller may not see)."""

    http_status = 404


class EmbedderMismatchError(InputError):
    """Raised when an index is queried with an embedder other than the one that built it."""


class MissingKeyError(InputError):
    """Raised when a provider needs an API key whose environment variable is unset (a server lacks it: 500)."""

    http_status = 500


class PathNotAllowedError(InputError):
    """Raised when a path given to a server lies outside its allowed roots (``..``, symlinks, absolute paths)."""

    http_status = 403


class UploadTooLargeError(InputError):
    """Raised when an uploaded file is larger than the server accepts."""

    http_status = 413


class UnsupportedTypeError(InputError):
    """Raised when an uploaded file has a type no loader reads, or one the server does not accept."""

    http_status = 415


class EncryptedPdfError(InputError):
    """Raised when a PDF needs a password: no other engine is tried."""


class QuestionError(InputError):
    """Raised when one question cannot be answered (empty, or too long for the model's window); the settings are fine,
    so an evaluation records it on that question's row instead of stopping."""


class StoreError(RagtuneError):
    """Raised when the workspace or a store cannot be read or written."""


class SegmentError(StoreError):
    """Raised when a segment file is missing, truncated or does not match the manifest."""


class ChunkNotFoundError(StoreError):
    """Raised when chunks are fetched by an id the index no longer holds: a commit replaced them while a reader
    ranked and fetched (readers retry; one that still fails can try again)."""

    http_status = 503


class ManifestDamagedError(StoreError):
    """Raised when the manifest of an index is missing, unreadable or does not match its checksum."""


class IndexBusyError(StoreError):
    """Raised when another process holds an index's writer lock for longer than ``index.lock_timeout_s``."""

    http_status = 503


class ProviderError(RagtuneError):
    """Raised when a model provider fails: unreachable server, bad reply, quota."""

    http_status = 502


class TuningError(RagtuneError):
    """Raised when a training run fails."""


class EvaluationError(RagtuneError):
    """Raised when an evaluation cannot run."""


class ExportError(RagtuneError):
    """Raised when an ONNX export cannot be made, read or matched (the embedder then runs with torch)."""
