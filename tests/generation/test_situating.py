"""Situating summaries written in batches: one generator call for many chunks, the same greedy sentences as one at a
time, progress as they are written, and what they cost."""

from __future__ import annotations

import pytest

from ragtune.generation.base import Generation, Usage
from ragtune.generation.fake import FakeGenerator
from ragtune.generation.situating import OPTIONS, SituatingWriter, first_sentence, situating_prompt

PAIRS = [("Apple Inc. Form 10-Q for the quarter ended July 1, 2023.", "Total net sales were 81,797 million."),
         ("Apple Inc. Form 10-Q for the quarter ended July 1, 2023.", "Research and development expense rose."),
         ("Apple Inc. Form 10-Q for the quarter ended July 1, 2023.", "The Company repurchased shares.")]


class BatchSpy(FakeGenerator):
    """A fake generator that answers batches, counting its calls."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.batches: list[int] = []

    def generate_batch(self, prompts, options=None):
        self.batches.append(len(prompts))
        return [Generation(f"Sentence {i}. More.", Usage(10, 3)) for i in range(len(prompts))]


def test_a_batching_generator_writes_many_sentences_in_one_call():
    spy = BatchSpy("unused")
    writer = SituatingWriter(spy)
    assert writer(PAIRS) == ["Sentence 0.", "Sentence 1.", "Sentence 2."]
    assert spy.batches == [3]


def test_the_cost_counts_calls_sentences_and_tokens():
    writer = SituatingWriter(BatchSpy("unused"))
    writer(PAIRS)
    cost = writer.cost()
    assert (cost["calls"], cost["sentences"], cost["input_tokens"], cost["output_tokens"]) == (1, 3, 30, 9)


def test_a_generator_without_batches_is_called_once_per_chunk():
    writer = SituatingWriter(FakeGenerator("Sales of Apple in Q3 2023."))
    assert writer(PAIRS) == ["Sales of Apple in Q3 2023."] * 3
    assert writer.cost()["calls"] == 3


def test_long_runs_report_progress_per_group(monkeypatch):
    seen = []
    monkeypatch.setattr(SituatingWriter, "GROUP", 2)
    SituatingWriter(BatchSpy("unused"), lambda stage, done, total: seen.append((stage, done, total)))(PAIRS)
    assert seen == [("summarise", 2, 3), ("summarise", 3, 3)]


def test_a_prompt_the_model_cannot_take_gets_no_sentence():
    from ragtune.errors import InputError

    class Skipping(BatchSpy):
        def generate_batch(self, prompts, options=None):
            return [InputError("too long"), *super().generate_batch(prompts[1:], options)]

    assert SituatingWriter(Skipping("unused"))(PAIRS) == ["", "Sentence 0.", "Sentence 1."]


@pytest.mark.slow
def test_batched_sentences_are_the_greedy_sentences_of_one_at_a_time(smollm):
    alone = [first_sentence(smollm.generate_batch([situating_prompt(d, c)], OPTIONS)[0].text) for d, c in PAIRS]
    assert SituatingWriter(smollm)(PAIRS) == alone
