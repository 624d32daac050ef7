"""``data check``: everything wrong with a set of examples, and whether it is ready to tune on.

The report lists every issue (file, line, field), exact duplicates, near-duplicates (equal after case,
punctuation and spacing are normalised), prompts that appear with different outputs, rows of the test file
that also appear in the training file (leakage), the token-length histogram of the rows rendered through the
base model's chat template against the maximum length, for JSON outputs the inferred schema and the share of
rows that fit it, and a verdict with its reasons.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ragtune.tuning.chat import encode_example
from ragtune.tuning.data.examples import Example, ExampleSet, normalise_text, prompt_key
from ragtune.tuning.data.schema import fits, infer_schema

MIN_ROWS = 20
GOOD_ROWS = 200
_SHOWN = 20  # lines listed per finding; counts are always complete


@dataclass
class CheckReport:
    """The findings of ``check_examples``; ``to_json`` is the ``data check --json`` document."""

    examples: ExampleSet
    duplicates: dict[str, Any]
    leakage: dict[str, Any] | None
    tokens: dict[str, Any] | None
    output: dict[str, Any]
    verdict: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        ex = self.examples
        return {
            "file": str(ex.path),
            "sha256": ex.sha256,
            "format": ex.format.value if ex.format else None,
            "rows": {"lines": ex.lines, "blank": ex.blank_lines, "valid": len(ex.valid), "invalid": len(ex.invalid_lines)},
            "errors": [i.to_json() for i in ex.issues],
            "duplicates": self.duplicates,
            "leakage": self.leakage,
            "tokens": self.tokens,
            "output": self.output,
            "verdict": self.verdict,
        }


def find_duplicates(examples: list[Example]) -> dict[str, Any]:
    """Exact duplicates, near-duplicates and prompts given different outputs, as groups of line numbers."""
    exact: dict[str, list[int]] = defaultdict(list)
    near: dict[str, list[int]] = defaultdict(list)
    by_prompt: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for e in examples:
        exact[repr(e.messages)].append(e.line)
        near[prompt_key(e) + "\n=> " + normalise_text(e.completion)].append(e.line)
        by_prompt[prompt_key(e)][normalise_text(e.completion)].append(e.line)
    exact_groups = [lines for lines in exact.values() if len(lines) > 1]
    variant_of = {line: i for i, lines in enumerate(exact.values()) for line in lines}
    near_groups = [lines for lines in near.values() if len({variant_of[line] for line in lines}) > 1]
    conflicts = [sorted(line for group in outs.values() for line in group) for outs in by_prompt.values() if len(outs) > 1]
    return {
        "exact": sum(len(g) - 1 for g in exact_groups),
        "near": sum(len({variant_of[line] for line in g}) - 1 for g in near_groups),
        "conflicting_prompts": len(conflicts),
        "exact_groups": exact_groups[:_SHOWN],
        "near_groups": near_groups[:_SHOWN],
        "conflicting_groups": conflicts[:_SHOWN],
    }


def find_leakage(train: list[Example], test: list[Example], test_file: str) -> dict[str, Any]:
    """Test rows whose normalised prompt also appears in the training rows."""
    seen: dict[str, int] = {}
    for e in train:
        seen.setdefault(prompt_key(e), e.line)
    pairs = [[seen[prompt_key(t)], t.line] for t in test if prompt_key(t) in seen]
    return {"test_file": test_file, "test_rows": len(test), "leaked": len(pairs), "pairs": pairs[:_SHOWN],
            "share": round(len(pairs) / len(test), 4) if test else 0.0}


def token_lengths(examples: list[Example], tokenizer: Any, max_length: int, tokenizer_name: str) -> dict[str, Any]:
    """Token counts of whole rendered rows: summary, a histogram with the max length marked, and the rows over it."""
    lengths, completions = [], []
    for e in examples:
        ids, labels = encode_example(tokenizer, e.messages)
        lengths.append(len(ids))
        completions.append(sum(1 for lab in labels if lab != -100))
    if not lengths:
        return {"tokenizer": tokenizer_name, "max_length": max_length, "rows": 0}
    over = [e.line for e, n in zip(examples, lengths) if n > max_length]
    top = max(max(lengths), max_length)
    width = max(8, 2 ** math.ceil(math.log2(max(1, top / 12))))
    bins: dict[int, int] = defaultdict(int)
    for n in lengths:
        bins[(n // width) * width] += 1
    histogram = [{"from": start, "to": start + width - 1, "rows": bins.get(start, 0), "over_max": start + width - 1 > max_length}
                 for start in range(0, (max(lengths) // width + 1) * width, width)]
    ordered = sorted(lengths)
    return {
        "tokenizer": tokenizer_name, "max_length": max_length, "rows": len(lengths),
        "min": ordered[0], "mean": round(statistics.fmean(lengths), 1), "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], "max": ordered[-1],
        "completion_mean": round(statistics.fmean(completions), 1), "total": sum(lengths),
        "over_max": len(over), "over_max_lines": over[:_SHOWN], "histogram": histogram,
    }


def output_report(examples: ExampleSet) -> dict[str, Any]:
    """What the outputs are; for JSON outputs the inferred schema and the share of rows that fit it."""
    valid = examples.valid
    if not examples.json_outputs:
        return {"kind": "text", "rows": len(valid)}
    values = [e.output_json for e in valid if e.output_json is not None]
    schema = infer_schema(values)
    misfits = [e.line for e in valid if e.output_json is not None and not fits(e.output_json, schema)]
    shapes = Counter(tuple(sorted(v)) if isinstance(v, dict) else type(v).__name__ for v in values)
    return {"kind": "json", "rows": len(values), "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema},
            "shapes": len(shapes), "main_shape_share": round(shapes.most_common(1)[0][1] / len(values), 4) if values else 0.0,
            "fit": round(1 - len(misfits) / len(values), 4) if values else 0.0, "misfits": len(misfits),
            "misfit_lines": misfits[:_SHOWN]}


def verdict(report: CheckReport) -> dict[str, Any]:
    """``ready`` / ``marginal`` / ``not_ready`` with the reasons, from the findings (rules in the code, in order)."""
    ex = report.examples
    valid = len(ex.valid)
    blocking, caution = [], []
    if ex.issues:
        blocking.append(f"{len(ex.invalid_lines)} row(s) have errors: fix or remove them")
    if valid < MIN_ROWS:
        blocking.append(f"only {valid} usable example(s): LoRA needs at least {MIN_ROWS}, better several hundred")
    elif valid < GOOD_ROWS:
        caution.append(f"{valid} usable examples: enough to try, but {GOOD_ROWS}+ teach a behaviour more reliably")
    out = report.output
    if out.get("kind") == "json" and out.get("rows"):
        if out["fit"] < 0.9:
            blocking.append(f"the JSON outputs disagree on their structure: only {out['fit']:.0%} fit the inferred schema")
        elif out["fit"] < 0.98:
            caution.append(f"{out['misfits']} JSON output(s) do not fit the structure of the rest")
        if out["main_shape_share"] < 0.9:
            caution.append(f"the JSON outputs come in {out['shapes']} top-level shapes; the commonest covers only "
                           f"{out['main_shape_share']:.0%} of the rows")
    dup = report.duplicates
    if valid and dup["conflicting_prompts"] > 0.05 * valid:
        caution.append(f"{dup['conflicting_prompts']} prompt(s) appear with different outputs: the target is inconsistent")
    if valid and dup["exact"] + dup["near"] > 0.2 * valid:
        caution.append(f"{dup['exact'] + dup['near']} duplicate row(s): the set is smaller than it looks")
    tok = report.tokens
    if tok and tok.get("rows") and tok["over_max"]:
        msg = f"{tok['over_max']} row(s) exceed the max length of {tok['max_length']} tokens: they are dropped unless --truncate"
        caution.append(msg)
    if report.leakage and report.leakage["leaked"]:
        caution.append(f"{report.leakage['leaked']} test row(s) also appear in the training data: scores would be inflated")
    level = "not_ready" if blocking else "marginal" if caution else "ready"
    reasons = blocking + caution or [f"{valid} consistent examples"]
    return {"level": level, "ready": level != "not_ready", "reasons": reasons,
            "facts": {"examples": valid, "json_outputs": out.get("kind") == "json",
                      "format": ex.format.value if ex.format else None}}


def check_examples(examples: ExampleSet, tokenizer: Any | None = None, max_length: int = 512, tokenizer_name: str = "",
                   test: ExampleSet | None = None) -> CheckReport:
    """Check a read example set (and optionally its test set) and give the report with its verdict."""
    valid = examples.valid
    report = CheckReport(
        examples=examples,
        duplicates=find_duplicates(valid),
        leakage=find_leakage(valid, test.valid, str(test.path)) if test is not None else None,
        tokens=token_lengths(valid, tokenizer, max_length, tokenizer_name) if tokenizer is not None else None,
        output=output_report(examples),
    )
    report.verdict = verdict(report)
    return report
