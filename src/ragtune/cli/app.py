"""The ``ragtune`` command: one Typer app; each group of commands lives in its own module."""

from __future__ import annotations

import typer

from ragtune import __version__
from ragtune.api import prepare_process
from ragtune.cli import (advise_commands, ask_commands, data_commands, decide_commands, distill_commands, doctor_commands,
                         eval_commands, index_commands, keys_commands, mcp_commands, models_commands, questions_commands,
                         serve_commands,
                         serve_model_commands, tune_commands)
from ragtune.cli.group import RagtuneGroup

app = typer.Typer(name="ragtune", cls=RagtuneGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
                  help="Adapt a language model to your domain with RAG, fine-tuning or both, and measure which pays.\n\n"
                       "Start with: ragtune ingest DOCS --index NAME, then ragtune decide --index NAME --questions FILE. "
                       "Every command takes --json (one JSON document on stdout) and -h.")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ragtune {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", "-V", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the log lines of the libraries underneath (any position)."),
) -> None:
    """Adapt a language model to your domain with RAG, fine-tuning or both, and measure which pays."""


index_commands.register(app)
ask_commands.register(app)
keys_commands.register(app)
serve_commands.register(app)
mcp_commands.register(app)
serve_model_commands.register(app)
data_commands.register(app)
tune_commands.register(app)
distill_commands.register(app)
models_commands.register(app)
eval_commands.register(app)
advise_commands.register(app)
decide_commands.register(app)
questions_commands.register(app)
doctor_commands.register(app)


def main() -> None:
    prepare_process()  # threads, offline hubs, umask: set once for the process, here at its entry point
    app()
