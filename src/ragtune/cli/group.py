"""The top-level command group: help that reads at 80 columns, usage errors in the one error style, quiet libraries.

Help is click's plain layout (option names whole, descriptions wrapped beside them) with metavars that say what
a value is (``FILE``, ``TEXT``, ``N``) instead of a Python type. A usage error (unknown option, missing value)
is ``error:`` plus a ``hint:`` naming the command's help, as every other error is, and a JSON error on stdout
when ``--json`` was given. Third-party loggers (Lance's Rust log, the PDF libraries) stay quiet unless
``--verbose``; ragtune's own notices about long waits go to stderr as plain lines.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
import warnings
from collections.abc import Sequence
from typing import Any, get_args

import typer
from typer._click import _textwrap
from typer.core import TyperArgument, TyperGroup, TyperOption

from ragtune.cli.output import report_error

VERBOSE_FLAG = "--verbose"
NOISY_LOGGERS = ("pypdf", "pypdfium2", "pdfminer", "lance", "lancedb", "httpx", "urllib3", "transformers", "datasets",
                 "sentence_transformers", "onnxruntime", "ray", "peft", "accelerate")
DEPRECATED_SPELLINGS = {"--data": "--examples", "--eval-data": "--eval-examples", "--time-budget": "--budget",
                       "--markdown": "--report"}
METAVAR_BY_NAME = {"index": "NAME", "name": "NAME", "model": "SPEC", "base": "SPEC", "judge": "SPEC", "teacher": "SPEC",
                   "rerank": "SPEC",
                   "embedder": "SPEC", "generator": "SPEC", "tuned": "NAME[@vN]", "budget": "DURATION",
                   "time_budget": "DURATION", "host": "HOST", "port": "PORT", "variants": "LIST", "candidates": "LIST"}


# Help text is wrapped at spaces only, so that an option named in a description (--eval-examples) is never split.
_textwrap.TextWrapper.wordsep_re = textwrap.TextWrapper.wordsep_simple_re


def metavar_of(param: Any) -> str | None:
    """What a parameter's value is, in the words help uses (None: leave click's own)."""
    if not isinstance(param, TyperOption) or getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    named = METAVAR_BY_NAME.get(param.name or "")
    if named:
        return named
    desc = param.type_descriptor
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    if desc.is_list and get_args(annotation):
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, os.PathLike):
        return "PATH"
    return {int: "N", float: "NUMBER", str: "TEXT"}.get(annotation, "VALUE")


def hide_old_spellings(option: Any) -> None:
    """Leave an option's deprecated spellings (still accepted) out of its help line."""
    old = [o for o in option.opts if o in DEPRECATED_SPELLINGS]
    if not old or getattr(option, "old_spellings", None):
        return
    record = option.get_help_record

    def help_record(ctx: Any) -> Any:
        names = option.opts
        option.opts = [o for o in names if o not in old]
        try:
            return record(ctx)
        finally:
            option.opts = names

    option.old_spellings = old
    option.get_help_record = help_record


def note_old_spellings(argv: list[str]) -> None:
    """A deprecation note on stderr for each old spelling used."""
    for arg in argv:
        new = DEPRECATED_SPELLINGS.get(arg.split("=", 1)[0])
        if new:
            sys.stderr.write(f"note: {arg.split('=', 1)[0]} is deprecated; use {new}\n")


def name_arguments(argument: Any) -> None:
    """An argument reads as ``NAME``, ``[NAME]`` or ``NAME...`` in usage and help, with no Python type beside it."""
    word = (argument.name or "value").removesuffix("_arg").upper()
    many = "..." if argument.nargs != 1 else ""
    argument.metavar = word + many
    argument.display_type_rich = lambda ctx: None
    argument._usage_display_name = lambda: (word if argument.required else f"[{word}]") + many


def polish(command: Any) -> None:
    """Give every option and argument of ``command`` and its subcommands a metavar from ``metavar_of``, and hide the
    old spellings of renamed options from help."""
    for param in command.params:
        if isinstance(param, TyperOption):
            hide_old_spellings(param)
        elif isinstance(param, TyperArgument):
            name_arguments(param)
        if param.metavar is None and isinstance(param, TyperOption):
            word = metavar_of(param)
            if word is not None:
                param.metavar = word
    for sub in getattr(command, "commands", {}).values():
        if not sub.short_help and sub.help:  # the command list shows whole first sentences, wrapped, never cut with "..."
            sub.short_help = " ".join(sub.help.split("\n\n")[0].split())
        polish(sub)


def quiet_libraries(verbose: bool) -> None:
    """Silence third-party loggers and warnings (and Lance's Rust log) unless ``verbose``; ragtune's own notices reach
    stderr."""
    if not verbose:
        os.environ.setdefault("LANCEDB_LOG", "error")  # Lance's Rust log: "No existing dataset ... will be created"
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
            # and their Python warnings (a library's FutureWarning about its own API is no news to the user)
            warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")
    own = logging.getLogger("ragtune")
    if not any(getattr(h, "ragtune_cli", False) for h in own.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.ragtune_cli = True  # type: ignore[attr-defined]
        own.addHandler(handler)
    own.setLevel(logging.DEBUG if verbose else logging.INFO)


def usage_hint(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "ragtune"
    return f"{path} --help lists the options"


class RagtuneGroup(TyperGroup):
    """The ``ragtune`` group: polished help, ``--verbose`` anywhere, usage errors in the one error style."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = [str(a) for a in (sys.argv[1:] if args is None else args)]
        verbose = VERBOSE_FLAG in argv
        argv = [a for a in argv if a != VERBOSE_FLAG]
        quiet_libraries(verbose)
        note_old_spellings(argv)
        polish(self)
        try:
            code = super().main(argv, prog_name or "ragtune", complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:
            ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # a bare group: its help, not an error
                typer.echo(ctx.get_help())
                code = 0
            else:
                report_error("UsageError", exc.format_message(), usage_hint(exc), "--json" in argv)
                code = exc.exit_code
        except typer.Abort:
            report_error("Interrupted", "interrupted", None, "--json" in argv)
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)
