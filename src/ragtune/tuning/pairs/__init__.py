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

The modules: ``base`` (``PairsConfig``, ``Pair``, ``PairData``), ``sources`` (file, BEIR, synthetic), ``negatives``
(candidate search, mining and its guard, filling) and ``build`` (the held-out split and ``build_pairs``).
"""

from ragtune.tuning.pairs.base import Notify, Pair, PairData, PairsConfig
from ragtune.tuning.pairs.build import build_pairs, split_queries
from ragtune.tuning.pairs.negatives import (Candidate, CandidateSearch, CorpusCandidates, IndexCandidates, fill_negatives,
                                            mine_negatives, near_duplicate)
from ragtune.tuning.pairs.sources import beir_pairs, key_sentence, read_pairs, synthetic_pairs

__all__ = ["Candidate", "CandidateSearch", "CorpusCandidates", "IndexCandidates", "Notify", "Pair", "PairData", "PairsConfig",
           "beir_pairs", "build_pairs", "fill_negatives", "key_sentence", "mine_negatives", "near_duplicate", "read_pairs",
           "split_queries", "synthetic_pairs"]
