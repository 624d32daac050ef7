from ragtune.generation import answer as answer_module
from ragtune.generation import answerability as answerability_module
from ragtune.generation.answerability import NAME_WEIGHT, answerability, assess, key_terms, mismatch
from ragtune.generation.base import ContextBlock
from ragtune.index.base import Filters
from ragtune.retrieval.self_query import QueryPlan


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


def test_an_abstaining_ask_finds_the_mismatch_once_and_gives_it_as_the_reason(tmp_path, ws_for, monkeypatch):
    ws = _policy_index(tmp_path, ws_for)
    calls = []
    real = answerability_module.mismatch

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(answerability_module, "mismatch", counted)
    monkeypatch.setattr(answer_module, "mismatch", counted, raising=False)  # wherever a caller holds the name
    answer = ws.ask("How long is Beta's refund window?", "policy", model="extractive")
    assert len(calls) == 1
    assert "Beta, which no passage names" in answer.abstain_reason


def test_assess_gives_the_score_and_the_mismatch_that_zeroes_it():
    question, passage = "How long is Beta's refund window?", [block("Alpha's refund window is 30 days.")]
    assert assess(question, passage) == (0.0, mismatch(question, passage))


def test_assess_gives_no_mismatch_for_passages_about_the_question():
    question, passage = "How long is Alpha's refund window?", [block("Alpha's refund window is 30 days.")]
    assert assess(question, passage) == (answerability(question, passage), None)


def filing_block(text: str, organization: str, period: str, ticker: str) -> ContextBlock:
    return ContextBlock(1, text, "c1", "d1", "s1", indexed=f"{organization} ({ticker}) | period {period}\n{text}",
                        metadata={"organization": organization, "period": period, "ticker": ticker})


AMAZON = filing_block("Total net sales were $ 143,083 million.", "Amazon.com, Inc.", "2023-Q3", "AMZN")
APPLE = filing_block("Total net sales were $ 81,797 million.", "Apple Inc.", "2023-Q3", "AAPL")


def test_passages_of_another_organisation_than_the_planned_one_score_zero():
    plan = QueryPlan(matched={"organization": ["Apple Inc."]})
    assert answerability("What were Apple's total net sales?", [AMAZON], plan) == 0.0


def test_passages_of_the_planned_organisation_are_scored_on_their_terms():
    plan = QueryPlan(matched={"organization": ["Apple Inc."]})
    assert answerability("What were Apple's total net sales?", [APPLE], plan) > 0.5


def test_passages_of_another_period_than_the_planned_one_mismatch():
    plan = QueryPlan(matched={"period": ["2022-Q3"]})
    assert mismatch("What were total net sales in Q3 2022?", [APPLE], plan) is not None


def test_a_period_no_document_holds_is_no_mismatch():
    plan = QueryPlan(matched={"period": ["2019-Q1"]}, note="No document covers 2019-Q1.")
    assert mismatch("What were total net sales in Q1 2019?", [APPLE], plan) is None


def test_a_name_no_passage_holds_mismatches_an_index_of_another_organisation():
    assert mismatch("What were Apple's total net sales?", [AMAZON]) is not None


def test_a_question_naming_the_passages_organisation_is_no_mismatch():
    assert mismatch("What were Amazon's total net sales?", [AMAZON]) is None


def test_passages_without_an_organisation_decide_nothing():
    assert mismatch("What were total net sales at Apple?", [block("Total net sales were $ 5 million.")]) is None


def test_an_unanswerable_question_over_another_companys_filing_abstains_and_an_answerable_one_does_not(tmp_path, ws_for):
    from tests.test_filings import FILINGS, _filing

    docs = tmp_path / "filings"
    docs.mkdir()
    for name in ("2023 Q1 NWND.pdf", "2023 Q1 CTSO.pdf"):
        _filing(docs / name, *FILINGS[name])
    ws = ws_for(tmp_path / "home")
    ws.ingest([str(docs)], "f")
    question = "What were Northwind's total net sales in Q1 2023?"
    other = ws.ask(question, "f", model="extractive", filters=Filters(metadata={"ticker": "CTSO"}))
    assert other.abstained and "Contoso" in other.abstain_reason
    assert not ws.ask(question, "f", model="extractive").abstained


def test_a_question_about_an_owner_no_passage_names_mismatches():
    assert mismatch("How long is Beta's refund window?", [block("Alpha's refund window is 30 days.")]) is not None


def test_a_question_about_an_owner_a_passage_names_is_no_mismatch():
    assert mismatch("How long is Alpha's refund window?", [block("Alpha's refund window is 30 days.")]) is None
