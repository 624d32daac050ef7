"""Ctrl-C at each phase of an ingest: the message and the exit code follow what was committed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ragtune.api import Workspace
from ragtune.cli import app
from ragtune.config import RagtuneConfig
from ragtune.index import lancedb as lancedb_mod
from ragtune.index import lancedb_commit, manifest_files, sync


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _after(real):
    def run(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt
    return run


PHASES = {
    "embedding": (sync, "_prepare", _interrupt, False),
    "segments": (lancedb_commit.SegmentWriter, "add", _interrupt, False),
    "manifest swap": (manifest_files, "write_text_atomic", None, True),  # interrupted right after the rename
    "cleanup": (lancedb_mod, "collect", _interrupt, True),
    "progress": (sync.IngestReport, "to_json", None, True),
}


@pytest.mark.parametrize("first", [True, False], ids=["first ingest", "later ingest"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_ctrl_c_at_each_phase_says_what_was_committed(phase, first, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:64")
    monkeypatch.setenv("RAGTUNE_HOME", str(tmp_path / "home"))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# a\n\nalpha words\n")
    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home")}, env={"RAGTUNE_EMBEDDER": "fake:64"}))
    if not first:
        ws.ingest([str(folder)], "kb")
        (folder / "b.md").write_text("# b\n\nbeta words\n")
    owner, attribute, replacement, committed = PHASES[phase]
    if phase == "manifest swap":
        real = manifest_files.write_text_atomic

        def replacement(path, text, **kwargs):  # a commit's swap (generation 0 is the empty index being created)
            real(path, text, **kwargs)
            if path.name == "manifest.json" and '"generation": 0,' not in text:
                _interrupt()
    if phase == "progress":
        real_prepare = sync._prepare

        def progress_then_stop(*args, **kwargs):
            done = real_prepare(*args, **kwargs)
            monkeypatch.setattr(lancedb_mod.LanceDBStore, "commit", _after(lancedb_mod.LanceDBStore.commit))
            return done
        owner, attribute, replacement = sync, "_prepare", progress_then_stop
    monkeypatch.setattr(owner, attribute, replacement)
    result = CliRunner().invoke(app, ["ingest", str(folder), "--index", "kb"])
    monkeypatch.undo()
    assert result.exit_code == 130
    fresh = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home")}, env={"RAGTUNE_EMBEDDER": "fake:64"}))
    stored = sorted(d.doc_id for d in fresh.index("kb").documents()) if fresh.store.exists("kb") else None
    if committed:
        assert "is in (generation" in result.stderr
        assert stored == ["docs/a.md"] if first else stored == ["docs/a.md", "docs/b.md"]
        assert fresh.doctor(repair=True).healthy
    else:
        assert "nothing was committed" in result.stderr
        assert stored == (None if first else ["docs/a.md"])
