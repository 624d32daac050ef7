"""Readers during a re-ingest of the same index never see a half-written document, on both stores."""

import re
import threading

import pytest

from ragtune.api import Workspace
from ragtune.config import RagtuneConfig


def manual(version: int) -> str:
    sections = 3 + version % 3  # the chunk count changes between versions too
    return "\n\n".join(f"# Part {i}\n\n" + " ".join([f"edition{version} section{i} procedure"] * 60) for i in range(sections))


@pytest.fixture(params=["lancedb", "postgres"])
def store_uri(request):
    if request.param == "lancedb":
        return "lancedb"
    return request.getfixturevalue("pg_uri")


def test_readers_see_one_version_during_reingest(tmp_path, store_uri):
    config = RagtuneConfig.load({"home": str(tmp_path / "home"), "store": store_uri, "embedder": {"model": "fake:64"},
                                 "chunking": {"max_tokens": 120, "overlap_tokens": 0}})
    docs = tmp_path / "kb"
    docs.mkdir()
    (docs / "other.md").write_text("# Other\n\nAn unrelated page about procedure names.\n")
    (docs / "manual.md").write_text(manual(0))
    writer = Workspace(config)
    writer.ingest([str(docs)], index="kb")
    shared = Workspace(config)  # threads of one server share a workspace; another process has its own
    stop = threading.Event()
    errors: list[BaseException] = []
    checks = [0]

    def reader(ws: Workspace, mode: str) -> None:
        try:
            while not stop.is_set():
                hits = ws.index("kb").search("edition section procedure", k=30, mode=mode)
                editions = {e for h in hits if h.doc_id == "kb/manual.md" for e in re.findall(r"edition\d+", h.text)}
                assert len(editions) == 1, editions  # never a mix of two versions
                checks[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(shared, "lexical")), threading.Thread(target=reader, args=(shared, "hybrid")),
               threading.Thread(target=reader, args=(Workspace(config), "hybrid"))]
    for t in threads:
        t.start()
    try:
        for version in range(1, 9):
            (docs / "manual.md").write_text(manual(version))
            report = writer.ingest([str(docs)], index="kb")
            assert (report.updated, report.unchanged) == (1, 1)
    finally:
        stop.set()
        for t in threads:
            t.join()
        for ws in (writer, shared):
            getattr(ws.store, "close", lambda: None)()
    assert not errors, errors[0]
    assert checks[0] > 3
    final = {e for h in Workspace(config).index("kb").search("procedure", k=30, mode="lexical")
             if h.doc_id == "kb/manual.md" for e in re.findall(r"edition\d+", h.text)}
    assert final == {"edition8"}
