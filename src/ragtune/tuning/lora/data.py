"""The data side of a LoRA run: examples read, checked, held out and encoded into token ids and labels."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ragtune.errors import InputError
from ragtune.tuning.chat import IGNORE_INDEX, encode_example, truncate_example
from ragtune.tuning.data.examples import Example, read_examples
from ragtune.tuning.lora.config import LoraConfig


@dataclass
class EncodedData:
    """Token ids and labels ready for the trainer, with what was dropped or cut."""

    train: list[dict[str, list[int]]]
    eval: list[dict[str, list[int]]]
    dropped_lines: list[int]
    truncated: int
    format: str | None
    total_rows: int


def encode_rows(examples: list[Example], tokenizer: Any, max_length: int, truncate: bool) -> tuple[list[dict], list[int], int]:
    """Encode examples; rows over ``max_length`` are cut (``truncate``) or dropped (their lines returned)."""
    rows, dropped, truncated = [], [], 0
    for e in examples:
        ids, labels = encode_example(tokenizer, e.messages)
        if len(ids) > max_length:
            if not truncate:
                dropped.append(e.line)
                continue
            ids, labels = truncate_example(ids, labels, max_length)
            truncated += 1
            if all(lab == IGNORE_INDEX for lab in labels):
                dropped.append(e.line)
                continue
        rows.append({"input_ids": ids, "labels": labels})
    return rows, dropped, truncated


def prepare_data(config: LoraConfig, tokenizer: Any) -> EncodedData:
    """Read, check and encode the training (and held-out) examples; bad rows stop the run with their lines."""
    train_set = read_examples(config.data, system=config.system, mixed_outputs=config.mixed_outputs)
    train_set.raise_for_issues()
    train_examples = train_set.valid
    eval_examples: list[Example] = []
    if config.eval_data is not None:
        eval_set = read_examples(config.eval_data, system=config.system)
        eval_set.raise_for_issues()
        eval_examples = eval_set.valid
    elif config.eval_fraction > 0 and len(train_examples) >= 10:
        order = list(range(len(train_examples)))
        random.Random(config.seed).shuffle(order)
        n_eval = min(config.max_eval_rows, max(1, round(config.eval_fraction * len(train_examples))))
        held = set(order[:n_eval])
        eval_examples = [e for i, e in enumerate(train_examples) if i in held]
        train_examples = [e for i, e in enumerate(train_examples) if i not in held]
    eval_examples = eval_examples[: config.max_eval_rows]
    train, dropped, truncated = encode_rows(train_examples, tokenizer, config.max_length, config.truncate)
    evals, eval_dropped, _ = encode_rows(eval_examples, tokenizer, config.max_length, config.truncate)
    if not train:
        raise InputError(f"{config.data}: no example fits in --max-length {config.max_length} tokens "
                         f"({len(dropped)} dropped); raise --max-length or pass --truncate")
    return EncodedData(train, evals, dropped + eval_dropped, truncated, train_set.format.value if train_set.format else None,
                       len(train_set.valid))
