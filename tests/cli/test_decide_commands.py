"""``ragtune decide`` from the command line: one JSON document, files written, bad input exit 2."""

import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


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
    assert doc["recommendation"] in doc["tied_with_best"] and doc["candidates"]["rag"]["measured"]
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
    proc = subprocess.Popen([sys.executable, "-c", paused, *map(str, options)], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "paused"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "--resume" in err
    done = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert "answer base" in doc["run"]["resumed_phases"] and doc["recommendation"] in doc["tied_with_best"]
