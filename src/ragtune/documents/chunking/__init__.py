"""Chunkers: structure-aware cutting of documents into retrievable pieces."""

from ragtune.documents.chunking.context import HeaderChunker, SituatingSummary, SummaryChunker, document_header
from ragtune.documents.chunking.recursive import RecursiveChunker, count_tokens

__all__ = ["HeaderChunker", "RecursiveChunker", "SituatingSummary", "SummaryChunker", "count_tokens", "document_header"]
