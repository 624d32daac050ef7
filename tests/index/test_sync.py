"""Syncing real document collections: every file read or reported, no document silently replaced or removed."""

import os
from pathlib import Path

import pytest

from ragtune.documents.loaders.pdf import PdfLoader
from ragtune.errors import InputError


def _ids(workspace, index):
    return sorted(d.doc_id for d in workspace.index(index).documents())


def test_any_loader_exception_on_one_file_is_a_skipped_entry_with_its_reason(workspace, docs_dir, monkeypatch):
    from pypdf.errors import LimitReachedError

    def explode(self, path, doc_id):
        raise LimitReachedError("Reached maximum array element count.")

    (docs_dir / "filing.pdf").write_bytes(b"%PDF-1.4 stand-in")
    monkeypatch.setattr(PdfLoader, "load", explode)
    report = workspace.ingest([str(docs_dir)], index="support")
    assert report.added == 3
    (entry,) = report.skipped
    assert entry["source"].endswith("filing.pdf") and "LimitReachedError: Reached maximum array element count." in entry["error"]
    with pytest.raises(InputError, match="filing.pdf: cannot read: LimitReachedError"):
        workspace.ingest([str(docs_dir)], index="support", strict=True)


def test_a_jsonl_row_with_empty_text_is_skipped_by_line_and_the_rest_ingested(workspace, tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "1", "text": "alpha"}\n{"_id": "2", "text": "  "}\nnot json\n{"_id": "3", "text": "gamma"}\n')
    report = workspace.ingest([str(corpus)], index="kb")
    assert report.added == 2 and _ids(workspace, "kb") == ["1", "3"]
    assert [(s["source"], s["error"]) for s in report.skipped] == [
        (f"{corpus}:2", "field 'text' is missing or empty"), (f"{corpus}:3", "not valid JSON (Expecting value)")]
    # the stored row 1 is kept while its line is unreadable, not counted as vanished
    corpus.write_text('{"_id": "1", "text": ""}\n{"_id": "3", "text": "gamma"}\n')
    again = workspace.ingest([str(corpus)], index="kb")
    assert (again.removed, again.unchanged) == (0, 1) and _ids(workspace, "kb") == ["1", "3"]


