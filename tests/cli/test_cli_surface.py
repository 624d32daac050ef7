"""The command line as a reader meets it: help at 80 columns, one error style, JSON errors, whole ids, one name per
idea (old spellings still accepted), quiet libraries, and progress lines for long waits in a pipe."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from ragtune import __version__
from ragtune.cli import app
from ragtune.cli.group import DEPRECATED_SPELLINGS, NOISY_LOGGERS, polish, quiet_libraries
from ragtune.cli.output import StageProgress

SRC = Path(__file__).resolve().parents[2] / "src"


def commands(command, path=()):
    """(path, click command) of every command and group under ``command``."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


ROOT = get_command(app)
polish(ROOT)
ALL = [(" ".join(path), cmd) for path, cmd in commands(ROOT) if path]


@pytest.fixture
def run(monkeypatch):
    """Run ragtune at 80 columns in-process; returns the CliRunner result."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("RAGTUNE_EMBEDDER", "fake:64")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def ragtune(*args, env=None, cwd=None):
    """Run ragtune in a fresh process whose stdout and stderr are pipes (not terminals), at 80 columns."""
    inherited = {k: v for k, v in os.environ.items() if k != "LANCEDB_LOG"}
    full = {**inherited, "COLUMNS": "80", "PYTHONPATH": str(SRC), "RAGTUNE_EMBEDDER": "fake:64", **(env or {})}
    code = "from ragtune.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=full,
                          cwd=cwd, timeout=600, check=False)


@pytest.mark.parametrize("name,command", ALL, ids=[name for name, _ in ALL])
def test_help_fits_80_columns_with_whole_option_names_and_no_python_types(run, name, command):
    result = run(*name.split(), "--help")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert re.search(r"<(str|int|float|bool|path|list\[[^\]]*\]|int range|float range)>", text) is None
    for param in command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt not in DEPRECATED_SPELLINGS and not param.hidden:
                assert re.search(rf"(^|[\s,/]){re.escape(opt)}(?![\w-])", text), f"{opt} missing whole from {name} help"


def test_dash_h_is_help(run):
    assert run("decide", "-h").stdout == run("decide", "--help").stdout


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"ragtune {__version__}"


def test_a_usage_error_is_one_error_line_and_a_hint(run):
    result = run("decide", "--no-such-flag")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: No such option: --no-such-flag",
                                          "hint: ragtune decide --help lists the options"]


def test_a_usage_error_with_json_is_a_json_document_on_stdout(run):
    result = run("search", "--index", "support", "--json", "--k", "many")
    error = json.loads(result.stdout)["error"]
    assert result.exit_code == 2 and error["type"] == "UsageError" and "--k" in error["message"]
    assert error["hint"] == "ragtune search --help lists the options"


def test_a_ragtune_error_with_json_is_a_json_document_on_stdout(run):
    result = run("search", "query", "--index", "absent", "--json")
    error = json.loads(result.stdout)["error"]
    assert result.exit_code == 2
    assert error["type"] == "IndexNotFoundError" and "no index named 'absent'" in error["message"] and error["hint"]


def test_errors_are_never_wrapped_in_a_pipe(tmp_path):
    name = "an-index-name-long-enough-that-its-message-passes-80-columns"
    done = ragtune("search", "query", "--index", name, env={"RAGTUNE_HOME": str(tmp_path / "home")})
    assert done.returncode == 2
    first, *rest = done.stderr.splitlines()
    assert first.startswith("error: no index named") and name in first and len(first) > 80
    assert [line.split(":")[0] for line in rest] == ["hint"]


def test_docs_and_indexes_never_cut_ids_at_80_columns(run, tmp_path):
    folder = tmp_path / "handbook"
    folder.mkdir()
    long_name = "a-rather-long-document-name-about-key-rotation-and-audits.md"
    (folder / long_name).write_text("# Keys\n\nRotate keys every 90 days.\n", encoding="utf-8")
    index = "an-index-with-a-long-name-for-narrow-screens"
    assert run("ingest", folder, "--index", index).exit_code == 0
    assert f"handbook/{long_name}" in run("docs", "--index", index).stdout
    assert index in run("indexes").stdout


def test_docs_shows_only_filled_columns_and_indexes_a_readable_time(run, docs_dir):
    assert run("ingest", docs_dir, "--index", "kb").exit_code == 0
    listing = run("docs", "--index", "kb").stdout
    assert "organization" not in listing  # no document names one
    assert "version" in listing
    table = run("indexes").stdout
    assert re.search(r"\b\d{4}-\d\d-\d\d \d\d:\d\d\b", table)
    assert not re.search(r"\d\dT\d\d:", table)


def test_old_spellings_still_work_with_a_deprecation_note_and_are_left_out_of_help(run, tmp_path):
    examples = tmp_path / "ex.jsonl"
    examples.write_text('{"input": "a", "output": "b"}\n', encoding="utf-8")
    result = run("tune", "lora", "--data", examples, "--eval-data", examples, "--name", "x", "--time-budget", "soon")
    assert result.exit_code == 2 and "--budget 'soon'" in result.stderr
    assert "note: --data is deprecated; use --examples" in result.stderr
    assert "note: --eval-data is deprecated; use --eval-examples" in result.stderr
    assert "note: --time-budget is deprecated; use --budget" in result.stderr
    text = run("tune", "lora", "--help").stdout
    assert "--examples" in text and "--budget" in text and "--data " not in text and "--time-budget" not in text
    assert "--eval-examples" in text and "--eval-data" not in text


def test_eval_takes_questions_as_an_option_and_the_report_format_from_its_extension(run, docs_dir, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "r", "question": "How long are audit entries kept?",
                                     "reference_answer": "400 days"}) + "\n", encoding="utf-8")
    assert run("ingest", docs_dir, "--index", "support").exit_code == 0
    result = run("eval", "--questions", questions, "--index", "support", "--variants", "rag", "-m", "extractive",
                 "--report", tmp_path / "r.md", "--report", tmp_path / "r.html")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "r.md").read_text().startswith("#") and "<html" in (tmp_path / "r.html").read_text().lower()


def test_eval_takes_a_tuned_model_as_tuned_spec(run, docs_dir, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "r", "question": "Q?"}) + "\n", encoding="utf-8")
    run("ingest", docs_dir, "--index", "support")
    result = run("eval", "--questions", questions, "--index", "support", "--variants", "ft", "--tuned", "tuned:absent")
    assert result.exit_code == 2 and "absent" in result.stderr and "tuned:tuned:" not in result.stderr


def test_lance_warnings_are_silent_unless_verbose(tmp_path, docs_dir):
    quiet = ragtune("ingest", docs_dir, "--index", "a", "--json", env={"RAGTUNE_HOME": str(tmp_path / "q")})
    assert quiet.returncode == 0 and "No existing dataset" not in quiet.stderr
    loud = ragtune("ingest", docs_dir, "--index", "a", "--json", "--verbose", env={"RAGTUNE_HOME": str(tmp_path / "v")})
    assert loud.returncode == 0 and "No existing dataset" in loud.stderr
    assert list(json.loads(quiet.stdout)) == list(json.loads(loud.stdout))


def test_library_warnings_are_silent_unless_verbose():
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    try:
        for verbose, expected in ((False, ["ragtune's own"]), (True, ["deprecated in the library", "ragtune's own"])):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                quiet_libraries(verbose)
                warnings.warn_explicit("deprecated in the library", FutureWarning, "modeling_utils.py", 1,
                                       module="transformers.modeling_utils")
                warnings.warn_explicit("ragtune's own", UserWarning, "x.py", 1, module="ragtune.x")
            assert [str(w.message) for w in caught] == expected
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_progress_in_a_pipe_is_plain_lines_only_for_waits(capsys):
    progress = StageProgress(interval=2.0)
    progress.live, progress._bar = False, None
    progress("answer rag", 3, 10)
    progress.tick(progress._start + 1.0)
    assert capsys.readouterr().err == ""  # under the interval: nothing
    progress.tick(progress._start + 2.5)
    progress("answer rag", 10, 10)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("answer rag: 3/10 (30%) in 2 s") and lines[0].endswith("left")  # the rate and time left
    assert lines[1].startswith("answer rag: 10/10")
    assert all("\x1b" not in line and "\r" not in line for line in lines)


def test_a_wait_after_a_stage_ended_says_how_long_not_the_stage_again(capsys):
    progress = StageProgress(interval=2.0)
    progress.live, progress._bar = False, None
    progress("load", 5, 5)
    ended = progress._ended["load"]
    progress.tick(ended + 2.2)  # the first wait: how long since the last stage ended
    progress.tick(ended + 5.0)  # under ten seconds since: nothing
    progress.tick(ended + 12.6)
    progress.tick(ended + 23.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["working: 2 s since load ended", "working: 13 s since load ended", "working: 23 s since load ended"]


def test_a_stage_that_does_not_move_is_repeated_less_often(capsys):
    progress = StageProgress(interval=2.0)
    progress.live, progress._bar = False, None
    progress("train ft", 0, 1)
    start = progress._stage_started["train ft"]
    for second in (2.2, 4.4, 6.6, 8.8, 12.5):
        progress.tick(start + second)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["train ft: 0/1 (0%) in 2 s", "train ft: 0/1 (0%) in 12 s"]


def test_candidates_answering_side_by_side_each_get_their_rate_and_time_left(capsys):
    clock = [100.0]
    progress = StageProgress(interval=2.0, clock=lambda: clock[0])
    progress.live, progress._bar = False, None
    progress("base", 0, 40)
    progress("ft", 0, 20)
    clock[0] = 120.0
    progress("base", 16, 40)  # a batch of 16 in 20 s: 0.8 a second, 24 left
    progress("ft", 4, 20)
    progress.tick(120.0)
    assert capsys.readouterr().err.splitlines() == ["base: 16/40 (40%) in 20 s, 0.80/s, about 30 s left",
                                                    "ft: 4/20 (20%) in 20 s, 0.20/s, about 1 min 20 s left"]
    clock[0] = 125.0
    progress("base", 40, 40)
    progress.tick(125.0)  # base ended (said once), ft has not moved since it was printed: nothing more yet
    assert capsys.readouterr().err.splitlines() == ["base: 40/40 (100%) in 25 s, done"]
    progress.tick(131.0)
    assert capsys.readouterr().err == ""
    progress.tick(135.0)  # still not moving: again after ten seconds, the rate and time left measured until now
    assert capsys.readouterr().err.splitlines() == ["ft: 4/20 (20%) in 35 s, 0.11/s, about 2 min 20 s left"]


def test_reports_outside_the_workspace_get_the_callers_permissions(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    examples = Path(__file__).resolve().parents[2] / "examples" / "tickets.jsonl"
    args = ["--examples", examples, "--queries-per-month", 1000, "--set", "tokenizer=regex", "--report"]
    code = "import os, sys; os.umask(0o022); from ragtune.cli import main; main()"
    for report in (tmp_path / "advice.md", home / "advice.md"):
        done = subprocess.run([sys.executable, "-c", code, "cost", *map(str, args), str(report)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(SRC), "RAGTUNE_HOME": str(home)}, timeout=600, check=False)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "advice.md").stat().st_mode & 0o777 == 0o644  # where the caller asked: the caller's umask
    assert (home / "advice.md").stat().st_mode & 0o777 == 0o600  # inside the workspace: its owner's alone


@pytest.mark.parametrize("group", [(), ("tune",), ("eval",), ("data",), ("keys",), ("models",)])
def test_command_lists_are_never_cut(run, group):
    text = run(*group, "-h").stdout
    assert "Commands:" in text and "..." not in text.split("Commands:")[1]
