"""The whole preparation: read or make the pairs, mine their negatives, and hold out a share for evaluation."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from ragtune.embeddings.base import Embedder
from ragtune.errors import InputError
from ragtune.index.base import Store
from ragtune.tuning.pairs.base import Notify, Pair, PairData, PairsConfig
from ragtune.tuning.pairs.negatives import (Candidate, CandidateSearch, CorpusCandidates, IndexCandidates, fill_negatives,
                                            mine_negatives, near_duplicate)
from ragtune.tuning.pairs.sources import beir_pairs, read_pairs, synthetic_pairs


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


@dataclass
class _Source:
    """The pairs of a source, the texts its evaluation corpus may draw on (id -> text, id -> document), counts and notes."""

    pairs: list[Pair]
    pool: dict[str, str]
    pool_docs: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _read_source(config: PairsConfig, store: Store | None, generator: Any, say: Notify) -> _Source:
    """The pairs of the file, BEIR folder or index ``config`` names."""
    if config.pairs:
        pairs = read_pairs(config.pairs)
        return _Source(pairs, {p.positive_id: p.positive for p in pairs})
    if config.beir:
        pairs, corpus, counts, notes = beir_pairs(config.beir, config.split)
        return _Source(pairs, corpus, {d: d for d in corpus}, counts, notes)
    if store is None:
        raise InputError("synthetic pairs need the workspace's store")
    assert config.from_index is not None  # PairsConfig holds exactly one source
    chunks = store.all_chunks(config.from_index)
    if not chunks:
        raise InputError(f"index '{config.from_index}' holds no chunks to make pairs from")
    say(f"writing synthetic pairs for up to {config.samples} chunks of '{config.from_index}'"
        + (f" with {getattr(generator, 'spec', 'a generator')}" if generator is not None else " (offline: headings and key "
                                                                                              "sentences)"))
    pairs, counts = synthetic_pairs(chunks, config.samples, config.seed, generator, say)
    if not pairs:
        raise InputError(f"index '{config.from_index}': no chunk gave a synthetic pair (chunks are too short)")
    return _Source(pairs, {c.chunk_id: c.index_text for c in chunks}, {c.chunk_id: c.doc_id for c in chunks}, counts)


def _candidate_search(config: PairsConfig, store: Store | None, embedder_for: Callable[[str], Embedder] | None,
                      pool: dict[str, str], held: list[Pair]) -> CandidateSearch | None:
    """Where negatives and held-out candidates are searched: the mining index, a BEIR corpus, or nowhere."""
    if config.mining_index:
        if store is None or embedder_for is None:
            raise InputError("mining negatives from an index needs the workspace's store")
        return IndexCandidates(store, config.mining_index, embedder_for(config.mining_index))
    if config.beir and (config.negatives or held):
        return CorpusCandidates(pool)
    return None


@dataclass
class _HeldOut:
    """The held-out queries' evaluation corpus, hard candidates and first-stage lists."""

    corpus: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    first_stage: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)


def _held_out_candidates(held: list[Pair], found: dict[str, list[Candidate]], config: PairsConfig,
                         pool_docs: dict[str, str]) -> _HeldOut:
    """Each held-out query's first-stage list and hard distractors (``pool_docs`` learns the candidates' documents)."""
    out = _HeldOut()
    held_docs = {p.positive_doc for p in held if p.positive_doc} | {p.positive_id for p in held}
    held_qids = sorted({p.query_id for p in held})
    per_query = max(1, min(config.mine_depth, (config.eval_corpus_size - len(held)) // max(1, len(held_qids))))
    for qid in held_qids:
        group = [p for p in held if p.query_id == qid]
        ids, docs = {p.positive_id for p in group}, {p.positive_doc for p in group if p.positive_doc}
        out.first_stage[qid] = [(c.id, c.text, c.id in ids or c.doc_id in docs or any(near_duplicate(c.text,
                                                                                                     p.positive) for p in group))
                                for c in found.get(qid, [])]
        # Hard distractors of a held-out query: its best candidates (the corpus budget shared between the queries),
        # less anything of a held-out positive's document.
        hard = [c for c in found.get(qid, []) if c.doc_id not in held_docs and c.id not in held_docs][:per_query]
        out.candidates[qid] = [c.id for c in hard]
        out.corpus.update({c.id: c.text for c in hard})
        pool_docs.update({c.id: c.doc_id for c in found.get(qid, [])})
    return out


def _add_distractors(corpus: dict[str, str], held: list[Pair], source: _Source, config: PairsConfig) -> None:
    """Complete the evaluation corpus: the held-out positives, then random texts of other documents up to its size."""
    held_docs = {p.positive_doc for p in held if p.positive_doc}
    corpus.update({p.positive_id: p.positive for p in held})
    extra = [i for i in sorted(source.pool) if i not in corpus and source.pool_docs.get(i) not in held_docs]
    random.Random(config.seed).shuffle(extra)
    for i in extra[:max(0, config.eval_corpus_size - len(corpus))]:
        corpus[i] = source.pool[i]


def build_pairs(config: PairsConfig, *, store: Store | None = None, embedder_for: Callable[[str], Embedder] | None = None,
                generator: Any = None, notify: Notify | None = None) -> PairData:
    """Read or make the pairs ``config`` names, mine their negatives, and hold out a share for evaluation."""
    say = notify or (lambda message: None)
    fmt, where = config.describe()
    source = _read_source(config, store, generator, say)
    notes = source.notes
    for note in notes:
        say(note)
    pairs, duplicates = _dedupe(source.pairs)
    train, held = split_queries(pairs, config.eval_fraction, config.max_eval_queries, config.seed)
    search = _candidate_search(config, store, embedder_for, source.pool, held)
    heldout = _HeldOut()
    mined: dict[str, int] = {}
    if search is not None and (config.negatives or held):
        say("mining hard negatives "
            f"({'BM25 + dense from index ' + repr(config.mining_index) if config.mining_index else 'BM25 over the corpus'})")
        found, mined = mine_negatives(train + held, search, negatives=config.negatives, depth=config.mine_depth,
                                      margin=config.margin, notify=say)
        heldout = _held_out_candidates(held, found, config, source.pool_docs)
    filled = fill_negatives(train, config.negatives, config.seed)
    for p in held:
        p.negatives = []
    if held:
        _add_distractors(heldout.corpus, held, source, config)
    counts = {**source.counts, "pairs": len(pairs), "queries": len({p.query_id for p in pairs}), "duplicates_dropped": duplicates,
              "train_pairs": len(train), "held_out_pairs": len(held), "held_out_queries": len({p.query_id for p in held}),
              "eval_corpus": len(heldout.corpus), "negatives_mined": mined.get("mined", 0),
              "negatives_guarded": mined.get("guard_margin", 0) + mined.get("guard_duplicate", 0), "negatives_filled": filled}
    if not held:
        notes.append("no held-out split (fewer than 10 queries, or eval_fraction 0): before/after scores are not measured")
        say(notes[-1])
    return PairData(format=fmt, where=where, train=train, held_out=held, corpus=heldout.corpus, candidates=heldout.candidates,
                    counts=counts, notes=notes, first_stage=heldout.first_stage)
