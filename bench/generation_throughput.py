"""Answering throughput of the local model: a plain one-at-a-time transformers ``generate`` loop against ``ragtune eval``
at several batch sizes, and the per-token cost of JSON Schema masks in a batch. Writes bench/results/generation_throughput.json.

Every figure is a whole command in its own process, model load included, at 1 thread, on the same questions (the
first ``--questions`` of rhdh_docs_qa, the ``base`` variant: the model alone), the same weights, the same answer cap
and stop strings. Output tokens per second = output tokens / whole-command wall time. The plain loop runs first and
last (its two runs bracket the others on a shared machine; their mean is the baseline). Answers of each batch size are
compared with the plain loop's, answer by answer.

The constrained figure runs in one process: the same SNIPS prompts (schema in the system prompt) decoded with and
without the schema's token mask, one at a time and in one batch; cost per output token = decode time / output tokens.

    python bench/generation_throughput.py [--questions 16] [--max-tokens 48] [--batches 1,4,8,16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, log, shared_data, write_result  # noqa: E402 - offline, single-thread settings

PLAIN_LOOP = r"""
import json, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from ragtune.generation.hf_models import resolve_causal_lm
torch.set_num_threads(1)
conversations, cap, stops = json.load(open(sys.argv[1]))
path = resolve_causal_lm(None)
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
answers, tokens = [], 0
for messages in conversations:
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=cap, do_sample=False, temperature=None, top_p=None, top_k=None,
                             pad_token_id=tok.eos_token_id, stop_strings=stops, tokenizer=tok)
    new = out[0, ids["input_ids"].shape[1]:]
    tokens += int((new != tok.eos_token_id).sum())
    text = tok.decode(new, skip_special_tokens=True)
    cuts = [text.find(s) for s in stops if s in text]
    answers.append(text[:min(cuts)] if cuts else text)
print(json.dumps({"answers": answers, "output_tokens": tokens}))
"""


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def child_env(home: Path | None = None, config: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "RAGTUNE_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    if home is not None:
        env["RAGTUNE_HOME"] = str(home)
    if config is not None:
        env["RAGTUNE_CONFIG"] = str(config)
    return env


def plain_loop(conversations: list, cap: int, stops: list[str], work: Path) -> dict:
    job = work / "plain.json"
    job.write_text(json.dumps([conversations, cap, stops]))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PLAIN_LOOP, str(job)], env=child_env(), stdout=subprocess.PIPE, text=True,
                          check=True)
    wall = time.monotonic() - started
    out = json.loads(done.stdout)
    return {"wall_s": round(wall, 1), "output_tokens": out["output_tokens"],
            "tokens_per_s": round(out["output_tokens"] / wall, 2), "answers": out["answers"]}


def ragtune_eval(questions: Path, batch: int, cap: int, work: Path) -> dict:
    home, config, out = work / f"home-{batch}", work / f"ragtune-{batch}.toml", work / f"eval-{batch}.json"
    config.write_text(f"[generation]\nbatch_size = {batch}\nmax_new_tokens = {cap}\n")
    argv = [sys.executable, "-m", "ragtune", "eval", "run", str(questions), "--variants", "base", "-m", "local", "--no-cache",
            "--out", str(out)]
    started = time.monotonic()
    subprocess.run(argv, env=child_env(home, config), stdout=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - started
    rows = json.loads(out.read_text())["rows"]
    tokens = sum(int(r.get("output_tokens") or 0) for r in rows)
    return {"wall_s": round(wall, 1), "output_tokens": tokens, "tokens_per_s": round(tokens / wall, 2),
            "answers": [r.get("answer") for r in rows], "command": " ".join(["ragtune", *argv[3:]]) + f"  # batch_size={batch}"}


CONSTRAINED = r"""
import json, sys, time
from ragtune.config import GenerationConfig
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.generation.local import LocalGenerator
prompts, schema, cap, batch = json.load(open(sys.argv[1]))
gen = LocalGenerator(None, config=GenerationConfig(threads=1, batch_size=batch)).load()
prompts = [Prompt(messages=m) for m in prompts]
out = {}
for name, s in (("unconstrained", None), ("constrained", schema), ("unconstrained_again", None)):
    options = GenerateOptions(max_new_tokens=cap, stop=[], json_schema=s)
    started = time.perf_counter()
    results = gen.generate_batch(prompts, options)
    took = time.perf_counter() - started
    tokens = sum(r.usage.output_tokens for r in results)
    out[name] = {"decode_s": round(took, 2), "output_tokens": tokens, "ms_per_token": round(1000 * took / tokens, 2)}
