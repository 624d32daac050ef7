"""Training pairs for retrieval models: where they come from, hard negatives, and the held-out split.

Sources (one per run):

- a **pairs file**: JSONL rows ``{"query", "positive", "negative"}`` (``negative`` optional: a text or a list;
  ``anchor``/``question``, ``pos``/``passage`` and ``negatives`` are accepted too). Empty text is an error
  naming the file, line and field.
- a **BEIR folder**: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``; every judgement with a
  grade above 0 is a pair. Judgements naming a query or document the folder lacks are counted and reported
  (in the card and as a progress message), then left out.
- an **index**, without labels: sampled chunks become synthetic pairs. With a generator configured, it writes
  a question for each chunk; otherwise, offline, a chunk's title or heading (once per heading) is paired with
  its body, and its key sentence (the one with the rarest words) with the rest of the chunk (an inverse cloze
  task: the sentence is taken out of the positive).

Hard negatives come from an index, by BM25 and dense search through its ``Store`` (``negatives_from``; an
index source mines from itself), or, for a BEIR folder with no index, from BM25 over the folder's corpus.
The guard against false negatives drops a candidate that belongs to a document judged relevant to the
query, that nearly repeats a positive, or whose dense score reaches ``margin`` times the positive's (a
lexical-only candidate is bounded by the lowest dense score retrieved). Pairs short of negatives are
filled with positives of other queries.

The held-out split is a share of the queries (all pairs of a query stay on one side), evaluated against a
corpus of their positives, their retrieval candidates and sampled distractors.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragtune.documents.beir import read_beir_jsonl, read_qrels
from ragtune.documents.loaders.jsonl import jsonl_objects
from ragtune.embeddings.base import Embedder
from ragtune.errors import InputError
from ragtune.index.base import ChunkRecord, Store
from ragtune.retrieval.hybrid import rrf_fuse

Notify = Callable[[str], None]

_WORD = re.compile(r"\w+", re.UNICODE)
_QUERY_KEYS = ("query", "anchor", "question")
_POSITIVE_KEYS = ("positive", "pos", "passage")
_NEGATIVE_KEYS = ("negative", "negatives", "neg")


class PairsConfig(BaseModel):
    """Where training pairs come from, how negatives are mined, and what is held out."""

    model_config = ConfigDict(extra="forbid")

    pairs: Path | None = Field(None, description="JSONL of query/positive(/negative) rows.")
    beir: Path | None = Field(None, description="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")
    split: str = Field("train", description="Qrels split of a BEIR folder.")
    from_index: str | None = Field(None, description="Index whose chunks become synthetic pairs (no labels needed).")
    generator: str | None = Field(None, description="Model spec that writes synthetic questions; offline titles, headings and key sentences without one.")
    samples: int = Field(1000, ge=1, description="Chunks sampled for synthetic pairs.")
    negatives: int = Field(1, ge=0, le=32, description="Hard negatives per pair (0: in-batch negatives only).")
    negatives_from: str | None = Field(None, description="Index to mine negatives from (default: from_index; a BEIR folder alone mines its corpus with BM25).")
    mine_depth: int = Field(30, ge=2, le=1000, description="Candidates each search method returns per query when mining.")
    margin: float = Field(0.95, gt=0, le=1.0, description="False-negative guard: drop candidates whose dense score reaches margin x the positive's.")
    eval_fraction: float = Field(0.1, ge=0, lt=0.5, description="Share of queries held out for evaluation (0: none).")
    max_eval_queries: int = Field(200, ge=1, description="At most this many held-out queries.")
    eval_corpus_size: int = Field(1000, ge=10, description="Size of the held-out evaluation corpus: the held-out positives, an equal share of hard candidates per query, then random distractors.")
    seed: int = Field(0, description="Seed for sampling, the split and filling negatives.")

    @model_validator(mode="after")
    def _one_source(self) -> "PairsConfig":
        given = [n for n, v in (("pairs", self.pairs), ("beir", self.beir), ("from_index", self.from_index)) if v]
        if len(given) != 1:
            raise ValueError("give exactly one source of pairs: a pairs file, a BEIR folder or an index"
                             + (f" (got {', '.join(given)})" if given else ""))
        if self.generator and not self.from_index:
            raise ValueError("a generator writes questions for the chunks of an index: it needs from_index")
        return self

    @property
    def mining_index(self) -> str | None:
        return self.negatives_from or self.from_index

    def describe(self) -> tuple[str, str]:
        """``(format, where)`` of the source, for the card."""
        if self.pairs:
            return "pairs", str(self.pairs)
        if self.beir:
            return "beir", f"{self.beir}#{self.split}"
        return "index", f"index:{self.from_index}"


@dataclass
class Pair:
    """A query with one relevant text, and negatives for it. ``positive_doc`` groups positives of one document."""

    query_id: str
    query: str
    positive_id: str
    positive: str
    negatives: list[str] = field(default_factory=list)
    positive_doc: str | None = None
    where: str = ""


@dataclass
class PairData:
    """Prepared pairs: the training ones, the held-out ones with their evaluation corpus, and what happened."""

    format: str
    where: str
    train: list[Pair]
    held_out: list[Pair] = field(default_factory=list)
    corpus: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Held-out query id -> its first-stage candidates in retrieval order, positives included: [id, text, relevant].
    first_stage: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)

    @property
    def relevant(self) -> dict[str, set[str]]:
        """Held-out query id -> ids of its positives in ``corpus``."""
        out: dict[str, set[str]] = {}
        for p in self.held_out:
            out.setdefault(p.query_id, set()).add(p.positive_id)
        return out

    @property
    def held_out_queries(self) -> dict[str, str]:
        return {p.query_id: p.query for p in self.held_out}

    @property
    def sha256(self) -> str:
        """Hash of the prepared pairs (train and held out, negatives included): the card's data hash."""
        body = json.dumps([[asdict(p) for p in self.train], [asdict(p) for p in self.held_out]], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "where": self.where, "train": [asdict(p) for p in self.train],
                "held_out": [asdict(p) for p in self.held_out], "corpus": self.corpus, "candidates": self.candidates,
                "counts": self.counts, "notes": self.notes, "first_stage": self.first_stage}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PairData":
        return cls(format=data["format"], where=data["where"], train=[Pair(**p) for p in data["train"]],
                   held_out=[Pair(**p) for p in data["held_out"]], corpus=data["corpus"], candidates=data["candidates"],
                   counts=data["counts"], notes=data["notes"],
                   first_stage={q: [(c[0], c[1], bool(c[2])) for c in ranked] for q, ranked in data.get("first_stage", {}).items()})


