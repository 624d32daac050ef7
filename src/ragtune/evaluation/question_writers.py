"""Question writers: from one chunk, a question and a short reference answer (``Draft``), or the reason there is none.

- ``TemplateWriter`` (spec ``extractive``) needs no model. The reference answer is the chunk's most salient sentence:
  the one of 6 to 40 words whose words are rarest in the index (mean IDF), leaving out code, table rows,
  admonition marks and sentences that open with a pronoun (they need the sentence before them). The question comes
  from that sentence by the first rule that applies:

  1. *how-to*: "To <do something>, <steps>" -> "How do you <do something>?";
  2. *definition*: "<Subject> is/are <...>" with a subject of 1 to 6 words -> "What is/are <subject>?";
  3. *key terms*: otherwise "What does the documentation say about <t1> <t2> <t3>?" with the sentence's three rarest
     content words in their order, after the chunk's last heading when it has one ("In <heading>, what ...").

  These are template questions: they reuse the sentence's own words, so retrieval finds their chunk more easily than
  it finds a person's question, and the reference answer is a sentence of the chunk.
- ``ModelWriter`` (any generator spec: ``local``, ``anthropic:...``, ``openai:...@url``) asks the model for
  a ``Question:`` line and an ``Answer:`` line from the chunk; the reply is parsed leniently (those lines, a JSON object
  with both fields, even one cut short); a reply that gives neither is rejected as ``unparseable``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from ragtune.generation.text import STOPWORDS, split_sentences, words
from ragtune.index.base import ChunkRecord

TEMPLATE = "extractive"
"""The spec of the writer that needs no model."""

DEFAULT_WRITER = TEMPLATE
"""The writer used when none is named: the template writer, whose round-trip pass rate is the higher one measured
(``bench/questions_generate.py``)."""


@dataclass(frozen=True)
class Draft:
    """A question written from a chunk, its short reference answer, and the rule or model that wrote it."""

    question: str
    answer: str
    rule: str


class QuestionWriter(Protocol):
    """Writes a question and its answer from one chunk; a string is the reason it could not."""

    spec: str

    def write(self, chunk: ChunkRecord) -> Draft | str: ...


class TermRarity:
    """Inverse document frequency of words over a set of chunk texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(words(t)))
        n = max(1, len(texts))
        self.idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in df.items()}
        self.default = math.log(n + 1)

    def of(self, word: str) -> float:
        return self.idf.get(word.lower(), self.default)


_HOW_TO = re.compile(r"^To ([^,]{3,120}?),\s+(.+)$", re.DOTALL)
_DEFINITION = re.compile(r"^((?:The |An? )?[A-Za-z0-9][\w\-./ ]{0,60}?) (is|are) (.+)$", re.DOTALL)
_UNSAYABLE = re.compile(r"```|----|^\s*\[|\||\$ |^\s*[{}<]")  # code, tables, admonition marks, shell lines
_TERM = re.compile(r"[A-Za-z][\w\-.]*[A-Za-z0-9]|[A-Za-z]")


class TemplateWriter:
    """Template questions from the chunk's most salient sentence (module docstring); deterministic."""

    spec = TEMPLATE

    def __init__(self, rarity: TermRarity) -> None:
        self.rarity = rarity

    def salient_sentence(self, text: str) -> str | None:
        best, best_score = None, -1.0
        for s in split_sentences(text):
            terms = words(s.text)
            if not 6 <= len(terms) <= 40 or _UNSAYABLE.search(s.text) or _starts_with_pronoun(s.text):
                continue
            score = sum(self.rarity.of(w) for w in terms) / len(terms)
            if score > best_score:
                best, best_score = s.text.strip(), score
        return best

    def write(self, chunk: ChunkRecord) -> Draft | str:
        sentence = self.salient_sentence(chunk.text)
        if sentence is None:
            return "no_sentence"
        bare = sentence.rstrip(" .:;")
        how = _HOW_TO.match(bare)
        if how:
            task = how.group(1).strip()
            return Draft(f"How do you {task[0].lower() + task[1:]}?", sentence, "how-to")
        definition = _DEFINITION.match(bare)
        if definition and 1 <= len(words(definition.group(1))) <= 6 and not _starts_with_pronoun(definition.group(1)):
            subject = definition.group(1)
            subject = subject[0].lower() + subject[1:] if subject.split()[0] in ("The", "A", "An") else subject
            return Draft(f"What {definition.group(2)} {subject}?", sentence, "definition")
        terms = [t for t in _TERM.findall(bare) if t.lower() not in STOPWORDS and len(t) > 2]
        if len(terms) < 2:
            return "no_key_terms"
        ranked = sorted(range(len(terms)), key=lambda i: (-self.rarity.of(terms[i]), i))
        keep = sorted(dict.fromkeys(ranked[:3]))
        about = " ".join(terms[i] for i in keep)
        heading = chunk.headings[-1].strip() if chunk.headings else ""
        lead = f"In {heading}, what" if heading and len(heading) <= 80 else "What"
        return Draft(f"{lead} does the documentation say about {about}?", sentence, "key-terms")


