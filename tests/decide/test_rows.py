"""``decide --rows``: decide again from per-question rows, validated line by line; costs that say what they assume."""

import json
import math

import pytest

from ragtune.decide.rows import read_rows
from ragtune.errors import InputError


def write_rows(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def rows_of(n, scores_by_candidate, **extra):
    return [{"id": f"q{i}", "candidate": c, "score": s(i), "latency_ms": 100.0, "input_tokens": 200, "output_tokens": 20,
             **extra} for c, s in scores_by_candidate.items() for i in range(n)]


def test_rows_decide_without_running_a_model(workspace, tmp_path):
    rows = rows_of(200, {"base": lambda i: 0.1, "rag": lambda i: 0.8 + 0.1 * math.sin(i),
                         "rag+ft": lambda i: 0.8 + 0.1 * math.sin(i)})
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    assert d.primary_metric == "score"
    assert d.candidates["base"].verdict == "worse"
    assert d.candidates["rag"].verdict == "as good"
    assert d.recommendation == "rag"  # as good and cheaper (rag+ft's spec is a tuned model: training not measured here)
    assert d.verdict["settled"] and d.verdict["margin"] == 0.03
    assert set(d.candidates) == {"base", "rag", "rag+ft"}


def test_a_decide_out_file_is_read_back_as_rows(workspace, tmp_path):
    rows = rows_of(30, {"base": lambda i: 0.2, "rag": lambda i: 0.9})
    first = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    saved = first.write(tmp_path / "decision.json")
    again = workspace.decide_rows(saved, model="extractive")
    assert again.recommendation == first.recommendation
    assert again.candidates["rag"].score == pytest.approx(first.candidates["rag"].score)


def test_few_rows_warn_and_leave_every_verdict_not_yet_known(workspace, tmp_path):
    rows = rows_of(3, {"base": lambda i: 0.0, "rag": lambda i: 1.0})
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    assert {d.candidates[c].verdict for c in ("base", "rag")} == {"not yet known"}
    assert any("only 3 question(s)" in w for w in d.verdict["warnings"])
    assert d.verdict["settled"] is False


def test_one_question_is_never_significant(workspace, tmp_path):
    rows = rows_of(1, {"base": lambda i: 0.0, "rag": lambda i: 0.842})
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    assert d.candidates["base"].verdict == "not yet known"


def test_failed_answers_score_zero_are_costed_and_too_many_make_a_candidate_worse(workspace, tmp_path):
    rows = rows_of(40, {"base": lambda i: 0.5, "rag": lambda i: 0.5})
    for r in rows:
        if r["candidate"] == "base" and int(r["id"][1:]) < 20:
            r.pop("score")
            r["error"] = "timeout"
            r["latency_ms"] = 5000.0
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive", metric="score")
    assert d.candidates["base"].verdict == "worse"
    assert "failed on 50%" in d.candidates["base"].verdict_reason
    assert d.candidates["base"].cost_figures["latency_ms_mean"]["value"] == pytest.approx(2550.0)


def test_an_api_model_without_a_price_has_an_unknown_cost_and_the_pick_says_so(workspace, tmp_path):
    rows = rows_of(100, {"base": lambda i: 0.5 + 0.3 * math.sin(i), "rag": lambda i: 0.5 + 0.3 * math.sin(i)})
    for r in rows:
        r["model"] = "openai:gpt-unpriced" if r["candidate"] == "base" else "extractive"
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows))
    base = d.candidates["base"]
    assert base.monthly_usd is None and base.total_usd is None
    assert base.cost_figures["price_per_mtok"]["basis"] == "unknown"
    assert not any("machine_usd_per_hour" in a for a in base.assumed)  # never its latency at the CPU rate
    assert d.recommendation == "rag"
    assert any("could not compare money with base" in r for r in d.reasons)


def test_every_cost_figure_is_labelled_and_unstated_volume_is_assumed(workspace, tmp_path):
    rows = rows_of(20, {"rag": lambda i: 0.5, "base": lambda i: 0.4})
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive", months=6)
    figures = d.candidates["rag"].cost_figures
    assert {f["basis"] for f in figures.values()} <= {"measured", "stated", "assumed", "unknown"}
    assert figures["queries_per_month"]["basis"] == "assumed"
    assert figures["months"]["basis"] == "stated"
    assert figures["store_hosting_usd_per_month"]["basis"] == "unknown"  # no --index: the store was not measured
    assert any(a.startswith("queries_per_month") for a in d.candidates["rag"].assumed)


