"""Answering throughput of the local model: a plain one-at-a-time transformers ``generate`` loop against ``ragtune eval``
at several batch sizes, and the per-token cost of JSON Schema masks in a batch. Writes bench/results/generation_throughput.json.

Every figure is a whole command in its own process, model load included, at 1 thread, on the same questions (the
first ``--questions`` of rhdh_docs_qa, the ``base`` variant: the model alone), the same weights, the same answer cap
and stop strings. Output tokens per second = output tokens / whole-command wall time; beside it, output tokens per
CPU second of the command (user + system), which a busy machine disturbs less. Runs are interleaved so that load
affects both sides alike: the plain loop, the largest batch (and the same batch from ``--before-src``, another checkout's
``src`` folder: the code before a change), the plain loop again, the other batch sizes, the plain loop a third time;
the baseline is the plain runs' mean. Answers of each run are compared with the plain loop's, answer by answer.

The constrained figure runs in one process: the same SNIPS prompts (schema in the system prompt) decoded with and
without the schema's token mask, one at a time and in one batch; cost per output token = decode time / output tokens.
``--skip-constrained`` (``--skip-eval``) keeps the constrained (eval) figures of the previous result file, its commit
recorded with them. Earlier results are kept under ``previous_runs``; bench/generation_runtimes.py adds ``runtimes``.

    python bench/generation_throughput.py [--questions 16] [--max-tokens 48] [--batches 1,4,8,16] [--plain-runs 3]
                                          [--before-src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def child_env(home: Path | None = None, config: Path | None = None, src: Path = ROOT / "src") -> dict[str, str]:
    env = {**os.environ, "RAGTUNE_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(src)}
    if home is not None:
        env["RAGTUNE_HOME"] = str(home)
    if config is not None:
        env["RAGTUNE_CONFIG"] = str(config)
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """``argv``'s stdout, wall seconds and CPU seconds (user + system)."""
    cpu, started = _children_cpu(), time.monotonic()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout, time.monotonic() - started, _children_cpu() - cpu


def _rates(tokens: int, wall: float, cpu: float) -> dict:
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "output_tokens": tokens, "tokens_per_s": round(tokens / wall, 2),
            "tokens_per_cpu_s": round(tokens / cpu, 2), "loadavg_1min_after": round(os.getloadavg()[0], 2)}


def plain_loop(conversations: list, cap: int, stops: list[str], work: Path) -> dict:
    job = work / "plain.json"
    job.write_text(json.dumps([conversations, cap, stops]))
    stdout, wall, cpu = _timed([sys.executable, "-c", PLAIN_LOOP, str(job)], child_env())
    out = json.loads(stdout)
    return {**_rates(out["output_tokens"], wall, cpu), "answers": out["answers"]}


def ragtune_eval(questions: Path, batch: int, cap: int, work: Path, src: Path = ROOT / "src", label: str = "") -> dict:
    name = f"{batch}{label}"
    home, config, out = work / f"home-{name}", work / f"ragtune-{name}.toml", work / f"eval-{name}.json"
    config.write_text(f"[generation]\nbatch_size = {batch}\nmax_new_tokens = {cap}\n")
    argv = [sys.executable, "-m", "ragtune", "eval", "run", str(questions), "--variants", "base", "-m", "local", "--no-cache",
            "--out", str(out)]
    _, wall, cpu = _timed(argv, child_env(home, config, src))
    rows = json.loads(out.read_text())["rows"]
    tokens = sum(int(r.get("output_tokens") or 0) for r in rows)
    return {**_rates(tokens, wall, cpu), "answers": [r.get("answer") for r in rows],
            "command": " ".join(["ragtune", *argv[3:]]) + f"  # batch_size={batch}" + (f", source {src}" if label else "")}


