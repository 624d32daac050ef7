"""Examples for a managed job: read once, checked against the provider's documented limits, written in its format.

Every problem is reported by line before anything is uploaded; a file with any problem is an ``InputError``
(exit 2) that lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import InputError
from ragtune.generation import estimate_tokens
from ragtune.tuning.data.examples import Issue, read_examples
from ragtune.tuning.managed.base import FineTuningService

SHOWN_ISSUES = 20


@dataclass
class ProviderData:
    """The converted file and what it holds."""

    path: Path
    rows: int
    estimated_tokens: int  # every example's tokens, estimated (about 4 characters a token)
    format: str | None


def check_and_convert(data: Path, system: str | None, service: FineTuningService, target: Path) -> ProviderData:
    """Read ``data``, check it against ``service.limits`` and write the provider's rows to ``target``."""
    found = read_examples(data, system=system)
    limits, issues = service.limits, list(found.issues)
    valid = found.valid
    tokens = 0
    for example in valid:
        size = sum(estimate_tokens(m["content"]) for m in example.messages)
        tokens += size
        if size > limits.max_example_tokens:
            issues.append(Issue(str(data), example.line, example.completion_field,
                                f"about {size:,} tokens: over {service.provider}'s limit of {limits.max_example_tokens:,} "
                                f"tokens per example (as of {limits.as_of})"))
        roles = sorted({m["role"] for m in example.messages} - set(limits.roles))
        if roles:
            issues.append(Issue(str(data), example.line, example.completion_field,
                                f"role {', '.join(roles)} is not accepted by {service.provider} "
                                f"(roles: {', '.join(limits.roles)})"))
    count = len(valid)
    if count < limits.min_rows:
        issues.append(Issue(str(data), found.lines, None, f"{count} usable example(s): {service.provider} needs at least "
                                                          f"{limits.min_rows} (as of {limits.as_of})"))
    if limits.max_rows is not None and count > limits.max_rows:
        issues.append(Issue(str(data), found.lines, None,
                            f"{count} examples: {service.provider} takes at most {limits.max_rows:,}"))
    if issues:
        issues.sort(key=lambda i: i.line)
        shown = "; ".join(str(i) for i in issues[:SHOWN_ISSUES])
        more = f" (and {len(issues) - SHOWN_ISSUES} more)" if len(issues) > SHOWN_ISSUES else ""
        raise InputError(f"{len(issues)} problem(s) in the examples for {service.provider}, nothing was uploaded: {shown}{more}")
    rows = service.rows([e.messages for e in valid])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return ProviderData(target, count, tokens, found.format.value if found.format else None)