print(json.dumps(out))
"""


def constrained_cost(rows: int, cap: int, batch: int, work: Path) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from eval_snips import sample
    from lora_snips import DATA, prompt_schema, read_jsonl

    from ragtune.generation.prompts import alone_prompt
    from ragtune.generation.structured import with_schema

    schema = prompt_schema(json.loads((DATA / "schema_slots_per_intent.json").read_text(encoding="utf-8")))
    names = schema["properties"]["slots"]["propertyNames"]["enum"]  # the enforceable form (see constrained_snips.py)
    schema = {**schema, "properties": {**schema["properties"], "slots": {
        "type": "object", "properties": {n: {"type": "string"} for n in names}, "additionalProperties": False}}}
    picked = sample(read_jsonl(DATA / "test.jsonl"), rows, 7)
    prompts = [with_schema(alone_prompt(r["input"]).messages, schema) for r in picked]
    job = work / f"constrained-{batch}.json"
    job.write_text(json.dumps([prompts, schema, cap, batch]))
    done = subprocess.run([sys.executable, "-c", CONSTRAINED, str(job)], env=child_env(), stdout=subprocess.PIPE, text=True,
                          check=True)
    out = json.loads(done.stdout)
    free = (out["unconstrained"]["ms_per_token"] + out["unconstrained_again"]["ms_per_token"]) / 2
    out["constrained_over_unconstrained_per_token"] = round(out["constrained"]["ms_per_token"] / free, 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--batches", default="1,4,8,16")
    parser.add_argument("--constrained-rows", type=int, default=8)
    parser.add_argument("--constrained-batches", default="8", help="Batch sizes of the constrained figure (e.g. 1,8).")
    parser.add_argument("--skip-eval", action="store_true", help="Only the constrained figure.")
    args = parser.parse_args()
    from ragtune.generation.local import LOCAL_STOP
    from ragtune.generation.prompts import alone_prompt

    work = Path(tempfile.mkdtemp(prefix="generation_throughput_"))
    source = shared_data("rhdh_docs_qa") / "qa.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()][:args.questions]
    questions = work / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "reference_answer": r["reference_answer"]})
                                 + "\n" for r in rows), encoding="utf-8")
    result: dict = {"commit": git_commit(), "command": "python bench/generation_throughput.py " + " ".join(sys.argv[1:]),
                    "data": f"rhdh_docs_qa/qa.jsonl, first {len(rows)} questions, variant base (model alone)",
                    "model": "local (SmolLM2-135M-Instruct, transformers fp32, CPU)", "threads": 1,
                    "max_new_tokens": args.max_tokens,
                    "stop": LOCAL_STOP, "cached_or_resumed": False, "loadavg_start": list(os.getloadavg())}
    if not args.skip_eval:
        conversations = [alone_prompt(r["question"]).messages for r in rows]
        log("plain one-at-a-time loop ...")
        first = plain_loop(conversations, args.max_tokens, LOCAL_STOP, work)
        runs = {}
        for batch in (int(b) for b in args.batches.split(",")):
            log(f"ragtune eval, batch_size={batch} ...")
            runs[batch] = ragtune_eval(questions, batch, args.max_tokens, work)
            log(f"  {runs[batch]['tokens_per_s']} tokens/s")
        log("plain one-at-a-time loop again ...")
        last = plain_loop(conversations, args.max_tokens, LOCAL_STOP, work)
        base = (first["tokens_per_s"] + last["tokens_per_s"]) / 2
        from ragtune.generation.text import collapse_repeats

        reference = [collapse_repeats(a) for a in first["answers"]]  # as eval keeps an answer
        result["plain_loop"] = {"runs": [{k: v for k, v in r.items() if k != "answers"} for r in (first, last)],
                                "tokens_per_s": round(base, 2), "answers_equal_between_runs": first["answers"] == last["answers"]}
        result["ragtune_eval"] = {str(size): {**{k: v for k, v in r.items() if k != "answers"},
                                              "speedup_vs_plain_loop": round(r["tokens_per_s"] / base, 2),
                                              "answers_differing_from_plain_loop": sum(mine != theirs for mine, theirs
                                                                                       in zip(r["answers"], reference))}
                                  for size, r in runs.items()}
        result["target"] = "answering throughput >= 3x the plain loop (whole command, model load included)"
    log("constrained against unconstrained decoding ...")
    result["constrained"] = {f"batch_{b}": constrained_cost(args.constrained_rows, 96, int(b), work)
                             for b in args.constrained_batches.split(",")}
    result["constrained"]["rows"] = args.constrained_rows
    result["constrained"]["target"] = "constrained within 1.1x of unconstrained per token"
    result["loadavg_end"] = list(os.getloadavg())
    write_result(RESULTS / "generation_throughput.json", result)
    print(json.dumps({k: v for k, v in result.items() if k in ("plain_loop", "ragtune_eval", "constrained")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
