"""``data split``: a deterministic, seeded train/test split of an examples file, optionally stratified.

Rows with the same normalised prompt always land on the same side, so the split itself never leaks.
The output files keep the original lines byte for byte, in their original order.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune.errors import InputError
from ragtune.tuning.data.examples import normalise_text, prompt_key, read_examples
from ragtune.common import write_text_atomic


@dataclass
class SplitReport:
    """Where the two files went and what is in them."""

    train_path: Path
    test_path: Path
    train_rows: int
    test_rows: int
    seed: int
    stratify: str | None
    strata: dict[str, dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        return {"train": str(self.train_path), "test": str(self.test_path), "rows": {"train": self.train_rows,
                                                                                     "test": self.test_rows},
                "seed": self.seed, "stratify": self.stratify, "strata": self.strata}


def field_value(row: Any, dotted: str) -> Any:
    """The value at ``a.b.c`` in a row (a JSON string on the way is parsed); ``None`` when absent."""
    value = row
    for part in dotted.split("."):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return None
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` across strata in proportion to ``sizes`` (largest remainder), at most each stratum's size."""
    whole = sum(sizes.values())
    quotas = {k: total * n / whole for k, n in sizes.items()}
    alloc = {k: min(sizes[k], int(q)) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - int(quotas[k])), k)):
        if sum(alloc.values()) >= total:
            break
        if alloc[k] < sizes[k]:
            alloc[k] += 1
    return alloc


def _test_lines(groups: dict[str, list[int]], by_stratum: dict[str, list[str]], quotas: dict[str, int], seed: int) -> set[int]:
    """The lines of the prompt groups drawn (seeded) for the test side, until each stratum's quota is met."""
    rng = random.Random(seed)
    test_lines: set[int] = set()
    for stratum in sorted(by_stratum):
        keys = sorted(by_stratum[stratum], key=lambda k: groups[k][0])
        rng.shuffle(keys)
        taken = 0
        for k in keys:
            if taken >= quotas[stratum]:
                break
            test_lines.update(groups[k])
            taken += len(groups[k])
    return test_lines


def split_examples(path: Path | str, test: float = 0.1, seed: int = 0, stratify: str | None = None,
                   out_dir: Path | str | None = None, force: bool = False) -> SplitReport:
    """Write ``<stem>.train.jsonl`` and ``<stem>.test.jsonl``; ``test`` is a fraction (<1) or a row count (>=1)."""
    path = Path(path)
    examples = read_examples(path)
    bad_json = [i for i in examples.issues if i.field is None and i.message.startswith(("not valid JSON", "expected a JSON "
                                                                                                          "object"))]
    if bad_json:
        raise InputError(f"{bad_json[0]} (fix the file first: ragtune data check {path})")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    numbered = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
    by_line = {e.line: e for e in examples.examples}
    if len(lines) < 2:
        raise InputError(f"{path}: needs at least 2 rows to split")
    if test <= 0:
        raise InputError("--test must be a fraction above 0 or a row count of at least 1")
    n_test = round(test * len(lines)) if test < 1 else int(test)
    if not 1 <= n_test < len(lines):
        raise InputError(f"--test {test}: gives {n_test} test rows out of {len(lines)}; leave at least one row on each side")
    # Group rows with the same normalised prompt so that they stay together.
    groups: dict[str, list[int]] = defaultdict(list)
    strata_of: dict[str, str] = {}
    for number, line in zip(numbered, lines):
        example = by_line.get(number)
        key = prompt_key(example) if example else normalise_text(line)
        groups[key].append(number)
        if key not in strata_of:
            value = field_value(json.loads(line), stratify) if stratify else None
            if stratify and value is None:
                strata_of[key] = "(missing)"
            else:
                strata_of[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    if stratify and all(s == "(missing)" for s in strata_of.values()):
        raise InputError(f"--stratify {stratify}: no row has this field")
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for key in groups:
        by_stratum[strata_of[key] if stratify else "all"].append(key)
    sizes = {s: sum(len(groups[k]) for k in keys) for s, keys in by_stratum.items()}
    test_lines = _test_lines(groups, by_stratum, _allocate(sizes, n_test), seed)
    if len(test_lines) >= len(lines):
        raise InputError(f"{path}: every row shares one prompt group; nothing would be left to train on")
    out = Path(out_dir) if out_dir else path.parent
    out.mkdir(parents=True, exist_ok=True)
    stem = path.name.removesuffix(".jsonl").removesuffix(".json")
    train_path, test_path = out / f"{stem}.train.jsonl", out / f"{stem}.test.jsonl"
    for target in (train_path, test_path):
        if target.exists() and not force:
            raise InputError(f"{target}: already exists (pass --force to replace it)")
    write_text_atomic(train_path, "".join(line + "\n" for n, line in zip(numbered, lines) if n not in test_lines))
    write_text_atomic(test_path, "".join(line + "\n" for n, line in zip(numbered, lines) if n in test_lines))
    strata = {}
    if stratify:
        for stratum, keys in sorted(by_stratum.items()):
            in_test = sum(len(groups[k]) for k in keys if groups[k][0] in test_lines)
            strata[stratum] = {"train": sizes[stratum] - in_test, "test": in_test}
    return SplitReport(train_path, test_path, len(lines) - len(test_lines), len(test_lines), seed, stratify, strata)

