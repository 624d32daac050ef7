"""A greedy decode loop for a batch of prompts on a transformers causal LM, cheaper on a CPU than ``model.generate``:

- **shared prefix**: the tokens every row begins with (the chat template's system turn, instructions, a few-shot
  block) are encoded once; their keys and values seed each row's cache (a prefix KV cache);
- **no padding while encoding prompts**: the rows' own remainders are packed into one pass (each attending only to
  the prefix and itself; encoding costs per token, so padding would be pure waste), then the rows' caches are
  left-padded into one batch cache;
- **finished rows leave**: a row that ends (an end-of-sequence token, a stop string, the answer cap) is dropped from
  the input, the attention mask and the cache at once, so each later step costs what the rows still writing cost.

Each row gets the tokens ``model.generate`` would give it greedily on its own: the same end-of-sequence ids, stop
string criterion (transformers' ``StopStringCriteria``) and an optional logits processor (a JSON Schema mask, which
is told which rows remain). ``plain_greedy`` says whether a model's own generation settings let this loop stand in
for ``generate`` (no repetition penalty or other logits rules, full attention on every layer).
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

SHARED_PREFIX_MIN = 8
"""Fewest shared prompt tokens worth encoding once for the batch."""
PACK_TOKENS = 1024
"""Most prompt tokens encoded in one pass (the attention scores of a pass grow with its square)."""

_LOGITS_RULES = ("repetition_penalty", "encoder_repetition_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size",
                 "bad_words_ids", "min_length", "min_new_tokens", "suppress_tokens", "begin_suppress_tokens",
                 "forced_bos_token_id", "forced_eos_token_id", "sequence_bias", "exponential_decay_length_penalty",
                 "renormalize_logits", "guidance_scale", "watermarking_config", "num_beams", "penalty_alpha",
                 "max_time", "stop_strings")


def plain_greedy(model: Any) -> bool:
    """Whether greedy ``model.generate`` is only argmax plus stopping rules here (else keep using ``generate``)."""
    from transformers import DynamicCache, GenerationConfig
    from transformers.cache_utils import DynamicLayer

    own, default = model.generation_config, GenerationConfig()
    if any(getattr(own, name, None) != getattr(default, name, None) for name in _LOGITS_RULES):
        return False
    return all(type(layer) is DynamicLayer for layer in DynamicCache(config=model.config).layers)


def shared_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Tokens all ``rows`` begin with, leaving each at least one token of its own (0 when fewer than ``SHARED_PREFIX_MIN``)."""
    if len(rows) < 2:
        return 0
    first, n = rows[0], min(len(r) for r in rows) - 1
    for row in rows[1:]:
        n = next((k for k in range(n) if row[k] != first[k]), n)
    return n if n >= SHARED_PREFIX_MIN else 0


def _cache_keyword(model: Any) -> str:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


class _Batch:
    """The rows still writing: their cache, attention mask, next position ids, token history and original indices."""

    def __init__(self, cache: Any, mask: Any, positions: Any, history: Any, rows: list[int]) -> None:
        self.cache, self.mask, self.positions, self.history, self.rows = cache, mask, positions, history, rows

    def keep(self, kept: list[int]) -> None:
        import torch

        index = torch.tensor(kept, dtype=torch.long, device=self.mask.device)
        self.cache.batch_select_indices(index)
        self.mask, self.positions, self.history = self.mask[index], self.positions[index], self.history[index]
        self.rows = [self.rows[k] for k in kept]


