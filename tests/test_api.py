import os

import pytest

from ragtune.api import Workspace, prepare_process
from ragtune.config import RagtuneConfig
from ragtune.errors import EmbedderMismatchError, IndexNotFoundError, InputError, StoreError
from ragtune.index import Filters


def test_ingest_search_and_resync(workspace, docs_dir):
    report = workspace.ingest([str(docs_dir)], index="support")
    assert (report.added, report.updated, report.removed, report.unchanged) == (3, 0, 0, 0)
    assert report.chunks >= 3
    idx = workspace.index("support")
    hits = idx.search("how often must api keys be rotated", k=3)
    assert hits[0].doc_id == "docs/keys.md"
    assert hits[0].headings == ["Keys", "Rotation"]
    assert {"lexical", "dense"} & set(hits[0].scores)

    again = workspace.ingest([str(docs_dir)], index="support")
    assert (again.added, again.updated, again.removed, again.unchanged, again.chunks) == (0, 0, 0, 3, 0)

    (docs_dir / "audit.txt").write_text("The audit log now records reads of secrets too.\n")
    (docs_dir / "faq.html").unlink()
    (docs_dir / "new.md").write_text("# New\n\nBackups run every six hours.\n")
    third = workspace.ingest([str(docs_dir)], index="support")
    assert (third.added, third.updated, third.removed, third.unchanged) == (1, 1, 1, 1)
    docs = {d.doc_id: d for d in idx.documents()}
    assert set(docs) == {"docs/keys.md", "docs/audit.txt", "docs/new.md"}
    assert docs["docs/audit.txt"].version == 2
    assert "reads of secrets" in idx.search("audit log reads", k=1, mode="lexical")[0].text


def test_modes_and_filters(workspace, docs_dir):
    workspace.ingest([str(docs_dir)], index="support")
    idx = workspace.index("support")
    lexical = idx.search("audit log", k=5, mode="lexical")
    assert lexical[0].doc_id == "docs/audit.txt" and set(lexical[0].scores) == {"lexical"}
    dense = idx.search("audit log", k=2, mode="dense")
    assert set(dense[0].scores) == {"dense"}
    only_html = idx.search("price per user", k=5, filters=Filters(types=("html",)))
    assert only_html and all(h.doc_id == "docs/faq.html" for h in only_html)


