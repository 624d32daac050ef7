"""The measurements behind the retrieval defaults: chunk size and hybrid fusion on SciFact.

For each chunk budget the corpus is ingested through ``Workspace.ingest`` and every mode evaluated
(nDCG@10, Recall@100 as in ``bench/retrieval_scifact.py``); for each, a grid of fusions (RRF constants
and weights, convex combinations, candidate counts) is evaluated on the same index. Embeddings are cached
by text (``--cache``), so a rerun costs minutes, not the hour of encoding a first run takes on 2 cores.
It is not part of ``make bench``; its results are in ``bench/results/retrieval_sweep.json``.

    python bench/tuning/retrieval_sweep.py --cache ~/.cache/ragtune-bench
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import retrieval_scifact as bench  # noqa: E402  (sets thread variables before torch loads)

import numpy as np  # noqa: E402

RESULTS = bench.HERE / "results" / "retrieval_sweep.json"
CHUNK_BUDGETS = (128, 200, 256, 512)
FUSIONS = [
    {"fusion": "rrf", "rrf_k": 60},
    {"fusion": "rrf", "rrf_k": 20},
    {"fusion": "rrf", "rrf_k": 60, "lexical_weight": 1.0, "dense_weight": 0.7},
    {"fusion": "rrf", "rrf_k": 60, "candidates": 30},
    *[{"fusion": "convex", "lexical_weight": round(1 - a, 2), "dense_weight": a} for a in (0.3, 0.4, 0.5, 0.6, 0.7)],
    {"fusion": "convex", "lexical_weight": 0.5, "dense_weight": 0.5, "candidates": 30},
    {"fusion": "convex", "lexical_weight": 0.5, "dense_weight": 0.5, "candidates": 300},
]


class CachedEmbedder:
    """The bundled MiniLM, with vectors cached on disk by text (sha1), so each text is encoded once."""

    def __init__(self, cache: Path) -> None:
        from ragtune.embeddings import SentenceTransformerEmbedder

        self.real = SentenceTransformerEmbedder(None)
        self.cache = cache
        self.vectors: dict[str, np.ndarray] = {}
        for keys in sorted(cache.glob("vec_*.json")):
            self.vectors.update(zip(json.loads(keys.read_text()), np.load(keys.with_suffix(".npy"))))

    @property
    def info(self):
        return self.real.info.model_copy(update={"spec": "cached"})

    def _lookup(self, texts, encode) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self.vectors}.items())
        if missing:
            print(f"encoding {len(missing)} texts not in the cache ...", file=sys.stderr, flush=True)
            new = encode([t for _, t in missing])
            stem = self.cache / f"vec_{int(time.time())}_{len(missing)}"
            np.save(stem.with_suffix(".npy"), new)
            stem.with_suffix(".json").write_text(json.dumps([k for k, _ in missing]))
            self.vectors.update(zip((k for k, _ in missing), new))
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def embed_documents(self, texts, progress=None) -> np.ndarray:
        out = self._lookup(list(texts), self.real.embed_documents)
        if progress:
            progress(len(out))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts) -> np.ndarray:
        return self._lookup(["query: " + t for t in texts], lambda q: self.real.embed_queries([t[7:] for t in q]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "ragtune-bench" / "scifact-minilm")
    parser.add_argument("--budgets", default=",".join(map(str, CHUNK_BUDGETS)), help="chunk max_tokens values")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    data = bench.shared_data()
    if not (data / "scifact" / "corpus.jsonl").is_file():
        print(f"skipped: no SciFact data at {data / 'scifact'} (set RAGTUNE_SHARED_DATA)")
        return 0
    from ragtune.api import Workspace
    from ragtune.config import ChunkingConfig, RagtuneConfig, RetrievalConfig
    from ragtune.embeddings import resolvers

    args.cache.mkdir(parents=True, exist_ok=True)
    embedder = CachedEmbedder(args.cache)
    resolvers["cached"] = lambda rest, config: embedder
    corpus, queries, qrels = bench.load_scifact(data / "scifact")
    report = {"benchmark": "retrieval_sweep", "loadavg_start": list(os.getloadavg()), "runs": []}
    for budget in (int(b) for b in args.budgets.split(",")):
        with tempfile.TemporaryDirectory(prefix="ragtune-sweep-") as home:
            chunking = ChunkingConfig(max_tokens=budget)
            ws = Workspace(RagtuneConfig(home=Path(home), embedder={"model": "cached"}, chunking=chunking))
            ingest = ws.ingest([str(corpus)], index="scifact")
            index = ws.index("scifact")
            base = bench.quality(index, queries, qrels, modes=("lexical", "dense"))
            print(f"max_tokens {budget}: {ingest.chunks} chunks; lexical {base['lexical']['ndcg@10']:.4f}, "
                  f"dense {base['dense']['ndcg@10']:.4f}", flush=True)
            for fusion in FUSIONS:
                ws.config.retrieval = RetrievalConfig(**fusion)
                hybrid = bench.quality(index, queries, qrels, modes=("hybrid",))["hybrid"]
                report["runs"].append({"max_tokens": budget, "chunks": ingest.chunks, "retrieval": fusion,
                                       "lexical": base["lexical"], "dense": base["dense"], "hybrid": hybrid})
                print(f"  {json.dumps(fusion):<90} hybrid nDCG@10 {hybrid['ndcg@10']:.4f}  R@100 {hybrid['recall@100']:.4f}",
                      flush=True)
    report["loadavg_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