PROMPT_ENCODING = r"""
import json, sys, time
import torch
from ragtune.config import GenerationConfig
from ragtune.generation import greedy_decode
from ragtune.generation.base import Prompt
from ragtune.generation.local import LocalGenerator
conversations, rounds = json.load(open(sys.argv[1]))
gen = LocalGenerator(None, config=GenerationConfig(threads=1)).load()
rows = [gen._encode(Prompt(messages=m)) for m in conversations]
width = max(len(r) for r in rows)
ids = torch.tensor([[gen._pad_id] * (width - len(r)) + r for r in rows])
mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
shared = greedy_decode.SHARED_PREFIX_MIN
out = {"padded_batch": [], "packed": [], "packed_shared_prefix": []}
with torch.inference_mode():
    for _ in range(rounds):
        started = time.process_time()
        gen._model(input_ids=ids, attention_mask=mask, logits_to_keep=1)
        out["padded_batch"].append(time.process_time() - started)
        for name, least in (("packed", 10 ** 9), ("packed_shared_prefix", shared)):
            greedy_decode.SHARED_PREFIX_MIN = least
            started = time.process_time()
            greedy_decode._prefill(gen._model, rows, gen._pad_id, "cpu")
            out[name].append(time.process_time() - started)
greedy_decode.SHARED_PREFIX_MIN = shared
print(json.dumps({"cpu_s": {k: round(min(v), 2) for k, v in out.items()}, "prompt_tokens": sum(len(r) for r in rows),
                  "padded_tokens": len(rows) * width, "shared_prefix_tokens": greedy_decode.shared_prefix_length(rows)}))
"""


def prompt_encoding(conversations: list, work: Path, rounds: int = 2) -> dict:
    """CPU seconds to read all prompts before the first answer token, three ways, in one process (best of ``rounds``)."""
    job = work / "encoding.json"
    job.write_text(json.dumps([conversations, rounds]))
    stdout, _, _ = _timed([sys.executable, "-c", PROMPT_ENCODING, str(job)], child_env())
    return {**json.loads(stdout), "ways": "padded_batch: one left-padded batch (as model.generate reads it); packed: each "
            "prompt unpadded, packed into one pass; packed_shared_prefix: the same after the shared prefix, encoded once"}


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


