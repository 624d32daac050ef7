"""The ``eval`` commands: run a question set over the variants (the default command), compare two runs,
score retrieval against judgements, and test knowledge updates without retraining."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from typer.core import TyperGroup

from ragtune.api import EvalConfig, EvalResult, Workspace, compare_runs, write_eval_report
from ragtune.cli.output import StageProgress, emit_json, err, handle_errors, out, share_written
from ragtune.cli.index_commands import EngineOpt, RayAddressOpt, engine_settings
from ragtune.api import Engine, RagtuneConfig, SearchMode
from ragtune.errors import InputError
from ragtune.api import SchemaMode
from ragtune.api import PriceTable
from ragtune.api import load_beir, load_questions
from ragtune.api import metric_table
from ragtune.api import read_qrels
from ragtune.api import DatedDocFields, TimedQuestionFields, UpdatesConfig, write_updates
from ragtune.api import load_schema

JsonFlag = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")
ModelOpt = typer.Option(None, "--model", "-m", help="Model spec of base and rag (default: configured, RAGTUNE_MODEL).")
QuestionsOpt = typer.Option(None, "--questions", "-q", help="Question set (JSONL: id, question, and any references).")
SchemaOpt = typer.Option(None, "--json-schema", help="JSON Schema for questions that carry none (format tasks).")
JudgeOpt = typer.Option(None, "--judge", help="Judge correctness with this model spec "
                        "('auto': Claude when ANTHROPIC_API_KEY is set).")
ConcurrencyOpt = typer.Option(None, "--concurrency", min=1, max=64,
                              help="Questions in flight (default: 4 for remote models, else 1).")


class DefaultRunGroup(TyperGroup):
    """``ragtune eval QUESTIONS ...`` runs the ``run`` command; ``compare``, ``retrieval``, ``updates`` are named."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=DefaultRunGroup, no_args_is_help=True, add_completion=False,
                       help="Side-by-side evaluation: base, rag, ft and rag+ft on one question set, with reports.")


def _workspace(max_tokens: int | None = None, temperature: float | None = None, seed: int | None = None, **more) -> Workspace:
    return Workspace(RagtuneConfig.load({"generation": {"max_new_tokens": max_tokens, "temperature": temperature, "seed": seed},
                                         **more}))


def _print_table(result: EvalResult) -> None:
    table = Table(title=f"eval: {result.config.get('question_count')} questions")
    table.add_column("metric")
    for variant in result.variants:
        table.add_column(variant, justify="right")
    for label, cells in metric_table(result):
        table.add_row(label, *cells)
    out.print(table)


def _parse_date(value: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} '{value}': expected a date like 2022-01-31") from None


def _checked_files(questions: Optional[Path], reports: list[Path]) -> Path:
    """The question file (``--questions`` or the positional spelling); reports are .html or .md."""
    if questions is None:
        raise InputError("give the question set with --questions FILE")
    for report in reports:
        if report.suffix.lower() not in (".html", ".htm", ".md", ".markdown"):
            raise InputError(f"--report {report}: the format is the extension, .html or .md")
    return questions


