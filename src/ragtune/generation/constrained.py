"""Constrained decoding to a JSON Schema for transformers models, with llguidance (the ``constrained`` extra).

At every step a token mask from llguidance's matcher leaves only the tokens that keep the reply a prefix of a
JSON value fitting the schema; the end-of-sequence token is allowed once the value is complete. The reply then
parses and fits by construction, so validate-and-repair has nothing left to repair (it still runs: a reply
cut off by ``max_new_tokens`` can be incomplete).

llguidance was chosen over xgrammar and outlines because it needs nothing else: xgrammar pulls triton and a
torch build of its own, outlines a stack of dependencies; all three compile JSON Schemas the same way.
``bench/constrained_snips.py`` measures it against validate-and-repair (schema-valid share and latency).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np

from ragtune.errors import InputError


def available() -> bool:
    """Whether llguidance can be imported here."""
    try:
        import llguidance  # noqa: F401
    except ImportError:
        return False
    return True


def _grammar(schema: dict[str, Any]) -> str:
    import llguidance

    return llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema, sort_keys=True),
                                                         defaults={"whitespace_flexible": False})


@lru_cache(maxsize=64)
def _compiles(schema_json: str) -> bool:
    import llguidance

    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(_grammar(json.loads(schema_json)))
    # a keyword llguidance does not implement would be ignored while decoding: the reply could still not fit
    return not is_error and not any("Unimplemented" in m for m in messages)


def compiles(schema: dict[str, Any]) -> bool:
    """Whether llguidance is here and enforces every keyword of ``schema`` (else: validate and repair instead)."""
    return available() and _compiles(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=8)
def _ll_tokenizer(tokenizer: Any, n_vocab: int) -> Any:
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer, n_vocab=n_vocab)


class SchemaLogitsProcessor:
    """A transformers logits processor that masks every token the JSON Schema does not allow next (batch of one)."""

    def __init__(self, tokenizer: Any, schema: dict[str, Any], n_vocab: int, prompt_length: int) -> None:
        import llguidance

        self.matcher = llguidance.LLMatcher(_ll_tokenizer(tokenizer, n_vocab), _grammar(schema), log_level=0)
        if self.matcher.is_error():
            raise InputError(f"the JSON Schema cannot be used for constrained decoding: {self.matcher.get_error()}")
        self.prompt_length = prompt_length
        self.n_vocab = n_vocab
        self.eos = tokenizer.eos_token_id

    def __call__(self, input_ids, scores):
        import torch

        generated = input_ids.shape[1] - self.prompt_length
        if generated > 0:
            self.matcher.consume_token(int(input_ids[0, -1]))
        if self.matcher.is_error() or self.matcher.is_stopped():
            allowed = np.zeros(scores.shape[-1], dtype=bool)
            if self.eos is not None:
                allowed[self.eos] = True
        else:
            words = np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint32)
            bits = np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool)
            allowed = np.zeros(scores.shape[-1], dtype=bool)
            n = min(len(bits), scores.shape[-1])
            allowed[:n] = bits[:n]
        mask = torch.from_numpy(~allowed).to(scores.device)
        return scores.masked_fill(mask.unsqueeze(0), float("-inf"))
