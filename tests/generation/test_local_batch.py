"""Batched greedy decoding of the local transformers model: the same answers as one prompt at a time, each row ending
on its own, long prompts skipped, out of memory halving the batch, JSON Schema masks per row."""

import json
import threading

import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import InputError
from ragtune.generation.base import GenerateOptions, Generation, Prompt
from ragtune.generation.local import LOCAL_STOP, LocalGenerator, cut_at_stops

pytestmark = pytest.mark.slow

QUESTIONS = ["What is the capital of France?", "What is 2+2?", "Name a primary color.",
             "Translate 'hello' to Spanish.", "Who wrote Hamlet? Answer in one short sentence."]


def prompt(text: str) -> Prompt:
    return Prompt(messages=[{"role": "user", "content": text}], question=text)


def one_at_a_time(gen: LocalGenerator, question: str, max_new_tokens: int, stop=LOCAL_STOP) -> tuple[str, int]:
    """A plain transformers generate call on one unpadded prompt: the reference the batches must match."""
    import torch

    ids = gen._encode(prompt(question))
    stops = {"stop_strings": stop, "tokenizer": gen.tokenizer} if stop else {}
    with torch.inference_mode():
        out = gen._model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones((1, len(ids)), dtype=torch.long),
                                  max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None,
                                  pad_token_id=gen._pad_id, **stops)
    new = out[0, len(ids):].tolist()
    return cut_at_stops(gen.tokenizer.decode(new, skip_special_tokens=True), stop), sum(1 for t in new if t != gen._pad_id)


@pytest.fixture(scope="module")
def references(smollm) -> dict[str, tuple[str, int]]:
    return {q: one_at_a_time(smollm, q, 24) for q in QUESTIONS}


def test_batched_answers_equal_one_at_a_time_answers(smollm, references):
    results = smollm.generate_batch([prompt(q) for q in QUESTIONS], GenerateOptions(max_new_tokens=24))
    assert [r.text for r in results] == [references[q][0] for q in QUESTIONS]


def test_each_row_counts_its_own_output_tokens(smollm, references):
    results = smollm.generate_batch([prompt(q) for q in QUESTIONS], GenerateOptions(max_new_tokens=24))
    assert [r.usage.output_tokens for r in results] == [references[q][1] for q in QUESTIONS]


def test_rows_stop_on_their_own(smollm):
    results = smollm.generate_batch([prompt("What is 2+2?"), prompt("Write a long story about a dragon.")],
                                    GenerateOptions(max_new_tokens=40))
    assert results[0].finish_reason == "stop" and results[0].usage.output_tokens < 40
    assert results[1].finish_reason == "length"


def test_a_stop_string_that_never_appears_ends_at_the_cap(smollm):
    result = smollm.generate_batch([prompt("Write a long story about a dragon.")],
                                   GenerateOptions(max_new_tokens=12, stop=["@@never@@"]))[0]
    assert (result.finish_reason, result.usage.output_tokens) == ("length", 12)


def test_a_prompt_too_long_for_the_window_is_skipped_and_the_rest_answered(references):
    gen = LocalGenerator(None, config=GenerationConfig(threads=1, context_window=256))
    long_question = "Explain this: " + "the cat sat on the mat " * 80
    results = gen.generate_batch([prompt(QUESTIONS[0]), prompt(long_question), prompt(QUESTIONS[1])],
                                 GenerateOptions(max_new_tokens=24))
    assert isinstance(results[1], InputError) and "does not fit the 256-token window" in str(results[1])
    assert [results[0].text, results[2].text] == [references[QUESTIONS[0]][0], references[QUESTIONS[1]][0]]


def test_out_of_memory_halves_the_batch_and_the_answers_stay_the_same(smollm, references, monkeypatch):
    import torch

    real = smollm._model.forward

    def limited(*args, **kwargs):
        if kwargs["input_ids"].shape[0] > 2:
            raise torch.OutOfMemoryError("out of memory: tried to allocate a lot")
        return real(*args, **kwargs)

    monkeypatch.setattr(smollm._model, "forward", limited)
    smollm.oom_splits.clear()
    results = smollm.generate_batch([prompt(q) for q in QUESTIONS], GenerateOptions(max_new_tokens=24))
    assert [r.text for r in results] == [references[q][0] for q in QUESTIONS]
    assert smollm.oom_splits == [5, 3]


def test_concurrent_generate_calls_are_answered_in_batches(smollm, references):
    answers: dict[str, str] = {}
    barrier = threading.Barrier(len(QUESTIONS))
    queue = smollm.batch_queue
    before = queue.batches

    def ask(q: str) -> None:
        with queue.member():
            barrier.wait()
            answers[q] = smollm.generate(prompt(q), GenerateOptions(max_new_tokens=24)).text

    threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert answers == {q: references[q][0] for q in QUESTIONS}
    assert queue.batches - before == 1


SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                           "country": {"type": "string", "maxLength": 20}},
          "required": ["city", "country"], "additionalProperties": False}
COLOR = {"type": "object", "properties": {"color": {"type": "string", "enum": ["red", "green", "blue"]}},
         "required": ["color"], "additionalProperties": False}


def test_each_row_of_a_constrained_batch_fits_its_own_schema(smollm):
    from ragtune.generation.structured import validate

    pytest.importorskip("llguidance")
    asks = [("Give the capital of France as JSON.", SCHEMA), ("Name a primary color as JSON.", COLOR),
            ("Give the capital of Japan as JSON.", SCHEMA)]
    results = smollm.generate_batch([prompt(q) for q, _ in asks],
                                    [GenerateOptions(max_new_tokens=40, json_schema=s) for _, s in asks])
    assert [validate(json.loads(r.text), s) for r, (_, s) in zip(results, asks)] == [[], [], []]


def test_a_tokenizer_without_a_padding_token_still_batches(tmp_path):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ragtune.generation.hf_models import resolve_causal_lm

    tokenizer = AutoTokenizer.from_pretrained(resolve_causal_lm(None))
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path).pad_token_id is None
    tiny = LocalGenerator(str(tmp_path), config=GenerationConfig(threads=1)).load()
    options = GenerateOptions(max_new_tokens=6, stop=[])
    batched = tiny.generate_batch([prompt(q) for q in QUESTIONS[:3]], options)
    assert all(isinstance(r, Generation) for r in batched)
    assert [r.text for r in batched] == [one_at_a_time(tiny, q, 6, [])[0] for q in QUESTIONS[:3]]
