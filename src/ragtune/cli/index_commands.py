"""Index commands: ingest, search, reindex, indexes, docs, remove."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ragtune.api import SearchResult, Workspace, index_summary
from ragtune.cli.output import StageProgress, emit_json, emit_jsonl, err, handle_errors, out
from ragtune.api import ContextMode, Engine, RagtuneConfig, ReindexReport, SearchMode
from ragtune.api import JsonlFields
from ragtune.errors import InputError
from ragtune.api import load_questions
from ragtune.api import Filters

JsonFlag = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")
IndexOpt = typer.Option(..., "--index", "-i", help="Index name.")
EngineOpt = typer.Option(None, "--engine",
                         help="Where the work runs: local (this process) or ray (pip install 'ragtune\\[ray]'); "
                              "default: configured (local).")
RayAddressOpt = typer.Option(None, "--ray-address",
                             help="With --engine ray: the cluster to join ('auto' or HOST:PORT of the head node); "
                                  "default: a local Ray with every core.")


def engine_settings(engine: Optional[Engine], address: Optional[str]) -> dict:
    """Configuration overrides of the --engine and --ray-address options."""
    return {"engine": engine.value if engine else None, "ray": {"address": address}}


def workspace(**overrides) -> Workspace:
    return Workspace(RagtuneConfig.load(overrides))


def parse_filters(source: Optional[str], types: Optional[list[str]], where: Optional[list[str]]) -> Filters | None:
    meta = {}
    for item in where or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--where '{item}': expected FIELD=VALUE")
        meta[key] = value
    filters = Filters(source=source, types=tuple(t.lower().lstrip(".") for t in types or ()), metadata=meta)
    return filters or None


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (txt, md, html, pdf, docx, jsonl)."),
    index: str = IndexOpt,
    include: list[str] = typer.Option([], "--include", help="Glob of files to take inside folders (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Glob of files to leave out (repeatable)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad file instead of skipping it."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="Embedder spec for a new index (default: local)."),
    id_field: str = typer.Option("_id", "--id-field", help="JSONL: field holding the document id."),
    text_field: str = typer.Option("text", "--text-field", help="JSONL: field holding the text."),
    title_field: str = typer.Option("title", "--title-field", help="JSONL: field holding the title."),
    engine: Optional[Engine] = EngineOpt,
    ray_address: Optional[str] = RayAddressOpt,
    as_json: bool = JsonFlag,
) -> None:
    """Load files or folders and sync them into an index (unchanged documents cost nothing)."""
    ws = workspace(**engine_settings(engine, ray_address))
    with StageProgress() as progress:
        report = ws.ingest([str(p) for p in paths], index, embedder=embedder, include=include, exclude=exclude,
                           strict=strict, jsonl_fields=JsonlFields(id_field, title_field, text_field), progress=progress)
    if as_json:
        emit_json(report.to_json())
        return
    table = Table(title=f"ingest → {index}")
    for col in ("added", "updated", "removed", "unchanged", "chunks", "skipped"):
        table.add_column(col, justify="right")
    counts = (report.added, report.updated, report.removed, report.unchanged, report.chunks, len(report.skipped))
    table.add_row(*(str(v) for v in counts))
    out.print(table)
    for s in report.skipped:
        why = s["error"].removeprefix(f"{s['source']}: ")  # an error that names its file already: the path once
        err.print(f"[yellow]skipped[/] {escape(s['source'])}: {escape(why)}", highlight=False, soft_wrap=True)



def search(
    query: Optional[str] = typer.Argument(None, help="The query (or use --queries for a batch)."),
    index: str = IndexOpt,
    k: int = typer.Option(10, "--k", "-k", min=1, help="Results per query."),
    mode: SearchMode = typer.Option(SearchMode.hybrid, "--mode", help="lexical, dense or hybrid."),
    queries: Optional[Path] = typer.Option(None, "--queries", help="JSONL of queries: prints one JSONL row per query."),
    source: Optional[str] = typer.Option(None, "--source", help="Only chunks whose source matches this glob."),
    types: list[str] = typer.Option([], "--type", help="Only these document types (txt, md, html, pdf, docx, jsonl)."),
    where: list[str] = typer.Option([], "--where", help="Only chunks whose metadata FIELD=VALUE (repeatable)."),
    unique_docs: bool = typer.Option(False, "--unique-docs", help="One hit per document (its best chunk)."),
    rerank: Optional[str] = typer.Option(None, "--rerank",
                                         help="Reranker spec for the top candidates: local:<CrossEncoder dir>, tuned:<name>."),
    as_json: bool = JsonFlag,
) -> None:
    """Ranked chunks for a query, or a batch of queries."""
    filters = parse_filters(source, types, where)
    if query is None and queries is not None:
        asked = [(q.id, q.question) for q in load_questions(queries)]
        results = workspace().index(index).search_batch(asked, k=k, mode=mode, filters=filters, unique_docs=unique_docs,
                                                        rerank=rerank)
        emit_jsonl({"query_id": qid, "hits": [{"doc_id": h.doc_id, "chunk_id": h.chunk_id, "score": round(h.score, 6)}
                                               for h in hits]} for qid, hits in results)
        return
    if query is None or queries is not None:
        raise InputError("give either a QUERY or --queries FILE")
    idx = workspace().index(index)
    if unique_docs:
        ranked = idx.search_batch([("q", query)], k=k, mode=mode, filters=filters, unique_docs=True, rerank=rerank)
        hits = SearchResult(query, index, mode.value, ranked[0][1])
    else:
        hits = idx.search(query, k=k, mode=mode, filters=filters, rerank=rerank)
    if as_json:
        emit_json(hits.to_json())
        return
    if not hits:
        err.print("no matching chunks")
    for h in hits:
        where_ = h.source + (f" p.{h.page}" if h.page else "")
        out.print(f"[bold]{h.rank}.[/] {h.score:.4f}  [cyan]{h.chunk_id}[/]  [dim]{where_}[/]", highlight=False)
        snippet = " ".join(h.text.split())
        out.print(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}", highlight=False, markup=False)



def reindex(
    index: str = IndexOpt,
    embedder: Optional[str] = typer.Option(None, "--embedder", help="Embedder spec: local, local:<folder>, tuned:<name>[@vN]."),
    context: Optional[ContextMode] = typer.Option(None, "--context",
                                                  help="Index every chunk again with this context: header, summary or none."),
    summary_model: Optional[str] = typer.Option(None, "--summary-model",
                                                help="With --context summary: the generator that writes the summaries "
                                                     "(default: [index] summary_model, else the [generation] model)."),
    force: bool = typer.Option(False, "--force", help="Re-embed even when the index already uses this model or context."),
    as_json: bool = JsonFlag,
) -> None:
    """Re-embed every chunk of an index with another embedder, or index every chunk again with another context,
    atomically (searches use the old index until the switch)."""
    idx = workspace().index(index)
    with StageProgress() as progress:
        report = idx.reindex(embedder, progress=progress, force=force, context=context, summary_model=summary_model)
    if as_json:
        emit_json(report.to_json())
    elif context is not None:
        _print_context(index, report)
    elif not report.changed:
        out.print(f"{index} already uses {report.embedder['name']} ({report.embedder['spec']}); "
                  "nothing to do (--force re-embeds)", highlight=False)
    else:
        new, old = report.embedder, report.previous
        out.print(f"{index}: {report.chunks} chunks re-embedded with {new['spec']} ({new['dimension']}-d; "
                  f"was {old['spec']}, {old['dimension']}-d) in {report.seconds:.1f} s", highlight=False)


def _print_context(index: str, report: ReindexReport) -> None:
    mode = report.context["mode"] + (f" ({report.context['model']})" if report.context.get("model") else "")
    if not report.changed:
        out.print(f"{index} already has context {mode}; nothing to do (--force indexes it again)", highlight=False)
        return
    out.print(f"{index}: {report.chunks} chunks indexed with context {mode} (was {report.previous_context['mode']}) "
              f"in {report.seconds:.1f} s", highlight=False)
    cost = report.summaries
    if cost.get("calls"):
        out.print(f"summaries: {cost['calls']} generator calls, {cost['input_tokens']:,} tokens read, "
                  f"{cost['output_tokens']:,} written, {cost['seconds']:.1f} s", highlight=False)



def _minute(stamp: str) -> str:
    """An ISO time as ``2026-12-07 17:21`` (UTC, to the minute); as given when it is not one."""
    try:
        return datetime.fromisoformat(stamp).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def indexes(as_json: bool = JsonFlag) -> None:
    """List the indexes in the workspace."""
    ws = workspace()
    manifests, damaged = ws.indexes(), ws.damaged_indexes()
    if as_json:
        emit_json([index_summary(m) for m in manifests] + [{"name": n, "damaged": why} for n, why in damaged.items()])
        return
    table = Table(title="indexes")
    table.add_column("name", min_width=max((len(m.name) for m in manifests), default=4), no_wrap=True)  # never cut
    for col in ("documents", "chunks"):
        table.add_column(col, justify="right", no_wrap=True)
    for col in ("embedder", "updated (UTC)"):
        table.add_column(col, overflow="fold")
    for m in manifests:
        table.add_row(m.name, f"{m.documents:,}", f"{m.chunks:,}", m.embedder.name, _minute(m.updated_at))
    out.print(table)
    for name, why in damaged.items():
        err.print(f"[bold red]damaged[/] {name}: {why}", highlight=False)



def docs(index: str = IndexOpt, as_json: bool = JsonFlag) -> None:
    """List the documents of an index."""
    documents = workspace().index(index).documents()
    if as_json:
        emit_json([d.to_json() for d in documents])
        return
    table = Table(title=f"documents in {index}")
    widest = max((len(d.doc_id) for d in documents), default=6)
    table.add_column("doc_id", min_width=widest, no_wrap=True)  # ids are never cut: ragtune remove needs them whole
    table.add_column("source", overflow="fold")
    for col in ("version", "chunks"):
        table.add_column(col, justify="right", no_wrap=True)
    facets = [k for k in ("organization", "form", "period") if any(d.metadata.get(k) for d in documents)]  # filled ones
    for col in facets:
        table.add_column(col, overflow="fold")
    table.add_column("hash", no_wrap=True)
    for d in documents:
        table.add_row(d.doc_id, d.source, str(d.version), str(d.chunks), *(str(d.metadata.get(k) or "") for k in facets),
                      d.hash[:8])
    out.print(table)



def remove(doc_ids: list[str] = typer.Argument(..., help="Document ids to remove."), index: str = IndexOpt,
           as_json: bool = JsonFlag) -> None:
    """Remove documents from an index."""
    n = workspace().index(index).remove(doc_ids)
    if as_json:
        emit_json({"index": index, "removed": n})
    else:
        out.print(f"removed {n} document(s) from {index}")


def register(app: typer.Typer) -> None:
    for command in (ingest, search, reindex, indexes, docs, remove):
        app.command()(handle_errors(command))
