"""The decision commands: ``advise`` (rag, ft, rag+ft or prompt, with reasons and costs) and ``cost`` (the cost model alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ragtune import api
from ragtune.api import format_money, format_value
from ragtune.cli.index_commands import JsonFlag, workspace
from ragtune.cli.output import emit_json, err, handle_errors, options, out, share_written, with_options


def _needs(opts: dict[str, Any]) -> dict[str, Any]:
    """The stated needs among a command's options (those a command does not take are None)."""
    return {"queries_per_month": opts["queries_per_month"], "months": opts["months"],
            "latency_budget_ms": opts.get("latency_budget_ms"), "attribution_required": opts.get("attribution"),
            "content_may_leave": opts["content_may_leave"], "changes_per_month": opts["changes_per_month"]}


def print_costs(costs) -> None:
    """The cost tables on the terminal."""
    cur = costs.currency
    table = Table(title=f"costs ({cur}, prices as of {costs.prices_as_of}) at {costs.queries_per_month:,.0f} queries/month")
    for col in ("approach", "one-off", "fixed/month", "per 1k queries", "monthly", f"total {costs.months} months"):
        table.add_column(col, justify="left" if col == "approach" else "right")
    for name, v in costs.variants.items():
        style = "bold" if v.approach == costs.cheapest else None
        table.add_row(name, format_money(v.one_off), format_money(v.monthly_fixed), format_money(v.per_query * 1000),
                      format_money(v.monthly), format_money(v.cumulative[-1]), style=style)
    out.print(table)
    if costs.break_even:
        be = Table(title="break-even (over the horizon)")
        for col in ("cheaper at high volume", "than", "above queries/month", "payback at stated volume"):
            be.add_column(col)
        for b in costs.break_even:
            be.add_row(b.cheaper_at_high_volume.value, b.cheaper_at_low_volume.value, f"{b.queries_per_month:,.0f}",
                       "—" if b.payback_months is None else f"{b.payback_months:.1f} months")
        out.print(be)
    for a in costs.assumptions:
        err.print(f"[dim]assumes: {escape(a)}[/]", highlight=False, soft_wrap=True)


def print_advice(rec) -> None:
    """The recommendation, its rules and costs on the terminal."""
    out.print(f"[bold]recommendation: [green]{rec.recommendation.value}[/][/]")
    for i, r in enumerate(rec.reasons, start=1):
        out.print(f"  {i}. {escape(r)}", highlight=False)
    for d in rec.disagreements:
        out.print(f"[yellow]measured vs rules of thumb:[/] {escape(d)}", highlight=False)
    for w in rec.warnings:
        out.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    rules = Table(title="the five questions")
    for col in ("question", "measured or stated", "threshold", "verdict"):
        rules.add_column(col, overflow="fold")
    for v in rec.rules:
        verdict = "withheld" if v.withheld else (v.favours.value if v.fired and v.favours else "—")
        rules.add_row(*(escape(x) for x in (v.question, format_value(v.value, v.fact), format_value(v.threshold, v.fact),
                                            verdict)))
    out.print(rules)
    if rec.eval is not None:
        ev = Table(title=f"eval: {rec.eval.metric}")
        for col in ("variant", rec.eval.metric, "±95%"):
            ev.add_column(col)
        for name, m in rec.eval.scores.items():
            ev.add_row(name, f"{m.mean:.3f}", "—" if m.ci95 is None else f"{m.ci95:.3f}")
        out.print(ev)
    print_costs(rec.costs)
    if rec.what_would_change:
        out.print("[bold]what would change the answer[/]")
        for w in rec.what_would_change:
            out.print(f"  • {escape(w)}", highlight=False)
    out.print(f"[bold]next:[/] {escape(rec.next_command)}", highlight=False)


