"""Gathering concurrent generate calls into batches (BatchQueue) and the one-at-a-time fallback of generate_batch."""

import threading

import pytest

from ragtune.errors import ConfigError, InputError, MissingKeyError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, Prompt
from ragtune.generation.batching import BatchQueue, generate_batch
from ragtune.generation.local_batch import halving, plan_batches


def prompt(text: str) -> Prompt:
    return Prompt(messages=[{"role": "user", "content": text}], question=text)


class Echo:
    """Answers each prompt with its question in capitals; a question with 'long' is too long for its window."""

    spec = "echo"
    context_window = 100

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, prompt, options=None, on_text=None):
        if "long" in prompt.question:
            raise InputError(f"'{prompt.question}' is too long")
        return Generation(text=prompt.question.upper())

    def generate_batch(self, prompts, options):
        self.batches.append([p.question for p in prompts])
        return [InputError("too long") if "long" in p.question else Generation(text=p.question.upper()) for p in prompts]


def test_generate_batch_answers_one_at_a_time_where_a_generator_has_no_batches():
    class Plain(Echo):
        generate_batch = None

    results = generate_batch(Plain(), [prompt("a"), prompt("long one"), prompt("c")])
    assert [r.text if isinstance(r, Generation) else "skipped" for r in results] == ["A", "skipped", "C"]


def test_generate_batch_passes_other_errors_on():
    class Broken(Echo):
        generate_batch = None

        def generate(self, prompt, options=None, on_text=None):
            raise ProviderError("server down")

    with pytest.raises(ProviderError):
        generate_batch(Broken(), [prompt("a")])


def test_generate_batch_raises_an_input_error_that_concerns_every_prompt():
    class Unkeyed(Echo):
        generate_batch = None

        def generate(self, prompt, options=None, on_text=None):
            raise MissingKeyError("set ECHO_KEY")

    with pytest.raises(MissingKeyError):
        generate_batch(Unkeyed(), [prompt("a"), prompt("b")])


def test_only_a_plain_input_error_or_a_subclass_that_says_so_skips_one_prompt():
    class Skipped(InputError):
        skips_one_prompt = True

    assert InputError("too long").skips_one_prompt
    assert not ConfigError("bad setting").skips_one_prompt
    assert Skipped("too long").skips_one_prompt


def test_one_options_per_prompt_must_match_the_prompts():
    class Plain(Echo):
        generate_batch = None

    with pytest.raises(InputError, match="2 sets of options for 1 prompts"):
        generate_batch(Plain(), [prompt("a")], [GenerateOptions(), GenerateOptions()])


def ask_together(queue: BatchQueue, questions: list[str], options=None) -> dict[str, object]:
    """Each question submitted from its own member thread, all members registered before the first submits."""
    barrier = threading.Barrier(len(questions))
    answers: dict[str, object] = {}

    def one(q: str, opts: GenerateOptions) -> None:
        with queue.member():
            barrier.wait()
            try:
                answers[q] = queue.submit(prompt(q), opts).text
            except InputError as exc:
                answers[q] = exc

    threads = [threading.Thread(target=one, args=(q, (options or {}).get(q, GenerateOptions()))) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return answers


def test_members_asking_at_once_are_answered_in_one_batch():
    echo = Echo()
    queue = BatchQueue(echo.generate_batch, max_batch=8)
    answers = ask_together(queue, ["a", "b", "c", "d"])
    assert answers == {"a": "A", "b": "B", "c": "C", "d": "D"}
    assert [sorted(b) for b in echo.batches] == [["a", "b", "c", "d"]]


def test_a_skipped_prompt_is_raised_to_its_own_caller_only():
    echo = Echo()
    answers = ask_together(BatchQueue(echo.generate_batch, max_batch=8), ["a", "long b", "c"])
    assert isinstance(answers["long b"], InputError)
    assert (answers["a"], answers["c"]) == ("A", "C")


def test_different_decoding_settings_never_share_a_batch():
    echo = Echo()
    queue = BatchQueue(echo.generate_batch, max_batch=8)
    ask_together(queue, ["a", "b", "c"], {"c": GenerateOptions(max_new_tokens=5)})
    assert sorted(sorted(b) for b in echo.batches) == [["a", "b"], ["c"]]


def test_a_failing_batch_fails_each_of_its_callers():
    def broken(prompts, options):
        raise ProviderError("model crashed")

    queue = BatchQueue(broken, max_batch=4)
    with pytest.raises(ProviderError, match="model crashed"):
        queue.submit(prompt("a"), GenerateOptions())


def test_a_lone_caller_outside_any_member_block_is_answered():
    echo = Echo()
    assert BatchQueue(echo.generate_batch, max_batch=4, gap_s=0.001).submit(prompt("x"), GenerateOptions()).text == "X"


def test_batches_are_sorted_by_length_and_capped_in_rows_and_tokens():
    lengths = [50, 10, 30, 20, 40]
    assert plan_batches(lengths, batch_size=2, max_new_tokens=10) == [[1, 3], [2, 4], [0]]
    assert plan_batches([100, 100, 100], batch_size=8, max_new_tokens=0, budget=250) == [[0, 1], [2]]


def test_running_out_of_memory_halves_the_batch_and_records_it():
    splits: list[int] = []

    def run(items: list[int]) -> list[int]:
        if len(items) > 2:
            raise MemoryError("out of memory")
        return [i * 10 for i in items]

    assert halving(run, [1, 2, 3, 4, 5], splits.append) == [10, 20, 30, 40, 50]
    assert splits == [5, 3]


def test_out_of_memory_on_a_single_row_is_raised():
    def run(items: list[int]) -> list[int]:
        raise MemoryError("out of memory")

    with pytest.raises(MemoryError):
        halving(run, [1], lambda n: None)


def test_each_reply_of_a_batch_carries_its_share_of_the_batch_time(monkeypatch):
    """Four replies decoded in one batch of 0.8 s: each is 200 ms of the machine's time, whatever it waited."""
    import time
    import types

    import ragtune.generation.batching as batching

    clock = iter([10.0, 10.8])  # the batch starts at 10 s and ends at 10.8 s
    monkeypatch.setattr(batching, "time", types.SimpleNamespace(monotonic=time.monotonic, perf_counter=lambda: next(clock)))
    queue = BatchQueue(Echo().generate_batch, max_batch=4)
    replies: dict[str, Generation] = {}
    barrier = threading.Barrier(4)

    def one(q: str) -> None:
        with queue.member():
            barrier.wait()
            replies[q] = queue.submit(prompt(q), GenerateOptions())

    threads = [threading.Thread(target=one, args=(q,)) for q in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert {q: r.shared_ms for q, r in replies.items()} == {q: pytest.approx(200.0) for q in "abcd"}


def test_a_reply_decoded_alone_has_no_batch_share():
    assert Echo().generate(prompt("x")).shared_ms is None
