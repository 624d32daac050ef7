"""``decide --repeats N``: scores averaged per question over seeded runs, the seed spread and how stable the pick is."""

import json

import pytest

from ragtune.advisor import Facts
from ragtune.api import write_decision_report
from ragtune.advisor.decision import stated_needs
from ragtune.decide.config import DecideConfig
from ragtune.decide.decision import Measured, build_decision
from ragtune.decide.repeats import Repeat, combine_repeats
from ragtune.errors import InputError

CONFIG = DecideConfig(metric="score", min_questions=5)


def repeat(scores: dict[str, dict[str, float]], seed: int) -> Repeat:
    """One seeded run measured from rows: candidate -> question -> score."""
    rows = {c: [{"id": q, "candidate": c, "task": "knowledge", "score": s, "answer": "a", "latency_ms": 100.0,
                 "input_tokens": 10, "output_tokens": 5} for q, s in qs.items()] for c, qs in scores.items()}
    kinds = {q: "knowledge" for qs in scores.values() for q in qs}
    m = Measured(rows=rows, kinds=kinds, tasks=["knowledge"], specs={c: "extractive" for c in rows}, judged=False,
                 split={"seed": seed, "test": len(kinds)})
    facts = Facts(stated=stated_needs(queries_per_month=CONFIG.queries_per_month))
    config = CONFIG.model_copy(update={"seed": seed})
    names = list(scores)
    return Repeat(m, build_decision(config, m, facts, 0.0, "stated", names), 0.0, "stated", names, facts)


def two_seeds() -> list[Repeat]:
    """Seed 0 holds out q0..q39, seed 1 q20..q59: base is far below; rag ties rag+ft under seed 0 only."""
    first = {"base": {f"q{i}": 0.1 for i in range(40)}, "rag": {f"q{i}": 0.9 for i in range(40)},
             "rag+ft": {f"q{i}": 0.9 for i in range(40)}}
    second = {"base": {f"q{i}": 0.1 for i in range(20, 60)}, "rag": {f"q{i}": 0.5 for i in range(20, 60)},
              "rag+ft": {f"q{i}": 0.9 for i in range(20, 60)}}
    return [repeat(first, 0), repeat(second, 1)]


def test_scores_are_averaged_per_question_over_the_repeats_that_held_it_out():
    d = combine_repeats(CONFIG, two_seeds())
    rag = {r["id"]: r["primary"] for r in d.rows if r["candidate"] == "rag"}
    assert rag["q0"] == pytest.approx(0.9)  # held out by seed 0 only
    assert rag["q30"] == pytest.approx(0.7)  # held out by both: (0.9 + 0.5) / 2
    assert rag["q50"] == pytest.approx(0.5)  # held out by seed 1 only


def test_every_question_held_out_by_some_repeat_is_compared():
    d = combine_repeats(CONFIG, two_seeds())
    assert d.verdict["questions_in_common"] == 60


def test_the_seed_spread_of_each_mean_is_reported():
    d = combine_repeats(CONFIG, two_seeds())
    assert d.repeats["spread"]["rag"]["means"] == pytest.approx([0.9, 0.5])
    assert d.repeats["spread"]["rag+ft"]["sd"] == pytest.approx(0.0)


def test_the_share_of_repeats_whose_own_pick_is_the_overall_pick_is_reported():
    d = combine_repeats(CONFIG, two_seeds())
    assert d.repeats["picks"] == ["rag", "rag+ft"]
    assert d.repeats["same_pick_share"] == pytest.approx(0.5)
    assert d.recommendation == "rag+ft"
    assert any("in 1 of 2" in r for r in d.reasons)


def test_repeats_end_to_end_record_each_seed_and_say_so_in_the_report(support, questions_file, tmp_path):
    d = support.decide(questions=questions_file, index="support", candidates="base,rag", model="extractive", repeats=2)
    assert d.repeats["seeds"] == [0, 1]
    assert len(d.repeats["picks"]) == 2
    assert json.loads(json.dumps(d.to_json()))["repeats"]["n"] == 2
    assert "over 2 repeats" in write_decision_report(d, tmp_path / "decide.md").read_text()


def test_repeats_below_one_is_bad_input(workspace, questions_file):
    with pytest.raises(InputError, match="repeats"):
        workspace.decide(questions=questions_file, candidates="base", model="extractive", repeats=0)


def test_repeats_0_on_the_command_line_exits_2_naming_the_option(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "q0", "candidate": "rag", "score": 1}) + "\n")
    code, _, err = cli("decide", "--questions", rows, "--repeats", 0)
    assert code == 2 and "--repeats" in err


def test_repeats_with_rows_exits_2(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "q0", "candidate": "rag", "score": 1}) + "\n")
    code, _, err = cli("decide", "--rows", rows, "--repeats", 2)
    assert code == 2 and "--repeats" in err
