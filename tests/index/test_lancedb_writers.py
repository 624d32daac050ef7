"""One writer per index across processes: concurrent ingests, colliding ids, first ingests killed or failing.

Every test orders the two processes by what they print (a paused writer says it holds the lock, a waiting one says
it waits), never by sleeping, so the outcome does not depend on timing or load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import IndexBusyError

SRC = Path(__file__).resolve().parents[2] / "src"

PAUSED_INGEST = textwrap.dedent("""
    import sys
    import ragtune.index.sync as sync

    real = sync._prepare

    def paused(*args, **kwargs):  # the index's state is read and compared: hold here, inside the writer lock
        print("paused", flush=True)
        sys.stdin.readline()
        return real(*args, **kwargs)

    sync._prepare = paused
    from ragtune.cli import app
    app(args=sys.argv[1:], prog_name="ragtune")
""")

HOLDER = textwrap.dedent("""
    import sys
    from ragtune.index.lancedb import LanceDBStore

    with LanceDBStore(sys.argv[1]).writing(sys.argv[2]):
        print("held", flush=True)
        sys.stdin.readline()
""")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGTUNE_")}
    return {**env, "PYTHONPATH": str(SRC), "RAGTUNE_HOME": str(home), "RAGTUNE_EMBEDDER": "fake:64",
            "RAGTUNE_THREADS": "1", "OMP_NUM_THREADS": "1", "LANCE_LOG": "error", **extra}


def _start(script: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _ragtune(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ragtune", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_line(stream, text: str) -> str:
    """Read ``stream`` until a line containing ``text`` (what was read, for the failure message)."""
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"never printed {text!r}: {''.join(seen)}")


def _paused(home: Path, args: list[str]) -> subprocess.Popen:
    proc = _start(PAUSED_INGEST, args, _env(home))
    assert proc.stdout.readline().strip() == "paused", proc.stderr.read()
    return proc


def _release(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate("go\n", timeout=300)
    return proc.returncode, out, err


def _docs(tmp_path: Path, name: str, count: int, word: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):
        (folder / f"{word}{i}.md").write_text(f"# {word} {i}\n\n{word} document number {i} about {word}.\n")
    return folder


def _jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in rows))
    return path


def _workspace(home: Path) -> Workspace:
    return Workspace(RagtuneConfig.load({"home": str(home)}, env={"RAGTUNE_EMBEDDER": "fake:64"}))


def test_two_first_ingests_into_a_new_index_keep_both_sides(tmp_path):
    home = tmp_path / "home"
    folder, rows = _docs(tmp_path, "x", 3, "alpha"), _jsonl(tmp_path / "j1.jsonl", [(f"j{i}", f"beta row {i}") for i in range(4)])
    first = _paused(home, ["ingest", str(folder), "--index", "new", "--json"])
    second = _ragtune(["ingest", str(rows), "--index", "new", "--json"], _env(home))
    waited = _wait_line(second.stderr, "is being written by another process")
    code, out, err = _release(first)
    assert code == 0, err
    assert json.loads(out)["added"] == 3
    out2, err2 = second.communicate(timeout=300)
    assert second.returncode == 0, waited + err2
    assert json.loads(out2)["added"] == 4
    ws = _workspace(home)
    assert sorted(d.doc_id for d in ws.index("new").documents()) == sorted(["x/alpha0.md", "x/alpha1.md", "x/alpha2.md"] +
                                                                          [f"j{i}" for i in range(4)])
    assert [m.name for m in ws.indexes()] == ["new"]


def test_concurrent_ingests_with_colliding_ids_never_replace_the_other_source(tmp_path):
    home = tmp_path / "home"
    ws = _workspace(home)
    ws.ingest([str(_jsonl(tmp_path / "seed.jsonl", [("seed", "a seed row")]))], "kb")
    a = _jsonl(tmp_path / "a.jsonl", [(f"d{i}", f"first source row {i}") for i in range(5)])
    b = _jsonl(tmp_path / "b.jsonl", [(f"d{i}", f"second source row {i}") for i in range(5)])
    first = _paused(home, ["ingest", str(a), "--index", "kb", "--json"])
    second = _ragtune(["ingest", str(b), "--index", "kb", "--json"], _env(home))
    _wait_line(second.stderr, "is being written by another process")
    assert _release(first)[0] == 0
    out, err = second.communicate(timeout=300)
    report = json.loads(out)
    assert second.returncode == 0, err
    assert report["added"] == 0
    assert sorted(s["error"].split("'")[1] for s in report["skipped"]) == [f"d{i}" for i in range(5)]
    texts = {c.doc_id: c.text for c in _workspace(home).store.all_chunks("kb")}
    assert all(texts[f"d{i}"] == f"first source row {i}" for i in range(5))


def test_a_failed_first_ingest_never_removes_what_another_committed(tmp_path):
    home = tmp_path / "home"
    folder = _docs(tmp_path, "x", 2, "gamma")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "ok", "text": "fine"}\n{not json\n')
    first = _paused(home, ["ingest", str(folder), "--index", "new"])
    second = _ragtune(["ingest", str(bad), "--index", "new", "--strict"], _env(home))
    _wait_line(second.stderr, "is being written by another process")
    assert _release(first)[0] == 0
    _, err = second.communicate(timeout=300)
    assert second.returncode == 2, err
    assert sorted(d.doc_id for d in _workspace(home).index("new").documents()) == ["x/gamma0.md", "x/gamma1.md"]


def test_a_killed_first_ingest_leaves_no_index_and_does_not_fix_the_embedder(tmp_path):
    home = tmp_path / "home"
    folder = _docs(tmp_path, "x", 2, "delta")
    first = _paused(home, ["ingest", str(folder), "--index", "new"])
    assert _workspace(home).store.list_indexes() == []  # being created: not committed, not listed
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert _workspace(home).store.list_indexes() == []
    again = subprocess.run([sys.executable, "-m", "ragtune", "ingest", str(folder), "--index", "new", "--embedder", "fake:32"],
                           env=_env(home), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _workspace(home).index("new").manifest.embedder.dimension == 32


def test_a_writer_that_cannot_get_the_lock_in_time_fails_clearly(tmp_path):
    home = tmp_path / "home"
    _workspace(home).ingest([str(_docs(tmp_path, "x", 1, "eps"))], "kb")
    holder = _start(HOLDER, [str(home), "kb"], _env(home))
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        late = subprocess.run([sys.executable, "-m", "ragtune", "ingest", str(_docs(tmp_path, "y", 1, "zeta")), "--index", "kb"],
                              env=_env(home, RAGTUNE_LOCK_TIMEOUT_S="0"), capture_output=True, text=True, timeout=300)
        assert late.returncode == IndexBusyError.exit_code
        assert f"pid {holder.pid}" in late.stderr
        assert "index.lock_timeout_s" in late.stderr
        assert "Traceback" not in late.stderr
        config = RagtuneConfig.load({"home": str(home), "index": {"lock_timeout_s": 0}}, env={"RAGTUNE_EMBEDDER": "fake:64"})
        ws = Workspace(config)
        with pytest.raises(IndexBusyError, match="still being written"):
            ws.ingest([str(tmp_path / "y")], "kb")
    finally:
        holder.communicate("go\n", timeout=60)
    assert [d.doc_id for d in _workspace(home).index("kb").documents()] == ["x/eps0.md"]
