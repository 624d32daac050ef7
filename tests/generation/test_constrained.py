"""Constrained decoding: the token mask keeps any sequence of choices inside the JSON Schema."""

import json

import pytest

pytest.importorskip("llguidance", reason="needs the constrained extra: pip install 'ragtune[constrained]'")

from ragtune.errors import InputError  # noqa: E402
from ragtune.generation.constrained import SchemaLogitsProcessor  # noqa: E402
from ragtune.generation.structured import validate  # noqa: E402

SCHEMA = {"type": "object", "properties": {"category": {"type": "string", "enum": ["backup", "billing", "access"]},
                                           "priority": {"type": "string", "enum": ["high", "low"]}},
          "required": ["category", "priority"], "additionalProperties": False}


@pytest.fixture(scope="module")
def tokenizer():
    from ragtune.tuning.base_models import load_tokenizer

    return load_tokenizer("local")[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_whatever_the_scores_the_reply_fits_the_schema(tokenizer, seed):
    import torch

    torch.manual_seed(seed)
    n_vocab = len(tokenizer)
    prompt = torch.tensor([[1, 2, 3]])
    processor = SchemaLogitsProcessor(tokenizer, [SCHEMA], n_vocab, prompt.shape[1])
    ids = prompt
    for _ in range(60):  # random scores stand in for a model: only the mask keeps the reply valid
        scores = processor(ids, torch.randn(1, n_vocab))
        token = int(scores.argmax())
        if token == tokenizer.eos_token_id:
            break
        ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    else:
        pytest.fail("the mask never allowed the end of the reply")
    text = tokenizer.decode(ids[0, prompt.shape[1]:])
    value = json.loads(text)
    assert validate(value, SCHEMA) == [] and set(value) == {"category", "priority"}


def test_a_schema_llguidance_cannot_compile_is_named(tokenizer):
    with pytest.raises(InputError, match="cannot be used for constrained decoding"):
        SchemaLogitsProcessor(tokenizer, [{"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}}], len(tokenizer), 1)


def test_schemas_with_keywords_llguidance_does_not_enforce_fall_back_to_repair():
    from ragtune.generation.constrained import compiles

    assert compiles(SCHEMA)
    names = {"type": "object", "propertyNames": {"enum": ["a", "b"]}, "additionalProperties": {"type": "string"}}
    assert not compiles(names)  # propertyNames is not enforced while decoding: validate and repair instead
