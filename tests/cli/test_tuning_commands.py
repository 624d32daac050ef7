"""The data, tune and models command groups through the real CLI app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ragtune.cli.app import app
from ragtune.cli.tune_commands import parse_duration
from ragtune.errors import InputError


def _rows(n):
    return [{"input": f"play song number {i}", "output": {"intent": ["PlayMusic", "GetWeather"][i % 2], "slots": {}}} for i in range(n)]


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGTUNE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _flat(text):
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_data_check_json_is_one_document_and_errors_or_strict_set_the_exit_code(runner, tmp_path):
    path = _write(tmp_path / "d.jsonl", _rows(30) + ['{"input": 1'])
    result = runner.invoke(app, ["data", "check", str(path), "--base", "none", "--json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["rows"]["valid"] == 30 and doc["errors"][0]["line"] == 31 and doc["verdict"]["level"] == "not_ready"
    strict = runner.invoke(app, ["data", "check", str(path), "--base", "none", "--strict", "--json"])
    assert strict.exit_code == 2 and json.loads(strict.stdout)["verdict"]["ready"] is False
    clean = runner.invoke(app, ["data", "check", str(_write(tmp_path / "ok.jsonl", _rows(30))), "--base", "none", "--json"])
    assert clean.exit_code == 0
    missing = runner.invoke(app, ["data", "check", str(tmp_path / "none.jsonl"), "--json"])
    assert missing.exit_code == 2 and "no such file" in _flat(missing.stderr) and list(json.loads(missing.stdout)) == ["error"]


def test_data_check_human_output_lists_errors_on_stderr(runner, tmp_path):
    path = _write(tmp_path / "d.jsonl", _rows(3) + [{"input": "", "output": "x"}])
    result = runner.invoke(app, ["data", "check", str(path), "--base", "none"])
    assert result.exit_code == 2 and "d.jsonl:4: field 'input': must be a non-empty string" in _flat(result.stderr) and "verdict: not_ready" in _flat(result.stdout)


def test_data_check_exits_2_when_a_line_is_not_json(runner, tmp_path):
    path = _write(tmp_path / "d.jsonl", [_rows(1)[0], "not json"] + _rows(3)[1:])
    result = runner.invoke(app, ["data", "check", str(path), "--base", "none"])
    assert result.exit_code == 2 and "d.jsonl:2" in _flat(result.stderr) and "verdict: not_ready" in _flat(result.stdout)


def test_data_split_cli(runner, tmp_path):
    path = _write(tmp_path / "all.jsonl", _rows(20))
    result = runner.invoke(app, ["data", "split", str(path), "--test", "0.2", "--seed", "7", "--stratify", "output.intent", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["rows"] == {"train": 16, "test": 4} and doc["strata"]["PlayMusic"] == {"train": 8, "test": 2}
    again = runner.invoke(app, ["data", "split", str(path), "--json"])
    assert again.exit_code == 2 and "already exists" in _flat(again.stderr)


def test_tune_refuses_api_models_and_bad_settings_with_exit_2(runner, tmp_path):
    path = _write(tmp_path / "d.jsonl", _rows(4))
    result = runner.invoke(app, ["tune", "lora", "--data", str(path), "--name", "x", "--base", "anthropic:claude-sonnet-4-5"])
    assert result.exit_code == 2 and "Anthropic API offers no fine-tuning" in _flat(result.stderr)
    result = runner.invoke(app, ["tune", "lora", "--data", str(path), "--name", "Bad Name"])
    assert result.exit_code == 2 and "model name 'Bad Name'" in _flat(result.stderr)
    result = runner.invoke(app, ["tune", "lora", "--data", str(path), "--name", "x", "--time-budget", "soon"])
    assert result.exit_code == 2 and "--budget 'soon'" in _flat(result.stderr)
    result = runner.invoke(app, ["tune", "lora", "--data", str(path), "--name", "x", "--4bit"])
    assert result.exit_code == 2 and "needs device cuda" in _flat(result.stderr)
    assert not (tmp_path / "home" / "models" / "x").exists() or not any((tmp_path / "home" / "models" / "x").glob("v*"))


def test_models_on_an_empty_workspace(runner):
    listed = runner.invoke(app, ["models", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    shown = runner.invoke(app, ["models", "show", "intents@v1", "--json"])
    assert shown.exit_code == 2 and "no model named 'intents'" in _flat(shown.stderr)


def test_parse_duration():
    assert [parse_duration(t) for t in ("90", "90s", "20m", "1.5h", None)] == [90, 90, 1200, 5400, None]
    with pytest.raises(InputError):
        parse_duration("0m")


@pytest.mark.slow
def test_tune_then_list_show_and_export(runner, tmp_path):
    path = _write(tmp_path / "d.jsonl", _rows(6))
    args = ["tune", "lora", "--data", str(path), "--name", "intents", "--max-steps", "1", "--max-length", "64", "--batch-size", "2",
            "--eval-fraction", "0", "--system", "JSON.", "--rank", "4", "--targets", "attention"]
    first = runner.invoke(app, args + ["--json"])
    assert first.exit_code == 0, first.stderr
    card = json.loads(first.stdout)
    assert card["name"] == "intents" and card["version"] == 1 and card["kind"] == "lora"
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and second.stdout.strip() == "intents@v2"
    listed = json.loads(runner.invoke(app, ["models", "--json"]).stdout)
    assert [m["ref"] for m in listed] == ["intents@v1", "intents@v2"]
    table = runner.invoke(app, ["models"]).stdout
    assert "intents@v1" in table and "intents@v2" in table
    assert "None" not in table and "—" in table  # --eval-fraction 0: no eval loss, shown as a dash
    shown = runner.invoke(app, ["models", "show", "intents@v1", "--json"])
    card_file = tmp_path / "home" / "models" / "intents" / "v1" / "card.json"
    assert json.loads(shown.stdout) == json.loads(card_file.read_text())
    exported = runner.invoke(app, ["models", "export", "intents@v1", "--out", str(tmp_path / "out"), "--json"])
    assert exported.exit_code == 0 and json.loads(exported.stdout) == {"ref": "intents@v1", "out": str(tmp_path / "out"), "merged": False}
    assert (tmp_path / "out" / "adapter_config.json").is_file()


@pytest.mark.parametrize("terminal", [True, False])
def test_training_progress_shows_loss_and_eta(monkeypatch, terminal):
    import io

    from rich.console import Console

    from ragtune.cli import tune_commands
    from ragtune.tuning import TrainingEvent

    buffer = io.StringIO()
    monkeypatch.setattr(tune_commands, "err", Console(file=buffer, force_terminal=terminal, width=120))
    with tune_commands.TrainingProgress(every_s=0) as progress:
        progress(TrainingEvent("start", step=0, max_steps=10, message="10 training rows"))
        progress(TrainingEvent("step", step=5, max_steps=10, loss=0.5, eta_s=75))
        progress(TrainingEvent("eval", step=5, max_steps=10, eval_loss=0.25))
    text = buffer.getvalue()
    assert "10 training rows" in text and "loss 0.5000" in text and "ETA 1:15" in text and "eval loss 0.2500" in text
