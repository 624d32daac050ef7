import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragtune.documents.loaders.pdf import PdfLoader


def test_ingest_json_is_pure_and_matches_contract(cli, docs_dir):
    code, out, _ = cli("ingest", docs_dir, "--index", "support", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"index", "added", "updated", "removed", "unchanged", "skipped", "chunks"}
    assert data["added"] == 3 and data["index"] == "support"


def test_search_json_and_batch(cli, docs_dir, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    code, out, _ = cli("search", "audit log retention", "--index", "support", "--k", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data["hits"]) == 2 and data["hits"][0]["doc_id"] == "docs/audit.txt"
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"_id": "q1", "text": "api keys rotation"}\n{"id": "q2", "question": "team plan price"}\n')
    code, out, _ = cli("search", "--queries", queries, "--index", "support", "--k", "3", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["query_id"] for r in rows] == ["q1", "q2"]
    assert rows[0]["hits"][0]["doc_id"] == "docs/keys.md"
    assert set(rows[0]["hits"][0]) == {"doc_id", "chunk_id", "score"}


def test_docs_indexes_remove(cli, docs_dir):
    cli("ingest", docs_dir, "--index", "support")
    code, out, _ = cli("docs", "--index", "support", "--json")
    docs = json.loads(out)
    assert {d["doc_id"] for d in docs} == {"docs/keys.md", "docs/audit.txt", "docs/faq.html"}
    assert {"doc_id", "source", "version", "hash", "chunks", "metadata"} <= set(docs[0])
    code, out, _ = cli("indexes", "--json")
    assert [i["name"] for i in json.loads(out)] == ["support"]
    code, out, _ = cli("remove", "docs/faq.html", "--index", "support", "--json")
    assert code == 0 and json.loads(out)["removed"] == 1


@pytest.mark.parametrize("args,message", [
    (("search", "x", "--index", "nope"), "no index named 'nope'"),
    (("ingest", "does-not-exist", "--index", "kb"), "no such file or folder"),
    (("search", "--index", "kb"), "give either a QUERY or --queries"),
    (("remove", "ghost", "--index", "support"), "no document 'ghost'"),
    (("search", "q", "--index", "support", "--where", "novalue"), "expected FIELD=VALUE"),
])
def test_bad_input_exits_2_with_message(cli, docs_dir, args, message):
    cli("ingest", docs_dir, "--index", "support")
    code, out, err = cli(*args)
    assert code == 2
    assert message in err
    assert out == ""
    assert "Traceback" not in err


