"""The decision rule against a known right answer: simulated per-question scores whose true means are set.

Three candidates, cheapest first: ``base`` (true mean 0.20 below the best), ``rag`` (``gap`` below the best) and
``rag+ft`` (the best, true mean 0.60, the dearest). The truth is computed from the generator, not from the decision:
the truth's cheapest candidate *as good* is ``rag`` when ``gap <= margin``, else ``rag+ft``.

Per-question scores are paired (a shared question difficulty, correlation 0.5), binary (right or wrong) or
continuous (clipped to 0-1), and either independent or clustered (groups of 5 questions sharing a source, with a
source effect on each candidate; the rule is given the groups). For each cell (gap in 0, margin/2, margin, 2 margin;
binary or continuous; clustered or not; n in 20, 50, 100, 200) the rule (``ragtune.decide.selection.select``) decides
``--draws`` times on fresh samples, and the script reports:

- ``worse_pick``: share of decisions whose pick (settled) is truly worse than the best by more than the margin
  (target at most 0.05 in every cell); ``worse_pick_any``: the same counting provisional picks;
- ``not_yet_known``: share of decisions where ``rag`` was *not yet known*; ``unsettled``: share with no candidate
  shown as good (the pick is the best measured, provisionally);
- ``truth_pick``: share of decisions whose settled pick is the truth's cheapest *as good*;
- ``old_rule_worse_pick``: the same as ``worse_pick`` for the former rule (cheapest candidate whose 95% paired interval
  against the best reaches 0, called "tied"), for contrast.

    python bench/decide_truth.py [--draws 200] [--out bench/results/decide_truth.json]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from statistics import NormalDist

import numpy as np
from _common import RESULTS, ROOT, log, write_result

from ragtune.decide.selection import select
from ragtune.decide.verdict import AS_GOOD, MARGIN, NOT_YET_KNOWN, VerdictRules

NAMES = ["base", "rag", "rag+ft"]
COSTS = {"base": 1.0, "rag": 2.0, "rag+ft": 10.0}
BEST_MEAN, BASE_GAP, RHO, CLUSTER, SD = 0.60, 0.20, 0.5, 5, 0.25
_GRID = np.asarray([NormalDist().inv_cdf((i + 0.5) / 200_000) for i in range(200_000)])


def true_mean(location: float, binary: bool) -> float:
    """The true mean of a candidate whose latent location is ``location`` (exact, by quadrature on normal quantiles)."""
    if binary:
        return float(np.mean(_GRID < NormalDist().inv_cdf(location)))
    return float(np.mean(np.clip(location + SD * _GRID, 0, 1)))


def locations(gap: float, binary: bool) -> dict[str, float]:
    """Latent locations whose true means are the best's and ``gap`` and ``BASE_GAP`` below it (continuous: solved)."""
    targets = {"rag+ft": BEST_MEAN, "rag": BEST_MEAN - gap, "base": BEST_MEAN - BASE_GAP}
    if binary:
        return targets
    out = {}
    for name, target in targets.items():
        lo, hi = -1.0, 2.0
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if true_mean(mid, False) < target else (lo, mid)
        out[name] = (lo + hi) / 2
    return out


