"""Knowledge updates without retraining on CLARK news: rag over a dated corpus, synced at T1 and again at T2.

Runs ``ragtune eval updates`` (through the API) on ../shared/data/clark_news: the news evidence dated up to T1 is
indexed and a seeded sample of the questions whose answer changed between T1 and T2 is asked with the
extractive generator; the evidence up to T2 is synced in and the same questions are asked again. Reports the
share of answers that moved to the new truth, the share stating the new truth at T2, and the share still
stale, with 95% intervals. The ft side needs a model tuned at T1 (``--tuned``); none is trained here.
Writes bench/results/eval_updates.json.

    python bench/eval_updates.py [--t1 2022-01-01] [--t2 2024-01-01] [--limit 60] [--tuned NAME@vN]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time

from _common import ROOT, shared_data  # noqa: E402 - offline, single-thread settings and the src path

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.evaluation.updates import UpdatesConfig  # noqa: E402

DATA = shared_data("clark_news")
RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--t1", default="2022-01-01")
    parser.add_argument("--t2", default="2024-01-01")
    parser.add_argument("--limit", type=int, default=60, help="Changed questions asked (a seeded sample).")
    parser.add_argument("--model", default="extractive")
    parser.add_argument("--tuned", default=None, help="A model tuned on the T1 corpus (the ft side).")
    parser.add_argument("--home", default=None, help="Workspace (default: a temporary folder).")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    ws = Workspace(RagtuneConfig.load({"home": args.home or tempfile.mkdtemp(prefix="eval_updates_")}))
    config = UpdatesConfig.create(docs=DATA / "docs.jsonl", questions=DATA / "questions.jsonl", t1=dt.date.fromisoformat(args.t1),
                                  t2=dt.date.fromisoformat(args.t2), model=args.model, tuned=args.tuned, limit=args.limit,
                                  skip_yes_no=True, index="clark")

    def progress(stage: str, done: int, total: int) -> None:
        if done == total or done % 20 == 0:
            print(f"  {stage} {done}/{total}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    result = ws.evaluate_updates(config, progress)
    wall = time.perf_counter() - started
    out = {**result.to_json(), "wall_s": round(wall, 1), "embedder": ws.config.embedder.model, "device": "cpu",
           "threads": ws.config.threads}
    out["rows"] = result.rows[:12]  # a few examples; the figures cover every asked question
    c = result.config
    print(f"\n{c['t1']} -> {c['t2']}: {c['documents_t1']} -> {c['documents_t2']} documents, {c['questions_asked']} of "
          f"{c['questions_changed']} changed open questions, {wall:.0f} s")
    for variant, metrics in result.variants.items():
        print(f"  {variant:4s} " + ", ".join(f"{m} {v['mean']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]"
                                             for m, v in metrics.items()))
    for note in result.notes:
        print(f"note: {note}")
    (RESULTS / "eval_updates.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / 'eval_updates.json'}")


if __name__ == "__main__":
    main()