# --- sources ------------------------------------------------------------------------------------------


def _text_id(text: str) -> str:
    return "t" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _field(row: dict[str, Any], keys: Sequence[str]) -> tuple[str, Any]:
    for key in keys:
        if key in row:
            return key, row[key]
    return keys[0], None


def read_pairs(path: str | Path) -> list[Pair]:
    """Pairs from a JSONL file; a bad row (not JSON, a missing or empty text) is an ``InputError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    pairs: list[Pair] = []
    for number, row in jsonl_objects(path, "a JSON object with 'query' and 'positive'"):
        where = f"{path}:{number}"
        texts = {}
        for keys in (_QUERY_KEYS, _POSITIVE_KEYS):
            key, value = _field(row, keys)
            if value is None:
                raise InputError(f"{where}: field '{key}' is missing")
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{where}: field '{key}' is empty" if isinstance(value, str) else f"{where}: field '{key}' must be text")
            texts[keys[0]] = value.strip()
        key, negs = _field(row, _NEGATIVE_KEYS)
        negs = [] if negs is None else [negs] if isinstance(negs, str) else negs
        if not isinstance(negs, list) or any(not isinstance(n, str) or not n.strip() for n in negs):
            raise InputError(f"{where}: field '{key}' must be a non-empty text or a list of them")
        query, positive = texts["query"], texts["positive"]
        pairs.append(Pair(query_id=str(row.get("query_id") or _text_id(query)), query=query,
                          positive_id=str(row.get("positive_id") or _text_id(positive)), positive=positive,
                          negatives=[n.strip() for n in negs], positive_doc=row.get("positive_id"), where=where))
    if not pairs:
        raise InputError(f"{path}: no pairs")
    return pairs


def beir_pairs(folder: str | Path, split: str = "train") -> tuple[list[Pair], dict[str, str], dict[str, int], list[str]]:
    """Pairs of a BEIR folder's qrels split, its corpus (``title\\ntext``), counts, and notes on unknown ids."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        known = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise InputError(f"{qrels_path}: missing (splits here: {', '.join(known) or 'none'})")
    qrels = read_qrels(qrels_path)
    corpus = read_beir_jsonl(folder / "corpus.jsonl", title=True)
    queries = read_beir_jsonl(folder / "queries.jsonl")
    pairs: list[Pair] = []
    unknown_q: list[str] = []
    unknown_d: list[str] = []
    judged = 0
    for qid, docs in qrels.items():
        for did, grade in docs.items():
            if grade <= 0:
                continue
            judged += 1
            if qid not in queries:
                unknown_q.append(qid)
            elif did not in corpus:
                unknown_d.append(did)
            elif not queries[qid].strip() or not corpus[did].strip():
                raise InputError(f"{folder}: query '{qid}' or document '{did}' has empty text")
            else:
                pairs.append(Pair(query_id=qid, query=queries[qid], positive_id=did, positive=corpus[did], positive_doc=did,
                                  where=f"{qrels_path.name}:{qid}/{did}"))
    notes = []
    if unknown_q:
        notes.append(f"{qrels_path}: {len(unknown_q)} judgement(s) name queries missing from queries.jsonl "
                     f"(e.g. '{unknown_q[0]}'); left out")
    if unknown_d:
        notes.append(f"{qrels_path}: {len(unknown_d)} judgement(s) name documents missing from corpus.jsonl "
                     f"(e.g. '{unknown_d[0]}'); left out")
    if not pairs:
        raise InputError(f"{qrels_path}: no usable judgement ({judged} with a grade above 0; "
                         f"{len(unknown_q)} name unknown queries, {len(unknown_d)} unknown documents)")
    counts = {"judgements": judged, "unknown_queries": len(unknown_q), "unknown_documents": len(unknown_d)}
    return pairs, corpus, counts, notes


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def key_sentence(text: str, idf: dict[str, float], default_idf: float) -> tuple[str, str] | None:
    """``(sentence, rest)``: the sentence of ``text`` with the rarest words (mean IDF) and the text without it."""
    from ragtune.generation.text import split_sentences

    best, best_score = None, -1.0
    for s in split_sentences(text):
        words = _words(s.text)
        if not 5 <= len(words) <= 60:
            continue
        score = sum(idf.get(w, default_idf) for w in words) / len(words)
        if score > best_score:
            best, best_score = s, score
    if best is None:
        return None
    rest = (text[:best.start] + text[best.end:]).strip()
    return (best.text, rest) if len(_words(rest)) >= 8 else None