def sample(n: int, loc: dict[str, float], binary: bool, clustered: bool, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Scores of each candidate on ``n`` questions: latent ``sqrt(rho) z_q + sqrt(tau) w_c,source + sqrt(rest) e_cq``."""
    z = rng.standard_normal(n)
    tau = 0.3 if clustered else 0.0
    if clustered:
        z = np.sqrt(0.5) * np.repeat(rng.standard_normal(n // CLUSTER + 1), CLUSTER)[:n] + np.sqrt(0.5) * z
    out = {}
    for name in NAMES:
        w = np.repeat(rng.standard_normal(n // CLUSTER + 1), CLUSTER)[:n] if clustered else np.zeros(n)
        x = np.sqrt(RHO) * z + np.sqrt(tau) * w + np.sqrt(1 - RHO - tau) * rng.standard_normal(n)
        out[name] = (x < NormalDist().inv_cdf(loc[name])).astype(float) if binary else np.clip(loc[name] + SD * x, 0, 1)
    return out


def old_rule_pick(scores: dict[str, np.ndarray], rng: np.random.Generator) -> str:
    """The former rule: best by mean; "tied" unless the 95% paired bootstrap interval lies below 0; cheapest tied."""
    best = max(NAMES, key=lambda c: scores[c].mean())
    n = scores[best].size
    idx = rng.integers(0, n, size=(2000, n))
    tied = [best]
    for c in NAMES:
        if c != best and np.percentile((scores[c] - scores[best])[idx].mean(axis=1), 97.5) >= 0:
            tied.append(c)
    return min(tied, key=lambda c: COSTS[c])


def run_cell(gap: float, binary: bool, clustered: bool, n: int, draws: int, margin: float, seed: int) -> dict:
    loc = locations(gap, binary)
    truth = {c: true_mean(loc[c], binary) for c in NAMES}
    top = max(truth.values())
    truth_pick = min((c for c in NAMES if truth[c] >= top - margin - 1e-9), key=lambda c: COSTS[c])
    rng = np.random.default_rng(seed)
    ids = [f"q{i}" for i in range(n)]
    kinds = {q: "knowledge" for q in ids}
    groups = {q: f"s{i // CLUSTER}" for i, q in enumerate(ids)} if clustered else None
    counts = {"worse_pick": 0, "worse_pick_any": 0, "not_yet_known": 0, "unsettled": 0, "truth_pick": 0,
              "old_rule_worse_pick": 0, "rag_as_good": 0}
    for d in range(draws):
        s = sample(n, loc, binary, clustered, rng)
        scores = {c: dict(zip(ids, s[c].tolist())) for c in NAMES}
        sel = select(scores, kinds, COSTS, {}, None, rules=VerdictRules(margin=margin, seed=d), groups=groups)
        worse = truth[sel.pick] < top - margin - 1e-9
        counts["worse_pick"] += sel.settled and worse
        counts["worse_pick_any"] += worse
        counts["unsettled"] += not sel.settled
        counts["truth_pick"] += sel.settled and sel.pick == truth_pick
        counts["not_yet_known"] += sel.verdicts.comparisons["rag"].verdict == NOT_YET_KNOWN
        counts["rag_as_good"] += sel.verdicts.comparisons["rag"].verdict == AS_GOOD
        counts["old_rule_worse_pick"] += truth[old_rule_pick(s, rng)] < top - margin - 1e-9
    return {"gap": round(gap, 4), "scores": "binary" if binary else "continuous", "clustered": clustered, "n": n,
            "truth": {c: round(v, 4) for c, v in truth.items()}, "truth_cheapest_as_good": truth_pick,
            **{k: round(v / draws, 4) for k, v in counts.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--margin", type=float, default=MARGIN)
    parser.add_argument("--ns", default="20,50,100,200")
    parser.add_argument("--out", default=str(RESULTS / "decide_truth.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    ns = [int(x) for x in args.ns.split(",")]
    cells = []
    seed = 0
    for gap_share in (0.0, 0.5, 1.0, 2.0):
        for binary in (True, False):
            for clustered in (False, True):
                for n in ns:
                    seed += 1
                    cell = run_cell(gap_share * args.margin, binary, clustered, n, args.draws, args.margin, seed)
                    cells.append(cell)
                    log(f"gap {cell['gap']} {cell['scores']} clustered={clustered} n={n}: worse_pick {cell['worse_pick']} "
                        f"not_yet_known {cell['not_yet_known']} truth_pick {cell['truth_pick']} "
                        f"old_rule_worse_pick {cell['old_rule_worse_pick']}")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True,
                                 check=False).stdout.strip())
    result = {
        "benchmark": "decide_truth", "commit": commit, "source_modified": dirty,
        "command": " ".join([sys.executable.rsplit("/", 1)[-1], *sys.argv]), "resumed": False, "cached": False,
        "draws": args.draws, "margin": args.margin, "candidates": {c: {"cost": COSTS[c]} for c in NAMES},
        "setup": {"best_mean": BEST_MEAN, "base_gap": BASE_GAP, "question_correlation": RHO, "cluster_size": CLUSTER,
                  "continuous_sd": SD},
        "target": "worse_pick <= 0.05 in every cell",
        "max_worse_pick": max(c["worse_pick"] for c in cells),
        "max_old_rule_worse_pick": max(c["old_rule_worse_pick"] for c in cells),
        "cells": cells, "wall_s": round(time.perf_counter() - started, 1),
    }
    write_result(__import__("pathlib").Path(args.out), result)
    print(f"wrote {args.out}: max worse_pick {result['max_worse_pick']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
