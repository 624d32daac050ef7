"""Small helpers every layer shares: atomic writes, JSON files read with named errors, the time, and readable
validation errors. This module sits at the bottom of the import graph: it imports nothing of ragtune but errors."""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import json
import math
import os
import re
import tempfile
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ragtune.errors import InputError


def utc_now() -> str:
    """The current UTC time as an ISO-8601 string to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_text_atomic(path: Path | str, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a private temporary file in the same folder and a rename: a reader sees
    the old file or the new one, never half of either. ``durable`` also flushes the data to disk before the rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def exclusive_lock(path: Path | str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created when missing) for the block: one process at a time, across
    processes and machines that share the file system's locks. ``OSError`` when the lock file cannot be opened."""
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json_atomic(path: Path | str, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path | str, what: str = "JSON file") -> Any:
    """The JSON value in ``path``; an ``InputError`` naming the file (and the line of a syntax error) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not a valid {what}: {exc.msg} at line {exc.lineno}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a valid {what}: not UTF-8 text") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc


def validation_message(exc: Any, where: str | None = None, *, first_only: bool = False) -> str:
    """A pydantic ``ValidationError`` as one line: ``where: field 'a.b': message`` for each error, joined by '; '."""
    parts = []
    errors = exc.errors()
    for err in errors[:1] if first_only else errors:
        field = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        text = f"field '{field}': {message}" if field else message
        parts.append(f"{where}: {text}" if where else text)
    return "; ".join(parts)


def normalise_text(text: str) -> str:
    """Text reduced for near-duplicate matching: case, accents' width forms, punctuation and spacing removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def library_versions(*packages: str) -> dict[str, str]:
    """Installed versions of ragtune and ``packages`` (missing ones are left out)."""
    from importlib import metadata

    found = {}
    for pkg in ("ragtune", *packages):
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return found


_CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_money(x: float | None, currency: str = "USD", per: str = "") -> str:
    """An amount for people, with its unit: whole units from 100 (``$1,234``), cents from 1 (``$12.50``), two
    significant digits below (``$0.79``, ``$0.016``); ``per`` follows it (``/month``, `` per 1k``); ``unknown`` for
    None or a figure that is not a number."""
    if x is None or x != x or x in (float("inf"), float("-inf")):
        return "unknown"
    a = abs(x)
    if a == 0:
        digits = "0"
    elif a >= 100:
        digits = f"{a:,.0f}"
    elif a >= 1:
        digits = f"{a:,.2f}"
    else:
        places = max(2, 1 - math.floor(math.log10(a)))
        digits = f"{a:.{places}f}"
        whole, fraction = digits.split(".")
        digits = f"{whole}.{fraction[:2]}{fraction[2:].rstrip('0')}"  # cents stay; zeros past them say nothing
    sign = _CURRENCY_SIGNS.get(currency.upper())
    amount = f"{sign}{digits}" if sign else f"{digits} {currency}"
    return ("-" if x < 0 else "") + amount + per


def format_number(x: float) -> str:
    """A figure for people: thousands separated (``10,000``), below 1 to two significant digits (``0.000007``),
    never in scientific notation."""
    if x == 0 or abs(x) >= 1:
        return f"{x:,g}" if abs(x) < 1e15 else f"{x:,.0f}"
    return f"{x:.{1 - math.floor(math.log10(abs(x)))}f}".rstrip("0").rstrip(".")


def model_key(folder: Path) -> str:
    """Names a model folder's export: its real path and every file's name, size and time of change (any change to the
    weights makes a new export)."""
    h = hashlib.sha256(str(folder.resolve()).encode())
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            stat = p.stat()
            h.update(f"{p.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return h.hexdigest()[:16]
