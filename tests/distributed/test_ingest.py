"""Ingest on Ray gives what a local ingest gives: the same documents, chunk ids, texts, vectors, counts and skipped
entries; a worker that dies is retried; a failure commits nothing; without Ray the error names the extra."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from ragtune.api import Workspace
from ragtune.config import ChunkingConfig, RagtuneConfig, RayConfig
from ragtune.documents import RecursiveChunker
from ragtune.documents.chunking import HeaderChunker
from ragtune.errors import ConfigError, InputError
from ragtune.index.sync import sync_sources

from .helpers import DyingChunker, FailingEmbedderFactory, MarkedEmbedderFactory, die_once

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


def _ws(home: Path, engine: str, embedder: str = "fake:64") -> Workspace:
    return Workspace(RagtuneConfig.load({"home": str(home), "engine": engine, "embedder": {"model": embedder},
                                         "ray": {"embed_batch_size": 4, "parse_batch_size": 2}}, env={}))


def _content(ws: Workspace, index: str) -> tuple[list, list, np.ndarray]:
    docs = sorted((d.doc_id, d.source, d.hash, d.version, d.chunks, d.origin) for d in ws.store.documents(index))
    chunks = sorted(ws.store.all_chunks(index), key=lambda c: c.chunk_id)
    rows = [(c.chunk_id, c.doc_id, c.position, c.text, c.start, c.end, c.page, tuple(c.headings)) for c in chunks]
    table = ws.store._db(index).open_table("chunks").to_arrow()
    by_id = dict(zip(table.column("chunk_id").to_pylist(), table.column("vector").to_pylist()))
    return docs, rows, np.asarray([by_id[c.chunk_id] for c in chunks], np.float32)


def _same(local: Workspace, ray_ws: Workspace, index: str) -> None:
    docs_a, rows_a, vec_a = _content(local, index)
    docs_b, rows_b, vec_b = _content(ray_ws, index)
    assert docs_a == docs_b and rows_a == rows_b
    assert vec_a.shape == vec_b.shape and np.allclose(vec_a, vec_b, atol=1e-5)


def _corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(EXAMPLES, root)
    (root / "empty.txt").write_text("", encoding="utf-8")  # a skipped entry, with its reason
    (root / "rows.jsonl").write_text('{"_id": "r1", "text": "Row one is about invoices."}\nnot json\n'
                                     '{"_id": "r2", "text": "Row two is about refunds."}\n', encoding="utf-8")
    return root


def test_a_ray_ingest_and_its_resyncs_equal_the_local_ones(ray_local, tmp_path):
    corpus = _corpus(tmp_path)
    local, on_ray = _ws(tmp_path / "local", "local"), _ws(tmp_path / "ray", "ray")
    first = [ws.ingest([str(corpus)], "docs").to_json() for ws in (local, on_ray)]
    assert first[0] == first[1] and first[0]["added"] == 7 and len(first[0]["skipped"]) == 2
    _same(local, on_ray, "docs")

    (corpus / "sla.md").write_text("# SLA\n\nThe availability target is now 99.99% every month.\n", encoding="utf-8")
    (corpus / "audit-log.md").unlink()
    (corpus / "new.txt").write_text("A new page about single sign-on.\n", encoding="utf-8")
    again = [ws.ingest([str(corpus)], "docs").to_json() for ws in (local, on_ray)]
    assert again[0] == again[1]
    assert (again[0]["added"], again[0]["updated"], again[0]["removed"], again[0]["unchanged"]) == (1, 1, 1, 5)
    _same(local, on_ray, "docs")
    unchanged = on_ray.ingest([str(corpus)], "docs").to_json()
    assert unchanged["unchanged"] == 7 and unchanged["chunks"] == 0
    assert on_ray.store.manifest("docs").generation == local.store.manifest("docs").generation == 2


def test_strict_stops_at_the_same_file_with_the_same_error(ray_local, tmp_path):
    corpus = _corpus(tmp_path)
    errors = []
    for engine in ("local", "ray"):
        ws = _ws(tmp_path / engine, engine)
        with pytest.raises(InputError) as caught:
            ws.ingest([str(corpus)], "docs", strict=True)
        errors.append(str(caught.value))
        assert not ws.store.exists("docs")  # a first ingest that fails leaves no index behind
    assert errors[0] == errors[1] and "empty.txt" in errors[0]


def test_a_clashing_id_is_resolved_as_locally(ray_local, tmp_path):
    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "notes.txt").write_text(f"Notes from {side}: the port is 84{side == 'a' and 20 or 21}.\n")
    local, on_ray = _ws(tmp_path / "local", "local"), _ws(tmp_path / "ray", "ray")
    for ws in (local, on_ray):
        ws.ingest([str(tmp_path / "a" / "notes.txt")], "n")
        ws.ingest([str(tmp_path / "b" / "notes.txt")], "n")
    assert sorted(d.doc_id for d in on_ray.store.documents("n")) == ["b/notes.txt", "notes.txt"]
    _same(local, on_ray, "n")


@pytest.mark.slow
def test_the_bundled_embedder_gives_the_same_vectors_on_ray(ray_local, tmp_path):
    local, on_ray = _ws(tmp_path / "local", "local", "local"), _ws(tmp_path / "ray", "ray", "local")
    for ws in (local, on_ray):
        ws.ingest([str(EXAMPLES)], "docs")
    _same(local, on_ray, "docs")


def test_a_ray_ingest_extends_an_index_at_the_precision_it_records(ray_local, tmp_path):
    """An fp32 index stays fp32 when a workspace whose default is int8 ingests into it on Ray."""
    fp32 = lambda home, engine: Workspace(RagtuneConfig.load(  # noqa: E731
        {"home": str(home), "engine": engine, "embedder": {"model": "local", "precision": "fp32"}}, env={}))
    fp32(tmp_path / "ray", "local").create_index("docs")
    on_ray = _ws(tmp_path / "ray", "ray", "local")
    assert on_ray.config.embedder.precision.value == "int8"
    on_ray.ingest([str(EXAMPLES)], "docs")
    local = fp32(tmp_path / "local", "local")
    local.ingest([str(EXAMPLES)], "docs")
    assert on_ray.index("docs").manifest.embedder.precision == "fp32"
    _same(local, on_ray, "docs")


def _chunker() -> HeaderChunker:
    """The chunker ``Index.ingest`` uses for a new index: its documents' context header on every chunk."""
    return HeaderChunker(RecursiveChunker(ChunkingConfig()))


