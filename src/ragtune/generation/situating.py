"""Situating summaries (contextual retrieval): one sentence that places a chunk within its document.

With ``[index] context = "summary"`` every chunk is indexed with its document's context header and a sentence
written by a generator (``[index] summary_model``, default the ``[generation]`` model) from the start of the
document and the chunk; the stored text, and so every citation, stays the passage
(``ragtune.documents.chunking.context.SummaryChunker``). ``SituatingWriter`` counts what writing cost: calls,
tokens read and written, seconds.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from ragtune.generation.base import GenerateOptions, Generation, Generator, Prompt, Usage
from ragtune.generation.batching import generate_batch
from ragtune.generation.prompts import is_refusal
from ragtune.generation.text import split_sentences

INSTRUCTION = ("Write one short sentence that situates the chunk within the overall document, to improve search "
               "retrieval of the chunk. Answer only with that sentence.")
DOCUMENT_CHARS = 800
"""How much of the document's start the prompt shows (titles, cover page, first section)."""
CHUNK_CHARS = 800
MAX_NEW_TOKENS = 40
OPTIONS = GenerateOptions(max_new_tokens=MAX_NEW_TOKENS, temperature=0.0)
Progress = Callable[[str, int, int], None]


def situating_prompt(document_text: str, chunk_text: str) -> Prompt:
    """The prompt asking for the situating sentence of ``chunk_text`` within the document starting ``document_text``."""
    user = (f"<document>\n{document_text[:DOCUMENT_CHARS]}\n</document>\n"
            f"Here is the chunk we want to situate within the whole document:\n<chunk>\n{chunk_text[:CHUNK_CHARS]}\n</chunk>\n"
            f"{INSTRUCTION}")
    return Prompt(messages=[{"role": "user", "content": user}])


class SituatingWriter:
    """Writes situating sentences with ``generator`` (greedy, at most ``MAX_NEW_TOKENS``), keeping the first sentence
    of each reply ('' for an empty reply, a refusal, the instruction repeated, or a prompt the model cannot take),
    and counts the cost: generator calls, sentences, tokens read and written, seconds.

    A generator that answers batches (``generate_batch``: local transformers models) writes up to ``GROUP`` sentences
    per call, with the same greedy answers as one at a time; ``progress("summarise", done, asked)`` follows along."""

    GROUP = 64
    """Sentences asked for per ``generate_batch`` call (the model cuts them into its own batches)."""

    def __init__(self, generator: Generator, progress: Progress | None = None) -> None:
        self.generator = generator
        self.progress = progress
        self.batched = callable(getattr(generator, "generate_batch", None))
        self.calls = 0
        self.sentences = 0
        self.asked = 0
        self.usage = Usage()
        self.seconds = 0.0

    def cost(self) -> dict[str, float | int]:
        """What the sentences written so far cost: generator calls, sentences, tokens read and written, seconds."""
        return {"calls": self.calls, "sentences": self.sentences, **self.usage.to_json(), "seconds": round(self.seconds, 2)}

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[str]:
        """The situating sentence of each ``(start of the document's text, chunk text)`` pair, in order."""
        self.asked += len(pairs)
        sentences: list[str] = []
        for start in range(0, len(pairs), self.GROUP):
            group = pairs[start:start + self.GROUP]
            started = time.perf_counter()
            results = generate_batch(self.generator, [situating_prompt(d, c) for d, c in group], OPTIONS)
            self.seconds += time.perf_counter() - started
            self.calls += 1 if self.batched else len(group)
            self.sentences += len(group)
            for result in results:
                if isinstance(result, Generation):
                    self.usage = self.usage + result.usage
                sentences.append(first_sentence(result.text) if isinstance(result, Generation) else "")
            if self.progress:
                self.progress("summarise", self.sentences, self.asked)
        return sentences


def first_sentence(reply: str) -> str:
    """The situating sentence of a reply: its first sentence ('' for nothing, a refusal or the instruction said back)."""
    text = " ".join(reply.split())
    if not text or is_refusal(text) or text.lower().startswith(INSTRUCTION[:40].lower()):
        return ""
    sentences = split_sentences(text)
    return sentences[0].text.strip() if sentences else text
