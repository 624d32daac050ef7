"""Output and error handling shared by every command: JSON on stdout, everything else on stderr."""

from __future__ import annotations

import inspect

import functools
import json
import os
import sys
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from ragtune.cli.progress_lines import ProgressLines
from ragtune.errors import RagtuneError

out = Console(soft_wrap=True)
err = Console(stderr=True)


def emit_json(data: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit_jsonl(rows: Iterator[Any]) -> None:
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def handle_errors(fn: Callable) -> Callable:
    """Map ragtune errors to a one-line message on stderr and the contract's exit code (2 bad input, 1 failure)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RagtuneError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            committed = getattr(exc, "committed", None)  # ragtune.index.CommittedInterrupt
            err.print(f"[yellow]interrupted: {committed}[/]" if committed else "[yellow]interrupted: nothing was committed[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks at the user
            if os.environ.get("RAGTUNE_DEBUG"):
                raise
            err.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))} (set RAGTUNE_DEBUG=1 for the traceback)",
                      markup=True, highlight=False)
            raise typer.Exit(1) from None

    return wrapper


class StageProgress:
    """A rich progress bar on stderr driven by ``(stage, done, total)`` callbacks."""

    def __init__(self, enabled: bool = True, lines: bool = False) -> None:
        self.enabled = enabled and err.is_terminal or bool(os.environ.get("RAGTUNE_PROGRESS"))
        self._bar = Progress(TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                             console=err, transient=True) if self.enabled else None
        self._tasks: dict[str, TaskID] = {}
        # no bar (a pipe, a log): plain lines with the rate and time left, for long stages only
        self._lines = ProgressLines(lambda line: print(line, file=sys.stderr, flush=True)) if enabled and lines else None

    def __enter__(self) -> "StageProgress":
        if self._bar:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar:
            self._bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._bar:
            if self._lines is not None:
                self._lines(stage, done, total)
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)


def options(**specs: tuple[Any, Any]) -> list[inspect.Parameter]:
    """Keyword-only command parameters from ``name=(annotation, typer.Option(...))``."""
    return [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d) for n, (a, d) in specs.items()]


def with_options(*groups: list[inspect.Parameter]) -> Callable:
    """Give a ``**opts`` command the signature typer reads its options from (groups shared between commands)."""

    def wrap(fn: Callable) -> Callable:
        setattr(fn, "__signature__", inspect.Signature([p for group in groups for p in group]))  # typer reads it
        return fn

    return wrap
