"""The eval runner: four variants over one question set, the generation cache (rerun, resume after a crash,
invalidation), format tasks, the judge, and bad input."""

import json

import pytest

from ragtune.errors import ConfigError, EvaluationError, InputError, MissingKeyError
from ragtune.evaluation.base import FORMAT_VERSION
from ragtune.evaluation.config import EvalConfig
from ragtune.components.registry import ModelNotFoundError

from .conftest import QUESTIONS, write_jsonl


def rows_of(result, variant):
    return {r["id"]: r for r in result.rows if r["variant"] == variant}


def test_four_variants_answer_the_same_questions(eval_ws, questions_file, tuned_model):
    config = EvalConfig.create(variants="base,rag,ft,rag+ft", model="fake", index="support", tuned="support-ft")
    result = eval_ws().evaluate(questions_file, config)
    assert len(result.rows) == 4 * len(QUESTIONS)
    assert list(result.aggregates) == ["base", "rag", "ft", "rag+ft"]
    cfg = result.config
    assert cfg["format_version"] == FORMAT_VERSION and cfg["index"] == "support" and cfg["tuned"] == "support-ft@v2"
    assert cfg["models"] == {"base": "fake", "rag": "fake", "ft": "tuned:support-ft@v2", "rag+ft": "tuned:support-ft@v2"}
    base, rag, ft, both = (rows_of(result, v) for v in ("base", "rag", "ft", "rag+ft"))
    # base: the fake model alone cannot answer; rag: it quotes the first retrieved block, cited
    assert base["retention"]["abstained"] == 1.0 and base["retention"]["false_abstention"] == 1.0
    assert "recall@10" not in base["retention"] and base["retention"]["citations"] == []
    assert rag["retention"]["citations"] and rag["retention"]["recall@10"] == 1.0
    assert ft["retention"]["answer"] == tuned_model["support-ft@v2"] and ft["retention"]["token_f1"] > 0.3
    assert both["retention"]["model"] == "tuned:support-ft@v2" and both["retention"]["citations"]
    assert both["retention"]["faithfulness"] == 1.0 and both["retention"]["citation_precision"] == 1.0
    agg = result.aggregates
    assert agg["ft"]["token_f1"]["mean"] > agg["base"]["token_f1"]["mean"] == 0.0
    assert set(agg["rag"]["latency_ms_p50"]) == {"mean", "ci95", "n"} and agg["rag"]["cost_per_1k_queries"]["mean"] >= 0.0
    assert "ndcg@10" in agg["rag"] and "ndcg@10" not in agg["ft"]
    # the unanswerable question: abstaining is right
    assert rag["mercury"]["abstain_correct"] in (0.0, 1.0) and "token_f1" not in rag["mercury"]


def test_rerun_costs_nothing_and_an_interrupted_run_resumes(eval_ws, questions_file, scripted):
    config = EvalConfig.create(variants="base,rag", model="scripted", index="support")
    scripted["fail_after"] = 3
    with pytest.raises(EvaluationError, match="run the same command again to resume"):
        eval_ws().evaluate(questions_file, config)
    assert scripted["calls"] == 4  # three answers made and cached, the fourth call failed
    scripted.update(calls=0, fail_after=None)
    resumed = eval_ws().evaluate(questions_file, config)
    made_on_resume = scripted["calls"]
    assert resumed.config["run"]["cached"] == 3 and resumed.config["run"]["generated"] == 2 * len(QUESTIONS) - 3
    # the rag answer to 'mercury' may abstain before any model call; every other answer needs one
    assert made_on_resume <= 2 * len(QUESTIONS) - 3
    scripted["calls"] = 0
    again = eval_ws().evaluate(questions_file, config)
    assert scripted["calls"] == 0
    assert (again.config["run"]["generated"], again.config["run"]["cached"]) == (0, 2 * len(QUESTIONS))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "cached"} for r in rows]  # noqa: E731
    assert strip(again.rows) == strip(resumed.rows)


def test_cache_key_follows_settings_tuned_version_and_index_content(eval_ws, questions_file, tuned_model, docs_dir, scripted):
    ws = eval_ws()
    first = ws.evaluate(questions_file, EvalConfig.create(variants="ft", tuned="support-ft@v1"))
    assert rows_of(first, "ft")["retention"]["answer"] == tuned_model["support-ft@v1"]
    second = eval_ws().evaluate(questions_file, EvalConfig.create(variants="ft", tuned="support-ft@v2"))
    assert second.config["run"]["cached"] == 0 and rows_of(second, "ft")["retention"]["answer"] == tuned_model["support-ft@v2"]

    config = EvalConfig.create(variants="base,rag", model="scripted", index="support")
    eval_ws().evaluate(questions_file, config)
    assert eval_ws().evaluate(questions_file, config.model_copy(update={"k": 2})).config["run"]["cached"] == len(QUESTIONS)
    ws = eval_ws()
    ws.ingest([str(docs_dir)], "support")  # the index changes: rag answers are stale, base answers are not
    changed = ws.evaluate(questions_file, config).config["run"]
    assert changed["cached"] == len(QUESTIONS) and changed["generated"] == len(QUESTIONS)


