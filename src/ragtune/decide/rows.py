"""``decide --rows``: decide again from per-question rows, without running any model.

The file is JSONL, one row per (question, candidate), or a ``decide --out`` file (its ``rows``). Fields:

- ``id`` (string, required): the question; ``candidate`` (required): base, prompt, rag, ft, rag+ft, distilled or teacher;
- ``score`` (number): the row's score on the primary metric, or the metrics an eval writes (``token_f1``,
  ``judge_correct``, ``schema_valid``, ``field_acc.*`` ...) beside ``answer``;
- ``task``: ``knowledge`` (default) or ``format``; ``group``: questions of one group share a source and are
  resampled together;
- ``error``: why the answer failed (a failed answer scores 0 and is costed); ``answer``: the answer text;
- ``latency_ms``, ``input_tokens``, ``output_tokens`` (numbers, 0 or more): for the costs; ``machine_ms`` (0 or
  more): the answer's share of the batch its reply was decoded in, costed instead of ``latency_ms``; ``model``: the
  spec the candidate answered with (for its price; default ``--model`` or the configured model);
- ``faithfulness`` (0-1): the support of the answer by the passages it cites (for ``--attribution``);
- ``synthetic`` (true): the question was written from the index (``ragtune questions generate``); the decision says so.

Every problem is reported with its line; the first ones end the command with an ``InputError`` (exit 2).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragtune.decide.base import Decision
from ragtune.decide.config import ALL_CANDIDATES, DecideConfig
from ragtune.decide.data import FORMAT, KNOWLEDGE
from ragtune.decide.decision import Measured, build_decision
from ragtune.decide.distilled import DISTILLED, TEACHER, acts_as
from ragtune.errors import InputError
from ragtune.costs.prices import PriceTable
from ragtune.generation.base import PricingBasis

ROWS_FIELDS = {"model", "metric", "judge", "queries_per_month", "months", "latency_budget_ms", "attribution",
               "content_may_leave", "changes_per_month", "prices", "margin", "weights", "seed", "index", "candidates",
               "repeats"}
"""The ``decide`` settings that apply to a decision from rows."""

_NUMBERS = ("score", "latency_ms", "machine_ms", "input_tokens", "output_tokens", "faithfulness")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _row_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return "a row is a JSON object"
    if not isinstance(row.get("id"), (str, int)) or isinstance(row.get("id"), bool) or str(row.get("id")) == "":
        return "field 'id' is missing (a string)"
    if row.get("candidate") not in {c.value for c in ALL_CANDIDATES} | {DISTILLED, TEACHER}:
        return (f"field 'candidate' is {'missing' if 'candidate' not in row else repr(row['candidate'])}: "
                "base, prompt, rag, ft or rag+ft")
    if row.get("task", KNOWLEDGE) not in (KNOWLEDGE, FORMAT):
        return f"field 'task' is {row['task']!r}: knowledge or format"
    for key in _NUMBERS:
        if key in row and row[key] is not None and not _finite(row[key]):
            return f"field '{key}' is {row[key]!r}: a finite number"
    for key in ("latency_ms", "machine_ms", "input_tokens", "output_tokens"):
        if _finite(row.get(key)) and row[key] < 0:
            return f"field '{key}' is {row[key]!r}: 0 or more"
    if "score" not in row and "answer" not in row and not row.get("error"):
        return "no 'score', no 'answer' and no 'error': nothing to decide from"
    return None


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of ``path`` (JSONL, or a ``decide --out`` JSON file), validated; ``InputError`` naming each bad line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--rows {path}: no such file")
    text = path.read_text(encoding="utf-8")
    numbered: list[tuple[int, Any]] = []
    try:
        whole = json.loads(text, parse_constant=_reject)
    except (json.JSONDecodeError, ValueError):
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("rows"), list):
        numbered = [(i + 1, r) for i, r in enumerate(whole["rows"])]
        where = "row"
    else:
        where = "line"
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((i, json.loads(line, parse_constant=_reject)))
            except (json.JSONDecodeError, ValueError) as exc:
                raise InputError(f"{path}:{i}: not a JSON row ({exc})") from None
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    tasks: dict[str, tuple[str, int]] = {}
    rows = []
    for n, row in numbered:
        problem = _row_problem(row)
        if problem is None:
            key = (str(row["id"]), row["candidate"])
            task = row.get("task", KNOWLEDGE)
            if key in seen:
                problem = f"question {key[0]!r} of {key[1]} repeats {where} {seen[key]}"
            elif key[0] in tasks and tasks[key[0]][0] != task:
                problem = f"question {key[0]!r} is {task} here but {tasks[key[0]][0]} at {where} {tasks[key[0]][1]}"
            seen.setdefault(key, n)
            tasks.setdefault(key[0], (task, n))
        if problem:
            problems.append(f"{path} {where} {n}: {problem}")
            continue
        rows.append({**row, "id": str(row["id"]), "task": row.get("task", KNOWLEDGE),
                     "answer": row.get("answer", None if row.get("error") else "")})
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)
    if not rows:
        raise InputError(f"--rows {path}: no rows")
    return rows


def _reject(constant: str) -> Any:
    raise ValueError(f"{constant} is not a number in JSON")


def decide_from_rows(path: str | Path, config: DecideConfig, default_model: str, facts: Any,
                     pricing: Callable[[str], PricingBasis | None] = lambda spec: None,
                     prices_for: Callable[[PriceTable, list[str]], PriceTable] = lambda table, specs: table) -> Decision:
    """The decision from the rows of ``path`` (see the module docstring); ``facts``: the advisor's, for the rules;
    ``pricing``: how a model spec is paid for, as its generator declares (None: not known, so only a listed token
    price can cost it); ``prices_for``: the price table with what the workspace knows of the rows' specs (a managed
    version's price from its card)."""
    if config.repeats != 1:
        raise InputError("--repeats reruns the candidates, and --rows runs none: give one of them")
    rows = read_rows(path)
    present = {r["candidate"] for r in rows}
    candidates = [c.value for c in config.candidates if c.value in present] + [c for c in (DISTILLED, TEACHER) if c in present]
    if not candidates:
        raise InputError(f"--rows {path}: no rows of the candidates asked for ({', '.join(c.value for c in config.candidates)})")
    if config.metric is None and all("score" in r for r in rows):
        config = config.model_copy(update={"metric": "score"})
    by_candidate = {c: [r for r in rows if r["candidate"] == c] for c in candidates}
    kinds = {r["id"]: r["task"] for r in rows}
    tasks = [t for t in (KNOWLEDGE, FORMAT) if t in set(kinds.values())]
    notes = [f"decided from {len(rows)} rows of {path}: no model was run"]
    if len(tasks) > 1 and config.weights is None:
        notes.append("knowledge and format questions are mixed and no --weights were given: each task weighs its share "
                     "of the questions")
    model = config.model or default_model
    specs = {}
    for c in candidates:
        given = next((r["model"] for r in by_candidate[c] if isinstance(r.get("model"), str)), None)
        specs[c] = given or ("tuned:rows" if acts_as(c, config.index).tuned else model)
    # rows of a tuned candidate that name no model were answered by a version of the base model: paid for alike
    bases = {c: (model if spec == "tuned:rows" else spec) for c, spec in specs.items()}
    config = config.model_copy(update={"prices": prices_for(config.prices, list(specs.values()))})
    measured = Measured(rows=by_candidate, kinds=kinds, tasks=tasks, specs=specs,
                        pricing={c: basis for c, spec in bases.items() if (basis := pricing(spec)) is not None},
                        groups={r["id"]: str(r["group"]) for r in rows if r.get("group") is not None},
                        synthetic={r["id"] for r in rows if r.get("synthetic") is True},
                        judged=any("judge_correct" in r for r in rows), split={"test": len(kinds), "rows": str(path)},
                        notes=notes, run={"rows": str(path)}, acts_as={c: acts_as(c, config.index).value for c in candidates},
                        pricing_of=pricing)
    changes = config.changes_per_month or 0.0
    source = "stated" if config.changes_per_month is not None else "not measured from rows"
    decision = build_decision(config, measured, facts, changes, source, candidates)
    decision.config["model"] = model
    return decision
