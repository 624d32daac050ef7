"""What every benchmark script shares: offline, single-thread settings; the source path; the shared data sets;
a timestamped log; finished phases kept in a work folder; and ``ragtune`` runs in their own process."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

for _var, _value in {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
                     "TRANSFORMERS_OFFLINE": "1", "LANCE_LOG": "error"}.items():
    os.environ.setdefault(_var, _value)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "src"))


def shared_data(name: str) -> Path:
    """``../shared/data/<name>`` beside the checkout (or the work area's copy)."""
    for base in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if (base / name).is_dir():
            return base / name
    raise SystemExit(f"data set '{name}' not found under ../shared/data")


def corpus_prefix(corpus: Path, docs: int | None, folder: Path) -> tuple[Path, int]:
    """``corpus`` (a JSONL file) and its row count, or its first ``docs`` rows written into ``folder``."""
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not docs or docs >= len(lines):
        return corpus, len(lines)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{corpus.stem}-{docs}.jsonl"
    target.write_text("\n".join(lines[:docs]) + "\n", encoding="utf-8")
    return target, docs


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Phases:
    """Named steps whose results are kept in ``<work>/state.json``, so an interrupted run continues where it stopped."""

    def __init__(self, work: Path, stop_after: str | None = None) -> None:
        self.work = work
        self.stop_after = stop_after
        work.mkdir(parents=True, exist_ok=True)
        self.path = work / "state.json"
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def run(self, name: str, fn: Callable[[], dict]) -> dict:
        if name in self.state:
            log(f"{name}: done before, kept")
            return self.state[name]
        log(f"{name} ...")
        started, load = time.monotonic(), os.getloadavg()[0]
        result = fn()
        result["phase_wall_s"] = round(time.monotonic() - started, 1)
        result["load_average_at_start"] = round(load, 2)
        self.state[name] = result
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2) + "\n")
        tmp.replace(self.path)
        log(f"{name}: {json.dumps({k: v for k, v in result.items() if not isinstance(v, (dict, list))})}")
        if name == self.stop_after:
            log(f"stopping after {name} (--stop-after); run again to go on")
            raise SystemExit(0)
        return result


def run_ragtune(home: Path, *argv: str, threads: int = 1) -> dict:
    """One ``ragtune ... --json`` process: its JSON, wall time and peak RSS (of that process alone)."""
    env = {**os.environ, "RAGTUNE_HOME": str(home), "RAGTUNE_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ragtune", *argv, "--json"], env=env, stdout=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"ragtune {' '.join(argv)} failed with exit code {done.returncode}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"json": json.loads(done.stdout), "process_wall_s": round(wall, 1),
            "process_peak_rss_mb": round(peak / 1024, 1) if peak > before else None}


def timed_decide(argv: list[str], env: dict[str, str], home: Path, timeout_s: float, label: str) -> dict:
    """One ``ragtune decide ... --json`` process with its progress in ``home/progress.log``: the decision, the wall
    time, the load average at its start and the progress lines; exits naming ``label`` when the run fails."""
    load_start = list(os.getloadavg())
    started = time.monotonic()
    with open(home / "progress.log", "w", encoding="utf-8") as progress:
        done = subprocess.run([sys.executable, "-m", "ragtune", *argv], env=env, stdout=subprocess.PIPE, stderr=progress,
                              text=True, timeout=timeout_s)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{label}: decide failed with exit code {done.returncode}; see {home / 'progress.log'}")
    return {"decision": json.loads(done.stdout), "wall_s": wall, "loadavg_start": load_start,
            "lines": (home / "progress.log").read_text(encoding="utf-8").splitlines()}


def median(values) -> float:
    """The median of ``values`` (the mean of the middle two for an even count)."""
    return float(statistics.median(values))


def write_result(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(path)


def commit() -> str:
    """The checkout's short commit id (what every result records)."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def serve(app: Any) -> tuple[Any, str]:
    """Serve an ASGI ``app`` on a free loopback port in a daemon thread: ``(server, "http://127.0.0.1:PORT/v1")``
    (set ``server.should_exit`` to stop it)."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}/v1"


def finish(path: Path, result: dict) -> int:
    """Record the load average at the end, write ``result`` to ``path``, say where, and give the exit status 0."""
    result["loadavg_end"] = list(os.getloadavg())
    write_result(path, result)
    print(f"wrote {path}")
    return 0
