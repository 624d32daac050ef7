"""The greedy decode loop: each row gets the tokens ``model.generate`` gives it alone, with the shared prompt prefix
encoded once and finished rows leaving the batch; on a tiny random Llama with the local model's tokenizer."""

import pytest

from ragtune.generation.greedy_decode import decode_greedy, plain_greedy, shared_prefix_length

SYSTEM = "You answer questions about the deployment guide in one short sentence, citing the section you used."
QUESTIONS = ["How do I enable the plugin?", "Where are logs kept?", "What port does the hub listen on by default?",
             "Who can approve a template?"]
CAP = 10


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer Llama with random weights (seeded, wide enough that each prompt gets its own reply) and the local
    model's tokenizer; no end-of-sequence token unless given."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ragtune.generation.hf_models import resolve_causal_lm

    tokenizer = AutoTokenizer.from_pretrained(resolve_causal_lm(None))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         initializer_range=0.2, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = None
    return model, tokenizer


def encode(tokenizer, question: str) -> list[int]:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"])


def alone(model, row: list[int], **settings) -> list[int]:
    """``model.generate`` on one unpadded prompt, greedy: the reference every row must match."""
    import torch

    with torch.inference_mode():
        out = model.generate(input_ids=torch.tensor([row]), attention_mask=torch.ones((1, len(row)), dtype=torch.long),
                             max_new_tokens=CAP, do_sample=False, temperature=None, top_p=None, top_k=None,
                             pad_token_id=0, **settings)
    return out[0, len(row):].tolist()


@pytest.fixture(scope="module")
def rows(tiny):
    return [encode(tiny[1], q) for q in QUESTIONS]


@pytest.fixture(scope="module")
def early_end(tiny, rows) -> int:
    """A token the first row writes third when nothing stops it: as end-of-sequence it ends that row early."""
    return alone(tiny[0], rows[0])[2]


def test_rows_equal_generate_alone(tiny, rows):
    model, _ = tiny
    assert decode_greedy(model, rows, CAP, eos_ids=[], pad_id=0) == [alone(model, r) for r in rows]


def test_rows_with_their_own_end_equal_generate_alone(tiny, rows, early_end):
    model, _ = tiny
    got = decode_greedy(model, rows, CAP, eos_ids=[early_end], pad_id=0)
    assert got == [alone(model, r, eos_token_id=early_end) for r in rows]


def test_a_row_ending_early_leaves_the_batch(tiny, rows, early_end):
    model, _ = tiny
    widths: list[int] = []
    hook = model.register_forward_pre_hook(lambda _, args, kwargs: widths.append(kwargs["input_ids"].shape[0]),
                                           with_kwargs=True)
    try:
        decode_greedy(model, rows, CAP, eos_ids=[early_end], pad_id=0)
    finally:
        hook.remove()
    assert widths[-1] < len(rows)


def test_the_shared_prefix_is_encoded_once(tiny, rows):
    model, _ = tiny
    encoded: list[int] = []
    hook = model.register_forward_pre_hook(lambda _, args, kwargs: encoded.append(kwargs["input_ids"].shape[1]),
                                           with_kwargs=True)
    try:
        decode_greedy(model, rows, 1, eos_ids=[], pad_id=0)
    finally:
        hook.remove()
    shared = shared_prefix_length(rows)
    assert sum(encoded) == shared + sum(len(r) - shared for r in rows)


def test_the_system_turn_is_the_shared_prefix(tiny, rows):
    assert shared_prefix_length(rows) >= len(tiny[1](SYSTEM, add_special_tokens=False)["input_ids"])


def test_a_single_row_shares_no_prefix(rows):
    assert shared_prefix_length(rows[:1]) == 0


def test_stop_strings_end_rows_as_generate_ends_them(tiny, rows):
    from transformers import StopStringCriteria

    model, tokenizer = tiny
    stop = [tokenizer.decode(alone(model, rows[1])[3:5])]
    got = decode_greedy(model, rows, CAP, eos_ids=[], pad_id=0, stop=StopStringCriteria(tokenizer, stop))
    assert got == [alone(model, r, stop_strings=stop, tokenizer=tokenizer) for r in rows]


def test_schema_masks_per_row_equal_generate_alone(tiny, rows):
    pytest.importorskip("llguidance")
    from transformers import LogitsProcessorList

    from ragtune.generation.constrained import SchemaLogitsProcessor

    model, tokenizer = tiny
    color = {"type": "object", "properties": {"color": {"enum": ["red", "green"]}}, "required": ["color"],
             "additionalProperties": False}
    schemas = [color, None, color, None]  # the constrained rows end first: the mask must follow the rows that remain
    n_vocab = int(model.get_output_embeddings().weight.shape[0])
    width = max(len(r) for r in rows)
    got = decode_greedy(model, rows, CAP, eos_ids=[tokenizer.eos_token_id], pad_id=0,
                        processor=SchemaLogitsProcessor(tokenizer, schemas, n_vocab, width))
    expected = [alone(model, r, eos_token_id=tokenizer.eos_token_id, logits_processor=LogitsProcessorList(
        [SchemaLogitsProcessor(tokenizer, [s], n_vocab, len(r))])) for r, s in zip(rows, schemas)]
    assert got == expected


def test_a_repetition_penalty_keeps_generate(tiny):
    model, _ = tiny
    before, model.generation_config.repetition_penalty = model.generation_config.repetition_penalty, 1.3
    try:
        assert not plain_greedy(model)
    finally:
        model.generation_config.repetition_penalty = before


def test_plain_settings_use_the_loop(tiny):
    assert plain_greedy(tiny[0])
