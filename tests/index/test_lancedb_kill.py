"""A writer process killed with SIGKILL at random moments of its commits leaves the last committed version whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ragtune.config import ChunkingConfig
from ragtune.index.base import IndexManifest, IngestEvent
from ragtune.index.lancedb import LanceDBStore

from .conformance import EMB, change

SRC = Path(__file__).resolve().parents[2] / "src"

WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from index.conformance import change
    from ragtune.index.base import IngestEvent
    from ragtune.index.lancedb import LanceDBStore

    store = LanceDBStore({home!r})
    while True:
        v = store.manifest("kb").generation + 1
        store.commit("kb", [change("a", [f"version {{v}} part {{i}} words" for i in range(30)], version=v),
                            change(f"b{{v}}", [f"extra {{v}} row {{i}}" for i in range(5)])],
                     [f"b{{v - 1}}"], IngestEvent())
        print(v, flush=True)
""")


def _check_whole(home: Path) -> int:
    store = LanceDBStore(home)
    generation = store.manifest("kb").generation
    chunks = store.all_chunks("kb")
    versions = {c.text.split(" part ")[0] for c in chunks if c.doc_id == "a"}
    assert len(versions) == 1 and len([c for c in chunks if c.doc_id == "a"]) == 30
    hits = store.search_lexical("kb", "part words", 100)
    assert len(hits) == 30 and {r.text.split(" part ")[0] for r in store.get_chunks("kb", [c for c, _ in hits])} == versions
    assert [c.doc_id for c in chunks if c.doc_id.startswith("b")] == [f"b{generation}"] * 5 or generation == 1
    assert len(store.search_dense("kb", EMB.embed_query("version part words"), 10)) == 10
    return generation


def test_a_writer_killed_at_random_moments_leaves_the_last_commit_whole(tmp_path):
    home = tmp_path / "ws"
    store = LanceDBStore(home)
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    store.commit("kb", [change("a", [f"version 1 part {i} words" for i in range(30)])], [], IngestEvent())
    script = WRITER.format(tests=str(Path(__file__).resolve().parents[1]), home=str(home))
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "LANCE_LOG": "error"}
    rng = random.Random(5)
    seen = 1
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            assert proc.stdout.readline(), proc.stderr.read().decode()  # one commit went through
            time.sleep(rng.uniform(0.0, 0.4))  # then die somewhere inside a later one
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        generation = _check_whole(home)
        assert generation > seen
        seen = generation
    before = {e["id"] for e in LanceDBStore(home).manifest("kb").backend["segments"]}
    m = LanceDBStore(home).commit("kb", [change("c", ["after the kills"])], [], IngestEvent())
    assert m.generation == seen + 1
    on_disk = {p.name for p in (home / "indexes" / "kb" / "segments").iterdir()}
    assert on_disk <= before | {e["id"] for e in m.backend["segments"]}  # what a killed writer left is gone
