"""Load on the HTTP API over loopback: N concurrent clients, a fixed count of search and ask requests.

Starts ``ragtune serve`` (a real uvicorn process) over a fresh workspace holding the example documents,
creates a reader key, then sends ``--requests`` requests from ``--clients`` concurrent clients, half
``POST /search`` (hybrid, k=5) and half ``POST /ask`` (extractive, no LLM). Reports requests/s and
p50/p95/p99 latency per route, errors (any status but 200, or a failed connection) and lost requests
(sent but never answered). Targets: 0 errors, 0 lost. Writes ``bench/results/load_http.json`` (one entry per
store).

    python bench/load_http.py --clients 8 --requests 400 [--store postgres] [--embedder fake:64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["How often must API keys be rotated?", "How long are audit log entries kept?", "What does the SLA promise?",
             "How do I install the agent?", "What is the security policy for passwords?", "What does the Team plan cost?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    p50, p95, p99 = np.percentile(np.asarray(latencies) * 1000, [50, 95, 99])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1)}


async def load(base: str, key: str, clients: int, requests: int) -> dict:
    jobs: asyncio.Queue = asyncio.Queue()
    for i in range(requests):
        question = QUESTIONS[i % len(QUESTIONS)]
        if i % 2 == 0:
            jobs.put_nowait(("search", "/v1/indexes/support/search", {"query": question, "k": 5, "mode": "hybrid"}))
        else:
            jobs.put_nowait(("ask", "/v1/indexes/support/ask", {"question": question, "model": "extractive"}))
    results: dict[str, dict[str, list]] = {r: {"latency": [], "errors": []} for r in ("search", "ask")}
    answered = [0]

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
            while True:
                try:
                    route, path, body = jobs.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.perf_counter()
                try:
                    r = await http.post(path, json=body)
                    answered[0] += 1
                    ok = r.status_code == 200 and (r.json().get("hits") or r.json().get("answer"))
                    if not ok:
                        results[route]["errors"].append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    results[route]["errors"].append(f"{type(exc).__name__}: {exc}")
                results[route]["latency"].append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    out = {}
    for route, data in results.items():
        out[route] = {"requests": len(data["latency"]), "errors": len(data["errors"]), "error_samples": data["errors"][:3],
                      **percentiles(data["latency"])}
    every = results["search"]["latency"] + results["ask"]["latency"]
    out["total"] = {"requests": requests, "answered": answered[0], "lost": requests - answered[0],
                    "errors": sum(len(d["errors"]) for d in results.values()), "wall_s": round(wall, 2),
                    "requests_per_s": round(requests / wall, 1), **percentiles(every)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--store", choices=["lancedb", "postgres"], default="lancedb")
    parser.add_argument("--embedder", default="local", help="Embedder spec (default: the bundled MiniLM).")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load_http.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rtload"))
    server = proc = None
    env = {**os.environ, "RAGTUNE_HOME": str(work / "home"), "RAGTUNE_EMBEDDER": args.embedder,
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        if args.store == "postgres":
            import pgserver

            server = pgserver.get_server(str(work / "pg"), cleanup_mode="stop")
            env["RAGTUNE_STORE"] = server.get_uri()
        cli = [sys.executable, "-m", "ragtune"]
        subprocess.run([*cli, "ingest", str(ROOT / "examples" / "docs"), "--index", "support"], env=env, check=True,
                       capture_output=True)
        key = json.loads(subprocess.run([*cli, "keys", "create", "--index", "support", "--role", "reader", "--json"],
                                        env=env, check=True, capture_output=True, text=True).stdout)["key"]
        port = free_port()
        proc = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        # one warm-up request each, so model loading is not counted as latency
        for path, body in (("search", {"query": "keys"}), ("ask", {"question": "keys?"})):
            httpx.post(f"{base}/v1/indexes/support/{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=300)
        figures = asyncio.run(load(base, key, args.clients, args.requests))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    result = {"config": {"clients": args.clients, "requests": args.requests, "store": args.store, "embedder": args.embedder,
                         "corpus": "examples/docs", "transport": "HTTP/1.1 over loopback, one uvicorn worker",
                         "cpus": os.cpu_count(), "load_avg_1m_after": round(os.getloadavg()[0], 1),
                         "machine": platform.machine(), "python": platform.python_version()},
              **figures, "targets": {"errors": 0, "lost": 0}}
    # One entry per store, so a PostgreSQL run does not overwrite the LanceDB one.
    runs = json.loads(args.out.read_text()) if args.out.is_file() else {}
    runs[args.store] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=2) + "\n")
    t = figures["total"]
    print(f"requests/s     {t['requests_per_s']:>8}")
    for route in ("search", "ask"):
        r = figures[route]
        print(f"{route:<7} p50 {r['p50_ms']:>7} ms  p95 {r['p95_ms']:>7} ms  p99 {r['p99_ms']:>7} ms  ({r['requests']} requests)")
    print(f"errors         {t['errors']:>8}   target 0")
    print(f"lost           {t['lost']:>8}   target 0")
    print(f"wrote {args.out}")
    if t["errors"] or t["lost"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
