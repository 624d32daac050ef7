"""The model server hands concurrent requests to a model that decodes in batches together, not one by one."""

import threading

import openai

from ragtune.generation import FakeGenerator
from ragtune.generation.batching import BatchQueue
from ragtune.http.openai_server import create_app


class BatchingFake(FakeGenerator):
    """Replies with the question; records the size of each batch (a batch starts when 3 calls wait, or after 30 s)."""

    def __init__(self) -> None:
        super().__init__(spec="batched")
        self.batches: list[int] = []
        self.batch_queue = BatchQueue(self.generate_batch, max_batch=3, gap_s=30)

    def generate(self, prompt, options=None, on_text=None):
        return self.batch_queue.submit(prompt, options)

    def generate_batch(self, prompts, options):
        self.batches.append(len(prompts))
        return [FakeGenerator(p.messages[-1]["content"]).generate(p, o) for p, o in zip(prompts, options)]


def test_concurrent_requests_are_answered_in_one_batch(loopback):
    gen = BatchingFake()
    replies: dict[str, str] = {}
    with loopback(create_app(gen, "batched")) as url:
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)

        def ask(question: str) -> None:
            reply = sdk.chat.completions.create(model="batched", messages=[{"role": "user", "content": question}])
            replies[question] = reply.choices[0].message.content

        threads = [threading.Thread(target=ask, args=(q,)) for q in ("one", "two", "three")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert replies == {"one": "one", "two": "two", "three": "three"}
    assert gen.batches == [3]
