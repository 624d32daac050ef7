"""Chunkers: structure-aware cutting of documents into retrievable pieces."""

from ragtune.documents.chunking.recursive import RecursiveChunker, count_tokens

__all__ = ["RecursiveChunker", "count_tokens"]
