"""RAFT rows over a real index (examples/docs, fake embedder): oracle, distractors, prompt, targets, bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.metrics import context_match
from ragtune.evaluation.questions import Question, load_questions
from ragtune.generation.base import ContextBlock
from ragtune.generation.prompts import CANNOT_ANSWER, rag_prompt
from ragtune.retrieval import ScoredChunk
from ragtune.tuning.raft import NoOracleTarget, RaftBuilder, RaftSettings, cite_answer


@pytest.fixture
def ws(tmp_path, example_docs, ws_for):
    docs = tmp_path / "docs"
    shutil.copytree(example_docs, docs)
    workspace = ws_for(tmp_path / "home")
    workspace.ingest([str(docs)], "support")
    return workspace


@pytest.fixture
def questions(example_docs):
    return load_questions(example_docs.parent / "questions.jsonl")


def builder(ws, **settings) -> RaftBuilder:
    index = ws.index("support")
    return RaftBuilder("support", index.manifest.generation, index.retriever(), lambda: ws.store.all_chunks("support"),
                       RaftSettings(**settings))


def blocks_of(ws, row) -> list[ContextBlock]:
    records = ws.store.get_chunks("support", ([row.oracle_chunk_id] if row.oracle_kept else []) + row.distractor_ids)
    by_id = {r.chunk_id: r for r in records}
    user = row.messages[1]["content"]
    order = sorted(by_id, key=lambda cid: user.index(by_id[cid].text.strip()))
    return [ContextBlock.from_scored(n, ScoredChunk(by_id[cid], 0.0)) for n, cid in enumerate(order, start=1)]


def test_rows_use_the_ask_prompt_and_cite_the_oracle(ws, questions):
    data = builder(ws, distractors=2, oracle_share=1.0).build(questions)
    answered = [q.id for q in questions if q.reference_answers]
    assert len(data.rows) + len(data.skipped) == len(questions) == data.questions
    assert [r.question_id for r in data.rows] == answered
    gold = {q.id: q.gold_doc_ids for q in questions}
    for row in data.rows:
        assert row.oracle_kept and len(row.distractor_ids) == 2 and row.oracle_chunk_id not in row.distractor_ids
        oracle = ws.store.get_chunks("support", [row.oracle_chunk_id])[0]
        assert any(oracle.source.endswith(g) for g in gold[row.question_id])  # from the gold document
        distractors = ws.store.get_chunks("support", row.distractor_ids)
        assert all(not any(d.source.endswith(g) for g in gold[row.question_id]) or d.chunk_id != oracle.chunk_id
                   for d in distractors)
        blocks = blocks_of(ws, row)
        expected = rag_prompt(row.question, blocks).messages
        assert row.messages[:2] == expected  # exactly what ask sends
        marker = next(b.number for b in blocks if b.chunk_id == row.oracle_chunk_id)
        target = row.messages[-1]
        assert target["role"] == "assistant"
        assert f"[{marker}]" in target["content"] and all(f"[{b.number}]" not in target["content"]
                                                          for b in blocks if b.number != marker)
    positions = {next(b.number for b in blocks_of(ws, r) if b.chunk_id == r.oracle_chunk_id) for r in data.rows}
    assert len(positions) > 1  # the oracle is not always first


def test_oracle_share_and_the_target_without_the_oracle(ws, questions):
    none = builder(ws, distractors=2, oracle_share=0.0).build(questions)
    assert not any(r.oracle_kept for r in none.rows)
    for row in none.rows:
        assert row.oracle_chunk_id not in row.messages[1]["content"]
        assert "[" not in row.messages[-1]["content"]  # the plain answer, uncited (RAFT)
    abstain = builder(ws, distractors=2, oracle_share=0.0, no_oracle_target=NoOracleTarget.abstain).build(questions)
    assert {r.messages[-1]["content"] for r in abstain.rows} == {CANNOT_ANSWER}
    half = builder(ws, distractors=1, oracle_share=0.5, seed=3).build(questions)
    kept = sum(r.oracle_kept for r in half.rows)
    assert 0 < kept < len(half.rows)
    assert half.summary()["oracle_kept"] == kept and half.summary()["oracle_dropped"] == len(half.rows) - kept


def test_gold_context_oracle_is_the_chunk_holding_it(ws):
    chunks = ws.store.all_chunks("support")
    source = next(c for c in chunks if "grace period" in c.text)
    q = Question(id="ctx", question="How long does an old key keep working after rotation?",
                 reference_answers=["The old key keeps working for 24 hours."], reference_contexts=[source.text])
    row = builder(ws, distractors=1, oracle_share=1.0).build([q]).rows[0]
    oracle = ws.store.get_chunks("support", [row.oracle_chunk_id])[0]
    assert context_match(oracle.text, [source.text]) == 0


def test_unusable_questions_are_reported_with_the_reason(ws):
    qs = [Question(id="ghost-doc", question="What is the refund policy?", reference_answers=["30 days."],
                   gold_doc_ids=["docs/no-such-file.md"]),
          Question(id="ghost-context", question="What colour is the logo?", reference_answers=["Teal."],
                   reference_contexts=["The Northwind logo is teal on a white field, drawn by the design team in 2019."]),
          Question(id="no-answer", question="How often must API keys be rotated?"),
          Question(id="ok", question="How often must API keys be rotated?", reference_answers=["Every 90 days."],
                   gold_doc_ids=["docs/security-policy.md"])]
    data = builder(ws, distractors=1).build(qs)
    assert [r.question_id for r in data.rows] == ["ok"]
    reasons = {s["id"]: s["reason"] for s in data.skipped}
    assert "docs/no-such-file.md" in reasons["ghost-doc"] and "not in index 'support'" in reasons["ghost-doc"]
    assert "gold context not in index" in reasons["ghost-context"]
    assert reasons["no-answer"] == "no reference answer"
    with pytest.raises(InputError, match="no question gave a RAFT row"):
        builder(ws, distractors=1).build(qs[:2])


def test_too_few_chunks_for_the_distractors_is_a_clear_error(ws, questions):
    n = ws.index("support").manifest.chunks
    with pytest.raises(InputError, match=rf"holds {n} chunk\(s\): --distractors {n} needs at least {n + 1}"):
        builder(ws, distractors=n).build(questions)


def test_cite_answer_marks_every_sentence():
    assert cite_answer("Keys rotate every 90 days. The old key works for 24 hours!", 2) == \
        "Keys rotate every 90 days [2]. The old key works for 24 hours [2]!"
    assert cite_answer("Already cited [1]. Twice [3, 4].", 5) == "Already cited [5]. Twice [5]."
    assert cite_answer("no full stop", 1) == "no full stop [1]"


def test_written_rows_are_valid_training_examples(ws, questions, tmp_path):
    from ragtune.tuning.data import read_examples
    from ragtune.tuning.heldout import example_question

    data = builder(ws, distractors=1).build(questions)
    path = data.write(tmp_path / "raft")
    examples = read_examples(path)
    assert not examples.issues and len(examples.valid) == len(data.rows)
    assert [example_question(e) for e in examples.valid] == [{"id": r.question_id, "text": r.question} for r in data.rows]
    summary = json.loads((tmp_path / "raft" / "raft.json").read_text())
    assert summary["index"] == "support" and summary["index_generation"] == ws.index("support").manifest.generation
    assert summary["settings"]["distractors"] == 1


class _StopTraining(Exception):
    pass


def test_resume_reuses_the_rows_and_warns_when_the_index_changed(ws, example_docs, tmp_path, monkeypatch):
    """A killed RAFT run keeps its rows; --resume trains on them and says the index moved on since."""
    import ragtune.tuning.lora as lora_module
    from ragtune.tuning.lora import LoraConfig

    seen: list[tuple[str, dict]] = []

    class FakeLora:
        def __init__(self, config, registry, data_source=None, attachments=None):
            self.config, self.source, self.attachments = config, data_source, attachments

        def _fit(self, staging, progress):
            seen.append((self.config.data.read_text(), self.source))
            assert {p.name for p in self.attachments.values()} == {"raft_train.jsonl", "raft.json"}
            raise _StopTraining

    monkeypatch.setattr(lora_module, "LoraTuner", FakeLora)
    questions = example_docs.parent / "questions.jsonl"
    events = []
    config = LoraConfig(data=questions, name="raft-x")
    with pytest.raises(_StopTraining):
        ws.tune_raft(questions, "support", RaftSettings(distractors=1), config, events.append)
    first_rows, source = seen[0]
    assert source["index"] == "support" and source["index_generation"] == 1 and source["settings"]["distractors"] == 1
    (tmp_path / "docs" / "new.md").write_text("# Holidays\n\nThe office closes on 24 December.\n", encoding="utf-8")
    ws.ingest([str(tmp_path / "docs")], "support")
    assert ws.index("support").manifest.generation == 2
    events.clear()
    with pytest.raises(_StopTraining):
        ws.tune_raft(questions, "support", RaftSettings(distractors=1), config.model_copy(update={"resume": True}), events.append)
    assert seen[1][0] == first_rows
    warnings = [e.message for e in events if e.message and e.message.startswith("warning:")]
    assert warnings == ["warning: index 'support' changed since the RAFT data was built (generation 1, now 2); "
                        "the resumed run keeps the rows built then"]
    with pytest.raises(_StopTraining):  # a fresh run rebuilds from the index as it is now
        ws.tune_raft(questions, "support", RaftSettings(distractors=1), config, events.append)
    assert seen[2][1]["index_generation"] == 2



def test_building_the_rows_counts_against_the_time_budget(ws, example_docs, monkeypatch):
    """The seconds spent building the rows come off the training's time budget, so a RAFT run keeps to it."""
    import ragtune.tuning.lora as lora_module
    import ragtune.tuning.raft as raft_module
    from ragtune.tuning.lora import LoraConfig

    budgets: list[float | None] = []

    class FakeLora:
        def __init__(self, config, registry, data_source=None, attachments=None):
            budgets.append(config.time_budget_s)

        def _fit(self, staging, progress):
            raise _StopTraining

    import time

    real_clock, skipped = time.monotonic, [0.0]
    build_rows = raft_module.RaftTuner._rows

    def slow_rows(self, folder, notify):  # building the rows takes 30 s on the clock
        skipped[0] += 30.0
        return build_rows(self, folder, notify)

    monkeypatch.setattr(time, "monotonic", lambda: real_clock() + skipped[0])
    monkeypatch.setattr(raft_module.RaftTuner, "_rows", slow_rows)
    monkeypatch.setattr(lora_module, "LoraTuner", FakeLora)
    questions = example_docs.parent / "questions.jsonl"
    config = LoraConfig(data=questions, name="raft-budget", time_budget_s=50.0)
    with pytest.raises(_StopTraining):
        ws.tune_raft(questions, "support", RaftSettings(distractors=1), config, lambda event: None)
    assert budgets[0] <= 20.0  # 50 s less the 30 s the rows took (and the real moment they took)
