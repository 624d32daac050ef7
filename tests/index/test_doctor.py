"""ragtune doctor: a missing or damaged manifest, damaged segments or tables, leftovers; listing damaged indexes."""

from __future__ import annotations

import json

import pytest

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import StoreError


@pytest.fixture
def ws(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(6):
        (folder / f"d{i}.md").write_text(f"# note {i}\n\nalpha beta topic {i} with words number {i}.\n")
    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home")}, env={"RAGTUNE_EMBEDDER": "fake:64"}))
    ws.ingest([str(folder)], "kb")
    ws.ingest([str(folder)], "other")
    return ws


def _folder(ws: Workspace, name: str = "kb"):
    return ws.config.home / "indexes" / name


def _search(ws: Workspace) -> list[str]:
    return [h.chunk_id for h in ws.index("kb").search("alpha topic 3", k=6)]


def test_a_healthy_workspace_is_healthy(ws):
    report = ws.doctor()
    assert [(h.name, h.status) for h in report.indexes] == [("kb", "ok"), ("other", "ok")]
    assert report.healthy


def test_a_missing_manifest_is_found_listed_refused_and_put_back(ws, tmp_path):
    truth = _search(ws)
    (_folder(ws) / "manifest.json").unlink()
    assert [m.name for m in ws.indexes()] == ["other"]
    assert "ragtune doctor --index kb --repair" in ws.damaged_indexes()["kb"]
    with pytest.raises(StoreError, match="ragtune doctor --index kb --repair"):
        ws.ingest([str(tmp_path / "docs")], "kb")  # never a new index over the old data
    assert ws.doctor("kb").indexes[0].status == "damaged"
    assert ws.doctor("kb", repair=True).indexes[0].status == "repaired"
    assert _search(ws) == truth
    assert len(ws.index("kb").documents()) == 6


def test_a_damaged_manifest_is_put_back_from_its_copy(ws):
    truth = _search(ws)
    path = _folder(ws) / "manifest.json"
    data = json.loads(path.read_text())
    data["backend"]["segments"] = []
    path.write_text(json.dumps(data))
    assert "kb" in ws.damaged_indexes()
    assert ws.doctor(repair=True).healthy
    assert _search(ws) == truth


def test_damaged_segments_are_rebuilt_from_the_tables(ws):
    truth = _search(ws)
    entry = ws.store.manifest("kb").backend["segments"][0]
    (_folder(ws) / "segments" / entry["id"] / "vectors.npy").write_bytes(b"\0" * 200)
    assert ws.doctor("kb").indexes[0].status == "damaged"
    assert ws.doctor("kb", repair=True).healthy
    assert ws.doctor("kb").indexes[0].status == "ok"
    assert _search(ws) == truth


def test_a_lost_table_file_is_rewritten_from_the_segments(ws):
    for path in (_folder(ws) / "lance" / "chunks.lance" / "data").iterdir():
        path.unlink()
    report = ws.doctor("kb", repair=True)
    assert report.healthy
    assert "/.cargo/" not in json.dumps(report.to_json())
    assert ws.doctor("kb").indexes[0].status == "ok"
    assert len(ws.store.all_chunks("kb")) == 6


def test_tables_and_segments_both_lost_say_how_to_start_over(ws):
    for path in (_folder(ws) / "lance" / "chunks.lance" / "data").iterdir():
        path.unlink()
    entry = ws.store.manifest("kb").backend["segments"][0]
    (_folder(ws) / "segments" / entry["id"] / "rows.arrow").unlink()
    report = ws.doctor("kb", repair=True)
    assert not report.healthy
    assert any("ingest its sources again" in (f.hint or "") for f in report.indexes[0].findings)


def test_leftover_files_are_removed(ws):
    (_folder(ws) / "segments" / "stray").mkdir()
    (_folder(ws) / ".manifest.json.x.tmp").write_text("{")
    assert ws.doctor("kb").indexes[0].status == "damaged"
    assert ws.doctor("kb", repair=True).healthy
    assert not (_folder(ws) / "segments" / "stray").exists()
    assert not (_folder(ws) / ".manifest.json.x.tmp").exists()


def test_doctor_from_the_command_line(ws, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ragtune.cli import app

    monkeypatch.setenv("RAGTUNE_HOME", str(ws.config.home))
    runner = CliRunner()
    assert runner.invoke(app, ["doctor"]).exit_code == 0
    (_folder(ws) / "manifest.json").unlink()
    listed = runner.invoke(app, ["indexes", "--json"])
    assert listed.exit_code == 0
    assert {"name": "kb", "damaged": ws.damaged_indexes()["kb"]} in json.loads(listed.stdout)
    damaged = runner.invoke(app, ["doctor", "--json"])
    assert damaged.exit_code == 1
    assert json.loads(damaged.stdout)["healthy"] is False
    assert runner.invoke(app, ["doctor", "--repair"]).exit_code == 0
    assert runner.invoke(app, ["doctor", "--index", "nope"]).exit_code == 2


def test_a_damaged_table_is_a_store_error_naming_doctor_not_a_library_error(ws):
    for path in (_folder(ws) / "lance" / "docs.lance" / "data").iterdir():
        path.write_bytes(b"\0" * 64)
    with pytest.raises(StoreError, match="ragtune doctor --index kb --repair"):
        ws.index("kb").documents()
    report = ws.doctor("kb", repair=True)
    assert not report.healthy
    assert any("ingest its sources again" in (f.hint or "") for f in report.indexes[0].findings)
    assert _search(ws)  # the chunks are still served from the segments