def test_same_file_name_in_two_folders_gives_two_documents(workspace, tmp_path):
    for folder, text in (("a", "alpha notes"), ("b", "beta notes")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.txt").write_text(text)
    first = workspace.ingest([str(tmp_path / "a" / "notes.txt")], index="kb")
    second = workspace.ingest([str(tmp_path / "b" / "notes.txt")], index="kb")
    assert (first.added, second.added, second.updated) == (1, 1, 0)
    assert _ids(workspace, "kb") == ["b/notes.txt", "notes.txt"]
    again = workspace.ingest([str(tmp_path / "b" / "notes.txt")], index="kb")
    assert (again.unchanged, again.added, again.removed) == (1, 0, 0)
    assert {d.doc_id: d.source for d in workspace.index("kb").documents()}["notes.txt"].endswith("a/notes.txt")


def test_same_folder_name_in_two_places_gives_two_documents_each(workspace, tmp_path):
    for top in ("x", "y"):
        (tmp_path / top / "docs").mkdir(parents=True)
        (tmp_path / top / "docs" / "guide.md").write_text(f"# Guide\n\nFrom {top}.\n")
    workspace.ingest([str(tmp_path / "x" / "docs")], index="kb")
    report = workspace.ingest([str(tmp_path / "y" / "docs")], index="kb")
    assert (report.added, report.updated) == (1, 0)
    assert _ids(workspace, "kb") == ["docs/guide.md", "y/docs/guide.md"]
    both = workspace.ingest([str(tmp_path / "x" / "docs"), str(tmp_path / "y" / "docs")], index="kb")
    assert (both.unchanged, both.added, both.removed) == (2, 0, 0)


def test_a_jsonl_row_never_replaces_a_document_of_another_source(workspace, tmp_path):
    (tmp_path / "one.jsonl").write_text('{"_id": "1", "text": "first source"}\n')
    (tmp_path / "two.jsonl").write_text('{"_id": "1", "text": "second source"}\n{"_id": "2", "text": "other"}\n')
    workspace.ingest([str(tmp_path / "one.jsonl")], index="kb")
    report = workspace.ingest([str(tmp_path / "two.jsonl")], index="kb")
    assert (report.added, report.updated) == (1, 0)
    assert report.skipped[0]["error"] == "document id '1' is already used by a document from another source (skipped: line 1)"
    assert report.skipped[0]["source"] == f"{tmp_path / 'two.jsonl'}:1"  # the row, by file and line
    assert workspace.index("kb").search("source", k=1, mode="lexical")[0].text == "first source"
    with pytest.raises(InputError, match="document id '1' is already used"):
        workspace.ingest([str(tmp_path / "two.jsonl")], index="kb", strict=True)


def test_an_unreadable_subfolder_is_skipped_and_its_documents_kept(workspace, docs_dir, monkeypatch):
    (docs_dir / "private").mkdir()
    (docs_dir / "private" / "plan.md").write_text("# Plan\n\nShip in May.\n")
    workspace.ingest([str(docs_dir)], index="support")
    assert "docs/private/plan.md" in _ids(workspace, "support")
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).rstrip("/").endswith("private"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = workspace.ingest([str(docs_dir)], index="support")
    assert report.removed == 0 and "docs/private/plan.md" in _ids(workspace, "support")
    (entry,) = report.skipped
    assert entry["source"].endswith("private") and entry["error"] == "cannot read folder: Permission denied"
    with pytest.raises(InputError, match="private: cannot read folder"):
        workspace.ingest([str(docs_dir)], index="support", strict=True)


def test_a_failed_first_ingest_leaves_no_index(workspace, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(InputError, match="broken.pdf"):
        workspace.ingest([str(bad)], index="fresh")
    assert workspace.store.list_indexes() == []


def _limited(tmp_path, **ingest):
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    return Workspace(RagtuneConfig.load({"home": str(tmp_path / "home"), "embedder": {"model": "fake:64"}, "ingest": ingest}))


def test_a_file_above_the_size_limit_is_a_skipped_entry(tmp_path, docs_dir):
    (docs_dir / "huge.txt").write_text("Big text. " * 300_000)  # ~3 MB
    report = _limited(tmp_path, max_file_mb=1).ingest([str(docs_dir)], index="kb")
    assert report.added == 3
    (entry,) = report.skipped
    assert entry["source"].endswith("huge.txt") and "above the limit of 1048576 bytes (ingest.max_file_mb)" in entry["error"]


def test_a_docx_that_unpacks_above_the_limit_is_a_skipped_entry(tmp_path, docs_dir):
    import docx

    document = docx.Document()
    for _ in range(200):
        document.add_paragraph("compressible " * 1000)
    document.save(str(docs_dir / "bomb.docx"))
    assert (docs_dir / "bomb.docx").stat().st_size < 1024 * 1024
    report = _limited(tmp_path, max_unpacked_mb=1).ingest([str(docs_dir)], index="kb")
    assert report.added == 3
    (entry,) = report.skipped
    assert entry["source"].endswith("bomb.docx") and "(ingest.max_unpacked_mb)" in entry["error"]


def test_the_reading_pass_alone_decides_which_documents_are_unchanged():
    from ragtune.config import IngestConfig
    from ragtune.documents import Document
    from ragtune.index.base import DocRecord
    from ragtune.index.sync import IngestReport, _Sync

    same, edited, added = (Document.from_parts(d, f"/s/{d}", [(f"{d} text", None, ())], "txt")
                           for d in ("same", "edited", "added"))
    stored = {d.doc_id: DocRecord(doc_id=d.doc_id, source=d.source, origin="/s", hash=h, version=3, chunks=1, doc_type="txt")
              for d, h in ((same, same.content_hash), (edited, "an older hash"))}
    sync = _Sync(IngestReport(index="kb"), stored, False, None, IngestConfig())
    read = [sync._read(d) for d in (same, edited, added)]
    assert [r.document for r in read] == [None, edited, added]  # the stored one is not kept
    sync._compare(read, "/s")
    assert (sync.report.unchanged, sync.report.updated, sync.report.added) == (1, 1, 1)
    assert [(doc.doc_id, version) for doc, _, version in sync.changed] == [("edited", 4), ("added", 1)]


def test_many_rows_with_one_id_are_one_skipped_entry(workspace, tmp_path):
    rows = "".join(f'{{"_id": "same", "text": "row {i}"}}\n' for i in range(500))
    (tmp_path / "dup.jsonl").write_text(rows)
    report = workspace.ingest([str(tmp_path / "dup.jsonl")], index="kb")
    assert report.added == 1
    assert report.skipped == [{"source": f"{tmp_path / 'dup.jsonl'}:2",
                               "error": "document id 'same' is already used by another document in this ingest "
                                        "(499 documents with this id were skipped: lines 2, 3, 4, 5, 6, ...)"}]


def test_a_repeated_id_names_its_line_once(workspace, tmp_path):
    (tmp_path / "two.jsonl").write_text('{"_id": "a", "text": "first"}\n{"_id": "b", "text": "b"}\n{"_id": "a", "text": "again"}\n')
    report = workspace.ingest([str(tmp_path / "two.jsonl")], index="kb")
    assert report.skipped == [{"source": f"{tmp_path / 'two.jsonl'}:3",
                               "error": "document id 'a' is already used by another document in this ingest (skipped: line 3)"}]


def test_hidden_entries_and_links_to_folders_are_reported_as_skipped(workspace, tmp_path):
    folder = tmp_path / "kb"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "notes.md").write_text("# git\n\ninternal\n")
    (folder / ".draft.md").write_text("# draft\n\nhidden\n")
    (folder / "guide.md").write_text("# Guide\n\nvisible\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "far.md").write_text("# Far\n\naway\n")
    (folder / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    report = workspace.ingest([str(folder)], index="kb", strict=True)
    assert report.added == 1
    assert sorted((Path(s["source"]).name, s["error"].split(":")[0]) for s in report.skipped) == [
        (".draft.md", "hidden file"), (".git", "hidden folder"), ("linked", "link to a folder")]
