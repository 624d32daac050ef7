"""The ``ask`` command: a cited answer from an index, or the model alone without ``--index``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ragtune.api import Answer, Workspace
from ragtune.cli.output import emit_json, err, handle_errors, out
from ragtune.api import RagtuneConfig, SearchMode
from ragtune.api import load_schema

ModelOpt = typer.Option(None, "--model", "-m", help="Model spec: extractive, local[:<dir>], gguf:<file>, "
                        "anthropic:<model>, openai:<model>@<url>, tuned:<name>[@vN] (default: configured, RAGTUNE_MODEL).")


def print_answer(answer: Answer, streamed: str | None = None) -> None:
    """The answer with its [n] markers, then the numbered sources (for people, not for tools)."""
    if answer.structured is not None:
        s = answer.structured
        text = json.dumps(s.value, ensure_ascii=False, indent=2) if s.value is not None else answer.answer
        out.print(text, markup=False, highlight=False)
        verdict = "fits the schema" if s.valid else "does not fit the schema: " + "; ".join(s.errors[:3])
        err.print(f"[dim]{verdict} ({s.attempts} attempt{'s' if s.attempts > 1 else ''})[/]", highlight=False)
        return
    if streamed is None or streamed.strip() != answer.answer.strip():
        if streamed:
            out.print("\n\n[dim]— answer as cited —[/]")
        out.print(answer.answer, markup=False, highlight=False)
    else:
        out.print()
    if answer.abstained:
        err.print(f"[dim]abstained: {answer.abstain_reason}[/]", highlight=False)
    if answer.citations:
        out.print("\n[bold]Sources[/]")
    for c in answer.citations:
        where = c.source + (f", page {c.page}" if c.page else "")
        out.print(f"[bold][{c.marker}][/] {where}  [dim]{c.chunk_id}  support {c.support:.2f}[/]", highlight=False)
        quote = " ".join(c.quote.split())
        out.print(f"    “{quote[:240]}{'…' if len(quote) > 240 else ''}”", markup=False, highlight=False)
    for d in answer.dropped_citations:
        err.print(f"[yellow]dropped citation[/] {d['marker']}: {d['reason']}", highlight=False, markup=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def ask(
        question: str = typer.Argument(..., help="The question."),
        index: Optional[str] = typer.Option(None, "--index", "-i",
                                            help="Index to answer from; without it the model answers alone."),
        model: Optional[str] = ModelOpt,
        k: Optional[int] = typer.Option(None, "--k", "-k", min=1, help="Context blocks given to the model (default 3)."),
        rerank: Optional[str] = typer.Option(None, "--rerank", help="Reranker spec: local:<CrossEncoder dir>, tuned:<name>."),
        mode: Optional[SearchMode] = typer.Option(None, "--mode", help="Retrieval: lexical, dense or hybrid."),
        max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Most tokens in the answer."),
        temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, max=2.0, help="0 is greedy."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed for sampling."),
        json_schema: Optional[Path] = typer.Option(None, "--json-schema", help="Answer with JSON that fits this JSON Schema "
                                                   "file (instructed, validated, repaired once)."),
        repairs: int = typer.Option(1, "--repairs", min=0,
                                    help="With --json-schema: repair turns for a reply that does not fit."),
        system: Optional[str] = typer.Option(None, "--system", help="System prompt (added before the context instructions; "
                                             "replaces the default without --index)."),
        stream: bool = typer.Option(False, "--stream",
                                    help="Print the model's text as it is written (with --json: JSONL deltas, then the answer)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else."),
        where: list[str] = typer.Option([], "--where", help="Only chunks whose metadata FIELD=VALUE (repeatable), "
                                        "e.g. --where period=2023-Q3."),
    ) -> None:
        """Answer a question with citations from an index (or with the model alone)."""
        from ragtune.cli.index_commands import parse_filters

        config = RagtuneConfig.load({"generation": {"max_new_tokens": max_tokens, "temperature": temperature, "seed": seed}})
        schema = load_schema(json_schema) if json_schema is not None else None
        ws = Workspace(config)
        pieces: list[str] = []

        def on_text(piece: str) -> None:
            pieces.append(piece)
            if as_json:
                emit_json({"delta": piece})
            else:
                sys.stdout.write(piece)
                sys.stdout.flush()

        answer = ws.ask(question, index, model=model, k=k, rerank=rerank, mode=mode, on_text=on_text if stream else None,
                        schema=schema, repairs=repairs, system=system, filters=parse_filters(None, None, where))
        if as_json:
            emit_json(answer.to_json())
        else:
            print_answer(answer, "".join(pieces) if stream else None)
