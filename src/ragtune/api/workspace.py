"""``Workspace``: named indexes, models and keys under ``config.home``, and the one object every face calls.

The core (models loaded once, keys, index management, ask and ingest) is here; the tuning methods and the measuring
methods (evaluate, advise, decide) come from ``ragtune.api.tuning`` and ``ragtune.api.measuring``.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any, Sequence

from ragtune.api.index import Index
from ragtune.api.measuring import MeasuringMethods
from ragtune.api.tuning import TuningMethods
from ragtune.components.parts import Components
from ragtune.config import ChunkingConfig, RagtuneConfig, SearchMode
from ragtune.documents import JsonlFields, discover
from ragtune.embeddings import Embedder
from ragtune.errors import InputError
from ragtune.generation import Generator
from ragtune.generation.answer import Answer, AskRequest
from ragtune.generation.base import TextCallback
from ragtune.index import CommittedInterrupt, Filters, IndexManifest, IngestEvent, Store, check_index_name, store_kind
from ragtune.index.doctor import DoctorReport, check_store
from ragtune.index.sync import IngestReport, Progress
from ragtune.retrieval import Reranker
from ragtune.serving.keys import KeyStore
from ragtune.serving.paths import check_walk, confine
from ragtune.components.registry import ModelCard, ModelRegistry


class Workspace(TuningMethods, MeasuringMethods):
    """A ragtune workspace: named indexes and model artefacts under ``config.home``.

    Creating one changes nothing process-wide: the entry points call ``ragtune.api.prepare_process`` for the thread
    pools and the umask (077: the workspace and everything written in it is the owner's alone)."""

    def __init__(self, config: RagtuneConfig | None = None) -> None:
        self.components = Components(config or RagtuneConfig.load())
        self.config = self.components.config
        self._keys: KeyStore | None = None

    # --- parts, built once (``ragtune.components``) ------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.components.store

    @property
    def models(self) -> ModelRegistry:
        """The versioned model registry under ``<home>/models``."""
        return self.components.models

    @property
    def keys(self) -> KeyStore:
        """The workspace's API keys: create, list, revoke, authenticate (``<home>/keys.json``, or the
        ``ragtune_keys`` table when the store is PostgreSQL, so every server over it shares them)."""
        if self._keys is None:
            if store_kind(self.config.store) == "postgresql":
                from ragtune.serving.keys_postgres import PostgresKeyRecords

                self._keys = KeyStore(PostgresKeyRecords(self.config.store))
            else:
                self._keys = KeyStore(self.config.home / "keys.json")
        return self._keys

    def embedder(self, spec: str | None = None, precision: str | None = None) -> Embedder:
        """The embedder for ``spec`` at ``precision`` (defaults: the configured ones), built once per workspace."""
        return self.components.embedder(spec, precision)

    def generator(self, spec: str | None = None) -> Generator:
        """The generator for a model spec (default: the configured one), built once per workspace."""
        return self.components.generator(spec)

    def reranker(self, spec: str | None = None) -> Reranker | None:
        """The reranker for a spec (default: the configured one, or None when reranking is off)."""
        return self.components.reranker(spec)

    def model_cards(self) -> list[ModelCard]:
        """The card of every version of every model."""
        return self.models.cards()

    def model_card(self, ref: str) -> ModelCard:
        """The card of ``NAME[@vN]`` (latest version without ``@vN``)."""
        return self.models.card(ref)

    # --- asking -----------------------------------------------------------------------------------------

    def ask(self, question: str, index: str | None = None, *, model: str | None = None, k: int | None = None,
            rerank: str | None = None, mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None, schema: dict[str, Any] | None = None, repairs: int = 1,
            system: str | None = None, whole_corpus: bool = False, max_new_tokens: int | None = None) -> Answer:
        """Answer ``question`` from ``index`` with citations, or, without an index, with the model alone.

        With ``schema`` (a JSON Schema, see ``load_schema``) the answer is JSON that fits it: instructed, validated
        and repaired up to ``repairs`` times (``Answer.structured``). ``system`` adds a system prompt. ``whole_corpus``
        puts every chunk of ``index`` in the context instead of retrieving (the ``prompt`` variant). ``max_new_tokens``
        caps this answer (default: ``generation.max_new_tokens``). See ``AskRequest`` and ``Answerer``.
        """
        return self.components.answerer.ask(AskRequest(question, index, model, k, rerank, mode, filters, schema, repairs,
                                                       system, whole_corpus, max_new_tokens, on_text))

    # --- indexes ----------------------------------------------------------------------------------------

    def indexes(self) -> list[IndexManifest]:
        """Manifests of every index in the workspace that can be read (``damaged_indexes`` lists the others)."""
        damaged = self.store.damaged_indexes()
        return [self.store.manifest(n) for n in self.store.list_indexes() if n not in damaged]

    def damaged_indexes(self) -> dict[str, str]:
        """Indexes whose manifest is missing or damaged, each with what is wrong and the ``ragtune doctor`` command."""
        return self.store.damaged_indexes()

    def doctor(self, index: str | None = None, repair: bool = False) -> DoctorReport:
        """Check every index (or ``index``), and with ``repair`` repair what can be (``ragtune.index.doctor``)."""
        return check_store(self.store, [check_index_name(index)] if index else None, repair)

    def index(self, name: str) -> Index:
        """An existing index; ``IndexNotFoundError`` otherwise."""
        self.store.manifest(name)
        return Index(self, name)

    def create_index(self, name: str, embedder: str | None = None, chunking: ChunkingConfig | None = None,
                     provisional: bool = False) -> Index:
        """Create an empty index built with ``embedder`` (default: the configured one); ``provisional``: seen by
        other processes only after its first commit (``Store.create``)."""
        check_index_name(name)
        info = self.embedder(embedder).info
        self.store.create(IndexManifest(name=name, embedder=info, chunking=chunking or self.config.chunking,
                                        context=self.config.index.context.value),
                          provisional=provisional)
        return Index(self, name)

    def uploads_dir(self, index: str) -> Path:
        """Where files uploaded to ``index`` through a server are kept: ``<home>/uploads/<index>``."""
        return self.config.home / "uploads" / check_index_name(index)

    def served_models(self) -> list[str]:
        """Model specs that server clients may name in ``ask`` (``serve.models``, else the default and extractive)."""
        models = self.config.serve.models or [self.config.generation.model, "extractive"]
        return list(dict.fromkeys(models))

    def served_model(self, model: str | None) -> str:
        """``model`` if servers may use it (default: the configured generator); ``InputError`` otherwise."""
        model = model or self.config.generation.model
        served = self.served_models()
        if model not in served:
            raise InputError(f"model '{model}' is not served here (served: {', '.join(served)})")
        return model

    def ingest(self, paths: Sequence[str], index: str, *, create: bool = True, embedder: str | None = None,
               include: Sequence[str] = (), exclude: Sequence[str] = (), strict: bool = False,
               jsonl_fields: JsonlFields | None = None, progress: Progress | None = None,
               roots: Sequence[Path] | None = None) -> IngestReport:
        """Sync files and folders into ``index`` (created on first use unless ``create`` is false).

        With ``roots`` (servers), every path, and every file found in a folder, must resolve inside one of
        those folders (``PathNotAllowedError`` otherwise; see ``ragtune.serving.paths``).
        """
        if not paths:
            raise InputError("give at least one file or folder to ingest")
        if roots is not None:
            paths = [str(confine(str(p), roots)) for p in paths]
            files, _ = discover(paths, include, exclude)
            check_walk([f.path for f in files], roots)
        with self.store.writing(check_index_name(index)):  # creating the index is part of the one writer's work
            created = False
            if not self.store.exists(index):
                if not create:
                    self.store.manifest(index)  # raises IndexNotFoundError
                discover(paths, include, exclude)  # the inputs are checked before an index appears on disk
                self.create_index(index, embedder, provisional=True)
                created = True
            try:
                report = self.index(index).ingest(paths, include=include, exclude=exclude, strict=strict,
                                                  jsonl_fields=jsonl_fields, progress=progress, embedder=embedder)
                if created and not report.generation:  # nothing to add: the empty index is committed as it is
                    report.generation = self.store.commit(index, [], [], IngestEvent()).generation
                return report
            except CommittedInterrupt:
                raise  # the commit is in: nothing to take back
            except BaseException:
                if created:  # a first ingest that fails leaves no index behind (no other writer got in meanwhile)
                    with contextlib.suppress(Exception):
                        self.store.drop(index)
                raise

    def delete_index(self, name: str) -> None:
        """Remove an index and everything in it, uploaded files included."""
        self.store.drop(name)
        shutil.rmtree(self.uploads_dir(name), ignore_errors=True)
