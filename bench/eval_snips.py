"""Format task: SNIPS utterances to {"intent", "slots"} JSON with the default local model, through ``ragtune eval``.

Compares, on a seeded sample of the 700 test rows (every intent represented), three ways to get the format:

- ``base (schema in the prompt)``: the JSON Schema in the system prompt, the reply scored as it is
  (``--schema-mode prompt``);
- ``base + --json-schema``: the same prompt, the reply validated and, when it does not fit, repaired once
  (``--schema-mode structured``, what ``ask --json-schema`` does);
- ``ft``: a LoRA model tuned on SNIPS (from the registry, ``--tuned NAME``), asked with its training prompt and
  not told the schema (``--schema-mode score``). None is trained here: without one, ft is not measured.

The schema is the compact one of bench/lora_snips.py (intents and slot names), used both in the prompt and
to score validity. Records JSON parse rate, schema validity, exact output, intent accuracy (field_acc.intent),
field F1, latency and tokens with 95% intervals; writes bench/results/eval_snips.json.

    python bench/eval_snips.py [--rows 21] [--tuned snips-intents@v1] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT  # noqa: E402 - offline, single-thread settings and the src path

from lora_snips import DATA, SYSTEM, prompt_schema, read_jsonl  # noqa: E402

from ragtune.api import EvalConfig, Workspace, write_eval_report as write_report  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FIGURES = ["json_valid", "schema_valid", "output_exact", "field_acc.intent", "fields_f1", "latency_ms_p50",
           "latency_ms_p95", "input_tokens", "output_tokens"]


def sample(rows: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` rows, round-robin over intents after a seeded shuffle (every intent represented)."""
    rng = random.Random(seed)
    by_intent: dict[str, list[dict]] = {}
    for row in rows:
        by_intent.setdefault(row["output"]["intent"], []).append(row)
    for group in by_intent.values():
        rng.shuffle(group)
    picked: list[dict] = []
    while len(picked) < n and any(by_intent.values()):
        for intent in sorted(by_intent):
            if by_intent[intent] and len(picked) < n:
                picked.append(by_intent[intent].pop())
    return picked


def find_tuned(ws: Workspace) -> str | None:
    """The latest version of a registry model whose name mentions snips, if any."""
    cards = [c for c in ws.model_cards() if "snips" in c.name and c.kind == "lora"]
    return max(cards, key=lambda c: (c.created_at, c.version)).ref if cards else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=21, help="Test rows evaluated (of 700; 3 per intent by default).")
    parser.add_argument("--tuned", default=None, help="Tuned SNIPS model NAME[@vN] (default: one found in the registry).")
    parser.add_argument("--max-new-tokens", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", default=None, help="Workspace (default: RAGTUNE_HOME, else a temporary folder).")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    home = args.home or os.environ.get("RAGTUNE_HOME") or tempfile.mkdtemp(prefix="eval_snips_")
    ws = Workspace(RagtuneConfig.load({"home": home, "generation": {"max_new_tokens": args.max_new_tokens}}))
    slots = json.loads((DATA / "schema_slots_per_intent.json").read_text(encoding="utf-8"))
    schema = prompt_schema(slots)
    test = read_jsonl(DATA / "test.jsonl")
    rows = sample(test, args.rows, args.seed)
    work = Path(tempfile.mkdtemp(prefix="eval_snips_q_"))
    questions = work / "snips_test.jsonl"
    questions.write_text("".join(json.dumps({"id": f"t{test.index(r)}", "question": r["input"], "reference_output": r["output"]},
                                            ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tuned = args.tuned or find_tuned(ws)

    def progress(stage: str, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            print(f"  {stage} {done}/{total}", file=sys.stderr, flush=True)

    runs = [("base (schema in the prompt)", dict(variants="base", schema_mode="prompt")),
            ("base + --json-schema", dict(variants="base", schema_mode="structured", repairs=1))]
    if tuned:
        runs.append(("ft", dict(variants="ft", tuned=tuned, schema_mode="score")))
    out = {"data": str(DATA), "test_rows": len(test), "rows": len(rows),
           "intents": sorted({r["output"]["intent"] for r in rows}), "model": ws.config.generation.model,
           "system_prompt": SYSTEM, "schema": "compact (intents and slot names; bench/lora_snips.py prompt_schema)",
           "max_new_tokens": args.max_new_tokens, "device": "cpu", "threads": ws.config.threads, "tuned": tuned, "runs": []}
    if not tuned:
        out["notes"] = ["no tuned SNIPS model in the registry: ft not measured (bench/lora_snips.py trains one; "
                        "pass --tuned NAME@vN)"]
    for label, settings in runs:
        started = time.perf_counter()
        result = ws.evaluate(questions, EvalConfig.create(model="local", system=SYSTEM, **settings), schema=schema, progress=progress)
        wall = time.perf_counter() - started
        name = "eval_snips_" + label.split()[0] + ("_structured" if settings.get("schema_mode") == "structured" else "")
        write_report(result, RESULTS / f"{name}.md")
        variant = settings["variants"]
        metrics = result.aggregates[variant]
        figures = {m: {"mean": round(metrics[m]["mean"], 4), "ci95": [round(x, 4) for x in metrics[m]["ci95"]], "n": metrics[m]["n"]}
                   for m in FIGURES if m in metrics}
        repaired = sum(1 for r in result.rows if (r.get("structured") or {}).get("attempts", 1) > 1)
        out["runs"].append({"run": label, "schema_mode": settings["schema_mode"], "wall_s": round(wall, 1),
                            "generated": result.config["run"]["generated"], "cached": result.config["run"]["cached"],
                            "repaired_rows": repaired if settings["schema_mode"] == "structured" else None,
                            "figures": figures, "examples": [{"input": r["question"], "reply": r["answer"]} for r in result.rows[:3]]})
        print(f"\n{label}: {len(rows)} rows, {wall:.0f} s", flush=True)
        for m, v in figures.items():
            print(f"  {m:18s} {v['mean']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]", flush=True)
    for note in out.get("notes", []):
        print(f"note: {note}", flush=True)
    (RESULTS / "eval_snips.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / 'eval_snips.json'}")


if __name__ == "__main__":
    main()
