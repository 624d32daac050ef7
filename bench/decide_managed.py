"""``decide`` with managed ft and rag+ft, end to end against the loopback fake of the OpenAI fine-tuning surface.

The example corpus (examples/docs) and its 26 questions, ``-m openai:gpt-4.1-mini@<fake>``: ``ft`` and ``rag+ft``
each train a job on the fake (which stays running for ``--polls`` polls), then answer through their fine-tuned model
ids. Recorded, per phase:

1. ``first``: a fresh decision: jobs created, polls per job, trained tokens, cost labels, one-off cost, wall time;
2. ``rerun``: the same settings again: jobs created (0 expected: the published versions are reused);
3. ``interrupted``: in a fresh workspace, a run stopped (KeyboardInterrupt) once the ft job reported a step, then run
   again: jobs created in all (2 expected: the ft job is followed again, not started twice).

The fake answers chat completions with a fixed sentence, so the scores say nothing about quality: this measures the
route (jobs, polls, reuse, costs), not the models.

    python bench/decide_managed.py [--polls 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, commit, finish, serve

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "tuning" / "managed"))
from fake_fine_tuning import FakeProvider, Script, fake_app  # noqa: E402

OUT = RESULTS / "decide_managed.json"
EXAMPLES = ROOT / "examples"
TUNED = ("ft", "rag+ft")


def workspace(home: Path) -> Workspace:
    ws = Workspace(RagtuneConfig.load({"home": str(home), "embedder": {"model": "fake:64"}, "threads": 1}, env={}))
    ws.ingest([str(EXAMPLES / "docs")], "support")
    return ws


def summary(decision, state: FakeProvider, jobs_before: int, wall: float) -> dict:
    """What one decide run did at the provider and how its tuned candidates were costed."""
    out: dict = {"wall_s": round(wall, 2), "jobs_created": len(state.jobs) - jobs_before,
                 "recommendation": decision.recommendation}
    for name in TUNED:
        c = decision.candidates[name]
        if not c.measured:
            out[name] = {"skipped": c.skipped_reason}
            continue
        managed, figures = c.training["managed"], c.cost_figures
        out[name] = {"ref": c.training["ref"], "job_id": managed["job_id"], "polls": managed["polls"],
                     "reused": managed["reused"], "resumed": managed["resumed"], "trained_tokens": managed["trained_tokens"],
                     "trained_tokens_basis": figures["trained_tokens"]["basis"],
                     "training_usd": figures["training_usd"]["value"], "training_usd_basis": figures["training_usd"]["basis"],
                     "one_off_usd": c.one_off_usd, "cost_per_1k_queries": c.cost_per_1k_queries, "cost_basis": c.cost_basis}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=3, help="Polls each job stays running at the fake.")
    parser.add_argument("--holdout", type=float, default=0.3)
    args = parser.parse_args()
    started = time.monotonic()
    state = FakeProvider(script=Script(running_polls=args.polls), serves=("gpt-4.1-mini",))
    server, url = serve(fake_app(state))
    fields = dict(questions=EXAMPLES / "questions.jsonl", index="support", model=f"openai:gpt-4.1-mini@{url}",
                  candidates="base,rag,ft,rag+ft", holdout=args.holdout, poll_interval_s=0)
    phases: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp) / "home")
        for phase in ("first", "rerun"):
            before, t = len(state.jobs), time.monotonic()
            phases[phase] = summary(ws.decide(**fields), state, before, time.monotonic() - t)

        def interrupt(stage: str, done: int, total: int) -> None:
            if stage == "train ft" and done >= 1:
                raise KeyboardInterrupt

        other = workspace(Path(tmp) / "home-interrupted")
        before, t = len(state.jobs), time.monotonic()
        try:
            other.decide(progress=interrupt, **fields)
        except KeyboardInterrupt:
            pass
        phases["interrupted"] = summary(other.decide(**fields), state, before, time.monotonic() - t)
    server.should_exit = True
    result = {"commit": commit(), "command": " ".join(["python", *sys.argv]),
              "resumed_or_cached": "nothing kept between bench runs (fresh workspaces); within a run the rerun and the "
                                   "interrupted phases reuse or resume by design, which is what they measure",
              "provider": "loopback fake of the OpenAI files, fine_tuning and chat routes "
                          "(tests/tuning/managed/fake_fine_tuning.py)",
              "data": "examples/docs (index 'support', fake:64 embedder) and examples/questions.jsonl",
              "settings": {"polls_per_job": args.polls, "poll_interval_s": 0, "holdout": args.holdout},
              "phases": phases, "total_polls_at_provider": state.polls, "total_jobs_at_provider": len(state.jobs),
              "total_wall_s": round(time.monotonic() - started, 1)}
    return finish(OUT, result)


if __name__ == "__main__":
    raise SystemExit(main())