def _sync(ws: Workspace, tmp_path: Path, factory, chunker=None):
    from ragtune.distributed.ingest import RayIngest

    ws.create_index("docs")
    engine = RayIngest(RayConfig(embed_actors=1, embed_batch_size=4), factory, 64)
    return sync_sources(ws.store, "docs", ws.embedder("fake:64"), chunker or _chunker(),
                        [str(EXAMPLES)], engine=engine)


def test_a_worker_that_dies_is_retried_and_the_result_is_whole(ray_local, tmp_path):
    local = _ws(tmp_path / "local", "local")
    local.ingest([str(EXAMPLES)], "docs")
    on_ray = _ws(tmp_path / "ray", "ray")
    chunker = DyingChunker(_chunker(), tmp_path / "chunker-died")
    report = _sync(on_ray, tmp_path, MarkedEmbedderFactory(tmp_path / "embedder-died", die_once), chunker)
    assert (tmp_path / "chunker-died").is_file() and (tmp_path / "embedder-died").is_file()
    assert report.added == 5 and on_ray.store.manifest("docs").generation == 1  # one commit
    _same(local, on_ray, "docs")


def test_a_failing_embedder_commits_nothing(ray_local, tmp_path):
    ws = _ws(tmp_path / "ray", "ray")
    with pytest.raises(Exception, match="embedding service is down"):
        _sync(ws, tmp_path, FailingEmbedderFactory())
    manifest = ws.store.manifest("docs")
    assert manifest.generation == 0 and manifest.chunks == 0 and ws.store.documents("docs") == []


def test_a_driver_killed_part_way_leaves_the_old_version_whole(ray_local, tmp_path):
    import os
    import signal
    import subprocess
    import time

    corpus = _corpus(tmp_path)
    ws = _ws(tmp_path / "home", "local")
    ws.ingest([str(corpus)], "docs")
    before = _content(ws, "docs")
    (corpus / "sla.md").write_text("# SLA\n\nThe target is now 99.99%.\n", encoding="utf-8")
    (corpus / "install-guide.txt").unlink()
    marker = tmp_path / "embedding-started"
    script = (f"import sys; sys.path[:0] = [{str(EXAMPLES.parents[1])!r}, {str(EXAMPLES.parents[1] / 'src')!r}]\n"
              "from tests.distributed.helpers import ingest_stalling\n"
              f"ingest_stalling({str(tmp_path / 'home')!r}, {str(corpus)!r}, "
              f"{ray_local.get_runtime_context().gcs_address!r}, {str(marker)!r})\n")
    driver = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), driver.stderr.read().decode()[-2000:] if driver.poll() is not None else "no embedding began"
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    after = _ws(tmp_path / "home", "local")
    assert after.store.manifest("docs").generation == 1
    docs, rows, vectors = _content(after, "docs")
    assert (docs, rows) == before[:2] and np.array_equal(vectors, before[2])
    assert after.ingest([str(corpus)], "docs").to_json()["removed"] == 1  # the next sync goes on from the old version


def test_without_ray_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    ws = _ws(tmp_path / "ray", "ray")
    with pytest.raises(ConfigError, match=r"pip install 'ragtune\[ray\]'"):
        ws.ingest([str(EXAMPLES)], "docs")
    assert not ws.store.exists("docs")


def test_the_cli_ingests_on_ray_and_exits_2_without_it(ray_local, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from ragtune.cli import app

    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:64")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(EXAMPLES), "--index", "docs", "--engine", "ray", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 5
    monkeypatch.setitem(sys.modules, "ray", None)
    result = runner.invoke(app, ["ingest", str(EXAMPLES), "--index", "other", "--engine", "ray"])
    assert result.exit_code == 2 and "ragtune[ray]" in result.stderr
