"""Output and error handling shared by every command: JSON on stdout, everything else on stderr."""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from ragtune.cli.progress_lines import duration, progress_line
from ragtune.errors import IndexNotFoundError, RagtuneError

# The caller's umask, read before a workspace makes this process's 077: files written where the caller asked, outside
# the workspace (reports, result files), get the permissions the caller's other files get.
CALLER_UMASK = os.umask(0o022)
os.umask(CALLER_UMASK)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # messages are never wrapped: a hint's command stays on one line


def emit_json(data: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit_jsonl(rows: Iterator[Any]) -> None:
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def share_written(*paths: object) -> None:
    """Give files written at the caller's request the caller's usual permissions, unless they lie in the workspace
    (which stays its owner's alone)."""
    from ragtune.api import RagtuneConfig

    home = Path(RagtuneConfig.load({}).home).resolve()
    for path in paths:
        if path is None or not Path(str(path)).is_file():
            continue
        target = Path(str(path)).resolve()
        if home not in target.parents:
            target.chmod(0o666 & ~CALLER_UMASK)


def report_error(kind: str, message: str, hint: str | None = None, as_json: bool = False) -> None:
    """One error in the one style: ``error: MESSAGE`` and ``hint: HINT`` on stderr (one line each, never wrapped);
    with ``--json`` also ``{"error": {"type", "message", "hint"}}`` on stdout, so scripts have something to parse."""
    message = " ".join(message.split())
    if as_json:
        emit_json({"error": {"type": kind, "message": message, "hint": hint}})
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if hint:
        err.print(f"[dim]hint:[/] {escape(hint)}", highlight=False)


def default_hint(exc: BaseException) -> str | None:
    """The hint an error carries, or the general one for its kind."""
    hint = getattr(exc, "hint", None)
    if hint:
        return str(hint)
    if isinstance(exc, IndexNotFoundError):
        return "ragtune indexes lists the indexes of this workspace ($RAGTUNE_HOME, default ./.ragtune)"
    if not isinstance(exc, RagtuneError):
        return "set RAGTUNE_DEBUG=1 to see the traceback"
    return None


def handle_errors(fn: Callable) -> Callable:
    """Map errors to one message (and a hint) on stderr, a JSON error with ``--json``, and the contract's exit code
    (2 bad input, 1 failure, 130 interrupted)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except RagtuneError as exc:
            report_error(type(exc).__name__, str(exc), default_hint(exc), as_json)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            committed = getattr(exc, "committed", None)  # ragtune.index.CommittedInterrupt
            report_error("Interrupted", f"interrupted: {committed}" if committed else "interrupted: nothing was committed",
                         None, as_json)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks at the user
            if os.environ.get("RAGTUNE_DEBUG"):
                raise
            report_error(type(exc).__name__, f"{type(exc).__name__}: {exc}", default_hint(exc), as_json)
            raise typer.Exit(1) from None

    return wrapper


class StageProgress:
    """Progress on stderr driven by ``(stage, done, total)`` callbacks: a rich bar per stage on a terminal; elsewhere (a
    pipe, a log file) plain lines, only for waits: once ``interval`` seconds pass without a line, each stage under way
    is printed with its measured rate and the time left at that rate (``rag: 10/49 (20%) in 14 s, 0.71/s, about
    55 s left``; several at once when candidates answer side by side), again every ``interval`` seconds while it
    moves (every ``WAITING_EVERY_S`` seconds while it does not), and once more when a printed stage ends. Work done
    within ``interval`` prints nothing. ``clock`` gives the time (tests pass their own)."""

    def __init__(self, enabled: bool = True, interval: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.live = enabled and err.is_terminal and not os.environ.get("RAGTUNE_PLAIN_PROGRESS")
        self._bar = Progress(TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                             console=err, transient=True) if self.live else None
        self._tasks: dict[str, TaskID] = {}
        self._stage_started: dict[str, float] = {}
        self._interval = interval
        self._clock = clock
        self._start = self._last = clock()
        self._running: dict[str, tuple[int, int]] = {}  # stages under way: (done, total)
        self._last_ended: str | None = None
        self._shown: set[str] = set()
        self._ended: dict[str, float] = {}
        self._printed: dict[str, tuple[int, int]] = {}
        self._waiting: tuple[str, float] | None = None  # the stage end a waiting line was printed for
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> "StageProgress":
        if self._bar:
            self._bar.__enter__()
        elif self.enabled:
            self._ticker = threading.Thread(target=self._tick_until_stopped, name="ragtune-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar:
            self._bar.__exit__(*exc)
        self._stop.set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            with self._lock:
                now = self._clock()
                self._stage_started.setdefault(stage, now)
                if done < total:
                    self._running[stage] = (done, total)
                    return
                self._running.pop(stage, None)
                self._ended[stage], self._last_ended = now, stage
                if stage in self._shown and self._printed.get(stage) != (done, total):
                    self._write(now, stage, done, total)
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)

    def tick(self, now: float) -> None:
        """Print each stage under way when ``interval`` seconds have passed since the last line (or the start): those
        that moved since they were printed, or all of them when ``WAITING_EVERY_S`` seconds passed; with none under
        way, how long the work has gone on since the last stage ended (every ``WAITING_EVERY_S`` seconds)."""
        with self._lock:
            if now - self._last < self._interval or (not self._running and self._last_ended is None):
                return
            slow = now - self._last >= max(self._interval, self.WAITING_EVERY_S)
            if self._running:
                for stage, (done, total) in list(self._running.items()):
                    if self._printed.get(stage) != (done, total) or slow:
                        self._write(now, stage, done, total)
                return
            stage = str(self._last_ended)
            ended = self._ended[stage]
            if (self._waiting != (stage, ended) and now - ended >= self._interval) or slow:
                self._last, self._waiting = now, (stage, ended)
                self._print(f"working: {duration(now - ended)} since {stage} ended")

    WAITING_EVERY_S = 10.0

    def _write(self, now: float, stage: str, done: int, total: int) -> None:
        self._last, self._printed[stage] = now, (done, total)
        self._shown.add(stage)
        elapsed = now - self._stage_started.get(stage, self._start)
        self._print(progress_line(stage, done, total, elapsed))  # with the rate and the time left

    @staticmethod
    def _print(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _tick_until_stopped(self) -> None:
        while not self._stop.wait(min(self._interval, 1.0)):
            self.tick(self._clock())


def options(**specs: tuple[Any, Any]) -> list[inspect.Parameter]:
    """Keyword-only command parameters from ``name=(annotation, typer.Option(...))``."""
    return [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d) for n, (a, d) in specs.items()]


def with_options(*groups: list[inspect.Parameter]) -> Callable:
    """Give a ``**opts`` command the signature typer reads its options from (groups shared between commands)."""

    def wrap(fn: Callable) -> Callable:
        setattr(fn, "__signature__", inspect.Signature([p for group in groups for p in group]))  # typer reads it
        return fn

    return wrap