def test_format_questions_use_structured_output_and_are_scored(eval_ws, tmp_path, scripted):
    schema = {"type": "object", "required": ["intent", "slots"],
              "properties": {"intent": {"enum": ["PlayMusic", "GetWeather"]}, "slots": {"type": "object"}}}
    rows = [{"id": "a", "question": "play jazz", "reference_output": {"intent": "PlayMusic", "slots": {"genre": "jazz"}}},
            {"id": "b", "question": "rain in Oslo?", "reference_output": {"intent": "GetWeather", "slots": {"city": "Oslo"}}}]
    path = write_jsonl(tmp_path / "format.jsonl", rows)
    scripted["reply"] = 'Here: {"intent": "PlayMusic", "slots": {"genre": "jazz"}}'
    result = eval_ws().evaluate(path, EvalConfig.create(variants="base", model="scripted"), schema=schema)
    a, b = rows_of(result, "base")["a"], rows_of(result, "base")["b"]
    assert a["json_valid"] == a["schema_valid"] == a["output_exact"] == a["field_acc.intent"] == 1.0
    assert b["schema_valid"] == 1.0 and b["output_exact"] == 0.0 and b["field_acc.intent"] == 0.0
    assert a["structured"] == {"valid": True, "errors": [], "attempts": 1, "constrained": False} and "abstained" not in a and "token_f1" not in a
    assert result.aggregates["base"]["schema_valid"]["mean"] == 1.0
    # the schema reached the model's system prompt
    scripted["reply"], scripted["calls"] = "no json at all", 0
    repaired = eval_ws().evaluate(path, EvalConfig.create(variants="base", model="scripted", repairs=1, cache=False), schema=schema)
    assert scripted["calls"] == 4 and rows_of(repaired, "base")["a"]["structured"]["attempts"] == 2
    assert repaired.aggregates["base"]["json_valid"]["mean"] == 0.0
    scripted["calls"] = 0
    scored = eval_ws().evaluate(path, EvalConfig.create(variants="base", model="scripted", schema_mode="score", cache=False),
                                schema=schema)
    assert scripted["calls"] == 2 and "structured" not in rows_of(scored, "base")["a"]
    assert scored.aggregates["base"]["schema_valid"]["mean"] == 0.0


def test_judge_verdicts_and_unusable_replies(eval_ws, questions_file, monkeypatch):
    result = eval_ws().evaluate(questions_file, EvalConfig.create(
        variants="rag", model="fake", index="support", judge='fake:{"correct": true, "reason": "same facts"}'))
    rag = rows_of(result, "rag")
    answered = [r for r in rag.values() if "token_f1" in r and not r.get("abstain_reason")]
    assert answered and all(r["judge_correct"] == 1.0 and r["judge"]["reason"] == "same facts" for r in answered)
    assert "judge_correct" not in rag["mercury"]  # no reference answer: nothing to judge
    muddled = eval_ws().evaluate(questions_file, EvalConfig.create(variants="rag", model="fake", index="support",
                                                                   judge="fake:I think so"))
    assert all("judge_correct" not in r for r in muddled.rows)
    assert any("did not fit its schema" in (r.get("judge") or {}).get("reason", "") for r in muddled.rows)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        eval_ws().evaluate(questions_file, EvalConfig.create(variants="rag", model="fake", index="support", judge="auto"))


def test_remote_style_concurrency_keeps_the_order(eval_ws, questions_file):
    one = eval_ws().evaluate(questions_file, EvalConfig.create(variants="rag", model="fake", index="support", cache=False))
    many = eval_ws().evaluate(questions_file, EvalConfig.create(variants="rag", model="fake", index="support", cache=False,
                                                                concurrency=3))
    assert [(r["id"], r["answer"]) for r in many.rows] == [(r["id"], r["answer"]) for r in one.rows]


