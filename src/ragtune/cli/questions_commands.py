"""``ragtune questions generate``: questions with reference answers written from an index, each round-trip checked."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ragtune.cli.index_commands import JsonFlag, workspace
from ragtune.cli.output import emit_json, err, handle_errors, out


@handle_errors
def generate(
    index: str = typer.Option(..., "--index", "-i", help="The index whose chunks the questions are written from."),
    out_file: Path = typer.Option(..., "--out", help="Question file to write (JSONL); an existing one only with --force."),
    n: int = typer.Option(200, "--n", min=1, help="How many questions to keep."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="extractive (template questions, no model; "
                                        "the default), local, anthropic:..., openai:MODEL@URL."),
    k: int = typer.Option(5, "--k", min=1, help="Round trip: search must find the question's chunk within the top k."),
    min_support: Optional[float] = typer.Option(None, "--min-support", min=0.0, max=1.0, help="Round trip: support "
                                                "each answer sentence needs from its chunk (default: answer.min_support)."),
    attempts: int = typer.Option(3, "--attempts", min=1, help="Chunks tried per question asked, at most."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draw of documents and chunks."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    as_json: bool = JsonFlag,
) -> None:
    """Write up to N questions with short reference answers from the index, stratified across its documents; each is
    kept only when search finds its chunk within k and the chunk supports its answer. Rows are marked synthetic."""
    made = workspace().generate_questions(index, n, model=model, k=k, seed=seed, min_support=min_support,
                                          attempts_per_question=attempts, out=out_file, force=force,
                                          progress=lambda line: err.print(escape(line), highlight=False))
    summary = made.summary()
    if as_json:
        emit_json({**summary, "out": str(out_file)})
        return
    rejected = ", ".join(f"{k} {v}" for k, v in summary["rejected"].items() if v) or "none"
    out.print(f"{summary['generated']} of {summary['asked']} questions written to {escape(str(out_file))} "
              f"(model {escape(summary['model'])}; {summary['tried']} chunks tried, pass rate "
              f"{summary['pass_rate']:.0%}; {summary['documents_covered']} of {summary['documents']} documents)",
              highlight=False)
    out.print(f"rejected: {escape(rejected)}", highlight=False)
    if summary["generated"] < summary["asked"]:
        err.print(f"[yellow]warning:[/] only {summary['generated']} of {summary['asked']} questions passed the round "
                  f"trip; the index has too few usable chunks or the model's drafts fail it", highlight=False)


def register(app: typer.Typer) -> None:
    questions = typer.Typer(no_args_is_help=True, help="Question sets: write them from an index when there are none.")
    questions.command("generate")(generate)
    app.add_typer(questions, name="questions")
