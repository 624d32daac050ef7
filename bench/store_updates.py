"""One-document updates at 100k chunks: LanceDB and PostgreSQL + pgvector side by side.

Each store gets the same synthetic corpus (``bench/_synthetic.py``, 100,000 chunks in documents of 10, 384-d
vectors, no encoding) through ``Store.commit`` in batches, then seven one-document updates (a stored document
replaced by 10 new chunks) and one removal, each timed as one ``Store.commit`` call, and a hybrid-style pair of
searches after them. PostgreSQL runs in a local server started for the run (pgserver, as the tests do); its HNSW
and GIN indexes are maintained row by row inside each transaction.

    python bench/store_updates.py                   # -> bench/results/store_updates.json
    python bench/store_updates.py --chunks 20000    # a quicker run
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, finish  # noqa: E402 - offline, single-thread settings and the src path

import numpy as np
from _synthetic import CHUNKS_PER_DOC, DIM, Corpus, document_changes

RESULT = RESULTS / "store_updates.json"
BATCH_DOCS = 2000
UPDATES = 7


def _fill(store, chunks: int, corpus: Corpus, work: Path) -> dict:
    from ragtune.config import ChunkingConfig
    from ragtune.embeddings.base import EmbedderInfo
    from ragtune.index import IndexManifest, IngestEvent

    info = EmbedderInfo(spec=f"fake:{DIM}", name="fake", version="1", dimension=DIM)
    store.create(IndexManifest(name="bench", embedder=info, chunking=ChunkingConfig()))
    docs, took = chunks // CHUNKS_PER_DOC, 0.0
    for first in range(0, docs, BATCH_DOCS):
        _, changes, _ = document_changes(corpus, first, min(BATCH_DOCS, docs - first), work / "corpus.jsonl")
        t = time.perf_counter()
        store.commit("bench", changes, [], IngestEvent(added=len(changes)))
        took += time.perf_counter() - t
    return {"ingest_s": round(took, 1), "chunks": store.manifest("bench").chunks}


def _updates(store, chunks: int, corpus: Corpus, work: Path) -> dict:
    from ragtune.index import IngestEvent

    docs = chunks // CHUNKS_PER_DOC
    _, fresh, _ = document_changes(corpus, docs + 1000, UPDATES, work / "corpus.jsonl")
    times = []
    for n, change in enumerate(fresh):
        target, before = f"doc{(n * 7919) % docs}", change.record.doc_id
        change.record.doc_id = target
        for c in change.chunks:
            c.doc_id, c.chunk_id = target, c.chunk_id.replace(f"{before}#", f"{target}#")
        t = time.perf_counter()
        store.commit("bench", [change], [], IngestEvent(updated=1))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    store.commit("bench", [], [f"doc{docs - 1}"], IngestEvent(removed=1))
    removal = time.perf_counter() - t
    texts, vectors = corpus.queries(20)
    t = time.perf_counter()
    for text, vector in zip(texts, vectors):
        store.search_lexical("bench", text, 100)
        store.search_dense("bench", vector, 100)
    search_ms = (time.perf_counter() - t) / len(texts) * 1000
    assert store.manifest("bench").chunks == chunks - CHUNKS_PER_DOC
    return {"update_one_doc_s": {"p50": round(float(np.median(times)), 3), "min": round(min(times), 3),
                                 "max": round(max(times), 3), "all": [round(x, 3) for x in times]},
            "remove_one_doc_s": round(removal, 3), "lexical_plus_dense_k100_ms_after": round(search_ms, 1)}


def run_store(kind: str, chunks: int, corpus: Corpus) -> dict:
    from ragtune.config import IndexConfig

    work = Path(tempfile.mkdtemp(prefix=f"ragtune-updates-{kind}-"))
    server = store = None
    try:
        if kind == "lancedb":
            from ragtune.index.lancedb import LanceDBStore

            store = LanceDBStore(work / "home", IndexConfig())
        else:
            import pgserver

            from ragtune.index.pgvector import PgVectorStore

            server = pgserver.get_server(str(work / "pg"), cleanup_mode="stop")
            store = PgVectorStore(server.get_uri(), IndexConfig())
        load = round(os.getloadavg()[0], 2)
        return {"loadavg_1m_at_start": load, **_fill(store, chunks, corpus, work), **_updates(store, chunks, corpus, work)}
    finally:
        if kind == "postgresql" and store is not None:
            store.close()
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--stores", default="lancedb,postgresql")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    from ragtune.machine import apply_threads

    apply_threads(1)
    corpus = Corpus()
    report = {"benchmark": "store_updates", "chunks": args.chunks, "chunks_per_doc": CHUNKS_PER_DOC, "dimension": DIM,
              "threads": 1, "loadavg_start": list(os.getloadavg()), "stores": {}}
    for kind in args.stores.split(","):
        print(f"[{kind}] {args.chunks:,} chunks ...", file=sys.stderr, flush=True)
        report["stores"][kind] = result = run_store(kind, args.chunks, corpus)
        print(f"{kind:<11} ingest {result['ingest_s']:.1f} s; one-document update p50 {result['update_one_doc_s']['p50']:.3f} s "
              f"(max {result['update_one_doc_s']['max']:.3f}); removal {result['remove_one_doc_s']:.3f} s")
    return finish(args.out, report)


if __name__ == "__main__":
    sys.exit(main())