@eval_app.command("run")
@handle_errors
def run(
    questions_arg: Optional[Path] = typer.Argument(None, hidden=True, show_default=False),
    questions_opt: Optional[Path] = QuestionsOpt,
    index: Optional[str] = typer.Option(None, "--index", "-i", help="Index that rag and rag+ft retrieve from."),
    variants: str = typer.Option("base,rag", "--variants", help="Comma-separated: base, rag, ft, rag+ft."),
    model: Optional[str] = ModelOpt,
    tuned: Optional[str] = typer.Option(None, "--tuned", help="Tuned model of ft and rag+ft: tuned:NAME[@vN] (or NAME)."),
    k: Optional[int] = typer.Option(None, "--k", "-k", min=1, help="Context blocks per answer (default 3)."),
    mode: Optional[SearchMode] = typer.Option(None, "--mode", help="Retrieval: lexical, dense or hybrid."),
    rerank: Optional[str] = typer.Option(None, "--rerank", help="Reranker spec for the retrieval variants."),
    system: Optional[str] = typer.Option(None, "--system", help="System prompt for every variant (e.g. a tuned model's)."),
    json_schema: Optional[Path] = SchemaOpt,
    schema_mode: SchemaMode = typer.Option(SchemaMode.structured, "--schema-mode", help="structured: schema in the prompt, "
                                           "reply validated and repaired; prompt: schema in the prompt only; score: not told, "
                                           "only scored."),
    repairs: int = typer.Option(1, "--repairs", min=0, max=5, help="Repair turns in structured mode."),
    judge: Optional[str] = JudgeOpt,
    depth: int = typer.Option(10, "--depth", min=1, help="Ranks searched for recall, MRR and nDCG."),
    concurrency: Optional[int] = ConcurrencyOpt,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Generate again even where a cached answer exists."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price file (JSON or TOML) overriding the dated defaults."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Most tokens in an answer."),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, max=2.0, help="0 is greedy."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for sampling."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write the results JSON here."),
    reports: list[Path] = typer.Option([], "--report", "--markdown", help="Write a report; the format is the file's "
                                       "extension: .html or .md (repeatable)."),
    engine: Optional[Engine] = EngineOpt,
    ray_address: Optional[str] = RayAddressOpt,
    as_json: bool = JsonFlag,
) -> None:
    """Answer a question set with each variant and score them side by side (cached: a rerun costs nothing)."""
    questions = _checked_files(questions_opt or questions_arg, reports)
    schema = load_schema(json_schema) if json_schema is not None else None
    tuned = tuned.removeprefix("tuned:") if tuned else None
    config = EvalConfig.create(variants=variants, model=model, tuned=tuned, index=index, k=k, mode=mode, rerank=rerank,
                               system=system, schema_mode=schema_mode, repairs=repairs, judge=judge, retrieval_depth=depth,
                               concurrency=concurrency, cache=not no_cache,
                               prices=PriceTable.load(prices) if prices is not None else None)
    ws = _workspace(max_tokens, temperature, seed, **engine_settings(engine, ray_address))
    with StageProgress() as progress:
        result = ws.evaluate(questions, config, schema=schema, limit=limit, progress=progress)
    if out_file is not None:
        result.write(out_file)
    for path in reports:
        write_eval_report(result, path)
    share_written(out_file, *reports)
    if as_json:
        emit_json(result.to_json())
        return
    _print_table(result)
    run_info = result.config.get("run", {})
    err.print(f"[dim]{run_info.get('generated', 0)} answers generated, {run_info.get('cached', 0)} from the cache, "
              f"{run_info.get('wall_s', 0):.1f} s[/]", highlight=False)
    for note in result.notes:
        err.print(f"[yellow]note[/] {note}", highlight=False)
    for written in (out_file, *reports):
        if written is not None:
            err.print(f"wrote {written}", highlight=False, soft_wrap=True)


@eval_app.command("compare")
@handle_errors
def compare(
    a: Path = typer.Argument(..., help="Results JSON of the earlier run."),
    b: Path = typer.Argument(..., help="Results JSON of the later run."),
    markdown: Optional[Path] = typer.Option(None, "--report", "--markdown", help="Write the comparison as Markdown (.md) here."),
    as_json: bool = JsonFlag,
) -> None:
    """What changed from run A to run B, metric by metric, with 95% intervals of the difference."""
    comparison = compare_runs(a, b)
    if markdown is not None:
        from ragtune.api import write_text

        write_text(markdown, comparison.to_markdown())
    if as_json:
        emit_json(comparison.to_json())
        return
    table = Table(title=f"{a.name} → {b.name}")
    for col in ("variant", "metric", "A", "B", "B − A", "95% CI", ""):
        table.add_column(col, justify="left" if col in ("variant", "metric", "") else "right")
    from ragtune.api import metric_info
    from ragtune.api import format_metric_value as format_value

    styles = {"better": "[green]better[/]", "worse": "[red]worse[/]", "changed": "[yellow]changed[/]", "same": ""}
    for c in comparison.changes:
        table.add_row(c.variant, metric_info(c.metric).label, format_value(c.metric, c.a), format_value(c.metric, c.b),
                      f"{c.delta:+.4g}", f"[{c.ci95[0]:+.4g}, {c.ci95[1]:+.4g}]", styles[c.verdict])
    out.print(table)
    for key, values in comparison.settings.items():
        err.print(f"[dim]setting {key}: {values['a']!r} → {values['b']!r}[/]", highlight=False, markup=True)
    for note in comparison.notes:
        err.print(f"[yellow]note[/] {note}", highlight=False)


