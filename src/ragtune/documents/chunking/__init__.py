"""Chunkers: structure-aware cutting of documents into retrievable pieces."""

from ragtune.documents.chunking.context import HeaderChunker, document_header
from ragtune.documents.chunking.recursive import RecursiveChunker, count_tokens

__all__ = ["HeaderChunker", "RecursiveChunker", "count_tokens", "document_header"]