def _packs(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive rows grouped so that each group's lengths sum to at most ``budget`` (a longer row goes alone)."""
    packs: list[list[int]] = []
    total = 0
    for i, n in enumerate(lengths):
        if not packs or total + n > budget:
            packs.append([])
            total = 0
        packs[-1].append(i)
        total += n
    return packs


def _encode_pack(model: Any, prefix: Any, suffixes: list[Sequence[int]], shared: int, device: str) -> tuple[list[Any], Any]:
    """Several rows' own tokens in one sequence after the cached prefix, each attending to the prefix and itself only:
    per layer the keys and values of the pack (``[1, heads, shared + tokens, dim]``), and each row's last logits."""
    import torch
    from transformers import DynamicCache

    ids = [t for s in suffixes for t in s]
    segment = torch.tensor([i for i, s in enumerate(suffixes) for _ in s], device=device)
    positions = torch.tensor([shared + k for s in suffixes for k in range(len(s))], device=device)
    mine = (segment[:, None] == segment[None, :]) & (positions[:, None] >= positions[None, :])
    mask = torch.cat([mine.new_ones((len(ids), shared)), mine], dim=1)[None, None] if len(suffixes) > 1 else None
    ends = torch.tensor([len(s) for s in suffixes], device=device).cumsum(0) - 1
    cache = DynamicCache(config=model.config) if prefix is None else \
        DynamicCache(ddp_cache_data=[(k, v) for k, v, *_ in prefix], config=model.config)
    out = model(input_ids=torch.tensor([ids], device=device), position_ids=positions[None], attention_mask=mask,
                use_cache=True, logits_to_keep=ends, **{_cache_keyword(model): cache})
    return [(k, v) for k, v, *_ in cache], out.logits[0]


def _prefill(model: Any, rows: Sequence[Sequence[int]], pad_id: int, device: str) -> tuple[_Batch, Any]:
    """Encode the shared prefix once and the rows' own tokens packed together (no padding); the left-padded batch
    cache and each row's last logits."""
    import torch
    from transformers import DynamicCache

    shared = shared_prefix_length(rows)
    prefix = None
    if shared:
        prefix = DynamicCache(config=model.config)
        model(input_ids=torch.tensor([list(rows[0][:shared])], device=device), use_cache=True, logits_to_keep=1,
              **{_cache_keyword(model): prefix})
    width = max(len(r) for r in rows)
    layers: list[tuple[Any, Any]] = []
    logits = []
    for pack in _packs([len(r) - shared for r in rows], PACK_TOKENS):
        kv, last = _encode_pack(model, prefix, [rows[i][shared:] for i in pack], shared, device)
        logits.append(last)
        if not layers:
            layers = [(k.new_zeros((len(rows), k.shape[1], width, k.shape[3])),
                       v.new_zeros((len(rows), v.shape[1], width, v.shape[3]))) for k, v in kv]
        for (keys, values), (k, v) in zip(layers, kv):
            start = shared
            for i in pack:
                left, own = width - len(rows[i]), len(rows[i]) - shared
                for whole, part in ((keys, k), (values, v)):
                    whole[i, :, left:left + shared] = part[0, :, :shared]
                    whole[i, :, left + shared:width] = part[0, :, start:start + own]
                start += own
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    history = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        mask[i, width - len(row):] = 1
        history[i, width - len(row):] = torch.tensor(list(row), dtype=torch.long)
    positions = torch.tensor([len(r) for r in rows], dtype=torch.long, device=device)
    batch = _Batch(DynamicCache(ddp_cache_data=layers, config=model.config), mask, positions, history, list(range(len(rows))))
    return batch, torch.cat(logits)


def decode_greedy(model: Any, rows: Sequence[Sequence[int]], max_new_tokens: int, *, eos_ids: Sequence[int], pad_id: int,
                  device: str = "cpu", stop: Any = None, processor: Any = None) -> list[list[int]]:
    """Each row's new token ids, greedy, ending on one of ``eos_ids`` (kept), ``stop`` (a transformers stopping criterion)
    or ``max_new_tokens``. ``processor(history, scores)`` may mask each step's logits; when rows leave it is told
    ``processor.keep(kept_positions)``."""
    import torch

    keyword = _cache_keyword(model)
    ends = set(eos_ids)
    new: list[list[int]] = [[] for _ in rows]
    with torch.inference_mode():
        batch, scores = _prefill(model, rows, pad_id, device)
        while True:
            if processor is not None:
                scores = processor(batch.history, scores)
            tokens = scores.argmax(-1)
            batch.history = torch.cat([batch.history, tokens[:, None]], dim=1)
            done = [t in ends for t in tokens.tolist()]
            if stop is not None:
                done = [d or bool(s) for d, s in zip(done, stop(batch.history, scores).tolist())]
            for position, (row, token) in enumerate(zip(batch.rows, tokens.tolist())):
                new[row].append(token)
                done[position] = done[position] or len(new[row]) >= max_new_tokens
            kept = [k for k, d in enumerate(done) if not d]
            if not kept:
                return new
            if len(kept) < len(done):
                batch.keep(kept)
                tokens = tokens[kept]
                if processor is not None:
                    processor.keep(kept)
            batch.mask = torch.cat([batch.mask, batch.mask.new_ones((len(kept), 1))], dim=1)
            out = model(input_ids=tokens[:, None], attention_mask=batch.mask, position_ids=batch.positions[:, None],
                        use_cache=True, logits_to_keep=1, **{keyword: batch.cache})
            batch.positions = batch.positions + 1
            scores = out.logits[:, -1]