_QUESTION_PROMPT = ("Write one short search query that a user could type to find the passage below. It must be answerable "
                    "from the passage. Reply with the query only.\n\nPassage:\n{text}")


def _clean_question(text: str) -> str | None:
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:\d+[.)]|[-*]|query:|question:)\s*", "", line, flags=re.IGNORECASE).strip().strip('"').strip()
    return line if 3 <= len(_words(line)) <= 64 else None


def synthetic_pairs(chunks: list[ChunkRecord], samples: int, seed: int, generator: Any = None,
                    notify: Notify | None = None) -> tuple[list[Pair], dict[str, int]]:
    """Synthetic pairs from sampled chunks (see the module docstring); ``generator`` writes questions when given."""
    rng = random.Random(seed)
    usable = [c for c in chunks if len(_words(c.text)) >= 12]
    picked = rng.sample(usable, min(samples, len(usable)))
    df: Counter[str] = Counter()
    for c in chunks:
        df.update(set(_words(c.text)))
    n = max(1, len(chunks))
    idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in df.items()}
    default_idf = math.log(n + 1)
    pairs: list[Pair] = []
    counts = Counter()
    seen_heads: set[tuple[str, str]] = set()
    options = None
    for i, c in enumerate(picked, start=1):
        if generator is not None:
            from ragtune.generation.base import GenerateOptions, Prompt

            options = options or GenerateOptions(max_new_tokens=48, temperature=0.0, stop=["\n\n"])
            try:
                reply = generator.generate(Prompt(messages=[{"role": "user", "content": _QUESTION_PROMPT.format(text=c.index_text)}]), options)
                question = _clean_question(reply.text)
            except Exception as exc:  # noqa: BLE001 - a failed call falls back to the offline pairs for this chunk
                question, counts["generator_errors"] = None, counts["generator_errors"] + 1
                if counts["generator_errors"] == 1 and notify:
                    notify(f"the generator failed ({type(exc).__name__}: {exc}); falling back to offline pairs where it fails")
            if question:
                pairs.append(Pair(query_id=f"{c.chunk_id}~q", query=question, positive_id=c.chunk_id, positive=c.index_text,
                                  positive_doc=c.doc_id, where=c.chunk_id))
                counts["generated"] += 1
                continue
            counts["generator_rejected"] += 1
        if c.headings:
            head = c.headings[-1].strip()
            if len(_words(head)) >= 3 and (c.doc_id, head) not in seen_heads:
                seen_heads.add((c.doc_id, head))
                pairs.append(Pair(query_id=f"{c.chunk_id}~h", query=head, positive_id=f"{c.chunk_id}~h", positive=c.text,
                                  positive_doc=c.doc_id, where=c.chunk_id))
                counts["heading"] += 1
        found = key_sentence(c.text, idf, default_idf)
        if found:
            sentence, rest = found
            body = (" / ".join(c.headings) + "\n" + rest) if c.headings else rest
            pairs.append(Pair(query_id=f"{c.chunk_id}~s", query=sentence, positive_id=f"{c.chunk_id}~s", positive=body,
                              positive_doc=c.doc_id, where=c.chunk_id))
            counts["key_sentence"] += 1
        if notify and i % 200 == 0:
            notify(f"synthetic pairs: {i}/{len(picked)} chunks")
    counts["chunks_sampled"] = len(picked)
    return pairs, dict(counts)