def test_folder_skips_bad_file_but_strict_fails_and_keeps_index(workspace, docs_dir):
    (docs_dir / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (docs_dir / "empty.txt").write_bytes(b"")
    report = workspace.ingest([str(docs_dir)], index="support")
    assert report.added == 3
    assert {os.path.basename(s["source"]) for s in report.skipped} == {"broken.pdf", "empty.txt"}
    before = [d.doc_id for d in workspace.index("support").documents()]
    (docs_dir / "keys.md").write_text("# Keys\n\nChanged text.\n")
    with pytest.raises(InputError, match="broken.pdf"):
        workspace.ingest([str(docs_dir)], index="support", strict=True)
    idx = workspace.index("support")
    assert [d.doc_id for d in idx.documents()] == before
    assert all(d.version == 1 for d in idx.documents())  # the strict failure wrote nothing


def test_bad_jsonl_line_is_skipped_by_line_and_strict_writes_nothing(workspace, tmp_path, docs_dir):
    workspace.ingest([str(docs_dir)], index="support")
    gen = workspace.index("support").manifest.generation
    bad = tmp_path / "corpus.jsonl"
    bad.write_text('{"_id": "1", "text": "fine"}\n{"_id": "2"}\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2: field 'text'"):
        workspace.ingest([str(bad)], index="support", strict=True)
    assert workspace.index("support").manifest.generation == gen
    report = workspace.ingest([str(bad)], index="support")
    assert report.added == 1 and report.skipped == [{"source": f"{bad}:2", "error": "field 'text' is missing or empty"}]


def test_jsonl_resync_removes_vanished_rows(workspace, tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "1", "text": "alpha beta"}\n{"_id": "2", "text": "gamma delta"}\n')
    workspace.ingest([str(corpus)], index="kb")
    corpus.write_text('{"_id": "1", "text": "alpha beta"}\n')
    report = workspace.ingest([str(corpus)], index="kb")
    assert (report.unchanged, report.removed) == (1, 1)
    assert [d.doc_id for d in workspace.index("kb").documents()] == ["1"]


def test_unknown_index_and_mismatch(workspace, docs_dir):
    with pytest.raises(IndexNotFoundError, match="no index named 'nope'"):
        workspace.index("nope")
    workspace.ingest([str(docs_dir)], index="support")
    with pytest.raises(EmbedderMismatchError, match="reindex"):
        workspace.index("support").search("keys", embedder="fake:32")


def test_missing_path_creates_no_index(workspace, tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        workspace.ingest([str(tmp_path / "missing")], index="fresh")
    assert workspace.store.list_indexes() == []


def test_remove_documents(workspace, docs_dir):
    workspace.ingest([str(docs_dir)], index="support")
    idx = workspace.index("support")
    assert idx.remove(["docs/keys.md"]) == 1
    assert "docs/keys.md" not in {d.doc_id for d in idx.documents()}
    with pytest.raises(InputError, match="no document 'docs/keys.md'"):
        idx.remove(["docs/keys.md"])


def test_unwritable_workspace(tmp_path, docs_dir):
    if os.geteuid() == 0:
        # root ignores permission bits: make the workspace path a file instead
        home = tmp_path / "home-file"
        home.write_text("not a folder")
    else:
        home = tmp_path / "ro"
        home.mkdir()
        home.chmod(0o500)
    ws = Workspace(RagtuneConfig.load({"home": str(home), "embedder": {"model": "fake:16"}}))
    with pytest.raises(StoreError, match="cannot write the workspace"):
        ws.ingest([str(docs_dir)], index="support")


def test_batch_search_unique_docs(workspace, tmp_path):
    corpus = tmp_path / "c.jsonl"
    long_text = " ".join(f"Sentence {i} mentions aspirin and fever." for i in range(80))
    corpus.write_text('{"_id": "long", "text": "%s"}\n{"_id": "short", "text": "aspirin lowers fever"}\n' % long_text)
    workspace.ingest([str(corpus)], index="kb")
    idx = workspace.index("kb")
    assert idx.manifest.chunks > 2
    ((qid, hits),) = idx.search_batch([("q1", "aspirin fever")], k=5, unique_docs=True)
    assert qid == "q1"
    assert sorted(h.doc_id for h in hits) == ["long", "short"]


def test_reindex_moves_an_index_to_another_embedder_atomically(workspace, docs_dir):
    workspace.ingest([str(docs_dir)], index="support")
    idx = workspace.index("support")
    before = idx.manifest
    stages = []
    report = idx.reindex("fake:32", progress=lambda stage, done, total: stages.append((stage, done, total)))
    assert report.changed and report.chunks == before.chunks and report.generation == before.generation + 1
    assert report.previous["spec"] == "fake:64" and report.embedder["dimension"] == 32
    after = idx.manifest
    assert after.embedder.spec == "fake:32" and after.history[-1].embedder == "fake:32"
    assert ("embed", before.chunks, before.chunks) in stages and stages[-1] == ("commit", 1, 1)
    # searches now embed queries with the new model, and documents, chunks and text are untouched
    assert idx.search("how often must api keys be rotated", k=1, mode="dense")[0].doc_id == "docs/keys.md"
    assert [d.doc_id for d in idx.documents()] == sorted(["docs/keys.md", "docs/audit.txt", "docs/faq.html"])
    # a later ingest embeds with the recorded model
    (docs_dir / "new.md").write_text("# New\n\nBackups run every six hours.\n")
    assert workspace.ingest([str(docs_dir)], index="support").added == 1
    assert idx.search("backups six hours", k=1, mode="dense")[0].doc_id == "docs/new.md"
    # the same model again is a no-op unless forced
    again = idx.reindex("fake:32")
    assert not again.changed and idx.manifest.generation == after.generation + 1
    assert idx.reindex("fake:32", force=True).changed


def test_an_embedder_of_another_dimension_is_a_clear_error_and_reindex_is_the_way(workspace, docs_dir):
    workspace.ingest([str(docs_dir)], index="support")
    idx = workspace.index("support")
    with pytest.raises(EmbedderMismatchError, match=r"'fake:16' makes 16-d vectors and index 'support' holds 64-d vectors.*"
                                                    r"ragtune reindex --index support --embedder fake:16"):
        idx.search("keys", embedder="fake:16")
    with pytest.raises(EmbedderMismatchError, match="16-d"):
        workspace.ingest([str(docs_dir)], index="support", embedder="fake:16")
    idx.reindex("fake:16")
    assert idx.search("keys", embedder="fake:16", mode="dense")
    with pytest.raises(EmbedderMismatchError, match="'fake:64' makes 64-d vectors and index 'support' holds 16-d"):
        idx.search("keys", embedder="fake:64")


def test_reindex_errors_leave_the_index_as_it_was(workspace, docs_dir):
    from ragtune.errors import ConfigError

    workspace.ingest([str(docs_dir)], index="support")
    idx = workspace.index("support")
    generation = idx.manifest.generation
    with pytest.raises(ConfigError, match="unknown embedder spec 'nope:x'"):
        idx.reindex("nope:x")
    from ragtune.tuning import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="no model named 'missing'"):
        idx.reindex("tuned:missing")
    assert idx.manifest.generation == generation and idx.manifest.embedder.spec == "fake:64"
    with pytest.raises(IndexNotFoundError):
        workspace.index("absent").reindex("fake:8")


def test_reindex_of_an_empty_index_records_the_model(workspace):
    workspace.create_index("empty")
    report = workspace.index("empty").reindex("fake:24")
    assert report.changed and report.chunks == 0 and workspace.index("empty").manifest.embedder.dimension == 24


def test_uploads_with_non_latin_names_keep_their_names_and_stay_two_documents(workspace, docs_dir):
    workspace.ingest([str(docs_dir)], index="support")
    first = workspace.index("support").ingest_uploads([("名前.txt", "名前の文書です。".encode())])
    second = workspace.index("support").ingest_uploads([("日本.txt", "日本の文書です。".encode())])
    assert (first.added, second.added, second.updated) == (1, 1, 0)
    assert {"名前.txt", "日本.txt"} <= {d.doc_id for d in workspace.index("support").documents()}


def test_the_workspace_and_what_it_writes_are_readable_by_the_owner_alone(tmp_path, docs_dir):
    previous = os.umask(0o022)
    try:
        config = RagtuneConfig.load({"home": str(tmp_path / "private"), "embedder": {"model": "fake:16"}})
        prepare_process(config)  # what every entry point does
        ws = Workspace(config)
        ws.ingest([str(docs_dir)], index="support")
        ws.index("support").ingest_uploads([("notes.md", b"# Notes\n\nUploaded text.\n")])
        home = tmp_path / "private"
        assert oct(home.stat().st_mode & 0o777) == "0o700"
        written = [p for p in home.rglob("*")]
        assert written and all(p.stat().st_mode & 0o077 == 0 for p in written), [p for p in written if p.stat().st_mode & 0o077]
        assert oct((ws.uploads_dir("support") / "notes.md").stat().st_mode & 0o777) == "0o600"
    finally:
        os.umask(previous)