def test_bad_queries_file_names_line(cli, docs_dir, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    q = tmp_path / "q.jsonl"
    q.write_text('{"_id": "1", "text": "ok"}\n{"_id": "2"}\n')
    code, _, err = cli("search", "--queries", q, "--index", "support", "--json")
    assert code == 2 and "q.jsonl:2" in err


def test_a_skipped_file_is_named_once_in_its_line(cli, docs_dir):
    bad = docs_dir / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot a pdf at all\n")
    code, _, err = cli("ingest", docs_dir, "--index", "support")
    line = next(line for line in err.splitlines() if line.startswith("skipped"))
    assert code == 0 and line.startswith(f"skipped {bad}: ")
    assert line.count(str(bad)) == 1


def test_strict_folder_with_binary_file(cli, docs_dir):
    (docs_dir / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    code, out, err = cli("ingest", docs_dir, "--index", "support", "--json")
    assert code == 0 and json.loads(out)["skipped"][0]["error"].endswith("binary file, not text")
    code, _, err = cli("ingest", docs_dir, "--index", "other", "--strict")
    assert code == 2 and "blob.txt" in err


@pytest.mark.slow
def test_real_cli_process_with_default_embedder(tmp_path):
    """The installed command, the bundled MiniLM embedder, the shipped examples."""
    examples = Path(__file__).resolve().parents[2] / "examples" / "docs"
    env = dict(os.environ, RAGTUNE_HOME=str(tmp_path / "home"))
    env.pop("RAGTUNE_EMBEDDER", None)
    run = lambda *a: subprocess.run([sys.executable, "-m", "ragtune", *a], capture_output=True, text=True, env=env, timeout=300)
    ingest = run("ingest", str(examples), "--index", "support", "--json")
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 5
    search = run("search", "which port does the server listen on", "--index", "support", "--k", "3", "--json", "--mode", "dense")
    hits = json.loads(search.stdout)["hits"]
    assert hits[0]["doc_id"] == "docs/install-guide.txt"
    manifest = json.loads(run("indexes", "--json").stdout)[0]
    assert manifest["embedder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2" and manifest["embedder"]["dimension"] == 384


def test_same_commands_on_a_postgres_store(cli, docs_dir, pg_uri, monkeypatch, tmp_path):
    monkeypatch.setenv("RAGTUNE_STORE", pg_uri)
    code, out, _ = cli("ingest", docs_dir, "--index", "support", "--json")
    assert code == 0 and json.loads(out)["added"] == 3
    code, out, _ = cli("search", "audit log retention", "--index", "support", "--k", "1", "--json")
    assert json.loads(out)["hits"][0]["doc_id"] == "docs/audit.txt"
    code, out, _ = cli("indexes", "--json")
    assert [i["name"] for i in json.loads(out)] == ["support"]
    assert not (tmp_path / "home" / "indexes").exists()  # it all went to PostgreSQL


def test_reindex_json_and_errors(cli, docs_dir):
    cli("ingest", docs_dir, "--index", "support")
    code, out, err = cli("reindex", "--index", "support", "--embedder", "fake:32", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["changed"] and report["embedder"]["spec"] == "fake:32" and report["previous"]["dimension"] == 64
    assert report["chunks"] >= 3
    assert set(report) == {"index", "embedder", "previous", "chunks", "generation", "changed", "seconds", "context",
                           "previous_context", "summaries"}
    code, out, _ = cli("search", "api keys rotation", "--index", "support", "--mode", "dense", "--k", "1", "--json")
    assert code == 0 and json.loads(out)["hits"][0]["doc_id"] == "docs/keys.md"
    code, out, _ = cli("indexes", "--json")
    assert json.loads(out)[0]["embedder"]["dimension"] == 32
    code, out, _ = cli("reindex", "--index", "support", "--embedder", "fake:32")
    assert code == 0 and "nothing to do" in out
    code, out, err = cli("reindex", "--index", "support", "--embedder", "tuned:nothing", "--json")
    assert code == 2 and list(json.loads(out)) == ["error"] and "no model named 'nothing'" in err
    code, out, err = cli("reindex", "--index", "absent", "--embedder", "fake:8", "--json")
    assert code == 2 and list(json.loads(out)) == ["error"] and "no index named 'absent'" in err


def test_reindex_switches_the_context_mode(cli, docs_dir):
    cli("ingest", docs_dir, "--index", "support")
    code, out, err = cli("reindex", "--index", "support", "--context", "none", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["previous_context"]["mode"], report["context"]["mode"]) == ("header", "none")
    code, out, _ = cli("indexes", "--json")
    assert json.loads(out)[0]["generation"] == report["generation"]
    code, out, _ = cli("reindex", "--index", "support", "--context", "none")
    assert code == 0 and "nothing to do" in out


def test_reindex_to_an_unknown_context_mode_exits_2_naming_it(cli, docs_dir):
    cli("ingest", docs_dir, "--index", "support")
    code, _, err = cli("reindex", "--index", "support", "--context", "abstract")
    assert code == 2 and "abstract" in err


def test_reindex_to_summaries_by_a_model_that_cannot_load_leaves_the_index(cli, docs_dir, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    _, before, _ = cli("indexes", "--json")
    missing = tmp_path / "no-model"
    code, _, err = cli("reindex", "--index", "support", "--context", "summary", "--summary-model", f"local:{missing}")
    assert code == 2 and "no-model" in err
    _, after, _ = cli("indexes", "--json")
    assert json.loads(after)[0]["generation"] == json.loads(before)[0]["generation"]


def test_reindex_takes_an_embedder_or_a_context_not_both(cli, docs_dir):
    cli("ingest", docs_dir, "--index", "support")
    code, _, err = cli("reindex", "--index", "support", "--context", "none", "--embedder", "fake:32")
    assert code == 2 and "one at a time" in err


def test_any_loader_exception_exits_2_only_under_strict(cli, tmp_path, docs_dir, monkeypatch):
    def explode(self, path, doc_id):
        raise RuntimeError("engine gave up")

    (docs_dir / "filing.pdf").write_bytes(b"%PDF-1.4 stand-in")
    monkeypatch.setattr(PdfLoader, "load", explode)
    code, _, stderr = cli("ingest", docs_dir, "--index", "kb")
    assert code == 0 and "RuntimeError: engine gave up" in " ".join(stderr.split())
    code, _, stderr = cli("ingest", docs_dir, "--index", "kb", "--strict")
    assert code == 2 and "filing.pdf" in stderr