# --- hard negatives -----------------------------------------------------------------------------------


@dataclass
class Candidate:
    """A retrieval candidate for a query: its id, document, text and the dense score where one is known."""

    id: str
    doc_id: str
    text: str
    dense: float | None = None


class CandidateSearch(Protocol):
    """Finds candidates for queries; ``dense_positive`` scores positives the way ``search`` scores candidates."""

    def size(self) -> tuple[int, int]: ...

    def search(self, queries: list[str], depth: int) -> list[tuple[list[Candidate], float | None]]: ...

    def dense_positive(self, queries: list[str], positives: list[str]) -> list[float] | None: ...


class IndexCandidates:
    """Candidates from an index through its ``Store``: BM25 and dense rankings fused by RRF."""

    def __init__(self, store: Store, index: str, embedder: Embedder) -> None:
        self.store, self.index, self.embedder = store, index, embedder

    def size(self) -> tuple[int, int]:
        m = self.store.manifest(self.index)
        return m.documents, m.chunks

    def search(self, queries: list[str], depth: int) -> list[tuple[list[Candidate], float | None]]:
        vectors = self.embedder.embed_queries(queries) if queries else []
        out = []
        for query, vector in zip(queries, vectors):
            dense = self.store.search_dense(self.index, vector, depth)
            lexical = self.store.search_lexical(self.index, query, depth)
            fused = rrf_fuse({"dense": dense, "lexical": lexical}, {}, 60)
            records = self.store.get_chunks(self.index, [cid for cid, _, _ in fused])
            out.append(([Candidate(r.chunk_id, r.doc_id, r.index_text, parts.get("dense")) for r, (_, _, parts) in zip(records, fused)],
                        dense[-1][1] if len(dense) >= depth else None))
        return out

    def dense_positive(self, queries: list[str], positives: list[str]) -> list[float] | None:
        q = self.embedder.embed_queries(queries)
        p = self.embedder.embed_documents(positives)
        return [float(s) for s in np.einsum("ij,ij->i", q, p)]


class CorpusCandidates:
    """Candidates from a corpus held in memory (a BEIR folder's), by BM25 alone."""

    def __init__(self, corpus: dict[str, str]) -> None:
        from ragtune.index.bm25 import BM25Index

        self.ids = list(corpus)
        self.texts = [corpus[i] for i in self.ids]
        self.bm25 = BM25Index().build(self.texts)

    def size(self) -> tuple[int, int]:
        return len(self.ids), len(self.ids)

    def search(self, queries: list[str], depth: int) -> list[tuple[list[Candidate], float | None]]:
        out = []
        for query in queries:
            scores = self.bm25.scores(query)
            top = np.argsort(-scores, kind="stable")[:depth]
            out.append(([Candidate(self.ids[i], self.ids[i], self.texts[i]) for i in top if scores[i] > 0], None))
        return out

    def dense_positive(self, queries: list[str], positives: list[str]) -> list[float] | None:
        return None


def _normal(text: str) -> str:
    return " ".join(_words(text))


def near_duplicate(a: str, b: str) -> bool:
    """True when one text contains the other or they share 80% of their words."""
    na, nb = _normal(a), _normal(b)
    if not na or not nb:
        return na == nb
    if na in nb or nb in na:
        return True
    wa, wb = set(na.split()), set(nb.split())
    return len(wa & wb) / len(wa | wb) >= 0.8


