"""A real RAFT run (SmolLM2-135M, two steps) over examples/docs, served through ask and the eval's rag+ft variant."""

from __future__ import annotations

import json
import shutil

import pytest

from ragtune.api import EvalConfig
from ragtune.evaluation.questions import load_questions
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.raft import RAFT_DIR, RaftSettings

pytestmark = pytest.mark.slow


def test_raft_version_records_its_index_answers_over_rag_and_is_kept_out_of_its_own_eval(tmp_path, example_docs, ws_for):
    docs = tmp_path / "docs"
    shutil.copytree(example_docs, docs)
    ws = ws_for(tmp_path / "home", generation={"max_new_tokens": 24})
    ws.ingest([str(docs)], "support")
    questions = load_questions(example_docs.parent / "questions.jsonl")
    train = questions[:6]
    lora = LoraConfig(data=example_docs.parent / "questions.jsonl", name="support-raft", max_steps=2, batch_size=1,
                      max_length=1024, eval_fraction=0, rank=4, alpha=8, targets="attention", logging_steps=1)
    card = ws.tune_raft(train, "support", RaftSettings(distractors=1, oracle_share=0.5), lora)

    assert card.ref == "support-raft@v1" and card.kind == "lora" and card.metrics["steps"] == 2
    source = card.data.source
    assert source["kind"] == "raft" and source["index"] == "support" and source["index_generation"] == 1
    assert source["settings"]["distractors"] == 1 and source["settings"]["oracle_share"] == 0.5
    assert source["rows"] == 6 and source["oracle_kept"] + source["oracle_dropped"] == 6
    version = ws.models.path(card.ref)
    rows = [json.loads(line) for line in (version / card.files["raft_data"]).read_text().splitlines()]
    assert [r["id"] for r in rows] == [q.id for q in train]
    assert [json.loads(line)["id"] for line in (version / card.files["questions"]).read_text().splitlines()] == [q.id for q in train]
    assert not (ws.models.model_dir("support-raft") / RAFT_DIR).exists()

    answer = ws.ask("How long are audit log entries kept?", "support", model="tuned:support-raft")
    assert answer.model == "tuned:support-raft@v1" and answer.context  # answered over retrieved blocks
    assert answer.abstained or answer.answer.strip()

    held_out = [q for q in questions[6:] if q.reference_answers][:1]
    result = ws.evaluate(train[:2] + held_out, EvalConfig.create(variants="rag+ft", index="support", tuned="support-raft"))
    assert [r["id"] for r in result.rows] == [held_out[0].id]
    assert any(n.startswith("2 question(s) left out because support-raft@v1 was trained on them") for n in result.notes)

    (docs / "holidays.md").write_text("# Holidays\n\nThe office closes on 24 December.\n", encoding="utf-8")
    ws.ingest([str(docs)], "support")
    result = ws.evaluate(held_out, EvalConfig.create(variants="rag+ft", index="support", tuned="support-raft"))
    assert ("warning: support-raft@v1 was trained on index 'support' at generation 1; the index is now at generation 2"
            in result.notes)
