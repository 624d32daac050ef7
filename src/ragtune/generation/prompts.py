"""Prompts for cited answers, and recognising a model's refusal to answer from the context."""

from __future__ import annotations

import re

from ragtune.generation.base import ContextBlock, Prompt
from ragtune.generation.text import split_sentences

CANNOT_ANSWER = "I cannot answer this from the provided documents."

RAG_SYSTEM = ("You answer questions using only the numbered context blocks you are given. "
              "After each sentence, cite the block that supports it with its number in square brackets, like [1]. "
              f"If the blocks do not contain the answer, reply exactly: {CANNOT_ANSWER}")
ALONE_SYSTEM = "Answer the question briefly and accurately. If you do not know the answer, say that you do not know."
CONTEXT_SYSTEM = "Use the numbered context blocks you are given where they help."

_REFUSAL = re.compile(
    r"\bi\s+(?:cannot|can\s*not|can't|can’t|am\s+unable\s+to|am\s+not\s+able\s+to)\s+"
    r"(?:answer|find|determine|provide|tell|say)\b"
    r"|\b(?:context|documents?|blocks?|information|passages?|sources?)\s+(?:provided\s+|given\s+)?"
    r"(?:does|do)\s*(?:not|n't|n’t)\s+(?:contain|mention|say|provide|include|specify|answer|cover)"
    r"|\bnot\s+(?:mentioned|provided|specified|stated|covered|given|found)\s+in\s+the\s+(?:context|documents?|blocks?)"
    r"|\bno\s+(?:relevant\s+)?information\s+(?:about|on|regarding)\b"
    r"|^\s*i\s+(?:do\s+not|don't|don’t)\s+know\b",
    re.IGNORECASE)


def block_header(block: ContextBlock) -> str:
    """The line that introduces a context block: its marker and where it comes from."""
    where = block.source + (f", page {block.page}" if block.page else "")
    return f"[{block.number}] (source: {where})"


def _context(blocks: list[ContextBlock]) -> str:
    return "\n\n".join(f"{block_header(b)}\n{b.text.strip()}" for b in blocks)


def rag_prompt(question: str, blocks: list[ContextBlock], system: str | None = None) -> Prompt:
    """Messages asking for an answer from numbered ``blocks``, each sentence cited as ``[n]``; ``system`` goes first."""
    user = (f"Context:\n\n{_context(blocks)}\n\nQuestion: {question.strip()}\n"
            "Answer briefly from the context and cite the blocks you use, like [1].")
    instructions = f"{system.strip()}\n\n{RAG_SYSTEM}" if system and system.strip() else RAG_SYSTEM
    return Prompt(messages=[{"role": "system", "content": instructions}, {"role": "user", "content": user}],
                  question=question, blocks=blocks)


def context_prompt(question: str, blocks: list[ContextBlock], system: str | None = None) -> Prompt:
    """Messages giving numbered ``blocks`` as context without asking for citations (structured answers)."""
    user = f"Context:\n\n{_context(blocks)}\n\n{question.strip()}"
    instructions = f"{system.strip()}\n\n{CONTEXT_SYSTEM}" if system and system.strip() else CONTEXT_SYSTEM
    return Prompt(messages=[{"role": "system", "content": instructions}, {"role": "user", "content": user}],
                  question=question, blocks=blocks)


def alone_prompt(question: str, system: str | None = None) -> Prompt:
    """Messages for the model alone, without retrieved context (the ``base`` and ``ft`` variants).

    ``system`` replaces the default system prompt (a tuned model answers best under the prompt it was trained with).
    """
    instructions = system.strip() if system and system.strip() else ALONE_SYSTEM
    return Prompt(messages=[{"role": "system", "content": instructions}, {"role": "user", "content": question.strip()}],
                  question=question)


def is_refusal(text: str) -> bool:
    """Whether a model's reply says, in its first sentence, that it cannot answer (or says nothing)."""
    first = split_sentences(text)
    return not first or bool(_REFUSAL.search(first[0].text))
