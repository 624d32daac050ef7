"""Data commands: ``data check`` and ``data split`` for fine-tuning examples."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ragtune import api
from ragtune.cli.index_commands import JsonFlag
from ragtune.cli.output import emit_json, err, handle_errors, out
from ragtune.errors import InputError

def read_system(value: Optional[str]) -> Optional[str]:
    """A system prompt given inline or as ``@file``."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    if not path.is_file():
        raise InputError(f"--system {value}: no such file")
    return path.read_text(encoding="utf-8").strip()


def register(app: typer.Typer) -> None:
    data = typer.Typer(no_args_is_help=True, help="Validate and split fine-tuning examples.")
    app.add_typer(data, name="data")

    @data.command("check")
    @handle_errors
    def check(
        path: Path = typer.Argument(..., help="Examples (JSONL): input/output, chat messages, ShareGPT or Alpaca rows."),
        base: str = typer.Option("local", "--base",
                                 help="Base model whose tokenizer and chat template measure lengths ('none' to skip)."),
        max_length: int = typer.Option(512, "--max-length", min=16, help="Longest row in tokens that training keeps."),
        test: Optional[Path] = typer.Option(None, "--test", help="A test file to check for leakage from the training rows."),
        system: Optional[str] = typer.Option(None, "--system", help="System prompt for rows without one (text or @file)."),
        strict: bool = typer.Option(False, "--strict",
                                    help="Exit 2 unless the verdict is ready (rows with errors exit 2 anyway)."),
        as_json: bool = JsonFlag,
    ) -> None:
        """Every error with its line and field, duplicates, leakage, token lengths, the JSON outputs' schema, and a verdict.

        Exit 2 when a row has an error (after the full report), or with --strict when the verdict is not ready."""
        report = api.check_examples(path, base=None if base == "none" else base, max_length=max_length,
                                    system=read_system(system), test=test)
        doc = report.to_json()
        if as_json:
            emit_json(doc)
        else:
            _print_report(doc)
        if doc["errors"] or (strict and not doc["verdict"]["ready"]):
            raise typer.Exit(2)

    @data.command("split")
    @handle_errors
    def split(
        path: Path = typer.Argument(..., help="Examples (JSONL)."),
        test: float = typer.Option(0.1, "--test", help="Test share (below 1) or test row count (1 or more)."),
        seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same split."),
        stratify: Optional[str] = typer.Option(None, "--stratify",
                                               help="Keep the share of each value of this field, e.g. output.intent."),
        out_dir: Optional[Path] = typer.Option(None, "--out-dir",
                                               help="Where to write the two files (default: beside the input)."),
        force: bool = typer.Option(False, "--force", help="Replace existing output files."),
        as_json: bool = JsonFlag,
    ) -> None:
        """Write <name>.train.jsonl and <name>.test.jsonl; rows sharing a prompt stay on one side."""
        report = api.split_examples(path, test=test, seed=seed, stratify=stratify, out_dir=out_dir, force=force)
        if as_json:
            emit_json(report.to_json())
            return
        out.print(f"train: {report.train_path} ({report.train_rows} rows)\ntest:  {report.test_path} ({report.test_rows} rows)",
                  highlight=False)
        for stratum, counts in report.strata.items():
            out.print(f"  {stratum}: {counts['train']} train, {counts['test']} test", highlight=False, markup=False)


def _print_report(doc: dict) -> None:
    rows = doc["rows"]
    out.print(f"[bold]{doc['file']}[/]: {doc['format'] or 'no valid rows'}, {rows['valid']} valid row(s), "
              f"{rows['invalid']} with errors, {rows['blank']} blank line(s)", highlight=False)
    for e in doc["errors"][:50]:
        where = f"{e['file']}:{e['line']}" + (f": field '{e['field']}'" if e["field"] else "")
        err.print(f"[red]error[/] {escape(where)}: {escape(e['message'])}", highlight=False)
    if len(doc["errors"]) > 50:
        err.print(f"... and {len(doc['errors']) - 50} more error(s) (all of them with --json)")
    dup = doc["duplicates"]
    out.print(f"duplicates: {dup['exact']} exact, {dup['near']} near, "
              f"{dup['conflicting_prompts']} prompt(s) with different outputs")
    if doc["leakage"]:
        leak = doc["leakage"]
        out.print(f"leakage: {leak['leaked']} of {leak['test_rows']} test row(s) also in training", highlight=False)
    tok = doc["tokens"]
    if tok and tok.get("rows"):
        out.print(f"tokens ({tok['tokenizer']}): min {tok['min']}, median {tok['p50']}, p95 {tok['p95']}, max {tok['max']}; "
                  f"{tok['over_max']} row(s) over {tok['max_length']}", highlight=False)
        table = Table(show_header=True, box=None)
        table.add_column("tokens")
        table.add_column("rows", justify="right")
        table.add_column("")
        peak = max(b["rows"] for b in tok["histogram"]) or 1
        for b in tok["histogram"]:
            marker = " > max" if b["over_max"] else ""
            table.add_row(f"{b['from']}-{b['to']}{marker}", str(b["rows"]), "█" * round(30 * b["rows"] / peak))
        out.print(table)
    output = doc["output"]
    if output["kind"] == "json":
        out.print(f"JSON outputs: {output['fit']:.1%} of {output['rows']} fit the inferred schema")
    verdict = doc["verdict"]
    colour = {"ready": "green", "marginal": "yellow", "not_ready": "red"}[verdict["level"]]
    out.print(f"verdict: [{colour}]{verdict['level']}[/]")
    for reason in verdict["reasons"]:
        out.print(f"  - {reason}", highlight=False, markup=False)
