import pytest

from ragtune.api import Workspace
from ragtune.errors import InputError
from ragtune.generation import FakeGenerator
from ragtune.generation.answer import AnswerPipeline, AskRequest
from ragtune.generation.prompts import CANNOT_ANSWER
from ragtune.config import AnswerConfig

QUESTION = "How long are audit entries kept?"


def test_extractive_answer_cites_the_supporting_chunk(ws_for, support_home):
    answer = ws_for(support_home).ask(QUESTION, "support", model="extractive")
    doc = answer.to_json()
    assert set(doc) >= {"answer", "citations", "abstained", "usage", "latency_ms"}
    assert not answer.abstained and "400 days" in answer.answer and "[" in answer.answer
    [citation] = answer.citations
    assert citation.source.endswith("audit-log.md") and "400 days" in citation.quote and citation.quote in citation.text
    assert f"[{citation.marker}]" in answer.answer and citation.support >= 0.35
    assert set(doc["latency_ms"]) >= {"retrieval", "generation", "total"}
    assert doc["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert [c["marker"] for c in doc["context"]] == list(range(1, len(doc["context"]) + 1))


@pytest.fixture(scope="module")
def minilm_home(tmp_path_factory, config_for, example_docs):
    """examples/docs indexed with the bundled MiniLM embedder, whose similarities the default thresholds fit."""
    home = tmp_path_factory.mktemp("minilm-ws")
    Workspace(config_for(home, embedder={"model": "local"})).ingest([str(example_docs)], "support")
    return home


def test_off_topic_question_abstains_without_calling_the_model(ws_for, minilm_home):
    ws = ws_for(minilm_home, embedder={"model": "local"})
    answer = ws.ask("What is the boiling point of mercury?", "support", model="fake")
    assert answer.abstained and answer.answer == CANNOT_ANSWER and answer.citations == []
    assert "relevant" in answer.abstain_reason
    assert ws.generator("fake").prompts == []
    on_topic = ws.ask(QUESTION, "support", model="fake")
    assert not on_topic.abstained and len(ws.generator("fake").prompts) == 1


def test_abstention_thresholds_are_configurable(ws_for, support_home):
    strict = ws_for(support_home, answer={"min_dense_score": 1.0, "min_term_coverage": 1.0})
    assert strict.ask("How long are audit entries kept for the vault?", "support", model="extractive").abstained
    assert not ws_for(support_home).ask("How long are audit entries kept for the vault?", "support", model="extractive").abstained


def test_model_refusal_is_an_abstention_with_no_citations(ws_for, support_home):
    answer = ws_for(support_home).ask(QUESTION, "support", model="fake:I cannot answer this from the context [1].")
    assert answer.abstained and answer.citations == [] and answer.answer == CANNOT_ANSWER
    assert "model" in answer.abstain_reason


def test_citation_to_a_missing_block_is_dropped_and_the_sentence_matched(ws_for, support_home):
    answer = ws_for(support_home).ask(QUESTION, "support", model="fake:Audit entries are kept for 400 days [9].")
    assert answer.dropped_citations == [{"marker": "[9]", "reason": "no context block [9] was given"}]
    assert "[9]" not in answer.answer
    [citation] = answer.citations
    assert citation.origin == "matched" and citation.source.endswith("audit-log.md")
    assert answer.answer == f"Audit entries are kept for 400 days [{citation.marker}]."
    assert citation.marker in [c.number for c in answer.context]


@pytest.mark.parametrize("policy", ["extractive", "abstain", "keep"])
def test_answer_no_block_supports_follows_the_policy(ws_for, support_home, policy):
    ws = ws_for(support_home, answer={"unsupported": policy})
    answer = ws.ask(QUESTION, "support", model="fake:Bananas grow on tall tropical plants everywhere.")
    if policy == "extractive":
        assert answer.fallback == "extractive" and not answer.abstained
        assert "400 days" in answer.answer and answer.citations
        assert answer.raw_answer == "Bananas grow on tall tropical plants everywhere."
    elif policy == "abstain":
        assert answer.abstained and answer.citations == [] and "supports" in answer.abstain_reason
    else:
        assert answer.answer == "Bananas grow on tall tropical plants everywhere." and answer.citations == []
        assert not answer.abstained and answer.fallback is None


def test_context_is_trimmed_to_the_window_best_first(ws_for, support_home):
    ws = ws_for(support_home)
    index = ws.index("support")
    full = AnswerPipeline(FakeGenerator(), AnswerConfig(k=5), retriever=index.retriever("lexical")).ask(AskRequest(QUESTION))
    assert full.trimmed_blocks == 0 and len(full.context) == 5
    gen = FakeGenerator(context_window=260)
    small = AnswerPipeline(gen, AnswerConfig(k=5), retriever=index.retriever("lexical")).ask(AskRequest(QUESTION))
    assert 1 <= len(small.context) < 5 and small.trimmed_blocks >= 1
    kept = [b.chunk_id for b in small.context]
    assert kept[0] == full.context[0].chunk_id
    assert kept == [b.chunk_id for b in full.context if b.chunk_id in kept]  # order kept, best first
    prompt_tokens = sum(gen.count_tokens(m["content"]) for m in gen.prompts[0].messages)
    assert prompt_tokens + 96 <= 260


def test_question_longer_than_the_window_is_bad_input(ws_for, support_home):
    index = ws_for(support_home).index("support")
    pipeline = AnswerPipeline(FakeGenerator(context_window=300), retriever=index.retriever("lexical"))
    with pytest.raises(InputError, match="300-token window"):
        pipeline.ask(AskRequest("audit " * 400))


def test_empty_index_and_empty_question_are_bad_input(ws_for, tmp_path, support_home):
    ws = ws_for(tmp_path)
    ws.create_index("empty")
    with pytest.raises(InputError, match="holds no documents"):
        ws.ask(QUESTION, "empty")
    with pytest.raises(InputError, match="empty"):
        ws_for(support_home).ask("   ", "support")


def test_model_alone_answers_without_citations(ws_for, support_home):
    answer = ws_for(support_home).ask("What is the capital of France?", model="fake:Paris is the capital [1].")
    assert answer.index is None and answer.citations == [] and answer.context == []
    assert answer.answer == "Paris is the capital [1]." and not answer.abstained


def test_streamed_pieces_make_the_raw_answer(ws_for, support_home):
    pieces = []
    answer = ws_for(support_home).ask(QUESTION, "support", model="fake", on_text=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == answer.raw_answer


SCHEMA = {"type": "object", "required": ["days"], "properties": {"days": {"type": "integer"}}}


def test_structured_answer_alone_is_instructed_validated_and_repaired(ws_for, support_home):
    ws = ws_for(support_home)
    answer = ws.ask(QUESTION, model='fake:Sure, here: {"days": 400}', schema=SCHEMA, system="You answer retention questions.")
    assert answer.structured.valid and answer.structured.value == {"days": 400} and answer.structured.attempts == 1
    system = ws.generator('fake:Sure, here: {"days": 400}').prompts[0].messages[0]["content"]
    assert system.startswith("You answer retention questions.") and '"required":["days"]' in system
    assert answer.to_json()["structured"]["value"] == {"days": 400} and answer.citations == [] and not answer.abstained
    bad = ws.ask(QUESTION, model='fake:{"days": "many"}', schema=SCHEMA, repairs=2)
    assert not bad.structured.valid and bad.structured.attempts == 3 and "$.days" in bad.structured.errors[0]
    assert bad.usage.output_tokens == 3 * 2  # every attempt is counted
    no_repair = ws.ask(QUESTION, model='fake:{"days": "many"}', schema=SCHEMA, repairs=0)
    assert no_repair.structured.attempts == 1


def test_structured_answer_with_retrieval_gets_context_but_no_citations(ws_for, support_home):
    ws = ws_for(support_home)
    answer = ws.ask(QUESTION, "support", model='fake:{"days": 400}', schema=SCHEMA)
    prompt = ws.generator('fake:{"days": 400}').prompts[0]
    assert prompt.blocks and "400 days" in prompt.messages[1]["content"] and "JSON Schema" in prompt.messages[0]["content"]
    assert "cite" not in prompt.messages[0]["content"].lower()
    assert answer.structured.valid and answer.citations == [] and answer.context and answer.index == "support"
    with pytest.raises(InputError, match="window"):
        ws.ask("audit " * 5000, model="fake", schema=SCHEMA)
    with pytest.raises(InputError, match="repairs"):
        ws.ask(QUESTION, model="fake", schema=SCHEMA, repairs=-1)


def test_system_prompt_replaces_the_default_alone_and_leads_the_rag_instructions(ws_for, support_home):
    ws = ws_for(support_home)
    ws.ask(QUESTION, model="fake:400 days.", system="Be terse.")
    ws.ask(QUESTION, "support", model="fake", system="Be terse.")
    alone, rag = ws.generator("fake:400 days.").prompts[0], ws.generator("fake").prompts[0]
    assert alone.messages[0]["content"] == "Be terse."
    assert rag.messages[0]["content"].startswith("Be terse.\n\n") and "[1]" in rag.messages[0]["content"]


def test_machine_time_of_a_batched_reply_is_its_share_plus_its_own_steps():
    from ragtune.generation.answer import with_machine_time

    latency = with_machine_time({"retrieval": 40.0, "generation": 8000.0, "citation": 10.0, "total": 8050.0}, 250.0)
    assert latency["machine"] == 300.0  # 8050 less the 8000 it waited on the batch, plus its 250 ms share


def test_a_reply_decoded_alone_has_no_separate_machine_time():
    from ragtune.generation.answer import with_machine_time

    assert "machine" not in with_machine_time({"generation": 800.0, "total": 850.0}, None)
