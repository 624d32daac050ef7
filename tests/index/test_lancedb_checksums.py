"""Checksummed index files: damage that keeps file sizes is found, never served; the manifest is checked against
its checksum and its segments, and copies of recent generations are kept."""

from __future__ import annotations

import hashlib
import json
import logging
import random

import pytest

from ragtune.config import ChunkingConfig
from ragtune.index import segments as segments_mod
from ragtune.index.base import IndexManifest, IngestEvent
from ragtune.index.lancedb import LanceDBStore
from ragtune.index.manifest_files import ManifestDamagedError

from .conformance import EMB, change

WORDS = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "vitamin", "keys", "audit", "rotate", "pricing"]
QUERIES = ["alpha beta", "vitamin keys", "audit rotate", "pricing omega", "gamma delta", "sigma kappa", "keys alpha",
           "omega beta"]


@pytest.fixture
def store(tmp_path):
    store = LanceDBStore(tmp_path / "ws")
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    rng = random.Random(3)
    for step in range(3):
        store.commit("kb", [change(f"d{step}-{i}", [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(3)])
                            for i in range(6)], ["d0-0"] if step == 2 else [], IngestEvent())
    return store


def _answers(store: LanceDBStore) -> list:
    return [(store.search_lexical("kb", q, 5), store.search_dense("kb", EMB.embed_query(q), 5)) for q in QUERIES]


def _fresh(store: LanceDBStore) -> LanceDBStore:
    segments_mod._verified.clear()  # a new process: nothing checked yet
    return LanceDBStore(store.root.parent)


def _segment_file(store: LanceDBStore, name: str):
    folders = [store.root / "kb" / "segments" / e["id"] for e in store.manifest("kb").backend["segments"]]
    return next(f / name for f in folders if (f / name).exists())


@pytest.mark.parametrize("name", ["vectors.npy", "tfs.npy", "rows.arrow", "keys.npy"])
def test_same_size_garbage_in_a_segment_file_is_rebuilt_from_the_tables(store, name, caplog):
    truth = _answers(_fresh(store))
    path = _segment_file(store, name)
    data = bytearray(path.read_bytes())
    rng = random.Random(1)
    for i in range(len(data) // 2, len(data)):
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="ragtune.index"):
        got = _answers(_fresh(store))
    assert got == truth
    assert "does not match its checksum" in caplog.text


def test_a_zeroed_deletion_list_is_found(store, caplog):
    truth = _answers(_fresh(store))
    entry = next(e for e in store.manifest("kb").backend["segments"] if e.get("deleted"))
    path = store.root / "kb" / "deletes" / entry["deleted"]
    path.write_bytes(b"\0" * path.stat().st_size)
    with caplog.at_level(logging.WARNING, logger="ragtune.index"):
        assert _answers(_fresh(store)) == truth
    assert "the deletion list does not match its checksum" in caplog.text


def test_every_segment_file_and_the_manifest_carry_a_checksum(store):
    manifest = store.manifest("kb")
    for entry in manifest.backend["segments"]:
        folder = store.root / "kb" / "segments" / entry["id"]
        assert set(entry["sums"]) == {p.name for p in folder.iterdir()}
        assert all(v.startswith("crc32:") for v in entry["sums"].values())
    assert all(e["deleted_sum"].startswith("crc32:") for e in manifest.backend["segments"] if e.get("deleted"))
    assert manifest.backend["checksum"].startswith("sha256:")


def test_an_edited_manifest_is_refused_with_the_doctor_hint(store):
    path = store.root / "kb" / "manifest.json"
    data = json.loads(path.read_text())
    data["backend"]["segments"] = []
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestDamagedError, match="ragtune doctor --index kb --repair"):
        _fresh(store).search_lexical("kb", "alpha", 5)


def test_a_wrong_live_count_is_found_and_the_segments_rebuilt(store, caplog):
    truth = _answers(_fresh(store))
    path = store.root / "kb" / "manifest.json"
    data = json.loads(path.read_text())
    del data["backend"]["checksum"]  # as an index written before manifests had checksums
    data["backend"]["segments"][0]["live"] -= 1
    path.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING, logger="ragtune.index"):
        assert _answers(_fresh(store)) == truth
    assert "live rows" in caplog.text


def test_previous_generations_of_the_manifest_are_kept(store):
    copies = store.root / "kb" / "manifests"
    assert sorted(int(p.stem) for p in copies.glob("*.json")) == [1, 2, 3]
    assert json.loads((copies / "3.json").read_text()) == json.loads((store.root / "kb" / "manifest.json").read_text())


def test_a_file_checked_once_is_not_read_again_in_the_process(store, monkeypatch):
    fresh = _fresh(store)
    fresh.search_lexical("kb", "alpha", 5)
    reads = []
    monkeypatch.setattr(segments_mod, "file_checksum", lambda path: reads.append(path) or "crc32:0")
    other = LanceDBStore(store.root.parent)  # same process, new store: the files were checked already
    assert other.search_lexical("kb", "alpha", 5) == fresh.search_lexical("kb", "alpha", 5)
    assert reads == []



def test_a_manifest_written_before_a_field_was_added_still_matches_its_checksum(store, tmp_path):
    path = tmp_path / "ws" / "indexes" / "kb" / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["context_model"]  # as a version without the field wrote it, checksum included
    data["backend"].pop("checksum")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data["backend"]["checksum"] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    path.write_text(json.dumps(data), encoding="utf-8")
    assert _fresh(store).manifest("kb").context_model is None
