"""Other local runtimes for the same SmolLM2 weights: adds ``runtimes`` to bench/results/generation_throughput.json
(with its own commit and command; the rest of that file is left as it is).

Each figure is decode time only (model load reported apart), CPU seconds of one thread, on the same prompt token ids
(the transformers chat template), the same answer cap and stop strings, greedy:

- ``transformers``: a plain one-at-a-time ``model.generate`` loop, and ragtune's batched loop (``generate_batch``);
  its answers are the reference the others are compared with, answer by answer; the same batch after torch's dynamic
  int8 quantisation of the linear layers;
- ``onnxruntime_genai``: the model exported offline from the local transformers folder by the package's model builder,
  fp32 and int4 (CPU), at batch 1 and in left-padded batches;
- ``llama_cpp``: llama-cpp-python on the GGUF file, where it is installed;
- ``ragtune_onnx``: ragtune's own ``local_backend = "onnx"`` generator (``generate_batch``, its ``Engine`` batches), at
  batch 1 and in batches; with ``--ragtune-onnx-only`` only it and the transformers reference run, and only the
  ``ragtune_onnx`` entry of ``runtimes`` is replaced (a short run).

    python bench/generation_runtimes.py [--questions 16] [--max-tokens 48] [--batch 16] [--ragtune-onnx-only] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, log, shared_data, write_result  # noqa: E402 - offline, single-thread settings
from generation_throughput import child_env, git_commit

TRANSFORMERS = r"""
import json, sys, time
import torch
from ragtune.config import GenerationConfig
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.generation.local import LocalGenerator, cut_at_stops
conversations, cap, stops, batch, out, int8 = json.load(open(sys.argv[1]))
started = time.process_time()
gen = LocalGenerator(None, config=GenerationConfig(threads=1, batch_size=batch)).load()
if int8:
    gen._model = torch.ao.quantization.quantize_dynamic(gen._model, {torch.nn.Linear}, dtype=torch.qint8)
load = time.process_time() - started
rows = [gen._encode(Prompt(messages=m)) for m in conversations]
started = time.process_time()
if batch == 1:
    answers, tokens = [], 0
    for ids in rows:
        with torch.inference_mode():
            new = gen._model.generate(torch.tensor([ids]), attention_mask=torch.ones((1, len(ids)), dtype=torch.long),
                                      max_new_tokens=cap, do_sample=False, temperature=None, top_p=None, top_k=None,
                                      pad_token_id=gen._pad_id, stop_strings=stops, tokenizer=gen.tokenizer)[0, len(ids):]
        tokens += int((new != gen._pad_id).sum())
        answers.append(cut_at_stops(gen.tokenizer.decode(new, skip_special_tokens=True), stops))
else:
    results = gen.generate_batch([Prompt(messages=m) for m in conversations], GenerateOptions(max_new_tokens=cap, stop=stops))
    answers, tokens = [r.text for r in results], sum(r.usage.output_tokens for r in results)
decode = time.process_time() - started
json.dump(rows, open(out, "w"))
print(json.dumps({"answers": answers, "output_tokens": tokens, "load_cpu_s": load, "decode_cpu_s": decode}))
"""

ONNX = r"""
import json, sys, time
started = time.process_time()
import numpy as np
import onnxruntime_genai as og
folder, job, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows, cap, stops, pad = json.load(open(job))
config = og.Config(folder)
config.overlay(json.dumps({"model": {"pad_token_id": pad, "decoder": {"session_options": {
    "intra_op_num_threads": 1, "inter_op_num_threads": 1}}}}))
model = og.Model(config)
tok = og.Tokenizer(model)
load = time.process_time() - started
eos = json.load(open(folder + "/genai_config.json"))["model"]["eos_token_id"]
answers, tokens = [None] * len(rows), 0
order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
started = time.process_time()
for first in range(0, len(order), batch):
    part = order[first:first + batch]
    width = max(len(rows[i]) for i in part)
    ids = np.full((len(part), width), pad, dtype=np.int32)
    for k, i in enumerate(part):
        ids[k, width - len(rows[i]):] = rows[i]
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=width + cap, batch_size=len(part), do_sample=False)
    gen = og.Generator(model, params)
    gen.append_tokens(ids)
    new, done = [[] for _ in part], [False] * len(part)
    while not gen.is_done() and not all(done):
        gen.generate_next_token()
        for k, t in enumerate(gen.get_next_tokens().tolist()):
            if not done[k]:
                new[k].append(t)
                text = tok.decode(np.array(new[k], dtype=np.int32))
                done[k] = t == eos or len(new[k]) >= cap or any(s in text for s in stops)
    for k, i in enumerate(part):
        kept = [t for t in new[k] if t != eos]
        tokens += len(kept)
        text = tok.decode(np.array(kept, dtype=np.int32))
        cuts = [text.find(s) for s in stops if s in text]
        answers[i] = text[:min(cuts)] if cuts else text
