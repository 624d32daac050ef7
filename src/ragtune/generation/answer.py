"""The ask pipeline: retrieve, (rerank), decide whether to answer, fit context to the model's window,
generate, then cite.

1. Retrieval finds candidates; a reranker, when given, reorders them; the best ``k`` become numbered
   context blocks. A question that asks for figures (``ragtune.generation.figures``) also gets the
   ``figure_blocks`` candidates of a deeper pool (``figure_pool``) whose sentences or table rows best answer it.
2. Abstention before generating: no candidates, an answerability score (``ragtune.generation.answerability``:
   the best block's weighted share of the question's key terms, names weighing most) below
   ``min_answerability``, or no block relevant enough (cosine similarity to the question below
   ``min_dense_score`` and share of the question's content words in the block and its heading path below
   ``min_term_coverage``) gives ``abstained: true`` and no model call.
3. The blocks are fitted to the generator's window by a token budget, best first; a question that
   leaves no room in the window is a ``QuestionError``.
4. The model answers; loops and repeated sentences are cut. A reply that says it cannot answer from the
   context is an abstention, with no citations.
5. Citations (``ragtune.generation.citations``): markers to blocks not given are dropped and reported,
   each kept citation gets a support score, uncited sentences are cited to the block that supports them.
   An answer that no block supports is replaced by the extractive answer, abstained on, or kept
   uncited (``answer.unsupported``).

Without a retriever the model answers alone (the ``base`` and ``ft`` variants): no citations.

With a JSON Schema (``schema``) the answer is a JSON value (``ragtune.generation.structured``): the schema
goes into the system prompt, the reply is validated and, when it does not fit, repaired ``repairs`` times.
Retrieved blocks are then context only: no relevance abstention, no citations; ``Answer.structured`` holds
the parsed value and whether it fits. ``system`` is an extra system prompt (for the model alone it replaces
the default one), such as the prompt a tuned model was trained with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ragtune.config import AnswerConfig, FallbackPolicy, SearchMode
from ragtune.embeddings.base import Embedder
from ragtune.errors import QuestionError
from ragtune.generation.answerability import assess
from ragtune.generation.base import ContextBlock, GenerateOptions, Generator, Prompt, TextCallback, Usage
from ragtune.generation.citations import Citation, CitedText, OverlapSupportScorer, SupportScorer, cite, cited_numbers
from ragtune.generation.extractive import ExtractiveGenerator, with_answering
from ragtune.generation.figures import asks_for_figures
from ragtune.generation.prompts import CANNOT_ANSWER, alone_prompt, block_header, context_prompt, is_refusal, rag_prompt
from ragtune.generation.structured import StructuredResult, generate_structured, with_schema
from ragtune.generation.text import collapse_repeats, content_terms, coverage
from ragtune.index.base import Filters
from ragtune.retrieval.base import Reranker, Retriever, ScoredChunk
from ragtune.retrieval.self_query import QueryPlan, QueryPlanner, retrieve_ranked

_WINDOW_MARGIN = 16


def with_machine_time(latency: dict[str, float], shared_ms: float | None) -> dict[str, float]:
    """``latency`` with ``machine``: the answer's own share of the machine's time, when its reply was decoded in a batch
    (``Generation.shared_ms``): its total less the generation it waited through, plus its share of the batch. An
    answer decoded alone has none (its total is its machine time)."""
    if shared_ms is not None and "generation" in latency:
        latency["machine"] = max(0.0, latency["total"] - latency["generation"] + shared_ms)
    return latency


@dataclass(frozen=True)
class AskRequest:
    """One question and how to answer it, as every face, runner and worker gives it to ``components.answerer``.

    ``index``: None for the model alone; ``model``: a generator spec (default: the configured one); ``schema``: a JSON
    Schema the answer must fit, repaired up to ``repairs`` times; ``system``: an extra system prompt; ``whole_corpus``:
    every chunk of ``index`` in the context instead of the retrieved ones (the ``prompt`` variant); ``max_new_tokens``:
    this answer's cap (default: ``generation.max_new_tokens``); ``on_text``: called with the text as it streams."""

    question: str
    index: str | None = None
    model: str | None = None
    k: int | None = None
    rerank: str | None = None
    mode: SearchMode | str | None = None
    filters: Filters | None = None
    schema: dict[str, Any] | None = None
    repairs: int = 1
    system: str | None = None
    whole_corpus: bool = False
    max_new_tokens: int | None = None
    on_text: TextCallback | None = field(default=None, compare=False)


