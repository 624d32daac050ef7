"""Constrained decoding against validate-and-repair on SNIPS text -> JSON, with the default local model.

The same seeded sample of SNIPS test rows (every intent represented) is answered twice through ``ragtune eval``
with the schema in the prompt and ``--schema-mode structured``: once decoding under the schema's token mask
(llguidance, ``generation.constrained = true``, the default where the backend allows it) and once generating
freely, then validating and repairing once. Records the schema-valid share, intent accuracy, field F1 and
latency of each with 95% intervals: the measurement behind the default. Writes bench/results/constrained_snips.json.

    python bench/constrained_snips.py [--rows 28] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import RESULTS, log, write_result  # noqa: E402 - offline, single-thread settings and the src path

from eval_snips import sample  # noqa: E402
from lora_snips import DATA, prompt_schema, read_jsonl  # noqa: E402

from ragtune.api import EvalConfig, Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.generation.constrained import available, compiles  # noqa: E402

FIGURES = ["schema_valid", "json_valid", "field_acc.intent", "fields_f1", "latency_ms_p50", "output_tokens"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=28, help="Test rows (4 per intent by default).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    if not available():
        raise SystemExit("llguidance is not installed: pip install 'ragtune[constrained]'")
    home = args.home or tempfile.mkdtemp(prefix="constrained_snips_")
    compact = prompt_schema(json.loads((DATA / "schema_slots_per_intent.json").read_text(encoding="utf-8")))
    # the same constraint with properties instead of propertyNames, a keyword llguidance does not enforce
    names = compact["properties"]["slots"]["propertyNames"]["enum"]
    schema = {**compact, "properties": {**compact["properties"], "slots": {
        "type": "object", "properties": {n: {"type": "string"} for n in names}, "additionalProperties": False}}}
    rows = sample(read_jsonl(DATA / "test.jsonl"), args.rows, args.seed)
    questions = Path(home) / "snips_test.jsonl"
    questions.parent.mkdir(parents=True, exist_ok=True)
    questions.write_text("".join(json.dumps({"id": f"s{i}", "question": r["input"], "reference_output": r["output"],
                                             "schema": schema}) + "\n" for i, r in enumerate(rows)), encoding="utf-8")
    out: dict = {"rows": len(rows), "constrainable": compiles(schema), "model": "local", "schema_mode": "structured", "repairs": 1, "device": "cpu", "threads": 1}
    for constrained in (True, False):
        name = "constrained" if constrained else "validate_and_repair"
        ws = Workspace(RagtuneConfig.load({"home": home, "generation": {"constrained": constrained, "max_new_tokens": 80}}))
        log(f"{name} ...")
        started = time.perf_counter()
        result = ws.evaluate(questions, EvalConfig.create(variants="base", model="local", schema_mode="structured", repairs=1))
        agg = result.aggregates["base"]
        out[name] = {m: {"mean": round(agg[m]["mean"], 4), "ci95": [round(x, 4) for x in agg[m]["ci95"]]}
                     for m in FIGURES if m in agg}
        out[name]["wall_s"] = round(time.perf_counter() - started, 1)
        out[name]["attempts_mean"] = round(sum(r["structured"]["attempts"] for r in result.rows) / len(result.rows), 3)
    c, v = out["constrained"], out["validate_and_repair"]
    out["default"] = "constrained" if c["schema_valid"]["mean"] >= v["schema_valid"]["mean"] else "validate_and_repair"
    write_result(RESULTS / "constrained_snips.json", out)
    for name in ("constrained", "validate_and_repair"):
        r = out[name]
        print(f"{name:<20} schema-valid {r['schema_valid']['mean']:.3f} {r['schema_valid']['ci95']}  intent "
              f"{r.get('field_acc.intent', {}).get('mean', 0):.3f}  field F1 {r['fields_f1']['mean']:.3f}  "
              f"p50 {r['latency_ms_p50']['mean']:,.0f} ms  attempts {r['attempts_mean']}")
    print(f"default by measurement: {out['default']}")


if __name__ == "__main__":
    main()