decode = time.process_time() - started
print(json.dumps({"answers": answers, "output_tokens": tokens, "load_cpu_s": load, "decode_cpu_s": decode}))
"""

RAGTUNE_ONNX = r"""
import json, sys, time
from pathlib import Path
from ragtune.config import GenerationConfig
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.generation.onnx_genai import OnnxGenAIGenerator
from ragtune.generation.onnx_genai_export import export_root
conversations, cap, stops, batch, home = json.load(open(sys.argv[1]))
before = set(export_root(Path(home)).glob("genai-*")) if export_root(Path(home)).is_dir() else set()
started, wall = time.process_time(), time.monotonic()
gen = OnnxGenAIGenerator(None, config=GenerationConfig(threads=1, batch_size=batch), home=home).load()
load, load_wall = time.process_time() - started, time.monotonic() - wall
prompts = [Prompt(messages=m) for m in conversations]
started = time.process_time()
results = gen.generate_batch(prompts, GenerateOptions(max_new_tokens=cap, stop=stops))
decode = time.process_time() - started
print(json.dumps({"answers": [r.text for r in results], "output_tokens": sum(r.usage.output_tokens for r in results),
                  "load_cpu_s": load, "load_wall_s": load_wall, "exported_now": gen.export not in before,
                  "decode_cpu_s": decode}))
"""

ONNX_PAD = 0
"""Left padding for ONNX Runtime GenAI batches: SmolLM2's end-of-turn id (its configured pad) also ends each prompt turn."""


def _child(argv: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, *argv], env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _figure(out: dict, reference: list[str] | None) -> dict:
    figure = {"output_tokens": out["output_tokens"], "load_cpu_s": round(out["load_cpu_s"], 2),
              "decode_cpu_s": round(out["decode_cpu_s"], 2),
              "tokens_per_decode_cpu_s": round(out["output_tokens"] / out["decode_cpu_s"], 2)}
    if reference is not None:
        figure["answers_differing_from_transformers"] = sum(a.strip() != b.strip() for a, b in zip(out["answers"], reference))
    return figure


def _onnx_models(work: Path, env: dict[str, str]) -> dict[str, Path | str]:
    """The ONNX Runtime GenAI exports of the local model, fp32 and int4 (CPU), each a folder or why it failed."""
    from ragtune.generation.hf_models import resolve_causal_lm

    source = resolve_causal_lm(None)
    models: dict[str, Path | str] = {}
    for precision in ("fp32", "int4"):
        out = work / f"onnx-{precision}"
        done = subprocess.run([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(out),
                               "-p", precision, "-e", "cpu", "-c", str(work / "onnx-cache")], env=env, capture_output=True,
                              text=True)
        models[precision] = out if done.returncode == 0 else f"the model builder failed: {done.stderr.strip()[-300:]}"
    return models


def transformers_reference(conversations: list, cap: int, stops: list[str], work: Path, env: dict[str, str],
                           batch: int) -> dict:
    """ragtune's transformers batch on the conversations: the answers every runtime is compared with."""
    job = work / f"transformers-{batch}.json"
    job.write_text(json.dumps([conversations, cap, stops, batch, str(work / "runtime-rows.json"), False]))
    return _child(["-c", TRANSFORMERS, str(job)], env)


def ragtune_onnx_figures(conversations: list, cap: int, stops: list[str], work: Path, env: dict[str, str], batch: int,
                         reference: list[str]) -> dict | str:
    """ragtune's onnx generator at batch 1 and ``batch`` (the first run exports the model into ``work``: its wall time
    and load are reported apart)."""
    if importlib.util.find_spec("onnxruntime_genai") is None:
        return "not installed (pip install 'ragtune[onnx-genai]')"
    figures: dict = {}
    for size in (1, batch):
        job = work / f"ragtune-onnx-{size}.json"
        job.write_text(json.dumps([conversations, cap, stops, size, str(work / "home")]))
        out = _child(["-c", RAGTUNE_ONNX, str(job)], env)
        figures[f"batch_{size}"] = {**_figure(out, reference), "load_wall_s": round(out["load_wall_s"], 1),
                                    "exported_now": out["exported_now"]}
    return figures


