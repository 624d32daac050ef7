"""Why the pick won, in words: the best's lead over the runner-up, every other candidate's gap to the best."""

import json


def _decide(workspace, tmp_path, scores):
    rows = [{"id": f"q{i}", "candidate": c, "score": s, "latency_ms": 100.0, "input_tokens": 200, "output_tokens": 20}
            for c, s in scores.items() for i in range(40)]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return workspace.decide_rows(path, model="extractive")


def _line(decision, label):
    return next(r for r in decision.reasons if r.startswith(f"{label}: "))


def test_the_best_is_listed_with_its_lead_over_the_runner_up(workspace, tmp_path):
    d = _decide(workspace, tmp_path, {"base": 0.2, "rag": 0.9})
    assert "rag (0.900" in _line(d, "as good") and "leads by +0.700;" in _line(d, "as good")


def test_the_others_are_listed_with_their_gap_to_the_best(workspace, tmp_path):
    d = _decide(workspace, tmp_path, {"base": 0.2, "rag": 0.9})
    assert "Δ -0.700;" in _line(d, "worse")
