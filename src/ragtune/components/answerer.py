"""``Answerer``: the one answer path. An ``AskRequest`` is answered from its index (retrieve, rerank, fit the
window, generate, cite: ``ragtune.generation.answer``) or, without one, by the model alone. ``Workspace.ask``,
``Index.ask``, the evaluation runner and the Ray answer workers all come here; the index's manifest is read once
per question."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ragtune.components.reader import IndexReader, retry_stale
from ragtune.errors import InputError, QuestionError
from ragtune.generation import GenerateOptions
from ragtune.generation.answer import Answer, AnswerPipeline, AskRequest
from ragtune.index import IndexManifest
from ragtune.retrieval.corpus import CorpusRetriever

if TYPE_CHECKING:
    from ragtune.components.parts import Components


class Answerer:
    """Answers ``AskRequest``s with the models and the store of ``components``."""

    def __init__(self, components: "Components") -> None:
        self.components = components

    def ask(self, request: AskRequest) -> Answer:
        """A cited answer to ``request.question`` from ``request.index``, or the model's own answer without one.

        ``whole_corpus`` needs an index and fails with ``QuestionError`` when its corpus does not fit the window."""
        if request.repairs < 0:
            raise InputError("repairs must be 0 or more")
        if request.index is None and request.whole_corpus:
            raise InputError("whole_corpus needs an index whose corpus goes into the prompt")
        reader = IndexReader(self.components, request.index) if request.index is not None else None
        manifest = reader.filled() if reader is not None else None  # read once: every part below takes it
        if not request.question or not request.question.strip():
            raise QuestionError("the question is empty")
        if reader is None or manifest is None:
            return AnswerPipeline(self.components.generator(request.model), self.components.config.answer,
                                  self._options(request)).ask(request)
        pipeline = self._pipeline(request, reader, manifest)
        answer = retry_stale(lambda: pipeline.ask(request))
        if request.whole_corpus and answer.trimmed_blocks:
            raise QuestionError(f"the corpus of index '{manifest.name}' does not fit the window of {answer.model}: "
                                f"{answer.trimmed_blocks} of {manifest.chunks} chunks left out")
        return answer

    def _options(self, request: AskRequest) -> GenerateOptions:
        options = GenerateOptions.from_config(self.components.config.generation)
        return replace(options, max_new_tokens=request.max_new_tokens or options.max_new_tokens)

    def _pipeline(self, request: AskRequest, reader: IndexReader, manifest: IndexManifest) -> AnswerPipeline:
        parts, config = self.components, self.components.config
        answer_config = config.answer if request.k is None else config.answer.model_copy(update={"k": request.k})
        if answer_config.k < 1:
            raise InputError("k must be at least 1")
        embedder = reader.embedder(None, manifest)
        whole = request.whole_corpus
        if whole:  # every chunk, limited only by the model's window
            answer_config = answer_config.model_copy(update={"k": manifest.chunks, "max_context_tokens": 10**9})
        retriever = CorpusRetriever(parts.store, reader.name) if whole else reader.retriever(request.mode, None, manifest)
        return AnswerPipeline(parts.generator(request.model), answer_config, self._options(request), retriever=retriever,
                              reranker=None if whole else parts.reranker(request.rerank),
                              rerank_candidates=config.rerank.candidates, embedder=embedder,
                              support=parts.support_scorer(embedder), index_name=reader.name,
                              fallback=parts.generator("extractive"), planner=None if whole else reader.planner(manifest))
