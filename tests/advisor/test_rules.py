from ragtune.evaluation.base import Candidate
from ragtune.advisor import Facts, RuleThresholds, StatedNeeds, apply_rules
from ragtune.advisor.rules import attribution, changing_content, consistent_format, knowledge_size, labelled_examples, rules_choice

T = RuleThresholds()


def needs(**kw) -> StatedNeeds:
    return StatedNeeds(queries_per_month=1000, **kw)


def test_changing_content_reads_the_change_history(support_facts, news_facts):
    changing = changing_content(Facts(stated=needs(), index=support_facts), T)
    assert changing.fired and changing.favours is Candidate.rag
    assert changing.value["changed_share"] == support_facts.changed_share > T.changed_share
    assert "30% of stored documents were edited since first ingested (threshold 5%)" in changing.explanation
    # Seconds of history: the monthly rate is said to be an assumption.
    assert "assumed: the history spans 0.0 days, too short to measure a monthly rate" in changing.explanation
    static = changing_content(Facts(stated=needs(), index=news_facts), T)
    assert not static.fired and static.value == {"changed_share": 0.0, "monthly_churn": 0.0}
    assert static.would_change
    # A threshold above the measured share turns the verdict (churn: 2 cycles x 17% of the corpus a month).
    strict = RuleThresholds(changed_share=0.5, monthly_churn=0.5)
    assert not changing_content(Facts(stated=needs(), index=support_facts), strict).fired
    assert changing_content(Facts(stated=needs(), index=support_facts), RuleThresholds(changed_share=0.5)).fired


def test_a_month_of_history_measures_the_monthly_churn(support_facts):
    month = support_facts.model_copy(update={"observed_days": 60.0, "churn_measured": True, "monthly_churn": 0.02})
    verdict = changing_content(Facts(stated=needs(), index=month), RuleThresholds(changed_share=0.5))
    assert verdict.value["monthly_churn"] == 0.02
    assert "2% of the corpus changes per month (measured over 60 days; threshold 5%)" in verdict.explanation
    assert not verdict.fired


def test_stated_changes_and_proprietary_content_count(news_facts):
    stated = changing_content(Facts(stated=needs(changes_per_month=4), index=news_facts), T)
    assert stated.fired and stated.value["monthly_churn"] == 4.0
    stays = changing_content(Facts(stated=needs(content_may_leave=False), index=news_facts), T)
    assert stays.fired and "may not leave" in stays.explanation
    unknown = changing_content(Facts(stated=needs()), T)
    assert not unknown.fired and unknown.value is None


def test_attribution_is_stated_and_checked_against_citable_sources(news_facts):
    assert not attribution(Facts(stated=needs(), index=news_facts), T).fired
    assert "not stated" in attribution(Facts(stated=needs(), index=news_facts), T).explanation
    assert not attribution(Facts(stated=needs(attribution_required=False)), T).fired
    required = attribution(Facts(stated=needs(attribution_required=True), index=news_facts), T)
    assert required.fired and required.favours is Candidate.rag
    assert required.value["citable_share"] == 1.0 and "give documents URLs" not in required.explanation


def test_consistent_format_needs_fitting_json_and_clean_rows(facts_2000, facts_300, facts_broken):
    many = consistent_format(Facts(stated=needs(), examples=facts_2000), T)
    assert many.fired and many.favours is Candidate.ft and many.value == facts_2000.schema_fit
    few = consistent_format(Facts(stated=needs(), examples=facts_300), T)
    assert few.fired and few.favours is Candidate.prompt
    assert not consistent_format(Facts(stated=needs(), examples=facts_2000), RuleThresholds(format_fit=1.0)).fired
    broken = consistent_format(Facts(stated=needs(), examples=facts_broken), T)
    assert broken.withheld and not broken.fired
    assert "line 5" in broken.explanation and "ragtune data check" in broken.explanation


def test_knowledge_size_threshold(support_facts, news_facts):
    total = support_facts.total_tokens
    assert knowledge_size(Facts(stated=needs(), index=support_facts), RuleThresholds(knowledge_tokens=total - 1)).fired
    assert not knowledge_size(Facts(stated=needs(), index=support_facts), RuleThresholds(knowledge_tokens=total)).fired
    small = knowledge_size(Facts(stated=needs(), index=news_facts), T)
    assert not small.fired and small.value == news_facts.total_tokens < 200_000
    assert "fits in a prompt" in small.explanation


def test_labelled_examples_threshold_and_withholding(facts_300, facts_broken):
    assert not labelled_examples(Facts(stated=needs(), examples=facts_300), T).fired
    assert labelled_examples(Facts(stated=needs(), examples=facts_300), RuleThresholds(labelled_examples=300)).fired
    assert "700 more clean examples" in labelled_examples(Facts(stated=needs(), examples=facts_300), T).would_change
    broken = labelled_examples(Facts(stated=needs(), examples=facts_broken), T)
    assert facts_broken.rows >= 1000 and broken.withheld and not broken.fired


def test_rules_choice_combines_verdicts(support_facts, news_facts, facts_2000, facts_300):
    def choice(facts: Facts) -> Candidate:
        return rules_choice(apply_rules(facts, T))[0]

    assert choice(Facts(stated=needs(), index=support_facts)) is Candidate.rag
    assert choice(Facts(stated=needs(), examples=facts_2000)) is Candidate.ft
    assert choice(Facts(stated=needs(), index=support_facts, examples=facts_2000)) is Candidate.rag_ft
    assert choice(Facts(stated=needs(), examples=facts_300)) is Candidate.prompt
    assert choice(Facts(stated=needs(), index=news_facts)) is Candidate.prompt
    verdicts = apply_rules(Facts(stated=needs(), index=support_facts), T)
    assert [v.rule for v in verdicts] == ["changing_content", "attribution", "consistent_format", "knowledge_size",
                                          "labelled_examples"]
