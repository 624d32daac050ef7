"""``ragtune decide`` from the command line: one JSON document, files written, bad input exit 2."""

import json
import re
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def consistent_pick(doc) -> bool:
    """The pick is the cheapest as good (``tied_with_best`` lists those as good), or, when none is shown as good yet,
    the best measured, provisionally (the former rule called every candidate not shown below the best tied)."""
    if doc["verdict"]["settled"]:
        return doc["recommendation"] in doc["tied_with_best"]
    return doc["recommendation"] == doc["best"]


def ingest(cli):
    code, _, err = cli("ingest", EXAMPLES / "docs", "--index", "support")
    assert code == 0, err


def test_decide_json_out_and_report(cli, tmp_path):
    ingest(cli)
    out_file, report = tmp_path / "decide.json", tmp_path / "decide.html"
    code, out, err = cli("decide", "--index", "support", "--questions", EXAMPLES / "questions.jsonl", "-m", "extractive",
                         "--candidates", "base,prompt,rag", "--queries-per-month", 50000, "--attribution",
                         "--out", out_file, "--report", report, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert consistent_pick(doc) and doc["candidates"]["rag"]["measured"]
    assert doc["facts"]["stated"]["attribution_required"] is True
    assert next(r for r in doc["rules"] if r["rule"] == "attribution")["fired"] is True
    assert "rows" not in doc and len(json.loads(out_file.read_text())["rows"]) == 3 * doc["split"]["test"]
    assert "<svg" in report.read_text()


def test_decide_terminal_table(cli):
    ingest(cli)
    code, out, err = cli("decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "-m", "extractive",
                         "--candidates", "base,rag,ft")
    assert code == 0, err
    assert "recommendation:" in out and "rules of thumb alone" in out and "skipped" in out and "not a language model" in out


def test_decide_tables_read_whole_at_80_columns(cli):
    ingest(cli)
    code, out, err = cli("decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "-m", "extractive",
                         "--candidates", "base,rag")
    assert code == 0, err
    table_lines = [line for line in out.splitlines() if line.startswith(("│", "┃", "┏", "└"))]
    assert max(len(line) for line in table_lines) <= 80
    assert re.search(r"│ rag\b.*│ \d\.\d{3} \[\d\.\d\d, \d\.\d\d\] │", out)  # the mean and its whole interval on the row
    assert re.search(r"│ base\b.*│ +\d[\d,]* │ +\$[\d.]+ │", out)  # latency and cost per 1k on one row
    assert re.search(r"│ (as good|worse|not yet known) +│", out)  # a verdict in words, not folded a letter a line
    assert "e-0" not in out  # no figure in scientific notation


def test_decide_bad_input_is_exit_2(cli, tmp_path):
    ingest(cli)
    code, _, err = cli("decide", "--index", "support", "-m", "extractive")
    assert code == 2 and "ragtune advise" in err
    code, _, err = cli("decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "--budget", "soon")
    assert code == 2 and "--budget 'soon'" in err
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": 12}')
    code, _, err = cli("decide", "--examples", EXAMPLES / "tickets.jsonl", "--json-schema", schema, "-m", "extractive")
    assert code == 2 and "schema.json" in err
    code, _, err = cli("decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "--candidates", "base,lora")
    assert code == 2 and "unknown candidate 'lora'" in err
    code, _, err = cli("decide", "--index", "nowhere", "-q", EXAMPLES / "questions.jsonl", "-m", "extractive")
    assert code == 2 and "nowhere" in err


def test_ctrl_c_then_resume_from_the_command_line(tmp_path):
    """A real SIGINT to a running ``ragtune decide``; the same command with --resume reuses what was finished.

    The run pauses after its first answer phase (it prints ``paused`` and waits on stdin), and the signal is sent
    then: the outcome does not depend on how fast the machine is."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    paused = textwrap.dedent("""
        import sys
        from ragtune.decide import runner

        real = runner.DecideRunner._finish_phase

        def finish(self, phase):
            real(self, phase)
            if phase == "answer base":
                print("paused", flush=True)
                sys.stdin.readline()

        runner.DecideRunner._finish_phase = finish
        from ragtune.cli import app
        app(args=sys.argv[1:], prog_name="ragtune")
    """)
    env = {**os.environ, "RAGTUNE_HOME": str(tmp_path / "home"), "RAGTUNE_EMBEDDER": "fake:64", "RAGTUNE_PROGRESS": "1"}
    run = [sys.executable, "-m", "ragtune"]
    assert subprocess.run([*run, "ingest", EXAMPLES / "docs", "--index", "support"], env=env, capture_output=True).returncode == 0
    options = ["decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "-m", "extractive",
               "--candidates", "base,prompt,rag", "--json"]
    args = [*run, *options]
    # Ctrl-C's default action in the child, even where this process was started in the background (where a shell
    # leaves SIGINT ignored, and Python then installs no KeyboardInterrupt handler)
    proc = subprocess.Popen([sys.executable, "-c", paused, *map(str, options)], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline().strip() == "paused"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "--resume" in err
    done = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert "answer base" in doc["run"]["resumed_phases"] and consistent_pick(doc)


def test_decide_rows_from_the_command_line_and_bad_rows_exit_2(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"q{i}", "candidate": c, "score": s, "latency_ms": 50})
                            + "\n" for i in range(40) for c, s in (("base", 0.1), ("rag", 0.9))))
    code, out, err = cli("decide", "--rows", rows, "-m", "extractive", "--margin", 0.05, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["recommendation"] == "rag" and doc["verdict"]["margin"] == 0.05
    assert doc["candidates"]["base"]["verdict"] == "worse"
    code, out, err = cli("decide", "--rows", rows, "-m", "extractive")
    assert code == 0 and "verdict" in out and "rag costs assumed: queries per month 10,000" in out
    assert re.search(r"\$[0-9]", out) and "e-0" not in out  # money with its unit, never in scientific notation
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "candidate": "rag", "score": 1}\n{"id": "q2", "candidate": "lora", "score": 1}\n')
    code, _, err = cli("decide", "--rows", bad)
    assert code == 2 and "bad.jsonl line 2" in " ".join(err.split()) and "lora" in err


def test_decide_margin_and_weights_out_of_range_exit_2(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "q0", "candidate": "rag", "score": 1}) + "\n")
    for margin in ("-0.1", "1", "2"):
        code, _, err = cli("decide", "--rows", rows, "--margin", margin)
        assert code == 2 and "margin" in err
    code, _, err = cli("decide", "--rows", rows, "--weights", "knowledge=lots")
    assert code == 2 and "--weights" in err
    code, _, err = cli("decide", "--rows", rows, "--weights", "vibes=1")
    assert code == 2 and "vibes" in err


def test_questions_without_references_or_with_a_number_for_one_exit_2(cli, tmp_path):
    ingest(cli)
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is item {i}?"}) + "\n" for i in range(5)))
    code, out, err = cli("decide", "--index", "support", "-q", plain, "-m", "extractive", "--candidates", "base,rag", "--json")
    assert code == 2 and "no held-out question has a reference answer" in " ".join(err.split()) and "NaN" not in out
    numeric = tmp_path / "numeric.jsonl"
    numeric.write_text(json.dumps({"id": "q0", "question": "How many?", "reference_answer": 123}) + "\n")
    code, _, err = cli("decide", "--index", "support", "-q", numeric, "-m", "extractive", "--candidates", "base,rag")
    assert code == 2 and "numeric.jsonl" in err and "reference_answer" in err


def test_a_metric_where_less_is_better_picks_the_least(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"q{i}", "candidate": c, "answer": "x", "false_abstention": v,
                                        "latency_ms": ms}) + "\n"
                            for i in range(40) for c, v, ms in (("base", 1.0, 10), ("rag", 0.0, 900))))
    code, out, err = cli("decide", "--rows", rows, "-m", "extractive", "--metric", "false_abstention", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["recommendation"] == "rag" and doc["verdict"]["higher_is_better"] is False
    code, out, err = cli("decide", "--rows", rows, "-m", "extractive", "--metric", "latency_ms", "--json")
    assert code == 0, err
    assert json.loads(out)["recommendation"] == "base"


def test_decide_with_a_teacher_measures_it_beside_the_others(cli):
    ingest(cli)
    code, out, err = cli("decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "-m", "extractive",
                         "--candidates", "rag", "--teacher", "fake", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["candidates"]["teacher"]["measured"] and doc["candidates"]["teacher"]["model"] == "fake"
    assert "the student extractive" in doc["candidates"]["distilled"]["skipped_reason"]


def test_decide_with_an_unknown_teacher_is_exit_2(cli):
    ingest(cli)
    code, _, err = cli("decide", "--index", "support", "-q", EXAMPLES / "questions.jsonl", "-m", "extractive",
                       "--candidates", "rag", "--teacher", "nope:x")
    assert code == 2 and "nope" in err
