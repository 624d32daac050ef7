"""The ``Generator`` seam: a prompt in, text out (whole or streamed), with the tokens it cost.

Contract every generator keeps:

- The constructor is cheap and validates its arguments; the model or client loads on first use
  (``load()`` loads it now, so a face can fail early).
- ``generate(prompt, options, on_text)`` returns a ``Generation``: the full text, the ``Usage`` (input
  and output tokens, as the model or server counts them, estimated where the peer does not say) and
  why it stopped. With ``on_text`` each piece of text is passed on as it arrives; the pieces
  concatenate to ``Generation.text``.
- ``prompt.messages`` are chat messages (``system`` first when present, then ``user``/``assistant``);
  ``prompt.blocks`` are the numbered context blocks behind them, for generators that work on the
  context itself (``extractive``) rather than on text.
- ``count_tokens(text)`` counts in the model's own tokenizer, or estimates (about 4 characters a token)
  where none is at hand; ``context_window`` is how many tokens prompt and answer may take together.
- What the model can do is declared, never inferred from its spec: ``trainable`` (LoRA can tune its weights
  here; when not, ``untrainable_why`` says why, after the spec), ``pricing`` (``PricingBasis.per_token``: a
  provider bills the tokens, at the price table's price; ``PricingBasis.machine_seconds``: it runs on a machine
  paid by the second) and ``constrains(schema)`` (it can decode under that JSON Schema). ``GeneratorBase``
  holds the defaults: not trainable, paid by machine time, no constrained decoding, ``load()`` a no-op.
- Errors: ``MissingKeyError`` (an API key variable is unset; the message names it), ``ConfigError``
  (the model cannot be found, or an optional extra is missing; the message names it), ``ProviderError``
  (a server is unreachable after retries, or replies with an error; the message names the URL).
"""

from __future__ import annotations

import math
import queue
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterator, Protocol

from ragtune.config import GenerationConfig
from ragtune.retrieval.base import ScoredChunk

TextCallback = Callable[[str], None]


@dataclass
class ContextBlock:
    """One numbered piece of retrieved context; ``number`` is the marker ``[n]`` that cites it."""

    number: int
    text: str
    chunk_id: str
    doc_id: str
    source: str
    page: int | None = None
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    headings: tuple[str, ...] = ()
    indexed: str = ""
    """The text the chunk was indexed as: its context header and heading path, then ``text`` ('' when unknown)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Its document's metadata (``organization``, ``period``, ...; see ``ragtune.documents.metadata``)."""

    @classmethod
    def from_scored(cls, number: int, scored: ScoredChunk) -> "ContextBlock":
        c = scored.chunk
        return cls(number=number, text=c.text, chunk_id=c.chunk_id, doc_id=c.doc_id, source=c.source, page=c.page,
                   score=scored.score, scores=dict(scored.scores), headings=tuple(c.headings),
                   indexed=c.index_text, metadata=dict(c.metadata))


@dataclass
class Prompt:
    """What a generator answers: chat messages, plus the question and context blocks they were built from."""

    messages: list[dict[str, str]]
    question: str | None = None
    blocks: list[ContextBlock] = field(default_factory=list)
    per_source: bool = False  # the question spans documents: an answer should draw on each of them
    focus: str | None = None  # the question without what retrieval's filter settled (organisation, period)


@dataclass
class GenerateOptions:
    """Decoding settings for one call; ``temperature`` 0 is greedy; ``stop`` None means the generator's default."""

    max_new_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] | None = None
    constrained: bool = True  # JSON replies constrained to their schema where the generator can (``json_schema``)
    json_schema: dict[str, Any] | None = None  # decode this reply under the schema (generators whose constrains() says so)

    @classmethod
    def from_config(cls, config: GenerationConfig) -> "GenerateOptions":
        return cls(max_new_tokens=config.max_new_tokens, temperature=config.temperature, top_p=config.top_p, seed=config.seed,
                   stop=list(config.stop) if config.stop is not None else None, constrained=config.constrained)


@dataclass
class Usage:
    """Tokens read and written by the model for one answer."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)

    def to_json(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


@dataclass
class Generation:
    """A generator's reply: the text, its token usage and why it stopped (``stop``, ``length``)."""

    text: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    model: str = ""
    shared_ms: float | None = None
    """Decoded in a batch: the batch's decoding time divided by its rows, the machine time that is this reply's share
    (the caller waited for the whole batch). None: decoded alone."""


class PricingBasis(str, Enum):
    """How a model's answers are paid for."""

    per_token = "per_token"
    """A provider bills the tokens read and written (the price comes from the price table)."""
    machine_seconds = "machine_seconds"
    """The model runs on a machine paid by the second (your own hardware, or a rented one)."""


class Generator(Protocol):
    """Writes text for a prompt (see the module docstring for the contract)."""

    spec: str
    trainable: bool
    untrainable_why: str
    pricing: PricingBasis

    @property
    def context_window(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None,
                 on_text: TextCallback | None = None) -> Generation: ...

    def load(self) -> Any: ...

    def constrains(self, schema: dict[str, Any]) -> bool: ...


class GeneratorBase:
    """The defaults of what a generator declares (see the module docstring): a third-party generator that subclasses
    it overrides only what differs."""

    trainable: bool = False
    untrainable_why: str = "is not a language model: there are no weights to tune (use -m local or another open-weight model)"
    pricing: PricingBasis = PricingBasis.machine_seconds

    def load(self) -> Any:
        """Load the model or client now (normally done on first use); nothing to load by default."""
        return self

    def constrains(self, schema: dict[str, Any]) -> bool:
        """Whether this generator can decode a reply under ``schema`` (a JSON Schema); no by default."""
        return False


def untrainable_reason(generator: Generator, spec: str | None = None) -> str | None:
    """Why LoRA cannot tune ``generator`` here (naming ``spec``, by default its own), or None when it can."""
    return None if generator.trainable else f"{spec or generator.spec} {generator.untrainable_why}"


class ServerGenerator(GeneratorBase):
    """Base of generators that call a model server: the window is the configured one or the class's
    ``default_window``; tokens are estimated (no local tokenizer); a provider bills the tokens."""

    default_window = 8192
    untrainable_why = "is an API model: its weights cannot be LoRA-tuned here (tune an open-weight model, e.g. -m local)"
    pricing = PricingBasis.per_token
    config: GenerationConfig

    @property
    def context_window(self) -> int:
        return self.config.context_window or self.default_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


def estimate_tokens(text: str) -> int:
    """About 4 characters a token: the estimate used where no tokenizer is at hand."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def stream_generation(generator: Generator, prompt: Prompt, options: GenerateOptions | None = None) -> Iterator[str | Generation]:
    """Run ``generate`` in a thread and yield each text piece as it comes, then the final ``Generation``.

    An exception raised by the generator is raised again here, in the caller's thread.
    """
    pieces: queue.Queue[Any] = queue.Queue()
    done = object()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["generation"] = generator.generate(prompt, options, on_text=pieces.put)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            result["error"] = exc
        finally:
            pieces.put(done)

    worker = threading.Thread(target=run, name="ragtune-generate", daemon=True)
    worker.start()
    while (item := pieces.get()) is not done:
        yield item
    worker.join()
    if "error" in result:
        raise result["error"]
    yield result["generation"]
