"""The ``fake`` generator, for tests and demos: replies with fixed text (``fake:<text>``), or, with no text,
with the first sentence of the first context block cited as ``[1]``. Streams word by word; counts words
as tokens.
"""

from __future__ import annotations

import re

from ragtune.generation.base import GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage
from ragtune.generation.prompts import CANNOT_ANSWER
from ragtune.generation.text import split_sentences


class FakeGenerator(GeneratorBase):
    """A deterministic generator (see the module docstring)."""

    def __init__(self, reply: str | None = None, *, context_window: int = 4096, spec: str | None = None) -> None:
        self.reply = reply
        self._window = context_window
        self.spec = spec or ("fake" if reply is None else f"fake:{reply}")
        self.prompts: list[Prompt] = []

    @property
    def context_window(self) -> int:
        return self._window

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        options = options or GenerateOptions()
        self.prompts.append(prompt)
        if self.reply is not None:
            text = self.reply
        elif prompt.blocks:
            first = split_sentences(prompt.blocks[0].text)
            text = f"{first[0].text.rstrip('.')} [{prompt.blocks[0].number}]." if first else CANNOT_ANSWER
        else:
            text = CANNOT_ANSWER
        pieces = re.findall(r"\S+\s*", text)[:options.max_new_tokens]
        text = "".join(pieces)
        if on_text:
            for piece in pieces:
                on_text(piece)
        n_in = sum(self.count_tokens(m["content"]) for m in prompt.messages)
        finish = "length" if len(pieces) >= options.max_new_tokens else "stop"
        return Generation(text=text, usage=Usage(n_in, len(pieces)), finish_reason=finish, model=self.spec)