def test_rows_report_in_markdown_shows_verdicts_and_assumptions(workspace, tmp_path):
    from ragtune.api import write_decision_report

    rows = rows_of(20, {"rag": lambda i: 0.5, "base": lambda i: 0.4})
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    md = write_decision_report(d, tmp_path / "d.md").read_text()
    assert "| verdict |" in md and "queries per month 10,000" in md
    html = write_decision_report(d, tmp_path / "d.html").read_text()
    assert "assumed" in html and "Verdicts against the best" in html


@pytest.mark.parametrize("line, message", [
    ('{"id": "q1", "candidate": "rag", "score": NaN}', "NaN is not a number"),
    ('{"id": "q1", "score": 0.5}', "field 'candidate' is missing"),
    ('{"id": "q1", "candidate": "lora", "score": 0.5}', "field 'candidate' is 'lora'"),
    ('{"candidate": "rag", "score": 0.5}', "field 'id' is missing"),
    ('{"id": "q1", "candidate": "rag", "score": "high"}', "field 'score' is 'high'"),
    ('{"id": "q1", "candidate": "rag", "task": "vibes", "score": 1}', "field 'task' is 'vibes'"),
    ('{"id": "q1", "candidate": "rag", "score": 1, "latency_ms": -3}', "field 'latency_ms' is -3"),
    ('{"id": "q1", "candidate": "rag", "score": 1, "machine_ms": -1}', "field 'machine_ms' is -1"),
    ('{"id": "q1", "candidate": "rag", "score": 1, "machine_ms": "fast"}', "field 'machine_ms' is 'fast'"),
    ('{"id": "q1", "candidate": "rag"}', "nothing to decide from"),
    ('[1, 2]', "a row is a JSON object"),
    ('{"id": "q1", "candidate": "rag", "score": 1', "not a JSON row"),
])
def test_bad_rows_are_named_by_line(tmp_path, line, message):
    path = write_rows(tmp_path / "rows.jsonl", [{"id": "q0", "candidate": "rag", "score": 1.0}, line])
    with pytest.raises(InputError, match="rows.jsonl.*2") as exc:
        read_rows(path)
    assert message in str(exc.value)


def test_duplicate_question_candidate_pairs_and_conflicting_tasks_are_named(tmp_path):
    path = write_rows(tmp_path / "rows.jsonl", [{"id": "q0", "candidate": "rag", "score": 1.0},
                                                 {"id": "q0", "candidate": "rag", "score": 0.0}])
    with pytest.raises(InputError, match="line 2: question 'q0' of rag repeats line 1"):
        read_rows(path)
    path = write_rows(tmp_path / "rows.jsonl", [{"id": "q0", "candidate": "rag", "score": 1.0},
                                                 {"id": "q0", "candidate": "base", "task": "format", "score": 0.0}])
    with pytest.raises(InputError, match="line 2: question 'q0' is format here but knowledge at line 1"):
        read_rows(path)


def test_mixed_tasks_without_weights_are_weighted_by_share_and_say_so(workspace, tmp_path):
    rows = rows_of(20, {"rag": lambda i: 0.5, "base": lambda i: 0.4})
    for r in rows:
        r["task"] = "format" if int(r["id"][1:]) < 5 else "knowledge"
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    assert any("no --weights were given" in n for n in d.notes)
    assert d.verdict["task_weights"] == {"format": 0.25, "knowledge": 0.75}


def test_unscorable_rows_are_left_out_for_every_candidate_and_counted(workspace, tmp_path):
    rows = rows_of(30, {"rag": lambda i: 0.5, "base": lambda i: 0.4})
    rows[0]["score"] = None  # the judge could not score rag on q0
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    assert d.verdict["questions_in_common"] == 29
    assert d.verdict["questions_left_out"] == 1


def test_the_cost_per_query_carries_an_interval_from_the_spread_of_answers(workspace, tmp_path):
    rows = rows_of(30, {"rag": lambda i: 0.5, "base": lambda i: 0.4})
    for i, r in enumerate(rows):
        r["latency_ms"] = 100.0 + 50 * (i % 5)
    d = workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")
    figure = d.candidates["rag"].cost_figures["per_query_usd"]
    low, high = figure["ci95"]
    assert low < figure["value"] < high
