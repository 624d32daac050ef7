import json
import os
import subprocess
import sys

import pytest

FAST = ("--set", "tokenizer=regex")  # the word-piece estimate: no tokenizer to load


@pytest.fixture
def snips_examples(shared_data, tmp_path):
    """1,200 SNIPS rows spread over every intent."""
    rows = (shared_data / "snips_nlu_json" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(rows[i * len(rows) // 1200] for i in range(1200)) + "\n", encoding="utf-8")
    return path


def write_eval(path, index, scores):
    path.write_text(json.dumps({"config": {"index": index, "format_version": 1}, "rows": [],
                                "aggregates": {v: {"schema_valid": {"mean": m, "ci95": 0.03}} for v, m in scores.items()}}))
    return path


def test_advise_json_is_one_document_with_the_contract(cli, docs_dir, snips_examples):
    cli("ingest", docs_dir, "--index", "support")
    code, out, err = cli("advise", "--index", "support", "--examples", snips_examples, "--queries-per-month", 50000,
                         "--attribution", *FAST, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"recommendation", "reasons", "facts", "costs", "rules", "what_would_change", "next_command"} <= set(doc)
    assert doc["recommendation"] == "rag+ft"
    assert doc["facts"]["index"]["documents"] == 3 and doc["facts"]["examples"]["rows"] == 1200
    assert doc["facts"]["stated"]["attribution_required"] is True
    assert [r["rule"] for r in doc["rules"] if r["fired"]] == ["attribution", "consistent_format", "labelled_examples"]


def test_advise_terminal_and_reports(cli, docs_dir, snips_examples, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    html, md = tmp_path / "advice.html", tmp_path / "advice.md"
    code, out, err = cli("advise", "--index", "support", "--examples", snips_examples, "--queries-per-month", 50000,
                         *FAST, "--report", html)
    assert code == 0, err
    assert "recommendation: ft" in out and "the five questions" in out and "next:" in out
    assert f"report written to {html}" in err
    assert "<svg" in html.read_text()
    code, _, _ = cli("advise", "--examples", snips_examples, "--queries-per-month", 50000, *FAST, "--report", md)
    assert code == 0 and md.read_text().startswith("# ragtune advice: **ft**")


def test_eval_outranks_the_rules_from_the_cli(cli, docs_dir, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    results = write_eval(tmp_path / "results.json", "support", {"base": 0.2, "rag": 0.35, "ft": 0.91})
    code, out, err = cli("advise", "--index", "support", "--eval", results, "--queries-per-month", 1000, "--attribution",
                         *FAST, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["rules_recommendation"] == "rag" and doc["recommendation"] == "ft"
    assert doc["disagreements"] and doc["eval"]["metric"] == "schema_valid"


def test_cost_alone(cli, docs_dir, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    code, out, err = cli("cost", "--index", "support", "--queries-per-month", 50000, "--months", 24, *FAST,
                         "--set", "costs.gpu_usd_per_hour=3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["variants"]) == {"prompt", "rag", "ft", "rag+ft"}
    assert all(len(v["cumulative"]) == 25 for v in doc["variants"].values())
    assert doc["prices"]["gpu_usd_per_hour"] == 3 and doc["prices_as_of"] == "2026-11"
    assert doc["variants"]["ft"]["breakdown"]["monthly.hosting"] == pytest.approx(3 * 730)
    code, out, _ = cli("cost", "--index", "support", "--queries-per-month", 50000, *FAST)
    assert code == 0 and "break-even" in out


@pytest.mark.parametrize("args,message", [
    (("advise", "--index", "nope", "--queries-per-month", 10), "no index named 'nope'"),
    (("advise", "--index", "support", "--queries-per-month", -5), "queries-per-month"),
    (("cost", "--index", "support", "--queries-per-month", 10, "--months", 0), "months"),
    (("advise", "--queries-per-month", 10), "nothing to measure"),
    (("advise", "--index", "support", "--queries-per-month", 10, "--set", "costs.epochs=0"), "field 'costs.epochs'"),
    (("advise", "--index", "support", "--queries-per-month", 10, "--examples", "missing.jsonl"), "missing.jsonl: no such file"),
    (("advise", "--index", "support", "--queries-per-month", 10, "--report", "advice.pdf"), "a report is .html or .md"),
])
def test_bad_input_exits_2(cli, docs_dir, args, message):
    cli("ingest", docs_dir, "--index", "support")
    code, out, err = cli(*args, *FAST, "--json")
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert message in json.loads(out)["error"]["message"]  # with --json the error is also one JSON document on stdout


def test_eval_of_another_index_is_refused(cli, docs_dir, tmp_path):
    cli("ingest", docs_dir, "--index", "support")
    results = write_eval(tmp_path / "billing.json", "billing", {"rag": 0.5, "ft": 0.6})
    code, out, err = cli("advise", "--index", "support", "--eval", results, "--queries-per-month", 10, *FAST, "--json")
    assert code == 2 and list(json.loads(out)) == ["error"]
    assert "ran against index 'billing', not 'support'" in err


def test_examples_with_errors_are_named_and_withhold_fine_tuning(cli, snips_examples):
    lines = snips_examples.read_text().splitlines()
    lines[6] = lines[6].replace('"output"', '"outptu"')
    snips_examples.write_text("\n".join(lines) + "\n")
    code, out, err = cli("advise", "--examples", snips_examples, "--queries-per-month", 50000, *FAST, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["recommendation"] == "prompt"
    assert doc["facts"]["examples"]["errors"][0]["line"] == 7
    assert "line 7" in doc["warnings"][0]
    assert {r["rule"] for r in doc["rules"] if r["withheld"]} == {"consistent_format", "labelled_examples"}
    assert doc["next_command"] == f"ragtune data check {snips_examples}"


@pytest.mark.slow
def test_real_process_prints_pure_json(docs_dir, snips_examples, tmp_path):
    """The command in its own process, counting tokens with the generator's tokenizer where installed."""
    env = dict(os.environ, RAGTUNE_HOME=str(tmp_path / "home"), RAGTUNE_EMBEDDER="fake:64")
    run = lambda *a: subprocess.run([sys.executable, "-m", "ragtune", *map(str, a)], capture_output=True, text=True, env=env,
                                    timeout=300)
    assert run("ingest", docs_dir, "--index", "support").returncode == 0
    done = run("advise", "--index", "support", "--examples", snips_examples, "--queries-per-month", 400000, "--json")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    doc = json.loads(done.stdout)
    assert doc["recommendation"] == "ft"  # a tiny static corpus, no attribution, 1,200 consistent examples
    assert doc["facts"]["index"]["tokenizer"] == doc["facts"]["examples"]["tokenizer"]