def _finish(costs, rec, report: Optional[Path], as_json: bool) -> None:
    """Write the report if asked, then print the advice (or the costs alone) as JSON or tables."""
    if report is not None:
        api.write_advice_report(report, costs, rec)
        share_written(report)
    if as_json:
        emit_json(rec.to_json() if rec is not None else costs.model_dump(mode="json"))
    elif rec is not None:
        print_advice(rec)
    else:
        print_costs(costs)
    if report is not None:
        err.print(f"report written to {report}", highlight=False, soft_wrap=True)


def _settings(opts: dict[str, Any]):
    """The advisor's settings from ``--config`` and ``--set``, with the price table of ``--prices``."""
    cfg = api.load_advisor_config(opts["config"], opts["settings"])
    return cfg if opts["prices"] is None else cfg.model_copy(update={"prices": api.PriceTable.load(opts["prices"])})


NEEDS_OPTIONS = options(
    index=(Optional[str], typer.Option(None, "--index", "-i", help="Index whose corpus and change history are measured.")),
    examples=(Optional[Path], typer.Option(None, "--examples", help="Fine-tuning examples (JSONL) to measure.")),
    eval_file=(Optional[Path], typer.Option(None, "--eval",
                                            help="Results of 'ragtune eval --out': measured scores outrank rules of thumb.")),
    queries_per_month=(float, typer.Option(..., "--queries-per-month", help="Queries answered per month.")),
    months=(int, typer.Option(12, "--months", help="Horizon of the cost comparison, in months.")),
    content_may_leave=(Optional[bool], typer.Option(None, "--content-may-leave/--content-stays",
                                                    help="Whether content may go to a training pipeline.")),
    changes_per_month=(Optional[float], typer.Option(None, "--changes-per-month",
                                                     help="Content change cycles per month (overrides the measured rate).")),
)
SETTINGS_OPTIONS = options(
    config=(Optional[Path], typer.Option(None, "--config",
                                         help="Prices and thresholds: a TOML or JSON file with [costs] and [rules].")),
    settings=(list[str], typer.Option([], "--set",
                                      help="Override one setting: costs.FIELD=VALUE or rules.FIELD=VALUE (repeatable).")),
    prices=(Optional[Path], typer.Option(None, "--prices", help="Price file (JSON or TOML) shared with eval and decide: "
                                                                "store hosting, machine rates, model prices.")),
    report=(Optional[Path], typer.Option(None, "--report", help="Also write a report: .html (with the cost charts) or .md.")),
    as_json=(bool, JsonFlag),
)


@handle_errors
@with_options(NEEDS_OPTIONS, options(
    latency_budget_ms=(Optional[float], typer.Option(None, "--latency-budget-ms", help="p50 latency an answer may take.")),
    attribution=(Optional[bool], typer.Option(None, "--attribution/--no-attribution",
                                              help="Whether answers must cite their sources.")),
    model=(Optional[str], typer.Option(None, "--model", "-m", help="Generator spec: its tokenizer counts tokens where known.")),
), SETTINGS_OPTIONS)
def advise(**opts: Any) -> None:
    """Recommend rag, ft, rag+ft or prompt from measured facts, with reasons, evidence, costs and the next command."""
    cfg = _settings(opts)
    if opts["model"] and cfg.tokenizer is None:
        cfg = cfg.model_copy(update={"tokenizer": opts["model"]})
    rec = workspace().advise(_needs(opts), index=opts["index"], examples=opts["examples"], evaluation=opts["eval_file"],
                             model=opts["model"], config=cfg)
    _finish(rec.costs, rec, opts["report"], opts["as_json"])


@handle_errors
@with_options(NEEDS_OPTIONS, SETTINGS_OPTIONS)
def cost(**opts: Any) -> None:
    """The cost model alone: monthly and cumulative cost per approach, break-even volumes, sensitivity."""
    cfg = _settings(opts)
    costs = workspace().cost(_needs(opts), index=opts["index"], examples=opts["examples"], evaluation=opts["eval_file"],
                             config=cfg)
    _finish(costs, None, opts["report"], opts["as_json"])


def register(app: typer.Typer) -> None:
    app.command()(advise)
    app.command()(cost)