def _starts_with_pronoun(subject: str) -> bool:
    return subject.split()[0].lower() in {"it", "this", "that", "these", "those", "there", "they", "which", "he", "she"}


QUESTION_PROMPT = (
    "Read the passage and write one question that a user of this documentation might ask and that the passage "
    "answers, and its short answer (one sentence, in the passage's words).\n"
    "Reply in exactly two lines:\nQuestion: <the question>\nAnswer: <the answer>\n\nPassage:\n{text}")

_LINE = re.compile(r"^\s*[*#>\-\s]*(question|q|answer|a)\s*[*]*\s*[:\-]\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_FIELD = re.compile(r'"(question|answer)"\s*:\s*"((?:[^"\\]|\\.)+)', re.IGNORECASE)  # a field of JSON cut short


def parse_draft(text: str) -> tuple[str, str] | None:
    """``(question, answer)`` from a model's reply: its first JSON object with both fields, else ``Question:`` and
    ``Answer:`` lines, else the two fields of a JSON object cut short, else a line ending in "?" and the line after
    it; None when it gives none of these."""
    from ragtune.generation.structured import extract_json

    value = extract_json(text)
    if isinstance(value, dict):
        q, a = value.get("question"), value.get("answer")
        if isinstance(q, str) and isinstance(a, (str, int, float)) and not isinstance(a, bool) and q.strip() and str(a).strip():
            return q.strip(), str(a).strip()
    found: dict[str, str] = {}
    for m in [*_LINE.finditer(text), *_FIELD.finditer(text)]:
        key = "question" if m.group(1).lower().startswith("q") else "answer"
        found.setdefault(key, m.group(2).strip().strip('"').lstrip("*-• ").strip())
    if found.get("question") and found.get("answer"):
        return found["question"], found["answer"]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    asked = next((i for i, ln in enumerate(lines) if ln.endswith("?") and len(words(ln)) >= 3), None)
    if asked is not None and asked + 1 < len(lines):  # an unlabelled question and the line after it
        return lines[asked], lines[asked + 1]
    return None


class ModelWriter:
    """A question and answer written by a generator from the chunk (module docstring)."""

    def __init__(self, generator: Any, max_new_tokens: int = 96) -> None:
        self.generator = generator
        self.spec = str(getattr(generator, "spec", "model"))
        self.max_new_tokens = max_new_tokens
        self.errors: list[str] = []

    def write(self, chunk: ChunkRecord) -> Draft | str:
        from ragtune.generation.base import GenerateOptions, Prompt

        # no stop strings: a local model's default (a blank line) would end the reply between "Question:" and the question
        options = GenerateOptions(max_new_tokens=self.max_new_tokens, temperature=0.0, stop=[])
        prompt = Prompt(messages=[{"role": "user", "content": QUESTION_PROMPT.format(text=chunk.index_text[:6000])}])
        try:
            reply = self.generator.generate(prompt, options)
        except Exception as exc:  # noqa: BLE001 - one failed call rejects this chunk only; the reason is counted
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return "generator_error"
        parsed = parse_draft(reply.text)
        if parsed is None:
            return "unparseable"
        question, answer = parsed
        if not question.rstrip().endswith("?") and len(words(question)) < 3:
            return "unparseable"
        return Draft(question, answer, "model")