def mine_negatives(pairs: list[Pair], search: CandidateSearch, *, negatives: int, depth: int, margin: float,
                   notify: Notify | None = None) -> tuple[dict[str, list[Candidate]], dict[str, int]]:
    """Add up to ``negatives`` mined negatives to every pair (in place), with the false-negative guard.

    Returns each query's candidates (fused order, positives included) and counts of what the guard dropped.
    """
    docs, chunks = search.size()
    if chunks < negatives + 2 or docs < 2:
        raise InputError(f"the index to mine negatives from holds {docs} document(s) and {chunks} chunk(s): too few "
                         f"(at least 2 documents and {negatives + 2} chunks); add documents, or pass --negatives 0")
    by_query: dict[str, list[Pair]] = {}
    for p in pairs:
        by_query.setdefault(p.query_id, []).append(p)
    qids = list(by_query)
    pos_dense = search.dense_positive([p.query for p in pairs], [p.positive for p in pairs])
    pos_score = {id(p): s for p, s in zip(pairs, pos_dense)} if pos_dense is not None else {}
    found: dict[str, list[Candidate]] = {}
    counts = Counter()
    step = 64
    for start in range(0, len(qids), step):
        batch = qids[start:start + step]
        results = search.search([by_query[q][0].query for q in batch], depth)
        for qid, (cands, floor) in zip(batch, results):
            group = by_query[qid]
            found[qid] = cands
            relevant_docs = {p.positive_doc for p in group if p.positive_doc}
            for p in group:
                limit = margin * pos_score[id(p)] if id(p) in pos_score else None
                kept = list(p.negatives)
                for c in cands:
                    if len(kept) >= max(negatives, len(p.negatives)):
                        break
                    if c.doc_id in relevant_docs or c.id in {q.positive_id for q in group}:
                        continue
                    if any(near_duplicate(c.text, q.positive) for q in group):
                        counts["guard_duplicate"] += 1
                        continue
                    score = c.dense if c.dense is not None else floor
                    if limit is not None and score is not None and score >= limit:
                        counts["guard_margin"] += 1
                        continue
                    if c.text not in kept:
                        kept.append(c.text)
                        counts["mined"] += 1
                p.negatives = kept
        if notify and len(qids) > step:
            notify(f"mining negatives: {min(start + step, len(qids))}/{len(qids)} queries")
    return found, dict(counts)


def fill_negatives(pairs: list[Pair], n: int, seed: int) -> int:
    """Give every pair exactly ``n`` negatives, filling with positives of other queries; returns how many were filled."""
    if n <= 0:
        for p in pairs:
            p.negatives = []
        return 0
    rng = random.Random(seed)
    filled = 0
    for p in pairs:
        p.negatives = p.negatives[:n]
        tries = 0
        while len(p.negatives) < n and tries < 50 and len(pairs) > 1:
            tries += 1
            other = rng.choice(pairs)
            if other.query_id != p.query_id and other.positive not in p.negatives and not near_duplicate(other.positive, p.positive):
                p.negatives.append(other.positive)
                filled += 1
    return filled


# --- the whole preparation ------------------------------------------------------------------------------


