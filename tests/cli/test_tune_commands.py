"""The tune embeddings / tune reranker commands: bad input exits 2 with a message naming the problem, and nothing is
published; a real run prints exactly one JSON document with --json."""

import json

import pytest

PAIRS = [{"query": f"question {i} about topic {i}", "positive": f"Topic {i} is explained in detail in this passage number {i}."}
         for i in range(12)]


def write_pairs(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["embeddings", "reranker"])
def test_empty_text_in_pairs_is_exit_2_naming_the_line(cli, tmp_path, command):
    path = write_pairs(tmp_path / "pairs.jsonl", PAIRS[:3] + [{"query": "fine", "positive": "   "}])
    code, out, err = cli("tune", command, "--pairs", path, "--name", "x", "--json")
    assert code == 2 and list(json.loads(out)) == ["error"]
    assert "pairs.jsonl:4: field 'positive' is empty" in " ".join(err.split())
    code, out, err = cli("models", "--json")
    assert json.loads(out) == []


def test_sources_must_be_exactly_one(cli, tmp_path, docs_dir):
    code, out, err = cli("tune", "embeddings", "--name", "x")
    assert code == 2 and "give exactly one source of pairs: --pairs FILE, --beir DIR or --from-index NAME" in " ".join(err.split())
    path = write_pairs(tmp_path / "pairs.jsonl", PAIRS)
    code, _, err = cli("tune", "embeddings", "--name", "x", "--pairs", path, "--from-index", "support")
    assert code == 2 and "(got pairs, from_index)" in err
    code, _, err = cli("tune", "embeddings", "--name", "x", "--pairs", path, "--generator", "fake")
    assert code == 2 and "questions for the chunks of an index: it needs --from-index" in " ".join(err.split())
    code, _, err = cli("tune", "embeddings", "--name", "x", "--from-index", "nope")
    assert code == 2 and "no index named 'nope'" in err
    code, _, err = cli("tune", "reranker", "--name", "Bad Name", "--pairs", path)
    assert code == 2 and "model name 'Bad Name'" in err
    code, _, err = cli("tune", "embeddings", "--name", "x", "--pairs", path, "--matryoshka", "384,abc")
    assert code == 2 and "--matryoshka '384,abc'" in err


def test_beir_with_only_unknown_ids_is_exit_2(cli, tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    write_pairs(folder / "corpus.jsonl", [{"_id": "d1", "title": "T", "text": "Some text."}])
    write_pairs(folder / "queries.jsonl", [{"_id": "q1", "text": "a query"}])
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tmissing\t1\nq404\td1\t1\n")
    code, out, err = cli("tune", "embeddings", "--beir", folder, "--name", "x", "--json")
    assert code == 2 and list(json.loads(out)) == ["error"]
    assert "1 name unknown queries, 1 unknown documents" in " ".join(err.split())


def test_an_index_too_small_to_mine_from_is_exit_2(cli, tmp_path):
    one = tmp_path / "one.md"
    one.write_text("# One\n\nA single short document about keys.\n")
    cli("ingest", one, "--index", "tiny")
    path = write_pairs(tmp_path / "pairs.jsonl", PAIRS)
    code, out, err = cli("tune", "reranker", "--pairs", path, "--negatives-from", "tiny", "--name", "x", "--json")
    assert code == 2 and list(json.loads(out)) == ["error"] and "holds 1 document(s) and 1 chunk(s): too few" in " ".join(err.split())


@pytest.mark.slow
def test_tune_embeddings_json_prints_one_card(cli, tmp_path):
    path = write_pairs(tmp_path / "pairs.jsonl", PAIRS)
    code, out, err = cli("tune", "embeddings", "--pairs", path, "--name", "cli-emb", "--max-steps", "1", "--batch-size", "4",
                         "--max-seq-length", "32", "--negatives", "0", "--json")
    assert code == 0, err
    card = json.loads(out)  # exactly one JSON document
    assert card["kind"] == "embedding" and card["name"] == "cli-emb" and card["version"] == 1
    assert card["data"]["rows"]["held_out_queries"] == 1 and card["metrics"]["steps"] == 1
    code, out, _ = cli("models", "show", "cli-emb", "--json")
    assert json.loads(out)["data"]["sha256"] == card["data"]["sha256"]


def test_tune_raft_bad_input_exits_2_and_publishes_nothing(cli, tmp_path, example_docs):
    questions = example_docs.parent / "questions.jsonl"
    code, out, err = cli("tune", "raft", "--index", "support", "--questions", tmp_path / "missing.jsonl", "--name", "r")
    assert code == 2 and "missing.jsonl: no such file" in " ".join(err.split())
    code, out, err = cli("tune", "raft", "--index", "nope", "--questions", questions, "--name", "r")
    assert code == 2 and "no index named 'nope'" in " ".join(err.split())
    cli("ingest", example_docs, "--index", "support")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "ok?"}\n{"id": "b"}\n', encoding="utf-8")
    code, out, err = cli("tune", "raft", "--index", "support", "--questions", bad, "--name", "r")
    assert code == 2 and "bad.jsonl:2: field 'question' is missing or empty" in " ".join(err.split())
    code, out, err = cli("tune", "raft", "--index", "support", "--questions", questions, "--name", "r", "--distractors", "20")
    assert code == 2 and "--distractors 20 needs at least 21" in " ".join(err.split())
    code, out, err = cli("models", "--json")
    assert json.loads(out) == []


@pytest.mark.slow
def test_tune_reranker_head_choice_reaches_the_card(cli, tmp_path):
    for i in range(12):
        (tmp_path / f"topic{i}.md").write_text(f"# Topic {i}\n\nTopic {i} is explained in detail in this passage number {i}.\n")
    cli("ingest", tmp_path, "--index", "topics")
    path = write_pairs(tmp_path / "pairs.jsonl", PAIRS)
    code, _, err = cli("tune", "reranker", "--pairs", path, "--name", "x", "--head", "bilinear")
    assert code == 2 and "bilinear" in err
    code, out, err = cli("tune", "reranker", "--pairs", path, "--negatives-from", "topics", "--negatives", "2", "--name", "cli-rr",
                         "--head", "classifier", "--max-steps", "1", "--batch-size", "6", "--max-seq-length", "32", "--json")
    assert code == 0, err
    card = json.loads(out)
    assert card["base_model"]["head"] == "classifier" and card["settings"]["head"] == "classifier"
    assert card["scores"]["fusion"]["queries"] >= 1 and 0.0 <= card["scores"]["fusion"]["weight"] <= 1.0
