"""Greedy batches for transformers causal LMs: rows grouped by prompt length, left-padded and attention-masked.

- ``plan_batches`` sorts the rows by prompt length and cuts them into batches of at most ``batch_size`` rows and
  ``BATCH_TOKENS`` padded tokens (prompt plus answer), so short prompts are not padded to a long one's length.
- ``decode_rows`` runs one batch through ``model.generate`` and returns each row's new tokens; a row stops at its
  own end-of-turn token or stop string (transformers pads the rows that finished early, at no extra step).
- ``halving`` runs a batch and, when it runs out of memory, splits it in two and runs each half (recorded).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence, TypeVar

BATCH_TOKENS = 32768
"""Most padded tokens (rows x (longest prompt + answer)) in one batch."""

log = logging.getLogger("ragtune.generation")
T = TypeVar("T")


def plan_batches(lengths: Sequence[int], batch_size: int, max_new_tokens: int, budget: int = BATCH_TOKENS) -> list[list[int]]:
    """Row indices cut into batches: shortest prompts first, at most ``batch_size`` rows and ``budget`` padded tokens each."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        width = lengths[i] + max_new_tokens  # sorted: the row added now is the longest of the batch
        if current and (len(current) >= batch_size or (len(current) + 1) * width > budget):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def padding_id(tokenizer: Any) -> int:
    """The id that fills left padding: the tokenizer's pad token, else its end-of-sequence token, else 0 (masked anyway)."""
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id, getattr(tokenizer, "unk_token_id", None)):
        if isinstance(token_id, int):
            return token_id
        if isinstance(token_id, list) and token_id:
            return int(token_id[0])
    return 0


def decode_rows(model: Any, rows: Sequence[Sequence[int]], kwargs: dict[str, Any], pad_id: int, device: str) -> list[list[int]]:
    """Each row's new token ids from one left-padded batch through ``model.generate`` (``kwargs``: its settings)."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(list(row), dtype=torch.long)
        mask[i, width - len(row):] = 1
    with torch.inference_mode():
        out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **kwargs)
    return [out[i, width:].tolist() for i in range(len(rows))]


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is torch running out of memory (on any device)."""
    import torch

    oom = getattr(torch, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def halving(run: Callable[[list[T]], list[Any]], items: list[T], on_split: Callable[[int], None]) -> list[Any]:
    """``run(items)``; out of memory on more than one item splits them in two halves, each run the same way."""
    try:
        return run(items)
    except (RuntimeError, MemoryError) as exc:
        if len(items) < 2 or not (isinstance(exc, MemoryError) or out_of_memory(exc)):
            raise
    half = len(items) // 2
    on_split(len(items))
    log.warning("out of memory on a batch of %d: retrying as two batches of %d and %d", len(items), half, len(items) - half)
    _free_cache()
    return halving(run, items[:half], on_split) + halving(run, items[half:], on_split)


def _free_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
