"""Ray against one process on this machine: ingest documents/s and eval questions/s, local vs Ray with 1 and 2 workers.

Ingest: SciFact abstracts written as one text file each, embedded with the bundled MiniLM (the CPU-bound part);
each run builds a fresh index. Eval: SciFact claims answered by the ``extractive`` generator over that index
(``rag``: retrieval, quoting and citation support, all on the CPU, offline), the cache off so every answer is
generated. The Ray runs include their actors' start (each loads the model): the ratio to the local run is the
overhead on a corpus this size, and the 2-worker run against the 1-worker one is what a second worker adds here.
The local Ray is started once (its start is reported apart). Other work shares this machine's CPUs: the load
average is recorded beside each figure. Writes bench/results/ray_scaling.json.

    python bench/ray_scaling.py [--docs 600] [--questions 150]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, log, shared_data

from ragtune.api import EvalConfig, Workspace
from ragtune.config import RagtuneConfig
from ragtune.evaluation.questions import Question

ENGINES = [("local", {}), ("ray_1_worker", {"embed_actors": 1, "answer_actors": 1}),
           ("ray_2_workers", {"embed_actors": 2, "answer_actors": 2})]


def corpus(folder: Path, count: int) -> Path:
    """``count`` SciFact abstracts as text files (title, blank line, abstract)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(shared_data("scifact") / "corpus.jsonl", encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n == count:
                break
            row = json.loads(line)
            (folder / f"{row['_id']}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
    return folder


def claims(count: int) -> list[Question]:
    with open(shared_data("scifact") / "queries.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line, _ in zip(fh, range(count))]
    return [Question(id=r["_id"], question=r["text"]) for r in rows]


def workspace(home: Path, ray: dict) -> Workspace:
    return Workspace(RagtuneConfig.load({"home": str(home), "engine": "ray" if ray else "local", "embedder": {"model": "local"},
                                         "ray": {"num_cpus": 2, **ray}}, env={}))


def run(docs: Path, questions: list[Question], work: Path) -> dict:
    results: dict = {}
    for name, ray in ENGINES:
        home = work / name
        ws = workspace(home, ray)
        load = os.getloadavg()
        started = time.perf_counter()
        report = ws.ingest([str(docs)], "scifact")
        ingest_s = time.perf_counter() - started
        config = EvalConfig.create(variants="rag", index="scifact", model="extractive", cache=False)
        eval_load = os.getloadavg()
        started = time.perf_counter()
        result = ws.evaluate(questions, config)
        eval_s = time.perf_counter() - started
        assert result.config["run"]["generated"] == len(questions), result.config["run"]
        results[name] = {
            "ingest": {"docs": report.added, "chunks": report.chunks, "wall_s": round(ingest_s, 2),
                       "docs_per_s": round(report.added / ingest_s, 2), "chunks_per_s": round(report.chunks / ingest_s, 2),
                       "load_average_1m_at_start": round(load[0], 2)},
            "eval": {"questions": len(questions), "wall_s": round(eval_s, 2),
                     "questions_per_s": round(len(questions) / eval_s, 3), "load_average_1m_at_start": round(eval_load[0], 2)},
        }
        log(f"{name}: {json.dumps(results[name])}")
        shutil.rmtree(home, ignore_errors=True)
    return results


def embed_rate(docs: Path) -> dict:
    """Steady chunks/s of one worker (one torch thread): the corpus's chunk texts embedded in this process once the
    model is loaded (what each embedding actor does after its start)."""
    from ragtune.documents import RecursiveChunker, discover, loader_for
    from ragtune.embeddings import load_embedder

    config = RagtuneConfig.load({"embedder": {"model": "local"}}, env={})
    chunker = RecursiveChunker(config.chunking)
    files, _ = discover([str(docs)])
    texts = [c.index_text for f in files for d in loader_for(f.path).load(f.path, f.doc_id) for c in chunker.chunk(d)]
    embedder = load_embedder("local", config.embedder, config.home)
    embedder.embed_documents(texts[:32])
    load = os.getloadavg()[0]
    started = time.perf_counter()
    embedder.embed_documents(texts)
    seconds = time.perf_counter() - started
    return {"chunks": len(texts), "wall_s": round(seconds, 2), "chunks_per_s": round(len(texts) / seconds, 2),
            "load_average_1m_at_start": round(load, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--questions", type=int, default=150)
    args = parser.parse_args()
    import ray

    work = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
    try:
        docs = corpus(work / "docs", args.docs)
        questions = claims(args.questions)
        load = os.getloadavg()
        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, logging_level="error", log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "src")}})  # the workers import this checkout
        ray_init_s = time.perf_counter() - started
        results = run(docs, questions, work)
        ray.shutdown()
        one_worker = embed_rate(docs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    local = results["local"]
    ratios = {name: {"ingest_docs_per_s_vs_local": round(r["ingest"]["docs_per_s"] / local["ingest"]["docs_per_s"], 3),
                     "eval_questions_per_s_vs_local": round(r["eval"]["questions_per_s"] / local["eval"]["questions_per_s"], 3)}
              for name, r in results.items() if name != "local"}
    out = {"machine": {"cpus": os.cpu_count(), "ray_cpus": 2, "torch_threads_per_worker": 1,
                       "load_average_1m_5m_15m_at_start": [round(x, 2) for x in load]},
           "ray_init_s": round(ray_init_s, 2), "corpus": f"SciFact, first {args.docs} abstracts, one .txt file each",
           "embedder": "local (all-MiniLM-L6-v2, 384-d)", "eval": f"{args.questions} SciFact claims, variant rag, extractive, cache off",
           "results": results, "ratios": ratios,
           "one_worker_embedding": one_worker,
           "load_average_1m_5m_15m_at_end": [round(x, 2) for x in os.getloadavg()]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ray_scaling.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"ratios": ratios, "ray_init_s": out["ray_init_s"]}, indent=2))


if __name__ == "__main__":
    main()
