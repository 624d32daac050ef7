"""decide with real training: the default local model LoRA-tuned within a tiny budget, measured and costed."""

import pytest

pytestmark = pytest.mark.slow

INTENTS = [("play {x} on spotify", "PlayMusic", "genre"), ("weather in {x} tomorrow", "GetWeather", "city")]
VALUES = ["jazz", "Paris", "Lyon", "rock", "Oslo", "blues", "soul", "Rome", "funk", "Nice"]


@pytest.fixture
def intents(tmp_path, jsonl):
    rows = []
    for i, value in enumerate(VALUES * 2):
        template, intent, slot = INTENTS[i % 2]
        rows.append({"input": ("" if i < 10 else "could you ") + template.format(x=value) + ("" if i < 10 else " now"),
                     "output": {"intent": intent, "slots": {slot: value}}})
    return jsonl(tmp_path / "intents.jsonl", rows)


def test_ft_is_trained_measured_and_costed_then_resumed(workspace, intents):
    fields = dict(examples=intents, model="local", candidates="base,prompt,ft", budget_s=300, max_steps=2, batch_size=2,
                  max_length=64, examples_holdout=0.15, queries_per_month=1000)
    d = workspace.decide(**fields)
    ft = d.candidates["ft"]
    assert ft.measured and ft.training["ref"].endswith("@v1") and ft.training["steps"] == 2
    assert ft.one_off_usd > 0 and any("of training" in a for a in ft.assumed)  # measured seconds × the machine's price
    assert ft.n == d.candidates["base"].n == d.split["test"] == 3
    card = workspace.model_card(ft.training["ref"])
    assert card.kind == "lora" and card.data.rows["train"] == 17  # the 3 held-out rows were never trained on
    # 3 questions are under the least sample a verdict needs: every verdict is not yet known, with a warning, and the
    # best measured is recommended provisionally (the old rule called all of them tied with the best)
    assert d.primary_metric == "format_score" and d.verdict["settled"] is False and d.recommendation == d.best
    assert {c.verdict for c in d.candidates.values()} == {"not yet known"}
    assert any("only 3 question(s) in common" in w for w in d.verdict["warnings"])
    # the prompt candidate decodes under the schema's token mask: every reply fits
    assert d.candidates["prompt"].metrics["schema_valid"]["mean"] == 1.0
    assert all(r["structured"]["valid"] and r["structured"]["constrained"] for r in d.rows if r["candidate"] == "prompt")
    again = workspace.decide(resume=True, **fields)
    assert again.candidates["ft"].training["ref"] == ft.training["ref"]  # not trained again
    assert [c.name for c in workspace.model_cards()].count(card.name) == 1
    assert again.candidates["ft"].score == ft.score
