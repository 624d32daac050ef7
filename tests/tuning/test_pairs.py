"""Pair sources (file, BEIR, synthetic from an index), hard-negative mining with its guard, and the held-out split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.errors import ConfigError, InputError
from ragtune.generation.fake import FakeGenerator
from ragtune.index.base import ChunkRecord
from ragtune.tuning.pair_config import PairTuneConfig
from ragtune.tuning.pairs import (IndexCandidates, Pair, PairData, PairsConfig, beir_pairs, build_pairs, fill_negatives,
                                  key_sentence, mine_negatives, read_pairs, split_queries, synthetic_pairs)

TOPICS = {
    "keys": "API keys must be rotated every ninety days from the admin console by an owner.",
    "audit": "The audit log records every sign-in and every change to a secret for review.",
    "backup": "Backups of the vault run every six hours and are kept in a second region.",
    "billing": "The team plan is billed monthly per active user with invoices sent by email.",
    "sso": "Single sign-on works with any SAML identity provider once a domain is verified.",
    "export": "Audit entries can be exported as JSON lines through the export endpoint nightly.",
}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def topic_index(ws_for, tmp_path):
    """A workspace (fake embedder) with index 'kb': one markdown document per topic, each with a titled section."""
    docs = tmp_path / "kb"
    docs.mkdir()
    for name, text in TOPICS.items():
        (docs / f"{name}.md").write_text(f"# Handbook\n\n## Policy for {name} handling\n\n{text} Ask support if unsure. "
                                         f"More details on {name} follow in the admin guide for operators.\n", encoding="utf-8")
    ws = ws_for(tmp_path / "home")
    ws.ingest([str(docs)], "kb")
    return ws


# --- pairs files --------------------------------------------------------------------------------------


def test_read_pairs_accepts_aliases_and_negatives(tmp_path):
    path = write(tmp_path / "p.jsonl", [
        {"query": "how often are keys rotated", "positive": "Keys rotate every 90 days.", "negative": "Backups run hourly."},
        {"anchor": "audit retention", "pos": "Audit entries are kept 400 days.", "negatives": ["Keys rotate.", "Plans cost 8 USD."]},
        "",
        {"question": "sso", "passage": "SSO needs SAML.", "positive_id": "doc-sso"},
    ])
    pairs = read_pairs(path)
    assert [p.query for p in pairs] == ["how often are keys rotated", "audit retention", "sso"]
    assert pairs[0].negatives == ["Backups run hourly."] and pairs[1].negatives == ["Keys rotate.", "Plans cost 8 USD."]
    assert pairs[2].positive_id == "doc-sso" and pairs[2].positive_doc == "doc-sso" and pairs[2].where.endswith("p.jsonl:4")
    assert pairs[0].query_id != pairs[1].query_id


@pytest.mark.parametrize("row,message", [
    ({"query": "  ", "positive": "text"}, r"p.jsonl:2: field 'query' is empty"),
    ({"query": "q", "positive": ""}, r"p.jsonl:2: field 'positive' is empty"),
    ({"query": "q"}, r"p.jsonl:2: field 'positive' is missing"),
    ({"query": "q", "positive": "p", "negative": ["fine", " "]}, r"p.jsonl:2: field 'negative' must be a non-empty text"),
    ({"query": 3, "positive": "p"}, r"p.jsonl:2: field 'query' must be text"),
    ("{not json", r"p.jsonl:2: not valid JSON"),
    (["a", "list"], r"p.jsonl:2: expected a JSON object"),
])
def test_read_pairs_names_the_bad_line_and_field(tmp_path, row, message):
    path = write(tmp_path / "p.jsonl", [{"query": "good", "positive": "row"}, row])
    with pytest.raises(InputError, match=message):
        read_pairs(path)


def test_read_pairs_missing_or_empty_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_pairs(tmp_path / "none.jsonl")
    with pytest.raises(InputError, match="no pairs"):
        read_pairs(write(tmp_path / "empty.jsonl", ["", ""]))


# --- BEIR folders -------------------------------------------------------------------------------------


def beir_folder(root: Path, qrels: str) -> Path:
    (root / "qrels").mkdir(parents=True)
    write(root / "corpus.jsonl", [{"_id": "d1", "title": "Keys", "text": "Keys rotate every 90 days."},
                                  {"_id": "d2", "title": "", "text": "Audit entries are kept 400 days."},
                                  {"_id": "d3", "title": "Backups", "text": "Backups run every six hours."}])
    write(root / "queries.jsonl", [{"_id": "q1", "text": "key rotation"}, {"_id": "q2", "text": "audit retention"}])
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8")
    return root


def test_beir_pairs_count_and_report_unknown_ids(tmp_path):
    folder = beir_folder(tmp_path / "b", "q1\td1\t1\nq2\td2\t2\nq2\td3\t0\nq9\td1\t1\nq1\td77\t1\nq1\td78\t1\n")
    pairs, corpus, counts, notes = beir_pairs(folder, "train")
    assert [(p.query_id, p.positive_id) for p in pairs] == [("q1", "d1"), ("q2", "d2")]
    assert pairs[0].positive == "Keys\nKeys rotate every 90 days." and pairs[1].positive == "Audit entries are kept 400 days."
    assert counts == {"judgements": 5, "unknown_queries": 1, "unknown_documents": 2}
    assert "1 judgement(s) name queries missing from queries.jsonl (e.g. 'q9')" in notes[0]
    assert "2 judgement(s) name documents missing from corpus.jsonl (e.g. 'd77')" in notes[1]
    assert set(corpus) == {"d1", "d2", "d3"}


def test_beir_pairs_errors(tmp_path):
    folder = beir_folder(tmp_path / "b", "q9\td1\t1\nq1\td99\t1\n")
    with pytest.raises(InputError, match="no usable judgement .2 with a grade above 0; 1 name unknown queries, 1 unknown documents"):
        beir_pairs(folder, "train")
    with pytest.raises(InputError, match=r"test.tsv: missing \(splits here: train\)"):
        beir_pairs(folder, "test")
    with pytest.raises(InputError, match="no such folder"):
        beir_pairs(tmp_path / "nowhere", "train")
    (folder / "qrels" / "train.tsv").write_text("q1\td1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"train.tsv:1: expected 3 tab-separated fields"):
        beir_pairs(folder, "train")


def test_build_pairs_from_beir_records_unknown_ids_in_counts_and_notes(tmp_path):
    folder = beir_folder(tmp_path / "b", "q1\td1\t1\nq2\td2\t1\nq7\td2\t1\n")
    said = []
    data = build_pairs(PairsConfig(beir=folder, negatives=1), notify=said.append)
    assert data.counts["unknown_queries"] == 1 and data.format == "beir" and data.where == f"{folder}#train"
    assert any("q7" in s for s in said) and any("q7" in n for n in data.notes)
    # BM25 over the folder's corpus mines the negatives (one per pair); a document judged relevant is never one
    assert all(len(p.negatives) == 1 and p.negatives[0] != p.positive for p in data.train)
    assert {n for p in data.train for n in p.negatives} <= {"Keys\nKeys rotate every 90 days.", "Audit entries are kept 400 days.",
                                                            "Backups\nBackups run every six hours."}


# --- synthetic pairs ----------------------------------------------------------------------------------


def chunk(cid: str, text: str, headings=("Guide", "Key rotation policy")) -> ChunkRecord:
    return ChunkRecord(chunk_id=cid, doc_id=cid.split("#")[0], position=0, text=text, start=0, end=len(text), page=None,
                       headings=tuple(headings), source="s", doc_type="md")


def test_key_sentence_takes_the_rarest_sentence_out():
    text = "The vault is a product. Keys rotate every ninety days via the zyxcorp console. The vault is good and the vault is fine."
    idf = {"zyxcorp": 9.0, "ninety": 5.0, "vault": 0.1, "the": 0.01, "is": 0.01}
    sentence, rest = key_sentence(text, idf, default_idf=1.0)
    assert sentence == "Keys rotate every ninety days via the zyxcorp console."
    assert "zyxcorp" not in rest and rest.startswith("The vault is a product.")
    assert key_sentence("Too short.", idf, 1.0) is None


def test_synthetic_pairs_offline_headings_once_and_inverse_cloze():
    body = ("Keys rotate every ninety days from the admin console. Owners approve each rotation request in writing. "
            "Rotated keys stop working after a grace period of one day.")
    chunks = [chunk("a#0", body), chunk("a#1", body.replace("Keys", "Tokens")), chunk("b#0", body, headings=())]
    pairs, counts = synthetic_pairs(chunks, samples=10, seed=0)
    heads = [p for p in pairs if p.query_id.endswith("~h")]
    assert [p.query for p in heads] == ["Key rotation policy"] and heads[0].positive == heads[0].positive.strip()
    assert "Key rotation policy" not in heads[0].positive  # the heading is the query, the body the positive
    cloze = [p for p in pairs if p.query_id.endswith("~s")]
    assert len(cloze) == 3 and all(p.query not in p.positive for p in cloze)
    assert counts["heading"] == 1 and counts["key_sentence"] == 3 and counts["chunks_sampled"] == 3
    assert {p.positive_doc for p in pairs} == {"a", "b"}


def test_synthetic_pairs_with_a_generator_and_its_fallback():
    body = "Keys rotate every ninety days from the admin console. Owners approve each rotation request in writing today."
    chunks = [chunk("a#0", body)]
    good = FakeGenerator("1. How often do keys rotate?")
    pairs, counts = synthetic_pairs(chunks, 5, 0, generator=good)
    assert [(p.query, p.positive) for p in pairs] == [("How often do keys rotate?", chunks[0].index_text)]
    assert counts["generated"] == 1 and "Passage:" in good.prompts[0].messages[0]["content"]
    pairs, counts = synthetic_pairs(chunks, 5, 0, generator=FakeGenerator("ok"))  # too short to be a question
    assert counts["generator_rejected"] == 1 and {p.query_id[-2:] for p in pairs} == {"~h", "~s"}


# --- mining, the guard, the split ---------------------------------------------------------------------


def test_mining_excludes_the_positive_document_and_near_duplicates(topic_index):
    ws = topic_index
    search = IndexCandidates(ws.store, "kb", ws.index("kb").embedder(None))
    positive = [c for c in ws.store.all_chunks("kb") if c.doc_id == "kb/audit.md"][0]
    pairs = [Pair("q1", "audit log sign-in records", positive.chunk_id, positive.index_text, positive_doc="kb/audit.md"),
             Pair("q2", "audit entries export", "x", TOPICS["export"], positive_doc=None)]
    found, counts = mine_negatives(pairs, search, negatives=2, depth=10, margin=1.0)
    assert len(pairs[0].negatives) == 2 and all("sign-in and every change" not in n for n in pairs[0].negatives)
    # q2's positive has no document id: the chunk that contains its text is caught as a near duplicate
    assert all(TOPICS["export"] not in n for n in pairs[1].negatives) and counts["guard_duplicate"] >= 1
    assert found["q1"] and found["q1"][0].doc_id  # candidates are kept for evaluation


def test_margin_guard_drops_candidates_scoring_like_the_positive(topic_index):
    ws = topic_index
    embedder = ws.index("kb").embedder(None)
    search = IndexCandidates(ws.store, "kb", embedder)
    query, positive = "Backups of the vault run every six hours", "Copies of vault data are made four times a day."
    limit = 0.6 * float(embedder.embed_query(query) @ embedder.embed_documents([positive])[0])
    scored = {c.text: c.dense for c in search.search([query], 10)[0][0]}
    assert any(s is not None and s >= limit for s in scored.values())  # some candidates score like the positive
    pairs = [Pair("q", query, "p", positive)]
    _, counts = mine_negatives(pairs, search, negatives=3, depth=10, margin=0.6)
    assert counts["guard_margin"] >= 1 and pairs[0].negatives
    assert all(scored[n] < limit for n in pairs[0].negatives)
    unguarded = [Pair("q", query, "p", positive)]
    mine_negatives(unguarded, search, negatives=3, depth=10, margin=100.0)  # guard off
    assert any(scored[n] >= limit for n in unguarded[0].negatives)


def test_an_index_too_small_to_mine_from_is_an_error(ws_for, tmp_path):
    (tmp_path / "one.md").write_text("# One\n\nOnly one document lives here, about keys.\n")
    ws = ws_for(tmp_path / "home")
    ws.ingest([str(tmp_path / "one.md")], "tiny")
    search = IndexCandidates(ws.store, "tiny", ws.index("tiny").embedder(None))
    with pytest.raises(InputError, match=r"holds 1 document\(s\) and 1 chunk\(s\): too few .*--negatives 0"):
        mine_negatives([Pair("q", "keys", "p", "keys")], search, negatives=1, depth=5, margin=0.95)
    pairs = write(tmp_path / "p.jsonl", [{"query": "keys", "positive": "about keys"}])
    with pytest.raises(InputError, match="too few"):
        ws.prepare_pairs(PairsConfig(pairs=pairs, negatives_from="tiny"))


def test_split_keeps_each_query_on_one_side_and_is_seeded():
    pairs = [Pair(f"q{i % 20}", f"query {i % 20}", f"p{i}", f"text {i}") for i in range(40)]
    train, held = split_queries(pairs, 0.25, 100, seed=3)
    assert len({p.query_id for p in held}) == 5 and not {p.query_id for p in held} & {p.query_id for p in train}
    assert len(train) + len(held) == 40
    assert [p.query_id for p in split_queries(pairs, 0.25, 100, seed=3)[1]] == [p.query_id for p in held]
    assert split_queries(pairs[:9], 0.25, 100, 0)[1] == []  # too few queries to hold any out
    assert len({p.query_id for p in split_queries(pairs, 0.4, 2, 0)[1]}) == 2


def test_fill_negatives_uses_other_queries_positives():
    pairs = [Pair("q1", "a", "p1", "alpha text"), Pair("q2", "b", "p2", "beta text", negatives=["n1", "n2", "n3"]),
             Pair("q3", "c", "p3", "gamma text")]
    filled = fill_negatives(pairs, 2, seed=0)
    assert [len(p.negatives) for p in pairs] == [2, 2, 2] and filled == 4
    assert "alpha text" not in pairs[0].negatives and pairs[1].negatives == ["n1", "n2"]


def test_build_pairs_from_an_index_holds_out_queries_with_an_evaluation_corpus(topic_index):
    ws = topic_index
    data = ws.prepare_pairs(PairsConfig(from_index="kb", eval_fraction=0.3, negatives=1, eval_corpus_size=50))
    assert data.format == "index" and data.held_out and data.train
    held_docs = {p.positive_doc for p in data.held_out}
    assert data.relevant and all(pid in data.corpus for ids in data.relevant.values() for pid in ids)
    for qid, ids in data.candidates.items():  # hard distractors never come from a held-out positive's document
        assert all(ws.store.get_chunks("kb", [i])[0].doc_id not in held_docs for i in ids)
    assert all(len(p.negatives) == 1 for p in data.train)
    assert data.counts["held_out_queries"] == len(data.relevant) and data.counts["eval_corpus"] == len(data.corpus)
    again = PairData.from_json(json.loads(json.dumps(data.to_json())))
    assert again.sha256 == data.sha256 and again.relevant == data.relevant
    # Each held-out query keeps its first-stage candidates in retrieval order, its own positive flagged relevant.
    assert set(data.first_stage) == set(data.relevant) and again.first_stage == data.first_stage
    for p in data.held_out:
        ranked = data.first_stage[p.query_id]
        docs = {i: ws.store.get_chunks("kb", [i])[0].doc_id for i, _, _ in ranked}
        assert [rel for i, _, rel in ranked] == [docs[i] == p.positive_doc or i == p.positive_id for i, _, _ in ranked]
        assert any(rel for _, _, rel in ranked)


def test_pairs_config_needs_exactly_one_source(tmp_path):
    with pytest.raises(ValueError, match="exactly one source"):
        PairsConfig()
    with pytest.raises(ValueError, match=r"got pairs, from_index"):
        PairsConfig(pairs=tmp_path / "p.jsonl", from_index="kb")
    with pytest.raises(ValueError, match="needs from_index"):
        PairsConfig(pairs=tmp_path / "p.jsonl", generator="fake")
    with pytest.raises(ConfigError, match="field 'batch_size'"):
        PairTuneConfig.build(name="x", data=PairsConfig(from_index="kb"), batch_size=1)
    assert PairsConfig(from_index="kb").mining_index == "kb"
    assert PairsConfig(from_index="kb", negatives_from="other").mining_index == "other"


def test_held_out_corpus_keeps_to_its_size(topic_index):
    data = topic_index.prepare_pairs(PairsConfig(from_index="kb", eval_fraction=0.4, negatives=1, eval_corpus_size=10))
    held = data.counts["held_out_pairs"]
    assert held >= 2 and len(data.corpus) <= max(10, held + len(data.relevant))
    assert all(len(ids) <= max(1, (10 - held) // len(data.relevant)) for ids in data.candidates.values())
