"""The LanceDB store's segments: commits cost what they change, search equals one rebuilt index, damage is
repaired or named, and a commit killed at any step leaves the previous version whole."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest

from ragtune.config import ChunkingConfig, IndexConfig
from ragtune.errors import ChunkNotFoundError, StoreError
from ragtune.index import lancedb as lance_mod
from ragtune.index import lancedb_snapshot
from ragtune.index import segments as segments_mod
from ragtune.index.base import Filters, IndexManifest, IngestEvent, glob_regex
from ragtune.index.bm25 import BM25Index
from ragtune.index.lancedb import LanceDBStore
from ragtune.index.lancedb_commit import SegmentWriter
from ragtune.index.lexical import Analyzer
from ragtune.index.segments import Segment

from .conformance import EMB, change
from .spies import sizes_of_calls

WORDS = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "vitamin", "keys", "audit", "rotate", "pricing", "schools", "cold", "winter"]


def _store(tmp_path, **config) -> LanceDBStore:
    store = LanceDBStore(tmp_path / "ws", IndexConfig(**config))
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    return store


def _texts(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8))) for _ in range(n)]


def _random_history(store: LanceDBStore, commits: int, seed: int = 0) -> dict[str, list[str]]:
    """Random upserts and deletions; returns the live documents' texts."""
    rng = random.Random(seed)
    live: dict[str, list[str]] = {}
    for step in range(commits):
        upserts, deletes = [], []
        for _ in range(rng.randint(0, 4)):
            doc = f"d{rng.randint(0, 30)}"
            if doc in deletes:
                continue
            texts = _texts(rng, rng.randint(1, 4))
            upserts.append(change(doc, texts, meta={"lang": rng.choice(["en", "de"]), "year": rng.choice([2020, 2021])},
                                  version=step + 1))
            live[doc] = texts
        others = sorted(set(live) - {u.record.doc_id for u in upserts})
        if others and rng.random() < 0.3:
            deletes.append(rng.choice(others))
            live.pop(deletes[-1])
        store.commit("kb", upserts, deletes, IngestEvent())
    return live


def test_incremental_commits_search_like_one_rebuilt_index(tmp_path):
    store = _store(tmp_path)
    live = _random_history(store, 40)
    manifest = store.manifest("kb")
    assert len(manifest.backend["segments"]) < 40  # merged at the size ratio
    ids = [f"{d}#{i}" for d, texts in sorted(live.items()) for i in range(len(texts))]
    texts = [t for _, ts in sorted(live.items()) for t in ts]
    reference = BM25Index().build(texts)
    for query in ["alpha", "vitamin keys", "cold winter omega", "sigma sigma beta"]:
        want = reference.scores(query)
        got = dict(LanceDBStore(tmp_path / "ws").search_lexical("kb", query, len(ids)))
        expected = {cid: s for cid, s in zip(ids, want) if s > 0}
        assert got.keys() == expected.keys()
        assert all(abs(got[c] - expected[c]) < 1e-4 for c in got)
    vectors = EMB.embed_documents(texts)
    query = EMB.embed_query("audit rotate keys")
    exact = [ids[i] for i in np.argsort(-(vectors @ query), kind="stable")[:5]]
    assert [c for c, _ in store.search_dense("kb", query, 5)] == exact
    assert sorted(c.chunk_id for c in store.all_chunks("kb")) == sorted(ids)
    assert [c.text for c in store.get_chunks("kb", ids[::-1])] == texts[::-1]


def test_filters_are_evaluated_over_the_mapped_columns(tmp_path):
    store = _store(tmp_path)
    store.commit("kb", [change("a", ["pricing for teams"], source="/kb/docs/pricing.md", doc_type="md", meta={"year": 2020}),
                        change("b", ["pricing for schools"], source="/kb/schools.pdf", doc_type="pdf", meta={"lang": "de"}),
                        change("c", ["pricing for [brackets]"], source="/kb/x[1].md", doc_type="md")], [], IngestEvent())
    lexical = lambda f: sorted(c for c, _ in store.search_lexical("kb", "pricing", 5, f))
    assert lexical(Filters(metadata={"year": 2020})) == ["a#0"]  # compared as text, like Filters.matches
    assert lexical(Filters(metadata={"year": "2020"})) == ["a#0"]
    assert lexical(Filters(metadata={"lang": "None"})) == ["a#0", "c#0"]  # a missing key reads as None
    assert lexical(Filters(source="pricing.*")) == ["a#0"]  # the last path part
    assert lexical(Filters(source="/kb/*")) == ["a#0", "b#0", "c#0"]
    assert lexical(Filters(source="x[[]1].md")) == ["c#0"]
    assert lexical(Filters(types=("md",), source="*s*")) == ["a#0"]
    assert [c for c, _ in store.search_dense("kb", EMB.embed_query("pricing"), 5, Filters(types=("pdf",)))] == ["b#0"]


