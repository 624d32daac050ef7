"""Chat templates for causal LMs: prompts for generation and (input_ids, labels) for completion-only training.

The base model's own chat template is used. A model without one (a base, non-instruct checkpoint) gets a
plain fallback template, which is saved with the adapter so that generation later formats prompts the same way.
"""

from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100

FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}### System:\n{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'user' %}### User:\n{{ message['content'] }}\n\n"
    "{% else %}### Assistant:\n{{ message['content'] }}{{ eos_token }}\n\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}### Assistant:\n{% endif %}"
)


def ensure_chat_template(tokenizer: Any) -> bool:
    """Give ``tokenizer`` a chat template and a pad token if it lacks them; True when the fallback template was set."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None):
        return False
    tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    return True


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text for generation: ``messages`` plus the assistant's opening."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode_example(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """Token ids of a whole conversation and labels that keep only the assistant replies (the rest is ``-100``).

    Each assistant turn is found by rendering the conversation up to it with and without the reply; when a
    template does not render prefixes consistently, only the final reply is supervised.
    """
    segments: list[tuple[str, bool]] = []  # (text, supervised)
    rendered = ""
    consistent = True
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render_prompt(tokenizer, messages[:i])
        after = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if not before.startswith(rendered) or not after.startswith(before):
            consistent = False
            break
        segments.append((before[len(rendered):], False))
        segments.append((after[len(before):], True))
        rendered = after
    if not consistent or not segments:
        before = render_prompt(tokenizer, messages[:-1])
        after = tokenizer.apply_chat_template(messages, tokenize=False)
        reply = after[len(before):] if after.startswith(before) else messages[-1]["content"] + (tokenizer.eos_token or "")
        segments, rendered = [(before, False), (reply, True)], before + reply
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if full.startswith(rendered) and len(full) > len(rendered):
        segments.append((full[len(rendered):], False))  # template text after the last reply
    input_ids: list[int] = []
    labels: list[int] = []
    for text, supervised in segments:
        if not text:
            continue
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        input_ids.extend(ids)
        labels.extend(ids if supervised else [IGNORE_INDEX] * len(ids))
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is not None and getattr(tokenizer, "add_bos_token", False) and (not input_ids or input_ids[0] != bos):
        input_ids.insert(0, bos)
        labels.insert(0, IGNORE_INDEX)
    return input_ids, labels


def truncate_example(input_ids: list[int], labels: list[int], max_length: int) -> tuple[list[int], list[int]]:
    """Cut an encoded example to ``max_length`` tokens, dropping prompt tokens from the left first so the reply survives."""
    excess = len(input_ids) - max_length
    if excess <= 0:
        return input_ids, labels
    first_label = next((i for i, lab in enumerate(labels) if lab != IGNORE_INDEX), len(labels))
    cut = min(excess, first_label)
    input_ids, labels = input_ids[cut:], labels[cut:]
    return input_ids[:max_length], labels[:max_length]
