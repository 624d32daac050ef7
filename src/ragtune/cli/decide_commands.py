"""``ragtune decide``: measure every candidate on the same held-out questions and recommend what wins per dollar."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ragtune import api
from ragtune.cli.index_commands import EngineOpt, JsonFlag, RayAddressOpt, engine_settings, workspace
from ragtune.api import Engine
from ragtune.cli.output import StageProgress, emit_json, err, handle_errors, out, share_written
from ragtune.api import Decision, parse_duration
from ragtune.api import assumed_figures, format_money
from ragtune.api import PriceTable
from ragtune.api import load_schema
from ragtune.api import DECIDE_ROWS_FIELDS

SchemaOpt = typer.Option(None, "--json-schema", help="JSON Schema of format answers (default: inferred from the examples).")
JudgeOpt = typer.Option(None, "--judge", help="Judge model spec: knowledge answers scored by judged correctness.")
PollOpt = typer.Option(10.0, "--poll-interval", min=0, help="Seconds between polls of a provider's job (-m openai:).")
HoldoutOpt = typer.Option(0.5, "--holdout", help="Share of questions with references held out when tuned candidates train.")
FormatQuestionsOpt = typer.Option(50, "--max-format-questions", min=1, help="At most this many held-out examples are asked.")
ContentMayLeaveOpt = typer.Option(None, "--content-may-leave/--content-stays",
                                  help="Whether content may go to a training pipeline.")
ChangesOpt = typer.Option(None, "--changes-per-month", help="Content changes per month (default: measured).")


def print_decision(decision: Decision) -> None:
    """The candidates side by side, the pick and why, the rules of thumb beside the measurement."""
    cur = decision.config["prices"]["currency"]
    metric = " + ".join(api.metric_info(part).label.replace("_", " ") for part in decision.primary_metric.split("+"))
    quality = Table(title=f"decide: {metric} on {decision.split.get('test')} held-out questions")
    costs = Table(title=f"cost ({cur}, prices as of {decision.config['prices']['as_of']}, "
                        f"{decision.config.get('queries_per_month', 0):,.0f} queries/month)")
    for table, cols in ((quality, ("candidate", "mean [95% CI]", "verdict", "vs best [95% CI]")),
                        (costs, ("candidate", "p50 ms", "per 1k queries", "monthly", "one-off"))):
        for col in cols:  # two tables, so that each reads whole at 80 columns: no interval or figure is cut
            table.add_column(col, justify="left" if col in ("candidate", "verdict") else "right", no_wrap=col != "verdict")
    for name, c in decision.candidates.items():
        if not c.measured:
            continue
        mark = " ★" if name == decision.recommendation else ""
        vs = c.vs_best or {}
        diff = "—" if not vs.get("ci95") else f"{vs['delta']:+.3f} [{vs['ci95'][0]:+.2f}, {vs['ci95'][1]:+.2f}]"
        interval = "" if c.ci95 is None else f" [{c.ci95[0]:.2f}, {c.ci95[1]:.2f}]"
        score = "—" if c.score is None else f"{c.score:.3f}{interval}"
        verdict = (c.verdict or "—") + (" (best)" if name == decision.best else "")
        quality.add_row(name + mark, score, verdict, diff)
        costs.add_row(name + mark, f"{c.latency_ms_p50:,.0f}", format_money(c.cost_per_1k_queries, cur),
                      format_money(c.monthly_usd, cur), format_money(c.one_off_usd, cur))
    out.print(quality)
    out.print(costs)
    for name, c in decision.candidates.items():
        if (assumed := assumed_figures(c, cur)) != "—":
            out.print(f"[dim]{escape(name)} costs assumed: {escape(assumed)}[/]", highlight=False, soft_wrap=True)
    for line in decision.measuring():
        out.print(f"[dim]measuring cost: {escape(line)}[/]", highlight=False, soft_wrap=True)
    for w in decision.verdict.get("warnings", []):
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    for name, c in decision.candidates.items():
        if not c.measured:
            out.print(f"[dim]skipped {escape(name)}: {escape(c.skipped_reason or '')}[/]", highlight=False)
    pick = decision.recommendation or "none"
    settled = decision.verdict.get("settled", True)
    out.print(f"[bold]recommendation: [green]{escape(pick)}[/][/] "
              + ("(measured)" if settled else "(provisional: no candidate is yet shown as good as the best)"))
    for i, r in enumerate(decision.reasons, start=1):
        out.print(f"  {i}. {escape(r)}", highlight=False)
    out.print(f"[bold]rules of thumb alone:[/] {escape(decision.rules_recommendation)}")
    for v in decision.rules:
        verdict = "withheld" if v["withheld"] else (v["favours"] if v["fired"] and v["favours"] else "—")
        out.print(f"  • {escape(v['question'])} {escape(v['explanation'])} [dim]→ {escape(str(verdict))}[/]", highlight=False)
    for d in decision.disagreements:
        out.print(f"[yellow]measured vs rules of thumb:[/] {escape(d)}", highlight=False)
    if decision.what_would_change:
        out.print("[bold]what would change the answer[/]")
        for w in decision.what_would_change:
            out.print(f"  • {escape(w)}", highlight=False)
    for n in decision.notes:
        err.print(f"[dim]note: {escape(n)}[/]", highlight=False, soft_wrap=True)


def run_decision(fields: dict, out_file: Optional[Path], report: Optional[Path], as_json: bool,
                 settings: Optional[dict] = None) -> None:
    """Run the decision with a progress display, write what was asked for, and print it (``settings``: configuration
    overrides such as the engine)."""
    try:
        with StageProgress() as progress:
            decision = workspace(**(settings or {})).decide(progress=progress, **fields)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: finished trainings and candidates are kept, and a provider's fine-tuning job keeps "
                  "running; the same command with --resume goes on from there (and follows that job)[/]")
        raise typer.Exit(130) from None
    finish_decision(decision, out_file, report, as_json)


def finish_decision(decision: Decision, out_file: Optional[Path], report: Optional[Path], as_json: bool) -> None:
    """Write the decision and its report where asked, and print it."""
    if out_file is not None:
        decision.write(out_file)
    if report is not None:
        api.write_decision_report(decision, report)
    share_written(out_file, report)
    if as_json:
        emit_json(decision.to_json())
    else:
        print_decision(decision)
    for path, what in ((out_file, "decision with per-question rows"), (report, "report")):
        if path is not None:
            err.print(f"{what} written to {path}", highlight=False, soft_wrap=True)


@handle_errors
def decide(
    questions: Optional[Path] = typer.Option(None, "--questions", "-q", help="Question set (JSONL): knowledge rows with "
                                             "reference answers and/or format rows with reference_output."),
    examples: Optional[Path] = typer.Option(None, "--examples", help="Labelled examples (JSONL): ft trains on them, the prompt "
                                            "candidate shows a few, and a held-out share become format questions."),
    index: Optional[str] = typer.Option(None, "--index", "-i", help="Index the rag candidates search (optional)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model spec every candidate uses (default: configured)."),
    candidates: str = typer.Option("base,prompt,rag,ft,rag+ft", "--candidates", help="Comma-separated candidates to measure."),
    json_schema: Optional[Path] = SchemaOpt,
    metric: Optional[str] = typer.Option(None, "--metric", help="Primary metric overriding the rule (e.g. exact_match)."),
    judge: Optional[str] = JudgeOpt,
    teacher: Optional[str] = typer.Option(None, "--teacher", help="Teacher spec: adds the candidates distilled and teacher."),
    budget: str = typer.Option("20m", "--budget", help="Training time shared by ft and rag+ft (e.g. 90s, 20m, 1h)."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Cap on optimiser steps per training."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Training batch size."),
    max_length: int = typer.Option(512, "--max-length", min=32, help="Longest training row in tokens."),
    device: str = typer.Option("cpu", "--device", help="Where training runs: cpu, cuda or auto."),
    poll_interval: float = PollOpt,
    holdout: float = HoldoutOpt,
    examples_holdout: float = typer.Option(0.2, "--examples-holdout", help="Share of examples held out as format questions."),
    max_format_questions: int = FormatQuestionsOpt,
    shots: int = typer.Option(3, "--shots", min=0, max=20, help="Few-shot examples in the prompt candidate."),
    seed: int = typer.Option(0, "--seed", help="Seed of the splits, the few-shot draw and training."),
    queries_per_month: Optional[float] = typer.Option(None, "--queries-per-month", help="Queries answered per month "
                                                      "(default 10,000, labelled assumed)."),
    months: Optional[int] = typer.Option(None, "--months", help="Horizon over which one-off costs are spread (default 12, "
                                         "labelled assumed)."),
    margin: float = typer.Option(0.03, "--margin", help="A candidate within this of the best on the primary metric "
                                 "(absolute) is as good as it."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Task weights, e.g. knowledge=0.7,format=0.3 "
                                          "(default: each task's share of the questions)."),
    repeats: int = typer.Option(1, "--repeats", min=1, max=20, help="Measure N times, seeds seed..seed+N-1: the seed spread."),
    rows: Optional[Path] = typer.Option(None, "--rows", help="Decide again from per-question rows (JSONL, or a decide --out "
                                        "file) without running any model."),
    latency_budget_ms: Optional[float] = typer.Option(None, "--latency-budget-ms", help="p50 latency a candidate may take."),
    attribution: Optional[bool] = typer.Option(None, "--attribution/--no-attribution", help="Whether answers must cite sources."),
    content_may_leave: Optional[bool] = ContentMayLeaveOpt,
    changes_per_month: Optional[float] = ChangesOpt,
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price file (JSON or TOML) overriding the dated defaults."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run: finished phases are not redone."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write the decision with every per-question row (JSON)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a report: .html (quality against cost chart) or .md."),
    engine: Optional[Engine] = EngineOpt,
    ray_address: Optional[str] = RayAddressOpt,
    as_json: bool = JsonFlag,
) -> None:
    """Measure base, prompt, rag, ft and rag+ft on the same held-out questions; recommend the cheapest as good as the best."""
    fields: dict[str, Any] = dict(
        margin=margin, weights=weights, repeats=repeats, questions=questions, examples=examples, index=index, model=model,
        candidates=candidates, json_schema=load_schema(json_schema) if json_schema is not None else None, metric=metric,
        judge=judge, teacher=teacher, budget_s=parse_duration(budget), max_steps=max_steps, batch_size=batch_size,
        max_length=max_length, device=device, poll_interval_s=poll_interval, holdout=holdout, examples_holdout=examples_holdout,
        max_format_questions=max_format_questions, shots=shots, seed=seed, queries_per_month=queries_per_month, months=months,
        latency_budget_ms=latency_budget_ms, attribution=attribution, content_may_leave=content_may_leave,
        changes_per_month=changes_per_month, prices=PriceTable.load(prices) if prices is not None else None, resume=resume)
    fields = {k: v for k, v in fields.items() if v is not None or k not in ("queries_per_month", "months", "weights")}
    if rows is not None:
        rows_fields = {k: v for k, v in fields.items() if k in DECIDE_ROWS_FIELDS}
        return finish_decision(workspace().decide_rows(rows, **rows_fields), out_file, report, as_json)
    run_decision(fields, out_file, report, as_json, engine_settings(engine, ray_address))


def register(app: typer.Typer) -> None:
    app.command()(decide)
