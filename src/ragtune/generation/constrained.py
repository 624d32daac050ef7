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
    """A transformers logits processor for a batch: row ``i`` is masked to what ``schemas[i]`` allows next (None: free).

    Each constrained row has its own llguidance matcher; the masks are written into one reused int32 bitmask
    (``llguidance.torch``) and applied in place. A row whose value is complete (or whose matcher failed) may only end.
    """

    def __init__(self, tokenizer: Any, schemas: list[dict[str, Any] | None], n_vocab: int, prompt_length: int) -> None:
        import llguidance
        import llguidance.torch as lltorch

        ll_tokenizer: Any = _ll_tokenizer(tokenizer, n_vocab) if any(s is not None for s in schemas) else None
        self.matchers: list[Any] = []
        for schema in schemas:
            matcher = None if schema is None else llguidance.LLMatcher(ll_tokenizer, _grammar(schema), log_level=0)
            if matcher is not None and matcher.is_error():
                raise InputError(f"the JSON Schema cannot be used for constrained decoding: {matcher.get_error()}")
            self.matchers.append(matcher)
        self.prompt_length = prompt_length
        self.n_vocab = n_vocab
        self.eos = tokenizer.eos_token_id
        self.bitmask = lltorch.allocate_token_bitmask(len(schemas), n_vocab)
        self._only_eos = lltorch.allocate_token_bitmask(1, n_vocab)[0].zero_()
        if self.eos is not None:
            self._only_eos[self.eos // 32] = 1 << (self.eos % 32) if self.eos % 32 < 31 else -(1 << 31)

    def __call__(self, input_ids, scores):
        import llguidance.torch as lltorch

        generated = input_ids.shape[1] - self.prompt_length
        for row, matcher in enumerate(self.matchers):
            if matcher is None:
                self.bitmask[row].fill_(-1)
                continue
            if generated > 0 and not (matcher.is_error() or matcher.is_stopped()):
                matcher.consume_token(int(input_ids[row, -1]))
            if matcher.is_error() or matcher.is_stopped():
                self.bitmask[row].copy_(self._only_eos)
            else:
                lltorch.fill_next_token_bitmask(matcher, self.bitmask, row)
        scores = scores.clone()
        lltorch.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores

    def keep(self, rows: list[int]) -> None:
        """Only ``rows`` (positions in the batch so far, in order) go on: the others have ended."""
        self.matchers = [self.matchers[r] for r in rows]
        self.bitmask = self.bitmask[:len(rows)]
