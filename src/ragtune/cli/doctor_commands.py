"""The doctor command: check every index (manifest, checksums, tables against segments, orphan files) and repair."""

from __future__ import annotations

from typing import Optional

import typer

from ragtune.cli.index_commands import JsonFlag, workspace
from ragtune.cli.output import emit_json, err, handle_errors, out

STATUS_STYLE = {"ok": "green", "repaired": "yellow", "damaged": "bold red"}


def doctor(
    index: Optional[str] = typer.Option(None, "--index", "-i", help="Check this index only (default: every index)."),
    repair: bool = typer.Option(False, "--repair", help="Repair what can be repaired (rebuild segments or tables, put back the "
                                                        "manifest, remove leftovers)."),
    as_json: bool = JsonFlag,
) -> None:
    """Check the indexes of the workspace and repair them: exit 0 when healthy (or repaired), 1 when damage is left."""
    report = workspace().doctor(index, repair=repair)
    if as_json:
        emit_json(report.to_json())
    else:
        if not report.indexes:
            out.print("no indexes")
        for health in report.indexes:
            style = STATUS_STYLE[health.status]
            out.print(f"{health.name}: [{style}]{health.status}[/]", highlight=False)
            for finding in health.findings:
                mark = "repaired" if finding.repaired else "found"
                out.print(f"  {mark}: {finding.problem}", highlight=False, markup=False)
                if finding.hint:
                    out.print(f"    {finding.hint}", highlight=False, markup=False)
        if not report.healthy:
            err.print("[bold red]damage is left[/]" + ("" if repair else "; run again with --repair"))
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(handle_errors(doctor))
