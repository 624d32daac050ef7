"""Situating summaries (contextual retrieval): one sentence that places a chunk within its document.

With ``[index] context = "summary"`` every chunk is indexed with its document's context header and a sentence
written by a generator (``[index] summary_model``, default the ``[generation]`` model) from the start of the
document and the chunk; the stored text, and so every citation, stays the passage
(``ragtune.documents.chunking.context.SummaryChunker``). ``SituatingWriter`` counts what writing cost: calls,
tokens read and written, seconds.
"""

from __future__ import annotations

import time

from ragtune.generation.base import GenerateOptions, Generator, Prompt, Usage
from ragtune.generation.prompts import is_refusal
from ragtune.generation.text import split_sentences

INSTRUCTION = ("Write one short sentence that situates the chunk within the overall document, to improve search "
               "retrieval of the chunk. Answer only with that sentence.")
DOCUMENT_CHARS = 800
"""How much of the document's start the prompt shows (titles, cover page, first section)."""
CHUNK_CHARS = 800
MAX_NEW_TOKENS = 40


def situating_prompt(document_text: str, chunk_text: str) -> Prompt:
    """The prompt asking for the situating sentence of ``chunk_text`` within the document starting ``document_text``."""
    user = (f"<document>\n{document_text[:DOCUMENT_CHARS]}\n</document>\n"
            f"Here is the chunk we want to situate within the whole document:\n<chunk>\n{chunk_text[:CHUNK_CHARS]}\n</chunk>\n"
            f"{INSTRUCTION}")
    return Prompt(messages=[{"role": "user", "content": user}])


class SituatingWriter:
    """Writes situating sentences with ``generator`` (greedy, at most ``MAX_NEW_TOKENS``), keeping the first sentence
    of each reply ('' for an empty reply, a refusal or the instruction repeated), and counts the calls, tokens and
    seconds spent."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.calls = 0
        self.usage = Usage()
        self.seconds = 0.0

    def cost(self) -> dict[str, float | int]:
        """What the sentences written so far cost: generator calls, tokens read and written, seconds."""
        return {"calls": self.calls, **self.usage.to_json(), "seconds": round(self.seconds, 2)}

    def __call__(self, document_text: str, chunk_text: str) -> str:
        started = time.perf_counter()
        generation = self.generator.generate(situating_prompt(document_text, chunk_text),
                                             GenerateOptions(max_new_tokens=MAX_NEW_TOKENS, temperature=0.0))
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.usage = self.usage + generation.usage
        text = " ".join(generation.text.split())
        if not text or is_refusal(text) or text.lower().startswith(INSTRUCTION[:40].lower()):
            return ""  # nothing, a refusal, or the instruction said back
        sentences = split_sentences(text)
        return sentences[0].text.strip() if sentences else text