def eval_figures(args: argparse.Namespace, conversations: list, questions: Path, work: Path, stops: list[str]) -> dict:
    """Plain-loop and ``ragtune eval`` runs, interleaved (see the module docstring), with speed-ups over the plain loop."""
    from ragtune.generation.text import collapse_repeats

    sizes = [int(b) for b in args.batches.split(",")]
    largest, plain, runs = max(sizes), [], {}

    def plain_run() -> None:
        log(f"plain one-at-a-time loop ({len(plain) + 1}) ...")
        plain.append(plain_loop(conversations, args.max_tokens, stops, work))
        log(f"  {plain[-1]['tokens_per_s']} tokens/s")

    def eval_run(name: str, batch: int, src: Path = ROOT / "src", label: str = "") -> None:
        log(f"ragtune eval, batch_size={batch} {label}...")
        runs[name] = ragtune_eval(questions, batch, args.max_tokens, work, src, label)
        log(f"  {runs[name]['tokens_per_s']} tokens/s")

    plain_run()
    eval_run(str(largest), largest)
    if args.before_src:
        eval_run(f"{largest}_before", largest, args.before_src.resolve(), "before")
    if args.plain_runs > 2:
        plain_run()
    for size in sizes:
        if size != largest:
            eval_run(str(size), size)
    plain_run()
    log("prompt encoding, three ways ...")
    encoding = prompt_encoding(conversations, work)
    wall = sum(r["tokens_per_s"] for r in plain) / len(plain)
    cpu = sum(r["tokens_per_cpu_s"] for r in plain) / len(plain)
    reference = [collapse_repeats(a) for a in plain[0]["answers"]]  # as eval keeps an answer
    figures: dict = {"plain_loop": {"runs": [{k: v for k, v in r.items() if k != "answers"} for r in plain],
                                    "tokens_per_s": round(wall, 2), "tokens_per_cpu_s": round(cpu, 2),
                                    "answers_equal_between_runs": all(r["answers"] == plain[0]["answers"] for r in plain)}}
    figures["ragtune_eval"] = {name: {**{k: v for k, v in r.items() if k != "answers"},
                                      "speedup_vs_plain_loop": round(r["tokens_per_s"] / wall, 2),
                                      "speedup_vs_plain_loop_cpu": round(r["tokens_per_cpu_s"] / cpu, 2),
                                      "answers_differing_from_plain_loop": sum(mine != theirs for mine, theirs
                                                                               in zip(r["answers"], reference))}
                               for name, r in sorted(runs.items(), key=lambda item: (int(item[0].split("_")[0]), item[0]))}
    if args.before_src:
        figures["before"] = f"'{largest}_before': the same command run from {args.before_src} (the code before this change)"
    figures["prompt_encoding"] = encoding
    figures["target"] = "answering throughput >= 3x the plain loop (whole command, model load included)"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--batches", default="1,4,8,16")
    parser.add_argument("--plain-runs", type=int, choices=(2, 3), default=3,
                        help="Plain-loop runs: 3 (before, between and after the ragtune runs) or 2 (before and after).")
    parser.add_argument("--constrained-rows", type=int, default=8)
    parser.add_argument("--constrained-batches", default="8", help="Batch sizes of the constrained figure (e.g. 1,8).")
    parser.add_argument("--skip-eval", action="store_true", help="Only the constrained figure.")
    parser.add_argument("--skip-constrained", action="store_true", help="Keep the previous result's constrained figure.")
    parser.add_argument("--before-src", type=Path, help="Another checkout's src folder: its largest batch runs too, as 'before'.")
    args = parser.parse_args()
    from ragtune.generation.local import LOCAL_STOP
    from ragtune.generation.prompts import alone_prompt

    work = Path(tempfile.mkdtemp(prefix="generation_throughput_"))
    source = shared_data("rhdh_docs_qa") / "qa.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()][:args.questions]
    questions = work / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "reference_answer": r["reference_answer"]})
                                 + "\n" for r in rows), encoding="utf-8")
    previous = RESULTS / "generation_throughput.json"
    result: dict = {"commit": git_commit(), "questions": len(rows),
                    "command": "python bench/generation_throughput.py " + " ".join(sys.argv[1:]),
                    "data": f"rhdh_docs_qa/qa.jsonl, first {len(rows)} questions, variant base (model alone)",
                    "model": "local (SmolLM2-135M-Instruct, transformers fp32, CPU)", "threads": 1,
                    "max_new_tokens": args.max_tokens, "niceness": os.nice(0),
                    "stop": LOCAL_STOP, "cached_or_resumed": False, "loadavg_start": list(os.getloadavg())}
    kept = json.loads(previous.read_text()) if previous.is_file() else {}
    if args.skip_eval:
        eval_keys = ("plain_loop", "ragtune_eval", "before", "prompt_encoding", "target")
        result.update({k: v for k, v in kept.items() if k in eval_keys})
        result["eval_kept_from_commit"] = kept.get("commit")
        result["cached_or_resumed"] = "the eval figures are kept from the previous result (not rerun)"
    else:
        result.update(eval_figures(args, [alone_prompt(r["question"]).messages for r in rows], questions, work, LOCAL_STOP))
    if args.skip_constrained:
        result["constrained"] = {**kept["constrained"], "kept_from_commit": kept["commit"]}
        result["cached_or_resumed"] = "the constrained figure is kept from the previous result (not rerun)"
    else:
        log("constrained against unconstrained decoding ...")
        result["constrained"] = {f"batch_{b}": constrained_cost(args.constrained_rows, 96, int(b), work)
                                 for b in args.constrained_batches.split(",")}
        result["constrained"]["rows"] = args.constrained_rows
        result["constrained"]["target"] = "constrained within 1.1x of unconstrained per token"
    result["loadavg_end"] = list(os.getloadavg())
    if "runtimes" in kept:  # bench/generation_runtimes.py's figures, kept with their own commit
        result["runtimes"] = kept.pop("runtimes")
    earlier = kept.pop("previous_runs", [])
    result["previous_runs"] = ([kept] if kept else []) + earlier
    write_result(previous, result)
    print(json.dumps({k: v for k, v in result.items() if k in ("plain_loop", "ragtune_eval", "constrained")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
