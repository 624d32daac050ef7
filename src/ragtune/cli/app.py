"""The ``ragtune`` command: one Typer app; each group of commands lives in its own module."""

from __future__ import annotations

import typer

from ragtune.api import prepare_process
from ragtune.cli import (advise_commands, ask_commands, data_commands, decide_commands, distill_commands, doctor_commands,
                         eval_commands, index_commands, keys_commands, mcp_commands, models_commands, serve_commands,
                         serve_model_commands, tune_commands)

app = typer.Typer(name="ragtune", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Adapt a language model to your domain with RAG, fine-tuning or both, and measure which pays.")
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
doctor_commands.register(app)


def main() -> None:
    prepare_process()  # threads, offline hubs, umask: set once for the process, here at its entry point
    app()
