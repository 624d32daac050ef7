"""Functions over files rather than a workspace: comparing eval runs, writing reports, checking and splitting
fine-tuning examples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.decide import Decision
from ragtune.evaluation.base import EvalResult
from ragtune.tuning.data import CheckReport, SplitReport, read_examples
from ragtune.tuning.data import split_examples as _split_examples

if TYPE_CHECKING:
    from ragtune.evaluation.compare import Comparison


def compare_runs(a: str | Path, b: str | Path) -> "Comparison":
    """What changed from results file ``a`` to ``b``, metric by metric, with 95% intervals of the difference."""
    from ragtune.evaluation.compare import compare_files

    return compare_files(a, b)


def write_eval_report(result: EvalResult, path: str | Path) -> Path:
    """Write an eval result as HTML, Markdown or JSON, by the file's suffix."""
    from ragtune.evaluation.report import write_report

    return write_report(result, path)


def check_examples(path: str | Path, *, base: str | None = "local", max_length: int = 512, system: str | None = None,
                   test: str | Path | None = None) -> CheckReport:
    """Check fine-tuning examples: errors, duplicates, leakage into ``test``, token lengths under ``base``'s tokenizer
    (none when ``base`` is None), the JSON outputs' schema, and a verdict."""
    from ragtune.tuning.base_models import load_tokenizer
    from ragtune.tuning.data import check_examples as _check

    examples = read_examples(path, system=system)
    test_set = read_examples(test, system=system) if test is not None else None
    tokenizer, name = load_tokenizer(base) if base else (None, "")
    return _check(examples, tokenizer=tokenizer, max_length=max_length, tokenizer_name=name, test=test_set)


def split_examples(path: str | Path, *, test: float = 0.1, seed: int = 0, stratify: str | None = None,
                   out_dir: str | Path | None = None, force: bool = False) -> SplitReport:
    """Split an examples file into ``<stem>.train.jsonl`` and ``<stem>.test.jsonl`` (seeded; optionally stratified)."""
    return _split_examples(path, test=test, seed=seed, stratify=stratify, out_dir=out_dir, force=force)


def write_decision_report(decision: Decision, path: str | Path) -> Path:
    """Write a decision as an HTML page (quality against monthly cost, the table, the rules) or Markdown (``.md``)."""
    from ragtune.decide.report import write_report

    return write_report(decision, path)
