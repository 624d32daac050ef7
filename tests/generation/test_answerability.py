from ragtune.generation.answerability import NAME_WEIGHT, answerability, key_terms
from ragtune.generation.base import ContextBlock


def block(text: str, indexed: str = "") -> ContextBlock:
    return ContextBlock(1, text, "c1", "d1", "s1", indexed=indexed)


def test_names_weigh_more_than_other_words():
    assert key_terms("How has Apple's total net sales changed?")["appl"] == NAME_WEIGHT


def test_the_first_word_of_a_question_is_not_a_name():
    assert "how" not in key_terms("How long is the window?")


def test_a_heading_supports_the_question():
    policy = block("Alpha's refund window is 30 days.", indexed="Policy\nAlpha's refund window is 30 days.")
    assert answerability("What is the policy?", [policy]) == 1.0


def test_a_passage_about_another_name_scores_lower_than_one_about_the_named_one():
    ours = block("Apple total net sales were $ 81,797 million.")
    theirs = block("Amazon total net sales were $ 143,083 million.")
    question = "What were Apple's total net sales?"
    assert answerability(question, [theirs]) < answerability(question, [ours])


def test_no_blocks_score_zero():
    assert answerability("What is the policy?", []) == 0.0


def _policy_index(tmp_path, ws_for):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "policy.md").write_text("# Policy\n\nAlpha's refund window is 30 days.\n", encoding="utf-8")
    ws = ws_for(tmp_path / "home")
    ws.ingest([str(docs)], "policy")
    return ws


def test_a_question_its_heading_answers_is_not_abstained_on(tmp_path, ws_for):
    answer = _policy_index(tmp_path, ws_for).ask("What is the policy?", "policy", model="extractive")
    assert not answer.abstained and "30 days" in answer.answer


def test_a_question_about_a_name_no_passage_holds_is_abstained_on(tmp_path, ws_for):
    answer = _policy_index(tmp_path, ws_for).ask("How long is Beta's refund window?", "policy", model="extractive")
    assert answer.abstained and "answerability" in answer.abstain_reason
