"""``Index``: one named index of a workspace: the read side (``ragtune.components.reader.IndexReader``: search,
documents) and here what changes it: ingest, uploads, reindex, remove; and asking it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ragtune.components.reader import IndexReader
from ragtune.config import ContextMode, Engine, SearchMode
from ragtune.documents import JsonlFields, RecursiveChunker
from ragtune.documents.chunking import HeaderChunker, SummaryChunker
from ragtune.embeddings import Embedder
from ragtune.errors import InputError
from ragtune.generation.answer import Answer, AskRequest
from ragtune.generation.base import TextCallback
from ragtune.generation.situating import SituatingWriter
from ragtune.index import Filters, IndexManifest, IngestEvent
from ragtune.index.recontext import ChunkerFor, recontext
from ragtune.index.reindex import ReindexReport, reindex
from ragtune.index.sync import IngestReport, Progress, sync_sources
from ragtune.serving.uploads import checked_upload_names, place_uploads

if TYPE_CHECKING:
    from ragtune.api.workspace import Workspace
    from ragtune.distributed.ingest import RayIngest


def index_summary(manifest: IndexManifest) -> dict[str, Any]:
    """What every face shows of an index: name, documents, chunks, embedder, generation, last update."""
    return {"name": manifest.name, "documents": manifest.documents, "chunks": manifest.chunks,
            "embedder": manifest.embedder.model_dump(), "generation": manifest.generation, "updated_at": manifest.updated_at}


def context_mode(value: ContextMode | str) -> ContextMode:
    """``value`` as a ``ContextMode``; ``InputError`` naming it and the modes otherwise."""
    try:
        return ContextMode(value)
    except ValueError:
        known = ", ".join(m.value for m in ContextMode)
        raise InputError(f"unknown context mode '{value}' (modes: {known})") from None


class Index(IndexReader):
    """A named index: search it (``IndexReader``), ingest into it, ask it, list and remove its documents."""

    def __init__(self, workspace: "Workspace", name: str) -> None:
        super().__init__(workspace.components, name)
        self.workspace = workspace

    def ingest(self, paths: Sequence[str], *, include: Sequence[str] = (), exclude: Sequence[str] = (),
               strict: bool = False, jsonl_fields: JsonlFields | None = None, progress: Progress | None = None,
               embedder: str | None = None) -> IngestReport:
        """Sync ``paths`` into this index (see ``ragtune.index.sync``)."""
        manifest = self.manifest
        model = self.embedder(embedder, manifest)
        spec = manifest.context_model or self.components.config.generation.model
        chunker = self._context_chunker(manifest.context, spec, progress)[0](RecursiveChunker(manifest.chunking))
        return sync_sources(self.components.store, self.name, model, chunker,
                            paths, include=include, exclude=exclude, strict=strict, jsonl_fields=jsonl_fields, progress=progress,
                            limits=self.components.config.ingest,
                            engine=self._sync_engine(model, embedder or manifest.embedder.spec, progress))

    def _context_chunker(self, mode: str, summary_model: str | None,
                         progress: Progress | None = None) -> tuple[ChunkerFor, SituatingWriter | None]:
        """The chunker of context ``mode`` around a chunker, and the writer of its situating summaries (``summary_model``;
        None: the mode writes none)."""
        if mode == ContextMode.header.value:
            return HeaderChunker, None
        if mode == ContextMode.summary.value:
            writer = SituatingWriter(self.components.generator(summary_model), progress)
            return (lambda inner: SummaryChunker(inner, writer)), writer
        return (lambda inner: inner), None

    def _sync_engine(self, model: Embedder, spec: str, progress: Progress | None) -> "RayIngest | None":
        """With ``engine = "ray"``: files loaded, chunked and embedded on Ray (``ragtune.distributed.ingest``)."""
        parts = self.components
        if parts.config.engine is not Engine.ray:
            return None
        from ragtune.distributed import require_ray
        from ragtune.distributed.ingest import EmbedderFactory, RayIngest

        require_ray()
        factory = EmbedderFactory(parts.pinned(spec), parts.embedder_config(model.info.precision), parts.config.home.resolve())
        return RayIngest(parts.config.ray, factory, model.info.dimension, progress)

    def ingest_uploads(self, files: Sequence[tuple[str, bytes]]) -> IngestReport:
        """Store uploaded ``(file name, content)`` pairs in the index's upload folder and ingest them in one commit.

        Names are made safe (``ragtune.serving.paths.safe_upload_name``); a file above ``serve.max_upload_mb``
        raises ``UploadTooLargeError``, a type outside ``serve.upload_types`` ``UnsupportedTypeError``. If the
        ingest fails, the upload folder is put back as it was, so the files and the index still agree
        (``ragtune.serving.uploads``).
        """
        names = checked_upload_names(files, self.components.config.serve)
        self.manifest  # IndexNotFoundError before anything is written
        return place_uploads(self.workspace.uploads_dir(self.name), names, [data for _, data in files],
                             lambda paths: self.ingest(paths, strict=True))

    def ask(self, question: str, *, model: str | None = None, k: int | None = None, rerank: str | None = None,
            mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None, schema: dict[str, Any] | None = None, repairs: int = 1,
            system: str | None = None, whole_corpus: bool = False, max_new_tokens: int | None = None) -> Answer:
        """A cited answer to ``question`` from this index (``AskRequest`` says what each option does)."""
        return self.components.answerer.ask(AskRequest(question, self.name, model, k, rerank, mode, filters, schema,
                                                       repairs, system, whole_corpus, max_new_tokens, on_text))

    def reindex(self, embedder: str | None = None, progress: Progress | None = None, force: bool = False, *,
                context: ContextMode | str | None = None, summary_model: str | None = None) -> ReindexReport:
        """Re-embed every chunk with ``embedder``, or index every chunk again under ``context`` ('header', 'summary',
        'none'; the summaries written by ``summary_model``, default ``[index] summary_model`` or the generation model),
        and record it in the index, atomically: searches keep using the old index until the switch, and a failure
        leaves it as it was. An index already built that way is left alone unless ``force``."""
        if (embedder is None) == (context is None):
            raise InputError("reindex takes an embedder or a context mode (one at a time)")
        store = self.components.store
        if context is None:
            return reindex(store, self.name, self.components.embedder(embedder), progress=progress, force=force)
        mode = context_mode(context)
        config = self.components.config
        model = (summary_model or config.index.summary_model or config.generation.model) if mode is ContextMode.summary else None
        if summary_model and mode is not ContextMode.summary:
            raise InputError(f"a summary model is for context 'summary', not '{mode.value}'")
        chunker_for, writer = self._context_chunker(mode.value, model, progress)
        report = recontext(store, self.name, mode.value, model, chunker_for, self.embedder(None), progress=progress, force=force)
        report.summaries = writer.cost() if writer else {}
        return report

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by id; ``InputError`` names any id the index does not hold."""
        stored = {d.doc_id: d for d in self.components.store.documents(self.name)}
        sources = {d: rec.source for d, rec in stored.items()}
        missing = [d for d in doc_ids if d not in sources]
        if missing:
            raise InputError(f"index '{self.name}' has no document '{missing[0]}'")
        self.components.store.commit(self.name, [], list(doc_ids),
                                     IngestEvent(removed=len(doc_ids), removed_hashes=[stored[d].hash for d in doc_ids]))
        uploads = self.workspace.uploads_dir(self.name).resolve()
        for doc_id in doc_ids:  # an uploaded file goes with its document
            source = Path(sources.get(doc_id, ""))
            if source.is_absolute() and source.resolve().parent == uploads:
                source.unlink(missing_ok=True)
        return len(doc_ids)
