"""Citations: parse ``[n]`` markers from an answer, score how well each cited block supports its sentence,
and cite uncited sentences to the block that supports them.

Support (0-1) says how much of a sentence the cited block backs. By default it is the mean of the
embedding similarity between the sentence and the block's closest sentence, and the share of the
sentence's content words found in the block; an NLI cross-encoder (``answer.support_model``) replaces
both with its entailment probability.

A marker naming a block that was not given, a malformed marker (``[source]``, ``[]``), and a marker whose
block does not support its sentence (support below ``min_support``) are removed from the answer and
reported in ``dropped``; so is a marker whose block supports the sentence far less (``RETARGET_MARGIN``)
than another block does. A sentence left without a citation is cited to the block that supports it best,
when that block reaches ``min_support``. No citation is ever made to a block that was not given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from ragtune.embeddings.base import Embedder
from ragtune.errors import ConfigError
from ragtune.generation.base import ContextBlock
from ragtune.generation.text import Sentence, content_terms, coverage, split_sentences

_KEYWORD = r"(?:sources?|src|docs?|documents?|refs?|references?|citations?|context|blocks?|cite)"
_VALID = re.compile(r"[\[【]\s*(?:" + _KEYWORD + r"\s*[:#]?\s*|\^|#)?"
                    r"(\d{1,3}(?:\s*(?:[,;]|and|[-–])\s*\d{1,3})*)\s*[\]】]", re.IGNORECASE)
_MALFORMED = re.compile(r"\[\s*\]|\[\s*" + _KEYWORD + r"\b[^\]\n]{0,30}\]|\[\s*\d+[a-z]+\s*\]|\[\s*\^\s*\]", re.IGNORECASE)
# Markers written after a sentence's full stop ("... port 8420. [1]") belong to that sentence.
_TRAILING_MARKERS = re.compile(r"([.!?])((?:[ \t]*[\[【][^\]】\n]{0,30}[\]】])+)")
_MIN_CLAIM_TERMS = 2
# Semantic support embeds, per block, the sentences that share most words with the claims, cut to a length.
_EMBED_SENTENCES, _EMBED_WORDS = 6, 64
# A model's citation gives way to another block that supports the sentence by this much more.
RETARGET_MARGIN = 0.3


@dataclass
class Citation:
    """A context block cited by the answer: marker, where the block comes from, its text, and its support."""

    marker: int
    doc_id: str
    chunk_id: str
    source: str
    page: int | None
    text: str
    quote: str
    support: float
    origin: str = "model"

    def to_json(self) -> dict[str, Any]:
        return {"marker": self.marker, "doc_id": self.doc_id, "chunk_id": self.chunk_id, "source": self.source,
                "page": self.page, "text": self.text, "quote": self.quote, "support": round(self.support, 4),
                "origin": self.origin}


@dataclass
class CitedText:
    """An answer after citation handling: its text, the citations it makes, and the markers dropped."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SupportMatrix:
    """Support of each claim (row) by each block (column), and the block sentence that supports it best."""

    scores: np.ndarray
    quotes: list[list[str]]


class SupportScorer(Protocol):
    """Scores how much each block supports each claim (0-1)."""

    def score(self, claims: Sequence[str], blocks: Sequence[ContextBlock]) -> SupportMatrix: ...


def _block_sentences(block: ContextBlock) -> list[str]:
    return [s.text for s in split_sentences(block.text)] or [block.text]


def _best_lexical_quotes(claim_terms: list[list[str]], blocks: Sequence[ContextBlock]) -> tuple[np.ndarray, list[list[str]]]:
    cov = np.zeros((len(claim_terms), len(blocks)), dtype=np.float32)
    quotes: list[list[str]] = [[""] * len(blocks) for _ in claim_terms]
    for j, block in enumerate(blocks):
        sentences = _block_sentences(block)
        sentence_terms = [set(content_terms(s)) for s in sentences]
        block_terms = set().union(*sentence_terms)
        for i, terms in enumerate(claim_terms):
            cov[i, j] = coverage(terms, block_terms)
            best = max(range(len(sentences)), key=lambda k: coverage(terms, sentence_terms[k]))
            quotes[i][j] = sentences[best]
    return cov, quotes


