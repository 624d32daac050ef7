"""``Index``: one named index of a workspace: the read side (``ragtune.components.reader.IndexReader``: search,
documents) and here what changes it: ingest, uploads, reindex, remove; and asking it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ragtune.components.reader import IndexReader
from ragtune.config import ContextMode, Engine, SearchMode
from ragtune.documents import Chunker, JsonlFields, RecursiveChunker
from ragtune.documents.chunking import HeaderChunker, SummaryChunker
from ragtune.embeddings import Embedder
from ragtune.errors import InputError
from ragtune.generation.answer import Answer, AskRequest
from ragtune.generation.base import TextCallback
from ragtune.generation.situating import SituatingWriter
from ragtune.index import Filters, IndexManifest, IngestEvent
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
        chunker: Chunker = RecursiveChunker(manifest.chunking)
        if manifest.context == ContextMode.header.value:
            chunker = HeaderChunker(chunker)
        elif manifest.context == ContextMode.summary.value:
            spec = manifest.context_model or self.components.config.generation.model
            chunker = SummaryChunker(chunker, SituatingWriter(self.components.generator(spec)))
        return sync_sources(self.components.store, self.name, model, chunker,
                            paths, include=include, exclude=exclude, strict=strict, jsonl_fields=jsonl_fields, progress=progress,
                            limits=self.components.config.ingest,
                            engine=self._sync_engine(model, embedder or manifest.embedder.spec, progress))

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

    def reindex(self, embedder: str, progress: Progress | None = None, force: bool = False) -> ReindexReport:
        """Re-embed every chunk with ``embedder`` and record it in the index, atomically: searches keep using the old
        vectors until the switch. An index already built with that model is left alone unless ``force``."""
        return reindex(self.components.store, self.name, self.components.embedder(embedder), progress=progress, force=force)

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