@dataclass
class Answer:
    """A cited answer (or an abstention), with what it cost and how long each stage took."""

    question: str
    answer: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    abstain_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: dict[str, float] = field(default_factory=dict)
    model: str = ""
    index: str | None = None
    dropped_citations: list[dict[str, Any]] = field(default_factory=list)
    fallback: str | None = None
    context: list[ContextBlock] = field(default_factory=list)
    trimmed_blocks: int = 0
    raw_answer: str = ""
    structured: StructuredResult | None = None
    plan: QueryPlan | None = None
    answerability: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` document (with ``structured`` only for answers to a JSON Schema)."""
        doc: dict[str, Any] = {"question": self.question, "answer": self.answer,
                               "citations": [c.to_json() for c in self.citations],
                "abstained": self.abstained, "abstain_reason": self.abstain_reason, "usage": self.usage.to_json(),
                "latency_ms": {k: round(v, 1) for k, v in self.latency_ms.items()}, "model": self.model,
                "index": self.index, "dropped_citations": self.dropped_citations, "fallback": self.fallback,
                "context": [{"marker": b.number, "doc_id": b.doc_id, "chunk_id": b.chunk_id, "source": b.source,
                             "page": b.page, "score": round(float(b.score), 6)} for b in self.context],
                "trimmed_blocks": self.trimmed_blocks, "raw_answer": self.raw_answer,
                "answerability": None if self.answerability is None else round(self.answerability, 4)}
        if self.structured is not None:
            doc["structured"] = self.structured.to_json()
        if self.plan is not None:
            doc["trace"] = {"query_filter": self.plan.to_json()}
        return doc


class AnswerPipeline:
    """Answers questions with ``generator`` over ``retriever`` (see the module docstring)."""

    def __init__(self, generator: Generator, config: AnswerConfig | None = None, options: GenerateOptions | None = None, *,
                 retriever: Retriever | None = None, reranker: Reranker | None = None, rerank_candidates: int = 30,
                 embedder: Embedder | None = None, support: SupportScorer | None = None, index_name: str | None = None,
                 fallback: Generator | None = None, planner: QueryPlanner | None = None) -> None:
        self.generator = generator
        self.config = config or AnswerConfig()
        self.options = options or GenerateOptions()
        self.retriever, self.reranker = retriever, reranker
        self.rerank_candidates = rerank_candidates
        self.embedder = embedder
        self.support = support or OverlapSupportScorer(embedder)
        self.index_name = index_name
        self.fallback = fallback or ExtractiveGenerator()
        self.planner = planner

    def ask(self, request: AskRequest) -> Answer:
        """Answer one question (see the module docstring; the request's retrieval options are the ones this pipeline
        was built with)."""
        question, schema, repairs, system, on_text = (request.question.strip(), request.schema, request.repairs,
                                                      request.system, request.on_text)
        self.generator.load()  # a missing key or model fails now, before any retrieval
        started = time.perf_counter()
        retriever = self.retriever
        if retriever is None:
            if schema is not None:
                prompt = alone_prompt(question, system)
                self._check_window(self._with_schema(prompt, schema), question)
                answer = Answer(question=question, answer="", model=self.generator.spec)
                return self._structured(answer, prompt, schema, repairs, started, {"retrieval": 0.0})
            return self._alone(question, started, on_text, system)
        plan = self.planner.plan(question) if self.planner is not None else None
        hits = self._retrieve(retriever, question, request.filters, plan)
        retrieved = time.perf_counter()
        latency = {"retrieval": (retrieved - started) * 1000, "generation": 0.0}
        answer = Answer(question=question, answer=CANNOT_ANSWER, model=self.generator.spec, index=self.index_name, plan=plan)
        if schema is not None:
            blocks, trimmed = self._fit(question, hits, lambda b: self._with_schema(context_prompt(question, b, system), schema))
            answer.context, answer.trimmed_blocks = blocks, trimmed
            return self._structured(answer, context_prompt(question, blocks, system), schema, repairs, started, latency)
        blocks, trimmed = self._fit(question, hits, lambda b: rag_prompt(question, b, system),
                                    bool(plan and plan.per_document) or len(hits) > self.config.k)
        answer.context, answer.trimmed_blocks = blocks, trimmed
        answer.answerability, why = assess(question, blocks, plan) if blocks else (None, None)
        reason = self._irrelevant(question, blocks, answer.answerability)
        if reason:
            return self._abstain(answer, f"{reason}: {why}" if why else reason, started, latency)
        prompt = rag_prompt(question, blocks, system)
        if plan is not None:
            prompt.per_source, prompt.focus = plan.per_document, plan.focus
        generating = time.perf_counter()
        generation = self.generator.generate(prompt, self.options, on_text)
        generated = time.perf_counter()
        latency["generation"] = (generated - generating) * 1000
        answer.usage, answer.raw_answer = generation.usage, generation.text
        text = collapse_repeats(generation.text)
        if is_refusal(text):
            return self._abstain(answer, "the model said the context does not answer the question", started, latency)
        cited = cite(text, self._checked(text, blocks, question), self.support, self.config.min_support)
        answer.dropped_citations = cited.dropped
        if not cited.citations:
            kept = self._unsupported(prompt, blocks, cited)
            if kept is None:
                return self._abstain(answer, "no context block supports the generated answer", started, latency)
            cited = kept
            answer.fallback = "extractive" if cited.citations else None
        answer.answer, answer.citations = cited.text, cited.citations
        if plan is not None and plan.note:
            answer.answer = f"{answer.answer} {plan.note}"
        answer.dropped_citations = answer.dropped_citations + [d for d in cited.dropped if d not in answer.dropped_citations]
        latency["citation"] = (time.perf_counter() - generated) * 1000
        latency["total"] = (time.perf_counter() - started) * 1000
        answer.latency_ms = with_machine_time(latency, generation.shared_ms)
        return answer

    @staticmethod
    def _with_schema(prompt: Prompt, schema: dict[str, Any]) -> Prompt:
        return Prompt(messages=with_schema(prompt.messages, schema), question=prompt.question, blocks=prompt.blocks)

    def _structured(self, answer: Answer, prompt: Prompt, schema: dict[str, Any], repairs: int, started: float,
                    latency: dict[str, float]) -> Answer:
        """Generate a JSON reply to ``schema`` (instructed, validated, repaired); usage sums every attempt."""
        usage = Usage()
        generating = time.perf_counter()
        constrained = self.options.constrained and self.generator.constrains(schema)
        options = replace(self.options, json_schema=schema) if constrained else self.options

        shared: list[float | None] = []

        def generate(messages: list[dict[str, str]]) -> str:
            nonlocal usage
            generation = self.generator.generate(Prompt(messages=messages, question=prompt.question, blocks=prompt.blocks),
                                                 options)
            usage = usage + generation.usage
            shared.append(generation.shared_ms)
            return generation.text

        result = generate_structured(prompt.messages, generate, schema, repairs=repairs)
        result.constrained = constrained
        latency["generation"] = (time.perf_counter() - generating) * 1000
        latency["total"] = (time.perf_counter() - started) * 1000
        answer.answer, answer.raw_answer, answer.structured = result.text.strip(), result.text, result
        batched = all(s is not None for s in shared)
        answer.usage = usage
        answer.latency_ms = with_machine_time(latency, sum(s or 0.0 for s in shared) if shared and batched else None)
        return answer

    def _alone(self, question: str, started: float, on_text: TextCallback | None, system: str | None = None) -> Answer:
        prompt = alone_prompt(question, system)
        self._check_window(prompt, question)
        generation = self.generator.generate(prompt, self.options, on_text)
        text = collapse_repeats(generation.text)
        elapsed = (time.perf_counter() - started) * 1000
        latency = {"retrieval": 0.0, "generation": elapsed, "total": elapsed}
        answer = Answer(question=question, answer=text, usage=generation.usage, model=self.generator.spec,
                        latency_ms=with_machine_time(latency, generation.shared_ms), raw_answer=generation.text)
        if is_refusal(text):
            answer.abstained, answer.abstain_reason = True, "the model said it cannot answer"
        return answer

    def _retrieve(self, retriever: Retriever, question: str, filters: Filters | None,
                  plan: QueryPlan | None) -> list[ScoredChunk]:
        """The best ``k`` chunks; for a plan over several documents at least one of each (``ragtune.retrieval.self_query``);
        for a question that asks for figures, also those of a deeper pool that best answer it (``figure_blocks``)."""
        plan = plan or QueryPlan()
        k = max(self.config.k, self.config.per_document_k * len(plan.filters)) if plan.per_document else self.config.k
        cfg = self.config
        if cfg.figure_pool > 0 and cfg.figure_blocks > 0 and asks_for_figures(question):
            depth = max(k, cfg.figure_pool * (len(plan.filters) if plan.per_document else 1))
            pool = retrieve_ranked(retriever, question, depth, filters, plan, self.reranker, self.rerank_candidates)
            return with_answering(question, pool, k, cfg.figure_blocks, plan.per_document, plan.focus)
        return retrieve_ranked(retriever, question, k, filters, plan, self.reranker, self.rerank_candidates)

    def _checked(self, text: str, blocks: list[ContextBlock], question: str) -> list[ContextBlock]:
        """The blocks an answer's support is checked against: all of them; for a question given more by
        ``figure_blocks``, the first ``k`` and those the answer cites (checking every block costs most of an answer)."""
        extra = self.config.figure_blocks if self.config.figure_pool > 0 and asks_for_figures(question) else 0
        if not extra:
            return blocks
        k = self.config.k
        cited = cited_numbers(text)
        return [b for i, b in enumerate(blocks) if i < k or b.number in cited]

    def _prompt_tokens(self, prompt: Prompt) -> int:
        return sum(self.generator.count_tokens(m["content"]) for m in prompt.messages) + 8 * len(prompt.messages)

    def _check_window(self, prompt: Prompt, question: str) -> None:
        window = self.generator.context_window
        used = self._prompt_tokens(prompt)
        if used + self.options.max_new_tokens + _WINDOW_MARGIN > window:
            raise QuestionError(f"the question is {self.generator.count_tokens(question)} tokens: with the instructions and "
                             f"room for a {self.options.max_new_tokens}-token answer it does not fit the {window}-token "
                             f"window of {self.generator.spec}; shorten the question")

    def _fit(self, question: str, hits: list[ScoredChunk], build: Callable[[list[ContextBlock]], Prompt],
             grows: bool = False) -> tuple[list[ContextBlock], int]:
        """Number the hits as blocks and keep, best first, those that fit the token budget of ``build``'s prompt (for a
        question over several documents, or one given more than ``k`` blocks, a budget that grows with them)."""
        empty = build([])
        self._check_window(empty, question)
        window = self.generator.context_window
        free = window - self._prompt_tokens(empty) - self.options.max_new_tokens - _WINDOW_MARGIN
        budget = min(self.config.max_context_tokens * max(1, -(-len(hits) // self.config.k)) if grows
                     else self.config.max_context_tokens, free)
        blocks: list[ContextBlock] = []
        used, trimmed = 0, 0
        for scored in hits:
            block = ContextBlock.from_scored(len(blocks) + 1, scored)
            cost = self.generator.count_tokens(block_header(block) + "\n" + block.text) + 2
            if used + cost <= budget:
                blocks.append(block)
                used += cost
            elif not blocks and budget > 32:
                block.text = self._truncate(block.text, budget - 16)
                blocks.append(block)
                used = budget
            else:
                trimmed += 1
        return blocks, trimmed

    def _truncate(self, text: str, tokens: int) -> str:
        words = text.split()
        lo, hi = 0, len(words)
        while lo < hi:  # the longest word prefix that fits
            mid = (lo + hi + 1) // 2
            if self.generator.count_tokens(" ".join(words[:mid])) <= tokens:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])

    def _irrelevant(self, question: str, blocks: list[ContextBlock], score: float | None) -> str | None:
        """Why the blocks cannot support an answer, or None when they can (``score``: their answerability)."""
        if not blocks or score is None:
            return "retrieval found no passage for the question"
        cfg = self.config
        if score < cfg.min_answerability:
            return f"no retrieved passage is relevant enough to answer (answerability {score:.2f} < {cfg.min_answerability:.2f})"
        dense = [float(b.scores["dense"]) for b in blocks if "dense" in b.scores]
        if not dense and self.embedder is not None:
            vectors = self.embedder.embed_documents([b.text for b in blocks])
            dense = [float(v) for v in vectors @ self.embedder.embed_query(question)]
        best_dense = max(dense) if dense else None
        q_terms = content_terms(question)  # plain coverage of each passage with its heading path
        cover = max(coverage(q_terms, set(content_terms(" ".join([*b.headings, b.text])))) for b in blocks)
        if cover >= cfg.min_term_coverage or (best_dense is not None and best_dense >= cfg.min_dense_score):
            return None
        dense_part = f"similarity {best_dense:.2f} < {cfg.min_dense_score:.2f} and " if best_dense is not None else ""
        return (f"no retrieved passage is relevant enough ({dense_part}question words covered {cover:.2f} "
                f"< {cfg.min_term_coverage:.2f})")

    def _unsupported(self, prompt: Prompt, blocks: list[ContextBlock], cited: CitedText) -> CitedText | None:
        """What an answer that no block supports becomes, by policy; None means abstain."""
        policy = self.config.unsupported
        if policy is FallbackPolicy.keep:
            return cited
        if policy is FallbackPolicy.abstain:
            return None
        extractive = self.fallback.generate(prompt)
        if is_refusal(extractive.text):
            return None
        fallback = cite(extractive.text, blocks, self.support, self.config.min_support)
        return fallback if fallback.citations else None

    def _abstain(self, answer: Answer, reason: str, started: float, latency: dict[str, float]) -> Answer:
        answer.abstained, answer.abstain_reason = True, reason
        answer.answer, answer.citations = CANNOT_ANSWER, []
        if answer.plan is not None and answer.plan.note:
            answer.answer = f"{CANNOT_ANSWER} {answer.plan.note}"
        latency["total"] = (time.perf_counter() - started) * 1000
        answer.latency_ms = latency
        return answer