class OverlapSupportScorer:
    """Support = mean of embedding similarity (claim vs. the block's closest sentence) and lexical coverage.

    Only the few block sentences sharing most words with the claims are embedded (``_EMBED_SENTENCES``).
    Without an embedder, support is the lexical coverage alone.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder

    def score(self, claims: Sequence[str], blocks: Sequence[ContextBlock]) -> SupportMatrix:
        terms = [content_terms(c) for c in claims]
        cov, quotes = _best_lexical_quotes(terms, blocks)
        if self.embedder is None or not claims or not blocks:
            return SupportMatrix(cov, quotes)
        per_block = [self._candidates(_block_sentences(b), terms) for b in blocks]
        flat = [" ".join(s.split()[:_EMBED_WORDS]) for sentences in per_block for s in sentences]
        vectors = self.embedder.embed_documents(list(claims) + flat)
        sims = vectors[:len(claims)] @ vectors[len(claims):].T
        semantic = np.zeros_like(cov)
        offset = 0
        for j, sentences in enumerate(per_block):
            part = sims[:, offset:offset + len(sentences)]
            best = part.argmax(axis=1)
            for i in range(len(claims)):
                semantic[i, j] = max(0.0, float(part[i, best[i]]))
                quotes[i][j] = sentences[best[i]]
            offset += len(sentences)
        return SupportMatrix(0.5 * np.clip(semantic, 0.0, 1.0) + 0.5 * cov, quotes)

    @staticmethod
    def _candidates(sentences: list[str], claim_terms: list[list[str]]) -> list[str]:
        """The block sentences worth embedding: those sharing the most words with any claim (order kept)."""
        if len(sentences) <= _EMBED_SENTENCES:
            return sentences
        claims = [set(t) for t in claim_terms]
        overlap = [max((len(c & set(content_terms(s))) for c in claims), default=0) for s in sentences]
        keep = sorted(sorted(range(len(sentences)), key=lambda i: -overlap[i])[:_EMBED_SENTENCES])
        return [sentences[i] for i in keep]


class NLISupportScorer:
    """Support = entailment probability of the claim given the block, from an NLI cross-encoder.

    Any sentence-transformers ``CrossEncoder`` folder or hub id: with several labels, the one whose name
    contains "entail" is used (softmax); with one label, its sigmoid.
    """

    def __init__(self, model: str, device: str = "cpu") -> None:
        self.location, self.device = model, device
        self._model = None
        self._entail: int | None = None

    def load(self):
        """Load the cross-encoder now (normally on first use)."""
        if self._model is None:
            from sentence_transformers import CrossEncoder

            try:
                self._model = CrossEncoder(self.location, device=self.device)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load the NLI support model '{self.location}': {exc}") from exc
            labels = {int(k): str(v).lower() for k, v in (self._model.config.id2label or {}).items()}
            if self._model.num_labels > 1:
                found = [i for i, name in labels.items() if "entail" in name]
                if not found:
                    raise ConfigError(f"support model '{self.location}': no 'entailment' label among {sorted(labels.values())}")
                self._entail = found[0]
        return self._model

    def score(self, claims: Sequence[str], blocks: Sequence[ContextBlock]) -> SupportMatrix:
        terms = [content_terms(c) for c in claims]
        _, quotes = _best_lexical_quotes(terms, blocks)
        if not claims or not blocks:
            return SupportMatrix(np.zeros((len(claims), len(blocks)), dtype=np.float32), quotes)
        model = self.load()
        pairs = [(b.text, c) for c in claims for b in blocks]
        logits = np.asarray(model.predict(pairs, activation_fn=_identity(), convert_to_numpy=True, show_progress_bar=False),
                            dtype=np.float64)
        if self._entail is None:
            probs = 1.0 / (1.0 + np.exp(-logits.reshape(-1)))
        else:
            logits = logits.reshape(len(pairs), -1)
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = (exp / exp.sum(axis=1, keepdims=True))[:, self._entail]
        return SupportMatrix(probs.reshape(len(claims), len(blocks)).astype(np.float32), quotes)


def _identity():
    import torch

    return torch.nn.Identity()


def cited_numbers(text: str) -> set[int]:
    """The block numbers that ``text``'s well-formed markers cite."""
    return {n for match in _VALID.finditer(text) for n in _expand(match.group(1))}


def _expand(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group.strip()):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            numbers.extend(range(lo, hi + 1) if 0 <= hi - lo <= 20 else [lo, hi])
        elif part.isdigit():
            numbers.append(int(part))
    return numbers


def _claim(sentence: str) -> str:
    """The sentence without citation markers."""
    bare = _VALID.sub("", _MALFORMED.sub("", sentence))
    return re.sub(r"[ \t]+([.!?,;:])", r"\1", bare).strip()


