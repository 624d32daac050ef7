"""Documents: loading files of every supported type, and chunking them."""

from ragtune.documents.base import Block, Chunk, Chunker, Document, Loader
from ragtune.documents.chunking import RecursiveChunker, count_tokens
from ragtune.documents.discovery import Skip, SourceFile, discover
from ragtune.documents.loaders import JsonlFields, loader_for, supported_suffixes

__all__ = ["Block", "Chunk", "Chunker", "Document", "JsonlFields", "Loader", "RecursiveChunker", "Skip", "SourceFile",
           "count_tokens", "discover", "loader_for", "supported_suffixes"]
