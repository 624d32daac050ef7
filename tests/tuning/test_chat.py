import pytest

from ragtune.tuning.base_models import load_tokenizer
from ragtune.tuning.chat import FALLBACK_CHAT_TEMPLATE, IGNORE_INDEX, encode_example, ensure_chat_template, truncate_example


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("local")[0]


def _supervised(tokenizer, ids, labels):
    return tokenizer.decode([i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX])


def test_loss_is_on_the_completion_only(tokenizer):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "capital of France?"},
                {"role": "assistant", "content": "Paris"}]
    ids, labels = encode_example(tokenizer, messages)
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template(messages, tokenize=False)
    assert _supervised(tokenizer, ids, labels).strip() == "Paris<|im_end|>"


def test_every_assistant_turn_is_supervised_in_a_conversation(tokenizer):
    messages = [{"role": "user", "content": "one"}, {"role": "assistant", "content": "first"},
                {"role": "user", "content": "two"}, {"role": "assistant", "content": "second"}]
    ids, labels = encode_example(tokenizer, messages)
    supervised = _supervised(tokenizer, ids, labels)
    assert "first" in supervised and "second" in supervised and "one" not in supervised and "two" not in supervised


def test_a_model_without_a_template_gets_the_fallback(tokenizer):
    class Bare:
        pad_token, eos_token, chat_template = None, "</s>", None

    bare = Bare()
    assert ensure_chat_template(bare) and bare.chat_template == FALLBACK_CHAT_TEMPLATE and bare.pad_token == "</s>"
    assert not ensure_chat_template(tokenizer)


def test_truncation_drops_prompt_tokens_first():
    ids, labels = list(range(10)), [IGNORE_INDEX] * 7 + [7, 8, 9]
    cut_ids, cut_labels = truncate_example(ids, labels, 5)
    assert cut_ids == [5, 6, 7, 8, 9] and cut_labels[-3:] == [7, 8, 9]
    assert truncate_example(ids, labels, 20) == (ids, labels)