def runtime_figures(conversations: list, cap: int, stops: list[str], work: Path, env: dict[str, str],
                    batch: int = 16) -> dict:
    """Decode throughput and answer agreement of each runtime (see the module docstring)."""
    figures: dict = {"measure": "output tokens per CPU second of decoding (one thread, model load apart), same prompt ids, "
                                f"cap {cap}, stops {stops}; answers compared with ragtune's transformers batch (stripped)"}
    rows_file = work / "runtime-rows.json"
    runs = {batch: transformers_reference(conversations, cap, stops, work, env, batch)}
    for name, size, int8 in ((1, 1, False), ("int8", batch, True)):
        job = work / f"transformers-{name}.json"
        job.write_text(json.dumps([conversations, cap, stops, size, str(rows_file), int8]))
        runs[name] = _child(["-c", TRANSFORMERS, str(job)], env)
    reference = runs[batch]["answers"]
    figures["transformers"] = {"batch_1_generate": _figure(runs[1], reference),
                               f"batch_{batch}_ragtune": _figure(runs[batch], None),
                               f"batch_{batch}_ragtune_int8_dynamic": _figure(runs["int8"], reference)}
    if importlib.util.find_spec("onnxruntime_genai") is None:
        figures["onnxruntime_genai"] = "not installed (pip install onnxruntime-genai onnx_ir)"
    else:
        import onnxruntime_genai

        started = time.monotonic()
        models = _onnx_models(work, env)
        onnx: dict = {"version": onnxruntime_genai.__version__, "build_wall_s": round(time.monotonic() - started, 1),
                      "padding_id": ONNX_PAD}
        job = work / "onnx-rows.json"
        job.write_text(json.dumps([json.loads(rows_file.read_text()), cap, stops, ONNX_PAD]))
        for precision, folder in models.items():
            if isinstance(folder, str):
                onnx[precision] = folder
                continue
            onnx[precision] = {f"batch_{size}": _figure(_child(["-c", ONNX, str(folder), str(job), str(size)], env), reference)
                               for size in (1, batch)}
        figures["onnxruntime_genai"] = onnx
    figures["ragtune_onnx"] = ragtune_onnx_figures(conversations, cap, stops, work, env, batch, reference)
    figures["llama_cpp"] = ("installed: not timed by this bench" if importlib.util.find_spec("llama_cpp") is not None else
                            "not installed: llama-cpp-python has no wheel for this platform, and its source build (portable "
                            "CPU flags, 2 cores) did not finish within 10 minutes here")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--ragtune-onnx-only", action="store_true",
                        help="run only the transformers reference and ragtune's onnx generator (a short run)")
    parser.add_argument("--out", type=Path, default=RESULTS / "generation_throughput.json")
    args = parser.parse_args()
    from ragtune.generation.local import LOCAL_STOP
    from ragtune.generation.prompts import alone_prompt

    source = shared_data("rhdh_docs_qa") / "qa.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()][:args.questions]
    work = Path(tempfile.mkdtemp(prefix="generation_runtimes_"))
    start = list(os.getloadavg())
    log(f"runtimes on {len(rows)} questions ...")
    conversations = [alone_prompt(r["question"]).messages for r in rows]
    record = {"commit": git_commit(), "command": "python bench/generation_runtimes.py " + " ".join(sys.argv[1:]),
              "questions": len(rows), "data": "rhdh_docs_qa/qa.jsonl, variant base (model alone)", "threads": 1,
              "niceness": os.nice(0), "cached_or_resumed": False, "loadavg_start": start}
    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.ragtune_onnx_only:
        reference = transformers_reference(conversations, args.max_tokens, LOCAL_STOP, work, child_env(), args.batch)
        figures = ragtune_onnx_figures(conversations, args.max_tokens, LOCAL_STOP, work, child_env(), args.batch,
                                       reference["answers"])
        result.setdefault("runtimes", {})["ragtune_onnx"] = {
            **record, "measure": f"as the rest of runtimes (cap {args.max_tokens}, stops {LOCAL_STOP}); answers compared "
                                 f"with ragtune's transformers batch of {args.batch}",
            "transformers_reference": _figure(reference, None), "figures": figures, "loadavg_end": list(os.getloadavg())}
    else:
        figures = runtime_figures(conversations, args.max_tokens, LOCAL_STOP, work, child_env(), args.batch)
        result["runtimes"] = {**record, "loadavg_end": list(os.getloadavg()), **figures}
    write_result(args.out, result)
    print(json.dumps(result["runtimes"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
