"""LoRA on SNIPS text -> {"intent", "slots"}: the default small local model, CPU, a fixed training budget.

Compares, on the held-out test rows, the base model (same system prompt, plus the JSON Schema of the output)
with the tuned one: JSON-valid rate, schema-valid rate, intent accuracy and slot micro-F1; and reports
training tokens/s, wall time, peak RSS and generation latency per row. Writes bench/results/lora_snips.json.

    python bench/lora_snips.py [--train-rows 500] [--train-minutes 28] [--eval-minutes 15] [--base-minutes 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import ROOT, shared_data  # noqa: E402 - offline, single-thread settings and the src path

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.generation.structured import check_reply, extract_json, with_schema  # noqa: E402
from ragtune.tuning.generate import ChatModel  # noqa: E402
from ragtune.tuning.lora import LoraConfig  # noqa: E402
from ragtune.tuning.tuned import resolve_tuned  # noqa: E402

DATA = shared_data("snips_nlu_json")
SYSTEM = "Extract the intent and the slots of the user's request as JSON."
TARGETS = {"json_valid": 0.99, "intent_accuracy": 0.95, "slot_f1": 0.85}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def output_schema(slots_per_intent: dict[str, list[str]]) -> dict:
    """The JSON Schema of an output: a known intent and only that intent's slot names (string or list values)."""
    value = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {
        "type": "object", "required": ["intent", "slots"], "additionalProperties": False,
        "properties": {"intent": {"enum": sorted(slots_per_intent)}, "slots": {"type": "object"}},
        "allOf": [{"if": {"properties": {"intent": {"const": intent}}},
                   "then": {"properties": {"slots": {"type": "object", "additionalProperties": False,
                                                     "properties": {s: value for s in slots}}}}}
                  for intent, slots in sorted(slots_per_intent.items())],
    }


def prompt_schema(slots_per_intent: dict[str, list[str]]) -> dict:
    """A compact form of the output schema for the system prompt: the intents and every slot name."""
    names = sorted({s for slots in slots_per_intent.values() for s in slots})
    return {"type": "object", "required": ["intent", "slots"],
            "properties": {"intent": {"enum": sorted(slots_per_intent)},
                           "slots": {"type": "object", "propertyNames": {"enum": names}, "additionalProperties": {"type": "string"}}}}


def stratified_sample(rows: list[dict], n: int, seed: int, exclude: set[str]) -> list[dict]:
    by_intent = defaultdict(list)
    for row in rows:
        if row["input"].strip().casefold() not in exclude:
            by_intent[row["output"]["intent"]].append(row)
    rng = random.Random(seed)
    per = n // len(by_intent)
    picked = [r for intent in sorted(by_intent) for r in rng.sample(by_intent[intent], min(per, len(by_intent[intent])))]
    rng.shuffle(picked)
    return picked


def slot_pairs(value) -> set[tuple[str, str]]:
    pairs = set()
    slots = value.get("slots") if isinstance(value, dict) else None
    if not isinstance(slots, dict):
        return pairs
    for name, v in slots.items():
        for item in v if isinstance(v, list) else [v]:
            pairs.add((str(name), " ".join(str(item).casefold().split())))
    return pairs


def score(rows: list[dict], replies: list[str], schema: dict) -> dict:
    n = len(replies)
    json_valid = strict_json = schema_valid = intent_ok = 0
    tp = fp = fn = 0
    for row, reply in zip(rows, replies):
        value = extract_json(reply)
        try:
            json.loads(reply)
            strict_json += 1
        except json.JSONDecodeError:
            pass
        if isinstance(value, dict):
            json_valid += 1
            if not check_reply(reply, schema)[1]:
                schema_valid += 1
        gold = row["output"]
        if isinstance(value, dict) and value.get("intent") == gold["intent"]:
            intent_ok += 1
        predicted, expected = slot_pairs(value), slot_pairs(gold)
        tp += len(predicted & expected)
        fp += len(predicted - expected)
        fn += len(expected - predicted)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"rows": n, "json_valid": round(json_valid / n, 4), "json_strict": round(strict_json / n, 4),
            "schema_valid": round(schema_valid / n, 4), "intent_accuracy": round(intent_ok / n, 4),
            "slot_precision": round(precision, 4), "slot_recall": round(recall, 4),
            "slot_f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0}


