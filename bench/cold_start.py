"""Cold start: a fresh ``ragtune search`` process against ``python -c "import torch"``.

The bench builds a SciFact index once (all 5,183 abstracts by default, ``--docs N`` for the first N; the default
embedder, which makes the ONNX export) in a temporary workspace, then times, in turns, fresh processes of ``python -c "import torch"`` and of
``ragtune search QUERY --index scifact --json`` (the whole process: interpreter, imports, opening the index,
embedding the query, ranking), and for context the imports of ``ragtune.cli`` and ``lancedb`` alone. Medians of
``--rounds`` turns; the target is a search that takes less time than importing torch. The search process must
not import torch, transformers, sentence-transformers or lancedb (checked).

    python bench/cold_start.py                  # -> bench/results/cold_start.json
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, corpus_prefix, log, median, shared_data, write_result  # noqa: E402

DATA = shared_data("scifact")
OUT = RESULTS / "cold_start.json"
QUERY = "vitamin D deficiency and the risk of tuberculosis"
CHECK = ("import runpy, sys\nsys.argv = ['ragtune', 'search', %r, '--index', 'scifact', '--json']\n"
         "try:\n    runpy.run_module('ragtune', run_name='__main__')\nexcept SystemExit:\n    pass\n"
         "heavy = {m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'sentence_transformers', 'lancedb'}\n"
         "print(sorted(heavy), file=sys.stderr)")


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=None, help="only the first N abstracts (default: all)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ragtune-cold-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAGTUNE_HOME": str(work / "home"), "LANCE_LOG": "error"}
    corpus, args.docs = corpus_prefix(DATA / "corpus.jsonl", args.docs, work)
    log(f"building the index ({args.docs} abstracts, default embedder)")
    subprocess.run([sys.executable, "-m", "ragtune", "ingest", str(corpus), "--index", "scifact", "--json"], env=env,
                   stdout=subprocess.DEVNULL, check=True)
    checked = subprocess.run([sys.executable, "-c", CHECK % QUERY], env=env, capture_output=True, text=True, check=True)
    heavy = json.loads(checked.stderr.strip().splitlines()[-1].replace("'", '"'))
    commands = {"import_torch": [sys.executable, "-c", "import torch"],
                "ragtune_search": [sys.executable, "-m", "ragtune", "search", QUERY, "--index", "scifact", "--json"],
                "import_ragtune_cli": [sys.executable, "-c", "import ragtune.cli"],
                "import_lancedb": [sys.executable, "-c", "import lancedb"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    loads = []
    for _ in range(args.rounds):
        loads.append(round(os.getloadavg()[0], 2))
        for name, argv in commands.items():
            times[name].append(round(timed(argv, env), 3))
    medians = {name: round(median(values), 3) for name, values in times.items()}
    ratio = round(medians["ragtune_search"] / medians["import_torch"], 2)
    result = {"bench": "cold_start", "documents": args.docs, "query": QUERY, "rounds": args.rounds, "median_s": medians,
              "search_over_import_torch": ratio, "target": "search < import torch (ratio < 1)", "met": ratio < 1,
              "heavy_modules_in_search": heavy, "runs_s": times, "load_average_per_round": loads,
              "load_average_end": [round(x, 2) for x in os.getloadavg()], "cpu_count": os.cpu_count()}
    write_result(Path(args.out), result)
    print(f"cold ragtune search: {medians['ragtune_search']:.2f} s   import torch: {medians['import_torch']:.2f} s   "
          f"ratio {ratio}   target < 1")
    print(f"(imports alone: ragtune.cli {medians['import_ragtune_cli']:.2f} s, lancedb {medians['import_lancedb']:.2f} s; "
          f"heavy modules in search: {heavy or 'none'}   target none)")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