@eval_app.command("retrieval")
@handle_errors
def retrieval(
    index: str = typer.Option(..., "--index", "-i", help="Index to score."),
    beir: Optional[Path] = typer.Option(None, "--beir", help="BEIR folder (queries.jsonl, qrels/<split>.tsv)."),
    split: str = typer.Option("test", "--split", help="BEIR qrels split."),
    questions: Optional[Path] = typer.Option(None, "--questions", help="Question set with gold_doc_ids (or use --qrels)."),
    qrels: Optional[Path] = typer.Option(None, "--qrels", help="Judgements (.tsv: query-id, corpus-id, score) for --questions."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="Cut-off of nDCG and MRR."),
    recall_k: int = typer.Option(100, "--recall-k", min=1, help="Cut-off of recall."),
    mode: Optional[SearchMode] = typer.Option(None, "--mode", help="Retrieval: lexical, dense or hybrid."),
    rerank: Optional[str] = typer.Option(None, "--rerank", help="Reranker spec."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write the scores as JSON here."),
    as_json: bool = JsonFlag,
) -> None:
    """nDCG@k, recall and MRR of an index against relevance judgements, with 95% intervals."""
    judgements: dict[str, dict[str, int]] | None
    if beir is not None and questions is None:
        rows, judgements = load_beir(beir, split)
    elif questions is not None and beir is None:
        rows, judgements = load_questions(questions), read_qrels(qrels) if qrels is not None else None
    else:
        raise InputError("give either --beir FOLDER or --questions FILE")
    report = _workspace().evaluate_retrieval(index, rows, judgements, ndcg_k=(k,), recall_k=(recall_k,), mrr_k=(k,),
                                             mode=mode, rerank=rerank)
    if out_file is not None:
        from ragtune.api import write_text

        write_text(out_file, json.dumps(report, indent=2) + "\n")
    if as_json:
        emit_json(report)
        return
    table = Table(title=f"retrieval: {index} ({report['judged']} judged queries, {report['mode']})")
    for col in ("metric", "mean", "95% CI"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, agg in report["metrics"].items():
        table.add_row(name, f"{agg['mean']:.4f}", f"[{agg['ci95'][0]:.4f}, {agg['ci95'][1]:.4f}]")
    out.print(table)


@eval_app.command("updates")
@handle_errors
def updates(
    docs: Path = typer.Option(..., "--docs", help="Dated corpus (JSONL)."),
    questions: Path = typer.Option(..., "--questions", help="Questions with validity windows (JSONL)."),
    t1: str = typer.Option(..., "--t1", help="First cut-off date (the tuned model's training date), e.g. 2022-01-01."),
    t2: str = typer.Option(..., "--t2", help="Second cut-off date, after T1."),
    index: str = typer.Option("updates", "--index", "-i", help="Index made for the test (not one holding other documents)."),
    model: Optional[str] = ModelOpt,
    tuned: Optional[str] = typer.Option(None, "--tuned",
                                        help="Tuned model tuned:NAME[@vN] (or NAME) trained at T1; without it, rag only."),
    k: Optional[int] = typer.Option(None, "--k", "-k", min=1, help="Context blocks per answer."),
    mode: Optional[SearchMode] = typer.Option(None, "--mode", help="Retrieval: lexical, dense or hybrid."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Ask a seeded sample of at most N changed questions."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample."),
    skip_yes_no: bool = typer.Option(False, "--skip-yes-no", help="Leave out questions answered yes or no."),
    id_field: str = typer.Option("_id", "--id-field", help="Corpus: id field."),
    text_field: str = typer.Option("text", "--text-field", help="Corpus: text field."),
    date_field: str = typer.Option("source_date", "--date-field", help="Corpus: date field."),
    title_field: str = typer.Option("title", "--title-field", help="Corpus: title field."),
    question_field: str = typer.Option("question", "--question-field", help="Questions: question field."),
    answer_field: str = typer.Option("answer", "--answer-field", help="Questions: answer field."),
    valid_from_field: str = typer.Option("valid_from", "--valid-from-field", help="Questions: start of the validity window."),
    valid_to_field: str = typer.Option("valid_to", "--valid-to-field", help="Questions: end of the validity window."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Most tokens in an answer."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write the result JSON here."),
    as_json: bool = JsonFlag,
) -> None:
    """Ingest up to T1, ask; ingest up to T2, ask again: the share of answers that moved to the new truth."""
    config = UpdatesConfig.create(
        docs=docs, questions=questions, t1=_parse_date(t1, "--t1"), t2=_parse_date(t2, "--t2"), index=index, model=model,
        tuned=tuned.removeprefix("tuned:") if tuned else None, k=k, mode=mode, limit=limit, seed=seed, skip_yes_no=skip_yes_no,
        doc_fields=DatedDocFields(id=id_field, text=text_field, date=date_field, title=title_field),
        question_fields=TimedQuestionFields(question=question_field, answer=answer_field, valid_from=valid_from_field,
                                            valid_to=valid_to_field))
    with StageProgress() as progress:
        result = _workspace(max_tokens).evaluate_updates(config, progress)
    if out_file is not None:
        write_updates(result, out_file)
    if as_json:
        emit_json(result.to_json())
        return
    cfg = result.config
    table = Table(title=f"updates {cfg['t1']} → {cfg['t2']}: {cfg['questions_asked']} changed questions")
    table.add_column("variant")
    names = {"old_truth_t1": "old truth at T1", "new_truth_t2": "new truth at T2", "stale_t2": "stale at T2", "moved": "moved"}
    for name in names.values():
        table.add_column(name, justify="right")
    for variant, metrics in result.variants.items():
        table.add_row(variant, *(f"{metrics[m]['mean']:.3f} [{metrics[m]['ci95'][0]:.2f}, "
                                 f"{metrics[m]['ci95'][1]:.2f}]" for m in names))
    out.print(table)
    for note in result.notes:
        err.print(f"[yellow]note[/] {note}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