def evaluate(model: ChatModel, rows: list[dict], system: str, schema: dict, add_schema: dict | None, minutes: float,
             max_new_tokens: int, batch_size: int, latency_rows: int) -> dict:
    """Generate for as many rows as fit in ``minutes`` (in batches), then time ``latency_rows`` single rows."""
    model.load()
    conversations = []
    for row in rows:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": row["input"]}]
        conversations.append(with_schema(messages, add_schema) if add_schema else messages)
    replies: list[str] = []
    started = time.perf_counter()
    for i in range(0, len(rows), batch_size):
        if time.perf_counter() - started > minutes * 60:
            break
        replies.extend(model.generate(conversations[i:i + batch_size], max_new_tokens=max_new_tokens, batch_size=batch_size))
        print(f"  {len(replies)}/{len(rows)} rows, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    batch_s = time.perf_counter() - started
    latencies = [model.timed_generate(conversations[i], max_new_tokens=max_new_tokens)[1] for i in range(min(latency_rows, len(rows)))]
    result = score(rows[:len(replies)], replies, schema)
    result.update({"seconds_per_row_batched": round(batch_s / max(1, len(replies)), 3), "batch_size": batch_size,
                   "latency_s_per_row_single": round(sum(latencies) / len(latencies), 3) if latencies else None,
                   "latency_rows": len(latencies), "max_new_tokens": max_new_tokens,
                   "examples": [{"input": r["input"], "reply": t} for r, t in list(zip(rows, replies))[:5]]})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-rows", type=int, default=500)
    parser.add_argument("--train-minutes", type=float, default=28.0)
    parser.add_argument("--eval-minutes", type=float, default=15.0, help="Generation budget for the tuned model.")
    parser.add_argument("--base-minutes", type=float, default=3.0, help="Generation budget for the base model.")
    parser.add_argument("--base-rows", type=int, default=16)
    parser.add_argument("--latency-rows", type=int, default=4, help="Rows generated one at a time to time latency.")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--name", default="snips-intents")
    parser.add_argument("--home", default=None, help="Workspace (default: RAGTUNE_HOME or ./.ragtune).")
    parser.add_argument("--tuned", default=None, help="Skip training and evaluate this tuned:NAME@vN.")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    config = RagtuneConfig.load({"home": args.home} if args.home else None)
    ws = Workspace(config)
    slots_per_intent = json.loads((DATA / "schema_slots_per_intent.json").read_text(encoding="utf-8"))
    schema = output_schema(slots_per_intent)
    test = read_jsonl(DATA / "test.jsonl")
    random.Random(args.seed).shuffle(test)  # partial coverage stays representative of every intent
    result: dict = {"data": str(DATA), "system_prompt": SYSTEM, "targets": TARGETS, "device": "cpu", "threads": config.threads,
                    "cpu_count": os.cpu_count(), "load_average_1m": {"start": round(os.getloadavg()[0], 2)}}

    if args.tuned:
        card = ws.model_card(args.tuned.removeprefix("tuned:"))
    else:
        train = stratified_sample(read_jsonl(DATA / "train.jsonl"), args.train_rows, args.seed,
                                  {r["input"].strip().casefold() for r in test})
        tmp = Path(tempfile.mkdtemp(prefix="lora_snips_"))
        train_file = tmp / "train.jsonl"
        train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train), encoding="utf-8")
        lora = LoraConfig(data=train_file, name=args.name, system=SYSTEM, epochs=1, time_budget_s=args.train_minutes * 60,
                          learning_rate=args.lr, rank=16, alpha=32, batch_size=4, max_length=192, eval_fraction=0.04,
                          max_eval_rows=40, save_steps=50, logging_steps=10, seed=args.seed)

        def progress(event) -> None:
            if event.kind in ("info", "start", "eval") or (event.kind == "step" and event.step % 10 == 0):
                print(f"  {event.kind} step={event.step}/{event.max_steps} loss={event.loss} eval={event.eval_loss} "
                      f"eta={event.eta_s and round(event.eta_s)} {event.message or ''}", file=sys.stderr, flush=True)

        card = ws.tune_lora(lora, progress)
        result["load_average_1m"]["after_training"] = round(os.getloadavg()[0], 2)
    m = card.metrics
    result["training"] = {"model": card.ref, "train_rows": card.data.rows.get("train") if card.data else None,
                          "eval_rows": card.data.rows.get("eval") if card.data else None, "steps": m.get("steps"),
                          "max_steps": m.get("max_steps"), "stopped_by": m.get("stopped_by"), "epochs": m.get("epochs"),
                          "wall_time_s": card.wall_time_s, "train_tokens": m.get("train_tokens"),
                          "train_tokens_per_s": m.get("train_tokens_per_s"), "peak_rss_mb": m.get("peak_rss_mb"),
                          "train_loss_first": m.get("train_loss_first"), "train_loss": m.get("train_loss"),
                          "eval_loss": m.get("eval_loss"), "eval_history": m.get("eval_history"),
                          "learning_rate": card.settings.get("learning_rate"), "rank": card.settings.get("rank"),
                          "targets": card.settings.get("targets")}
    print(f"trained {card.ref}: {m.get('steps')} steps in {card.wall_time_s:.0f} s", file=sys.stderr, flush=True)

    base_dir, adapter, _ = resolve_tuned(card.ref, config.home)
    print("evaluating tuned", file=sys.stderr, flush=True)
    result["tuned"] = evaluate(ChatModel(base_dir, adapter), test, SYSTEM, schema, add_schema=None, minutes=args.eval_minutes,
                               max_new_tokens=96, batch_size=8, latency_rows=args.latency_rows)
    print("evaluating base", file=sys.stderr, flush=True)
    result["base"] = evaluate(ChatModel(base_dir), test[:args.base_rows], SYSTEM, schema, add_schema=prompt_schema(slots_per_intent),
                              minutes=args.base_minutes, max_new_tokens=96, batch_size=8, latency_rows=args.latency_rows)
    result["base"]["prompt"] = "the same system prompt + a compact JSON Schema of the output (intents, slot names)"
    result["schema_validation"] = "per-intent schema: known intent, only that intent's slot names, string or list values"
    result["load_average_1m"]["end"] = round(os.getloadavg()[0], 2)
    result["peak_rss_mb_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["vs_targets"] = {k: {"tuned": result["tuned"][k], "target": t, "met": result["tuned"][k] >= t} for k, t in TARGETS.items()}
    ws.models.record_scores(card.ref, {"snips_test": {k: result["tuned"][k] for k in
                                                      ("rows", "json_valid", "schema_valid", "intent_accuracy", "slot_f1")}})
    out = ROOT / "bench" / "results" / "lora_snips.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n{'metric':<22}{'base':>10}{'tuned':>10}{'target':>10}")
    for key in ("json_valid", "schema_valid", "intent_accuracy", "slot_f1", "latency_s_per_row_single", "seconds_per_row_batched"):
        target = TARGETS.get(key)
        print(f"{key:<22}{result['base'][key]!s:>10}{result['tuned'][key]!s:>10}{(f'>= {target}' if target else '-'):>10}")
    print(f"rows evaluated: tuned {result['tuned']['rows']}, base {result['base']['rows']}")
    t = result["training"]
    print(f"training: {t['steps']} steps, {t['train_rows']} rows, {t['wall_time_s']} s, {t['train_tokens_per_s']} tok/s, "
          f"peak RSS {t['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