def split_queries(pairs: list[Pair], fraction: float, max_queries: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """``(train, held_out)``: a seeded share of the queries, every pair of a query on one side (none below 10 queries)."""
    qids = sorted({p.query_id for p in pairs})
    if fraction <= 0 or len(qids) < 10:
        return list(pairs), []
    random.Random(seed).shuffle(qids)
    held = set(qids[:min(max_queries, max(1, round(fraction * len(qids))))])
    return [p for p in pairs if p.query_id not in held], [p for p in pairs if p.query_id in held]


def _dedupe(pairs: list[Pair]) -> tuple[list[Pair], int]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in pairs:
        key = (p.query_id, p.positive_id)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out, len(pairs) - len(out)


def build_pairs(config: PairsConfig, *, store: Store | None = None, embedder_for: Callable[[str], Embedder] | None = None,
                generator: Any = None, notify: Notify | None = None) -> PairData:
    """Read or make the pairs ``config`` names, mine their negatives, and hold out a share for evaluation."""
    say = notify or (lambda message: None)
    fmt, where = config.describe()
    counts: dict[str, int] = {}
    notes: list[str] = []
    pool: dict[str, str] = {}
    pool_docs: dict[str, str] = {}
    if config.pairs:
        pairs = read_pairs(config.pairs)
        for p in pairs:
            pool[p.positive_id] = p.positive
    elif config.beir:
        pairs, corpus, counts, notes = beir_pairs(config.beir, config.split)
        pool = corpus
        pool_docs = {d: d for d in corpus}
    else:
        if store is None:
            raise InputError("synthetic pairs need the workspace's store")
        chunks = store.all_chunks(config.from_index)
        if not chunks:
            raise InputError(f"index '{config.from_index}' holds no chunks to make pairs from")
        say(f"writing synthetic pairs for up to {config.samples} chunks of '{config.from_index}'"
            + (f" with {getattr(generator, 'spec', 'a generator')}" if generator is not None else " (offline: headings and key sentences)"))
        pairs, counts = synthetic_pairs(chunks, config.samples, config.seed, generator, say)
        if not pairs:
            raise InputError(f"index '{config.from_index}': no chunk gave a synthetic pair (chunks are too short)")
        pool = {c.chunk_id: c.index_text for c in chunks}
        pool_docs = {c.chunk_id: c.doc_id for c in chunks}
    for note in notes:
        say(note)
    pairs, duplicates = _dedupe(pairs)
    train, held = split_queries(pairs, config.eval_fraction, config.max_eval_queries, config.seed)
    search: CandidateSearch | None = None
    if config.mining_index:
        if store is None or embedder_for is None:
            raise InputError("mining negatives from an index needs the workspace's store")
        search = IndexCandidates(store, config.mining_index, embedder_for(config.mining_index))
    elif config.beir and (config.negatives or held):
        search = CorpusCandidates(pool)
    candidates: dict[str, list[str]] = {}
    first_stage: dict[str, list[tuple[str, str, bool]]] = {}
    corpus: dict[str, str] = {}
    mined: dict[str, int] = {}
    if search is not None and (config.negatives or held):
        say(f"mining hard negatives ({'BM25 + dense from index ' + repr(config.mining_index) if config.mining_index else 'BM25 over the corpus'})")
        found, mined = mine_negatives(train + held, search, negatives=config.negatives, depth=config.mine_depth,
                                      margin=config.margin, notify=say)
        held_docs = {p.positive_doc for p in held if p.positive_doc} | {p.positive_id for p in held}
        held_qids = sorted({p.query_id for p in held})
        per_query = max(1, min(config.mine_depth, (config.eval_corpus_size - len(held)) // max(1, len(held_qids))))
        for qid in held_qids:
            group = [p for p in held if p.query_id == qid]
            ids, docs = {p.positive_id for p in group}, {p.positive_doc for p in group if p.positive_doc}
            first_stage[qid] = [(c.id, c.text, c.id in ids or c.doc_id in docs or any(near_duplicate(c.text, p.positive) for p in group))
                                for c in found.get(qid, [])]
            # Hard distractors of a held-out query: its best candidates (the corpus budget shared between the queries),
            # less anything of a held-out positive's document.
            hard = [c for c in found.get(qid, []) if c.doc_id not in held_docs and c.id not in held_docs][:per_query]
            candidates[qid] = [c.id for c in hard]
            corpus.update({c.id: c.text for c in hard})
            pool_docs.update({c.id: c.doc_id for c in found.get(qid, [])})
    filled = fill_negatives(train, config.negatives, config.seed)
    for p in held:
        p.negatives = []
    if held:
        held_docs = {p.positive_doc for p in held if p.positive_doc}
        corpus.update({p.positive_id: p.positive for p in held})
        extra = [i for i in sorted(pool) if i not in corpus and pool_docs.get(i) not in held_docs]
        random.Random(config.seed).shuffle(extra)
        for i in extra[:max(0, config.eval_corpus_size - len(corpus))]:
            corpus[i] = pool[i]
    counts = {**counts, "pairs": len(pairs), "queries": len({p.query_id for p in pairs}), "duplicates_dropped": duplicates,
              "train_pairs": len(train), "held_out_pairs": len(held), "held_out_queries": len({p.query_id for p in held}),
              "eval_corpus": len(corpus), "negatives_mined": mined.get("mined", 0),
              "negatives_guarded": mined.get("guard_margin", 0) + mined.get("guard_duplicate", 0), "negatives_filled": filled}
    if not held:
        notes.append("no held-out split (fewer than 10 queries, or eval_fraction 0): before/after scores are not measured")
        say(notes[-1])
    return PairData(format=fmt, where=where, train=train, held_out=held, corpus=corpus, candidates=candidates,
                    counts=counts, notes=notes, first_stage=first_stage)
