"""``ragtune distill``: train a small student on a large teacher's checked answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ragtune.cli.index_commands import workspace
from ragtune.cli.output import emit_json, err, handle_errors, options, out, with_options
from ragtune.cli.tune_commands import LORA_OPTIONS, TrainingProgress, lora_config
from ragtune.errors import InputError

_NOT_HERE = {"base", "launcher", "nproc", "fsdp"}


@handle_errors
@with_options(options(
    questions=(Optional[Path], typer.Option(None, "--questions",
                                            help="Questions the teacher answers (JSONL: id, question[, schema]); "
                                                 "without it, synthetic questions are written from --index.")),
    generate=(int, typer.Option(100, "--generate", min=1, help="Without --questions: how many synthetic questions to write "
                                "from --index (template questions, round-trip checked).")),
    teacher=(str, typer.Option(..., "--teacher", help="The large model: anthropic:..., openai:MODEL@URL, local:... .")),
    student=(str, typer.Option("local", "--student",
                               help="The open-weight model to train (LoRA): local, local:<folder or hub id>.")),
    index=(Optional[str], typer.Option(None, "--index",
                                       help="The teacher answers over this index, with citations that are checked.")),
    json_schema=(Optional[Path], typer.Option(None, "--json-schema",
                                              help="The teacher answers JSON fitting this schema; misfits are dropped.")),
    prices=(Optional[Path], typer.Option(None, "--prices", help="Price file for the teacher's cost (JSON or TOML).")),
    max_length=(int, typer.Option(512, "--max-length", min=16, help="Longest student row in tokens.")),
), [p for p in LORA_OPTIONS if p.name not in _NOT_HERE])
def distill(**opts: Any) -> None:
    """Distil a teacher into a small student: the teacher's answers that abstain, are unsupported by their citations or
    do not fit the schema are dropped and counted; the student is LoRA-trained on the rest. Prints NAME@vN."""
    from ragtune.api import PriceTable, load_schema

    if opts["questions"] is None and opts["index"] is None:
        raise InputError("distill needs --questions FILE (JSONL with id and question per line) for the teacher to answer, "
                         "or --index NAME to write synthetic questions from (ragtune questions generate)")
    if opts["questions"] is not None and not opts["questions"].is_file():
        raise InputError(f"{opts['questions']}: no such file")
    # the student trains on the teacher's kept answers, whichever questions they answer: data is replaced by them
    data = opts["questions"] or Path(f"synthetic-questions-of-{opts['index']}.jsonl")
    config = lora_config({**opts, "base": opts["student"], "four_bit": opts["four_bit"]}, data=data, system=None)
    schema = load_schema(opts["json_schema"]) if opts["json_schema"] is not None else None
    prices = PriceTable.load(opts["prices"]) if opts["prices"] is not None else None
    ws = workspace()
    try:
        with TrainingProgress() as progress:
            card = ws.distill(opts["questions"], opts["teacher"], config, opts["index"], schema, prices, progress,
                              generate=opts["generate"])
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: no version was created[/]")
        raise typer.Exit(130) from None
    if opts["as_json"]:
        emit_json(card.model_dump(mode="json"))
        return
    out.print(card.ref, highlight=False)
    source = (card.data.source if card.data else None) or {}
    counts, cost = source.get("counts", {}), source.get("teacher_cost", {})
    if source.get("synthetic_questions"):
        made = source["synthetic_questions"]
        err.print(f"no --questions: the teacher answered {made['generated']} synthetic questions written from index "
                  f"'{made['index']}' by {made['model']} (round-trip pass rate {made['pass_rate']})", highlight=False)
    err.print(f"teacher {source.get('teacher')}: {counts.get('kept')} of {counts.get('asked')} answers kept "
              f"({counts.get('abstained')} abstained, {counts.get('unsupported')} unsupported, "
              f"{counts.get('invalid')} invalid); teacher cost "
              f"{'$' + format(cost['usd'], '.4f') if cost.get('usd') is not None else 'unknown'}; student eval loss "
              f"{card.metrics.get('eval_loss')}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("distill")(distill)