def cite(answer: str, blocks: Sequence[ContextBlock], scorer: SupportScorer, min_support: float) -> CitedText:
    """Check the answer's markers against ``blocks`` and their support, and cite uncited sentences (module docstring)."""
    given = {b.number: b for b in blocks}
    order = [b.number for b in blocks]
    dropped: list[dict[str, Any]] = []
    answer = _TRAILING_MARKERS.sub(r"\2\1", answer)
    sentences: list[Sentence] = split_sentences(answer)
    cited: list[list[int]] = []
    for sentence in sentences:
        numbers: list[int] = []
        for match in _VALID.finditer(sentence.text):
            for n in _expand(match.group(1)):
                if n in given:
                    if n not in numbers:
                        numbers.append(n)
                else:
                    dropped.append({"marker": f"[{n}]", "reason": f"no context block [{n}] was given"})
        for match in _MALFORMED.finditer(_VALID.sub("", sentence.text)):
            dropped.append({"marker": match.group(0), "reason": "malformed citation marker"})
        cited.append(numbers)
    claims = [_claim(s.text) for s in sentences]
    support = scorer.score(claims, list(blocks)) if sentences and blocks else SupportMatrix(np.zeros((len(claims), 0)),
                                                                                            [[]] * len(claims))
    best: dict[int, tuple[float, str]] = {}
    by_model: set[int] = set()
    pieces: list[str] = []
    last = 0
    for i, sentence in enumerate(sentences):
        row = support.scores[i] if blocks else np.zeros(0)
        keep: list[int] = []
        best_j = int(row.argmax()) if row.size else -1
        for n in cited[i]:
            s = float(row[order.index(n)])
            if s < min_support:
                dropped.append({"marker": f"[{n}]", "reason": f"block [{n}] does not support the sentence "
                                f"(support {s:.2f} < {min_support:.2f})"})
            elif float(row[best_j]) - s >= RETARGET_MARGIN and order[best_j] not in cited[i]:
                dropped.append({"marker": f"[{n}]", "reason": f"block [{order[best_j]}] supports the sentence far better "
                                f"({float(row[best_j]):.2f} vs {s:.2f})"})
            else:
                keep.append(n)
                by_model.add(n)
        if not keep and _is_claim(claims[i]) and row.size:
            j = int(row.argmax())
            if float(row[j]) >= min_support:
                keep.append(order[j])
        for n in keep:
            s = float(row[order.index(n)])
            if n not in best or s > best[n][0]:
                best[n] = (s, support.quotes[i][order.index(n)])
        pieces.append(answer[last:sentence.start])
        pieces.append(_with_markers(claims[i], keep))
        last = sentence.end
    pieces.append(answer[last:])
    text = "".join(pieces).strip()
    citations = [Citation(marker=n, doc_id=given[n].doc_id, chunk_id=given[n].chunk_id, source=given[n].source,
                          page=given[n].page, text=given[n].text, quote=quote, support=s,
                          origin="model" if n in by_model else "matched")
                 for n, (s, quote) in sorted(best.items())]
    return CitedText(text=text, citations=citations, dropped=dropped)


def _is_claim(sentence: str) -> bool:
    """Whether a sentence states something that needs a source (not a question, not a two-word aside)."""
    return not sentence.rstrip().endswith("?") and len(set(content_terms(sentence))) >= _MIN_CLAIM_TERMS


def _with_markers(claim: str, numbers: list[int]) -> str:
    if not numbers:
        return claim
    marks = "".join(f"[{n}]" for n in numbers)
    stripped = claim.rstrip()
    if stripped and stripped[-1] in ".!?:;":
        return f"{stripped[:-1].rstrip()} {marks}{stripped[-1]}"
    return f"{stripped} {marks}"


@dataclass
class SentenceSupport:
    """One claim sentence of an answer, the given blocks it cites, and how well the best of them supports it."""

    claim: str
    markers: list[int]
    support: float


def sentence_support(answer: str, blocks: Sequence[ContextBlock], scorer: SupportScorer) -> list[SentenceSupport]:
    """Score each claim sentence of ``answer`` against the blocks its markers cite (0.0 for a sentence citing none).

    Questions and two-word asides are not claims and are left out; markers to blocks not in ``blocks`` count as none.
    """
    given = {b.number: b for b in blocks}
    answer = _TRAILING_MARKERS.sub(r"\2\1", answer)
    rows: list[tuple[str, list[int]]] = []
    for sentence in split_sentences(answer):
        claim = _claim(sentence.text)
        if not _is_claim(claim):
            continue
        markers = [n for m in _VALID.finditer(sentence.text) for n in _expand(m.group(1)) if n in given]
        rows.append((claim, list(dict.fromkeys(markers))))
    cited = sorted({n for _, markers in rows for n in markers})
    if not rows or not cited:
        return [SentenceSupport(claim, markers, 0.0) for claim, markers in rows]
    matrix = scorer.score([claim for claim, _ in rows], [given[n] for n in cited]).scores
    return [SentenceSupport(claim, markers, max((float(matrix[i, cited.index(n)]) for n in markers), default=0.0))
            for i, (claim, markers) in enumerate(rows)]


def faithfulness(answer: str, blocks: Sequence[ContextBlock], scorer: SupportScorer, min_support: float) -> float | None:
    """Share of the answer's claim sentences that a block they cite supports at least ``min_support`` (None: no claims)."""
    rows = sentence_support(answer, blocks, scorer)
    if not rows:
        return None
    return sum(1 for r in rows if r.support >= min_support) / len(rows)