def test_a_question_too_long_for_the_window_is_a_row_error(eval_ws, tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [{"id": "short", "question": "How long are audit entries kept?"},
                                                 {"id": "long", "question": "audit " * 5000}])
    result = eval_ws().evaluate(path, EvalConfig.create(variants="base", model="fake"))
    rows = rows_of(result, "base")
    assert rows["long"]["answer"] is None and "window" in rows["long"]["error"] and "latency_ms" not in rows["long"]
    assert result.aggregates["base"]["latency_ms"]["n"] == 1 and any("failed" in n for n in result.notes)


@pytest.mark.parametrize("fields, message", [
    ({"variants": "base,rag,nonsense"}, "unknown variant 'nonsense'"),
    ({"variants": "ft"}, "variant 'ft' needs a tuned model: give --tuned"),
    ({"variants": "rag"}, "variant 'rag' needs an index: give --index"),
    ({"variants": ""}, "give at least one variant"),
    ({"variants": "base", "k": 0}, "field 'k': Input should be greater than or equal to 1"),
])
def test_bad_settings_are_input_errors(fields, message):
    with pytest.raises(InputError, match=message):
        EvalConfig.create(**fields)


def test_bad_references_fail_before_any_generation(eval_ws, questions_file, tmp_path, scripted):
    with pytest.raises(ModelNotFoundError):
        eval_ws().evaluate(questions_file, EvalConfig.create(variants="ft", tuned="nobody"))
    with pytest.raises(InputError, match="no index named 'nope'"):
        eval_ws().evaluate(questions_file, EvalConfig.create(variants="rag", index="nope", model="scripted"))
    with pytest.raises(ConfigError, match="unknown model spec 'bogus:x'"):
        eval_ws().evaluate(questions_file, EvalConfig.create(variants="base", model="bogus:x"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "1", "question": "ok?"}) + "\n" + json.dumps({"id": "2", "reference_answer": "x"}) + "\n")
    with pytest.raises(InputError, match="bad.jsonl:2: field 'question' is missing"):
        eval_ws().evaluate(bad, EvalConfig.create(variants="base", model="scripted"))
    assert scripted["calls"] == 0 and not (tmp_path / "ws" / "eval-cache" / "answers").exists()


@pytest.mark.slow
def test_rhdh_extractive_end_to_end(ws_for, tmp_path, shared_data):
    """Real documents and questions: rag with the extractive generator beats the model alone, cites the right passages."""
    data = shared_data / "rhdh_docs_qa"
    ws = ws_for(tmp_path / "rhdh")
    ws.ingest([str(data / "docs")], "rhdh")
    rows = [json.loads(line) for line in (data / "qa.jsonl").read_text().splitlines()[:25]]
    path = write_jsonl(tmp_path / "qa.jsonl", rows)
    result = ws.evaluate(path, EvalConfig.create(variants="base,rag", model="extractive", index="rhdh", mode="lexical"))
    base, rag = result.aggregates["base"], result.aggregates["rag"]
    assert base["token_f1"]["mean"] == 0.0 and base["abstained"]["mean"] == 1.0
    assert rag["token_f1"]["mean"] > 0.2 and rag["token_f1"]["ci95"][0] > 0.1
    assert rag["recall@10"]["mean"] > 0.5 and rag["citation_precision"]["mean"] > 0.4
    assert rag["faithfulness"]["mean"] > 0.9


def test_the_judges_own_tokens_are_counted_and_priced_as_the_cost_of_measuring(eval_ws, questions_file, register_plugin):
    from ragtune.costs.prices import ModelPrice, PriceTable
    from ragtune.generation import FakeGenerator, generators
    from ragtune.generation.base import PricingBasis

    class HostedJudge(FakeGenerator):
        pricing = PricingBasis.per_token

    verdict = '{"correct": true, "reason": "same facts"}'
    register_plugin(generators, "hosted", lambda rest, config, home: HostedJudge(verdict, spec=f"hosted:{rest}"))
    prices = PriceTable.default().model_copy(update={"prices": {"hosted:judge": ModelPrice(input_per_mtok=2.0,
                                                                                            output_per_mtok=8.0)}})
    result = eval_ws().evaluate(questions_file, EvalConfig.create(variants="rag", model="fake", index="support",
                                                                  judge="hosted:judge", prices=prices, cache=False))
    judged = [r["judge"] for r in result.rows if r.get("judge", {}).get("model") == "hosted:judge"]
    spent = result.config["measurement_cost"]["judge"]["hosted:judge"]
    assert spent["input_tokens"] == sum(j["input_tokens"] for j in judged) > 0
    assert (spent["usd"]["value"], spent["usd"]["basis"]) == (
        pytest.approx((spent["input_tokens"] * 2.0 + spent["output_tokens"] * 8.0) / 1e6), "measured")
