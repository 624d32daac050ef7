"""Retrievers: lexical (BM25), dense (embeddings) and hybrid (fused)."""

from ragtune.retrieval.base import Retriever, ScoredChunk
from ragtune.retrieval.bm25 import LexicalRetriever
from ragtune.retrieval.dense import DenseRetriever
from ragtune.retrieval.hybrid import HybridRetriever, convex_fuse, rrf_fuse

__all__ = ["DenseRetriever", "HybridRetriever", "LexicalRetriever", "Retriever", "ScoredChunk", "convex_fuse", "rrf_fuse"]