def test_glob_classes_read_as_fnmatch_reads_them():
    import fnmatch
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    names = ["a", "b", "m", "z", "-", "!", "^", "]", "\\", "[", "é", "\n"]
    for pattern in ["[z-a]", "[!z-a]", "[xz-am]", "[b-az-c]", "[!b-az-c]", "[a-]", "[-a]", "[!-a]", "[]-a]", "[^a]",
                    "[[]", "[\\-a]", "[a-c-z]"]:
        regex = glob_regex(pattern)
        want = [fnmatch.fnmatchcase(n, pattern) for n in names]
        assert [bool(re.search(regex, n)) for n in names] == want, (pattern, regex)
        assert pc.match_substring_regex(pa.array(names), pattern=regex).to_pylist() == want, (pattern, regex)


def test_a_commit_reads_and_tokenizes_only_what_changed(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.commit("kb", [change(f"d{i}", [f"text {i} about {WORDS[i % len(WORDS)]}"] * 3) for i in range(200)], [],
                 IngestEvent())
    seen = sizes_of_calls(monkeypatch, Analyzer, "tokens", 1)
    monkeypatch.setattr(lance_mod, "vectors_of", lambda data: pytest.fail("the chunks table was read whole"))
    store.commit("kb", [change("d7", ["a changed text about audit"], version=2)], ["d9"], IngestEvent())
    assert seen == [1]
    assert [c for c, _ in store.search_lexical("kb", "changed", 3)] == ["d7#0"]
    assert store.search_lexical("kb", "text 9", 600) and "d9#0" not in dict(store.search_lexical("kb", "text 9", 600))


def test_a_commit_looks_for_rows_only_of_documents_the_index_holds(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.commit("kb", [change(f"d{i}", [f"text {i}"]) for i in range(20)], [], IngestEvent())
    looked_up: list[list[str]] = []
    rows_of_documents = Segment.rows_of_documents
    monkeypatch.setattr(Segment, "rows_of_documents",
                        lambda self, doc_ids: looked_up.append(list(doc_ids)) or rows_of_documents(self, doc_ids))
    store.commit("kb", [change("new", ["a new text"])], ["never-stored"], IngestEvent())
    assert looked_up == []
    store.commit("kb", [change("d3", ["changed"], version=2), change("new2", ["another"])], ["d5", "nope"], IngestEvent())
    assert looked_up and all(ids == ["d3", "d5"] for ids in looked_up)
    assert store.manifest("kb").chunks == 21 and [c for c, _ in store.search_lexical("kb", "changed", 3)] == ["d3#0"]


def _damage(store: LanceDBStore, what: str) -> None:
    folder = store.root / "kb"
    segment = folder / "segments" / store.manifest("kb").backend["segments"][0]["id"]
    if what == "missing":
        (segment / "terms.npy").unlink()
    elif what == "truncated":
        data = (segment / "rows.npy").read_bytes()
        (segment / "rows.npy").write_bytes(data[: len(data) // 2])
    else:
        (segment / "meta.json").write_text("{not json")


@pytest.mark.parametrize("what", ["missing", "truncated", "garbled"])
def test_a_damaged_segment_is_rebuilt_from_the_tables(tmp_path, what, caplog):
    store = _store(tmp_path)
    store.commit("kb", [change("a", ["rotate api keys every ninety days"]), change("b", ["the audit log"])], [],
                 IngestEvent())
    _damage(store, what)
    reader = LanceDBStore(tmp_path / "ws")
    assert [c for c, _ in reader.search_lexical("kb", "audit", 3)] == ["b#0"]  # never an empty answer
    assert "rebuilding its search segments" in caplog.text
    assert reader.manifest("kb").generation == 1
    m = reader.commit("kb", [change("c", ["audit trail"])], [], IngestEvent())
    assert m.generation == 2 and {c for c, _ in reader.search_lexical("kb", "audit", 3)} == {"b#0", "c#0"}


def test_a_damaged_segment_that_cannot_be_rebuilt_names_doctor(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.commit("kb", [change("a", ["rotate api keys"])], [], IngestEvent())
    _damage(store, "missing")

    def fails(self, chunks, vectors):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(SegmentWriter, "rebuild", fails)
    with pytest.raises(StoreError, match=r"index 'kb'.*terms\.npy is missing.*ragtune doctor --index kb --repair"):
        LanceDBStore(tmp_path / "ws").search_lexical("kb", "keys", 3)


def test_reindex_force_rebuilds_damaged_segments_without_reading_them(tmp_path, caplog):
    from ragtune.embeddings import FakeEmbedder
    from ragtune.index.reindex import reindex

    store = _store(tmp_path)
    store.commit("kb", [change("a", ["rotate api keys"]), change("b", ["audit log"])], [], IngestEvent())
    _damage(store, "garbled")
    report = reindex(LanceDBStore(tmp_path / "ws"), "kb", FakeEmbedder(32), force=True)
    assert report.changed and report.chunks == 2
    assert [c for c, _ in LanceDBStore(tmp_path / "ws").search_lexical("kb", "audit", 3)] == ["b#0"]
    assert "rebuilding" not in caplog.text


def test_an_index_written_before_segments_is_upgraded(tmp_path):
    store = _store(tmp_path)
    store.commit("kb", [change("a", ["rotate api keys"]), change("b", ["audit log"])], [], IngestEvent())
    path = store.root / "kb" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["backend"] = {k: manifest["backend"][k] for k in ("chunks_version", "docs_version", "ann")}
    path.write_text(json.dumps(manifest))
    reader = LanceDBStore(tmp_path / "ws")
    assert [c for c, _ in reader.search_lexical("kb", "keys", 3)] == ["a#0"]
    assert reader.manifest("kb").backend["segments"]


STEPS = [(lance_mod, "delete_documents"), (SegmentWriter, "delete"), (SegmentWriter, "add"),
         (SegmentWriter, "maintain"), (lance_mod, "collect")]


@pytest.mark.parametrize("owner,step", STEPS, ids=[s for _, s in STEPS])
def test_a_commit_killed_at_any_step_leaves_the_previous_version_whole(tmp_path, monkeypatch, owner, step):
    store = _store(tmp_path)
    store.commit("kb", [change("a", ["original text about keys"]), change("b", ["second document"])], [],
                 IngestEvent())
    reader = LanceDBStore(tmp_path / "ws")
    before = reader.search_lexical("kb", "keys document", 5)
    first = {e["id"] for e in store.manifest("kb").backend["segments"]}
    original = getattr(owner, step)

    def killed(*args, **kwargs):
        if step == "collect":
            original(*args, **kwargs)  # the manifest is already swapped: the commit went through
        raise KeyboardInterrupt

    monkeypatch.setattr(owner, step, killed)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        store.commit("kb", [change("a", ["replacement text"], version=2), change("c", ["new doc"])], ["b"], IngestEvent())
    monkeypatch.undo()
    fresh = LanceDBStore(tmp_path / "ws")
    if step == "collect":
        assert fresh.manifest("kb").generation == 2
        assert interrupted.value.committed == "the commit to index 'kb' is in (generation 2)"
        return
    assert not hasattr(interrupted.value, "committed")
    assert fresh.manifest("kb").generation == 1
    assert fresh.search_lexical("kb", "keys document", 5) == before == reader.search_lexical("kb", "keys document", 5)
    assert sorted(c.text for c in fresh.all_chunks("kb")) == ["original text about keys", "second document"]
    assert sorted((d.doc_id, d.version) for d in fresh.documents("kb")) == [("a", 1), ("b", 1)]
    m = fresh.commit("kb", [change("c", ["third"])], [], IngestEvent(added=1))
    assert m.generation == 2 and sorted(d.doc_id for d in fresh.documents("kb")) == ["a", "b", "c"]
    on_disk = {p.name for p in (store.root / "kb" / "segments").iterdir()}
    assert on_disk <= first | {e["id"] for e in m.backend["segments"]}  # what the killed commit wrote is gone


def test_headings_are_indexed_with_the_text_as_the_record_gives_them(tmp_path):
    store = _store(tmp_path)
    headed = change("a", ["rotate every ninety days"])
    headed.chunks[0] = replace(headed.chunks[0], headings=("Security", "API keys"))
    store.commit("kb", [headed, change("b", ["audit log"])], [], IngestEvent())
    assert [c for c, _ in store.search_lexical("kb", "security keys", 5)] == ["a#0"]
    (record,) = store.get_chunks("kb", ["a#0"])
    assert record.headings == ("Security", "API keys")
    segment = store._snapshot("kb").segments[0]
    lengths, _, _ = Analyzer().tokens([record.index_text, "audit log"])
    assert np.asarray(segment.postings.lengths).tolist() == lengths.tolist()


def test_records_are_found_across_segments_hashing_the_ids_once(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.commit("kb", [change("a", ["one"]), change("b", ["three", "x", "y"])], [], IngestEvent())
    store.commit("kb", [change("a", ["one again"], version=2), change("c", ["four"])], [], IngestEvent())
    entries = store.manifest("kb").backend["segments"]
    assert len(entries) == 2 and entries[0]["deleted"]  # a#0's old row is deleted in the first segment
    hashed = []
    hash_strings = lancedb_snapshot.hash_strings
    monkeypatch.setattr(lancedb_snapshot, "hash_strings", lambda ids: hashed.append(list(ids)) or hash_strings(ids))
    monkeypatch.setattr(segments_mod, "hash_strings", lambda ids: pytest.fail("a segment hashed the ids again"))
    fresh = LanceDBStore(tmp_path / "ws")  # no search has located a chunk yet
    assert [r.text for r in fresh.get_chunks("kb", ["c#0", "b#2", "a#0", "c#0"])] == ["four", "y", "one again", "four"]
    assert hashed == [["c#0", "b#2", "a#0"]]
    with pytest.raises(ChunkNotFoundError, match="b#9"):
        fresh.get_chunks("kb", ["a#0", "b#9"])
