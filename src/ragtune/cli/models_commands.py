"""Model registry commands: ``models``, ``models show``, ``models export``, ``models cancel``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ragtune.cli.index_commands import JsonFlag, workspace
from ragtune.cli.output import emit_json, handle_errors, out

@handle_errors
def cancel(ref: str = typer.Argument(..., help="NAME or NAME@vN: the model whose managed job is in progress."),
           region: Optional[str] = typer.Option(None, "--region", help="bedrock: the AWS region of the job."),
           as_json: bool = JsonFlag) -> None:
    """Cancel a managed fine-tuning job that an interrupted tune left running at the provider."""
    job = workspace().cancel_managed(ref, region)
    if as_json:
        emit_json({"ref": ref, "job_id": job.id, "status": job.status, "provider_status": job.provider_status})
    else:
        out.print(f"job {job.id}: {job.provider_status or job.status}", highlight=False)


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="The versioned model registry: list, show and export trained models.", invoke_without_command=True)
    app.add_typer(models, name="models")

    @models.callback()
    @handle_errors
    def list_models(ctx: typer.Context, as_json: bool = JsonFlag) -> None:
        """List every version of every trained model."""
        if ctx.invoked_subcommand is not None:
            return
        cards = workspace().model_cards()
        if as_json:
            emit_json([{"ref": c.ref, "name": c.name, "version": c.version, "kind": c.kind,
                        "base_model": c.base_model.get("spec"), "created_at": c.created_at,
                        "eval_loss": c.metrics.get("eval_loss"), "scores": c.scores} for c in cards])
            return
        table = Table(title="models")
        table.add_column("model", overflow="fold")  # the whole ref, to copy into -m tuned:REF
        for col in ("kind", "base", "rows", "eval loss", "created"):
            table.add_column(col)
        for c in cards:
            table.add_row(c.ref, c.kind, str(c.base_model.get("spec", "")), str(c.data.rows.get("train", "") if c.data else ""),
                          _loss(c.metrics.get("eval_loss")), c.created_at)
        out.print(table)

    @models.command("show")
    @handle_errors
    def show(ref: str = typer.Argument(..., help="NAME or NAME@vN."), as_json: bool = JsonFlag) -> None:
        """A version's card.json (latest version when none is named)."""
        card = workspace().model_card(ref)
        if as_json:
            emit_json(card.model_dump(mode="json"))
            return
        out.print_json(card.model_dump_json())

    models.command("cancel")(cancel)

    @models.command("export")
    @handle_errors
    def export(
        ref: str = typer.Argument(..., help="NAME or NAME@vN."),
        out_dir: Path = typer.Option(..., "--out", help="New folder to write (must not exist or be empty)."),
        merge: bool = typer.Option(False, "--merge",
                                   help="Fold the adapter into the base weights: a standalone transformers folder."),
        as_json: bool = JsonFlag,
    ) -> None:
        """Write a version as a folder usable without ragtune (the adapter, or merged weights with --merge)."""
        ws = workspace()
        card = ws.model_card(ref)
        path = ws.export_model(card.ref, out_dir, merge=merge)
        if as_json:
            emit_json({"ref": card.ref, "out": str(path), "merged": merge})
        else:
            out.print(f"{card.ref} → {path}{' (merged)' if merge else ''}", highlight=False)


def _loss(value: float | None) -> str:
    """An eval loss for the table: four decimals, or a dash where the run held no examples out."""
    return "—" if value is None else f"{value:.4f}"
