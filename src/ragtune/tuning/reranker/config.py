"""Settings of a reranker fine-tune (``ragtune tune reranker``), validated once at the edge."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from ragtune.tuning.pair_config import PairTuneConfig


class RerankerLoss(str, Enum):
    """How a cross-encoder learns from positives and mined negatives."""

    bce = "bce"    # BinaryCrossEntropyLoss on (query, text, 0/1) rows, positives weighted by the negatives per pair
    mnrl = "mnrl"  # MultipleNegativesRankingLoss: the positive against its negatives and other queries' texts


class RerankerHead(str, Enum):
    """How a reranker started from a sentence-embedding backbone scores a pair."""

    segment_cosine = "segment-cosine"  # cosine of the mean query and passage tokens of the joint pass (starts useful)
    classifier = "classifier"          # a new sequence-classification layer on [CLS] (starts random)


class RerankerTuneConfig(PairTuneConfig):
    """Everything a reranker fine-tune needs besides the workspace."""

    loss: RerankerLoss = Field(RerankerLoss.mnrl, description="mnrl (listwise: the positive against its negatives and others' "
                               "texts; learns fastest) or bce (pointwise).")
    eval_candidates: int = Field(30, ge=1, description="First-stage candidates per held-out query that the reranker orders in "
                                                       "evaluation.")
    head: RerankerHead = Field(RerankerHead.segment_cosine, description="Scoring head when training starts from the embedder's "
                                                                        "backbone "
                               "(--base local); a cross-encoder base keeps its own.")
