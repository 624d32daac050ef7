"""A synthetic corpus for the store benchmarks: documents of chunks with topic-shaped text and vectors.

Each document has a topic; its chunks' words are drawn partly from a Zipf distribution shared by all text
(s = 1.07, as in English) and partly from its topic's own Zipf ordering of the vocabulary, and its vectors lie
around the topic's centre. Topic centres cluster by area (50 areas, 1,000 topics), the way sentence embeddings
cluster by subject. Uniform random vectors would have no neighbourhood for any approximate index to find
(every point about as far as every other), and vectors of random text from the ``fake`` embedder barely more;
both are said in the README. Queries are drawn like chunks: a few words of a topic and a vector near its centre.

Everything is a function of the seed and the document number, so a batch can be made again in another process.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

DIM = 384
CHUNKS_PER_DOC = 10
WORDS_PER_CHUNK = 12
VOCABULARY = 50_000
TOPICS = 1000
AREAS = 50
SPREAD = 2.0  # norm of a vector's offset from its topic centre (the centre has norm 1)
TOPIC_SHARE = 0.5


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Corpus:
    """The synthetic corpus of one seed (see the module docstring)."""

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        lengths = rng.integers(4, 10, VOCABULARY)
        self.words = np.array(["".join(rng.choice(letters, n)) for n in lengths])
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.07
        self.probs = weights / weights.sum()
        areas = rng.standard_normal((AREAS, DIM)).astype(np.float32)
        area_of = rng.integers(0, AREAS, TOPICS)
        self.centres = _unit(_unit(areas)[area_of] + 0.7 * _unit(rng.standard_normal((TOPICS, DIM))))
        self.shift = rng.integers(0, VOCABULARY, TOPICS)  # each topic's own ordering of the vocabulary

    def _words(self, rng: np.random.Generator, topics: np.ndarray, count: int) -> list[str]:
        ranks = rng.choice(VOCABULARY, size=(len(topics), count), p=self.probs)
        own = rng.random((len(topics), count)) < TOPIC_SHARE
        ids = np.where(own, (ranks * 7919 + self.shift[topics, None]) % VOCABULARY, ranks)
        return [" ".join(row) for row in self.words[ids]]

    def _vectors(self, rng: np.random.Generator, topics: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal((len(topics), DIM)).astype(np.float32)
        return _unit(self.centres[topics] + SPREAD * _unit(noise))

    def documents(self, first: int, count: int) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Documents ``first`` .. ``first + count - 1``: each chunk's topic, text and vector (chunks in order)."""
        rng = np.random.default_rng((self.seed, first))
        topics = np.repeat(rng.integers(0, TOPICS, count), CHUNKS_PER_DOC)
        return topics, self._words(rng, topics, WORDS_PER_CHUNK), self._vectors(rng, topics)

    def queries(self, count: int, seed: int = 1) -> tuple[list[str], np.ndarray]:
        """``count`` queries: a few topic words (the most common words left out) and a vector near the topic."""
        rng = np.random.default_rng((self.seed, 1 << 40, seed))
        topics = rng.integers(0, TOPICS, count)
        texts = []
        for t in topics:
            ranks = 100 + rng.choice(VOCABULARY - 100, size=rng.integers(3, 7), p=_tail(self.probs))
            texts.append(" ".join(self.words[(ranks * 7919 + self.shift[t]) % VOCABULARY]))
        return texts, self._vectors(rng, topics)


def _tail(probs: np.ndarray) -> np.ndarray:
    tail = probs[100:]
    return tail / tail.sum()


def document_changes(corpus: Corpus, first: int, count: int, corpus_path: Path):
    """Documents ``first`` .. as JSONL lines (BEIR fields) and as the ``DocumentChange``s an ingest of that file at
    ``corpus_path`` would compare against (hashed by the JSONL loader), with their vectors."""
    from ragtune.documents.loaders.jsonl import JsonlLoader
    from ragtune.index import ChunkRecord, DocRecord, DocumentChange

    _, texts, vectors = corpus.documents(first, count)
    lines = [json.dumps({"_id": f"doc{first + d}", "title": f"Title {first + d}",
                         "text": "\n\n".join(texts[d * CHUNKS_PER_DOC:(d + 1) * CHUNKS_PER_DOC])}) for d in range(count)]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as tmp:
        tmp.write("\n".join(lines) + "\n")
    documents = list(JsonlLoader().load(Path(tmp.name), "batch"))
    os.unlink(tmp.name)
    origin, changes = str(corpus_path.resolve()), []
    for d, doc in enumerate(documents):
        source = f"{corpus_path}#{doc.doc_id}"
        rows = range(d * CHUNKS_PER_DOC, (d + 1) * CHUNKS_PER_DOC)
        chunks = [ChunkRecord(chunk_id=f"{doc.doc_id}#{i}", doc_id=doc.doc_id, position=i, text=texts[r], start=0,
                              end=len(texts[r]), page=None, headings=(f"Title {first + d}",), source=source,
                              doc_type="jsonl", metadata=doc.metadata) for i, r in enumerate(rows)]
        record = DocRecord(doc_id=doc.doc_id, source=source, origin=origin, hash=doc.content_hash, version=1,
                           chunks=len(chunks), doc_type="jsonl", metadata=doc.metadata)
        changes.append(DocumentChange(record=record, chunks=chunks, vectors=vectors[rows.start:rows.stop]))
    return lines, changes, vectors
