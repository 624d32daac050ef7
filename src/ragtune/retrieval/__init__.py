"""Retrievers: lexical (BM25), dense (embeddings) and hybrid (fused); cross-encoder reranking."""

from ragtune.retrieval.base import Reranker, Retriever, ScoredChunk
from ragtune.retrieval.bm25 import LexicalRetriever
from ragtune.retrieval.dense import DenseRetriever
from ragtune.retrieval.hybrid import HybridRetriever, convex_fuse, rrf_fuse
from ragtune.retrieval.rerank import CrossEncoderReranker, RerankerFactory, load_reranker, register_reranker, rerankers

__all__ = ["CrossEncoderReranker", "DenseRetriever", "HybridRetriever", "LexicalRetriever", "Reranker", "RerankerFactory",
           "Retriever", "ScoredChunk", "convex_fuse", "load_reranker", "register_reranker", "rerankers", "rrf_fuse"]
