"""The five questions: rules of thumb that turn facts into verdicts, each with its fact and threshold.

1. Is the content proprietary or changing? → rag (a tuned model goes stale; content stays in your store)
2. Must answers cite their sources? → rag
3. Is a consistent output format or style wanted? → ft (with enough examples) or a system prompt
4. Is the knowledge over ~200k tokens? → rag (it does not fit in a prompt)
5. Are there 1,000+ labelled examples? → fine-tuning may pay

Otherwise: start with retrieval and prompting. Every threshold is a field of ``RuleThresholds``. Rules that
read the examples are withheld when the examples file has errors: a verdict on broken data would mislead.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from ragtune.evaluation.base import Candidate
from ragtune.advisor.base import Facts, RuleVerdict


class RuleThresholds(BaseModel):
    """Thresholds of the rules of thumb."""

    model_config = ConfigDict(extra="forbid")

    changed_share: float = Field(0.05, ge=0, le=1, description="Share of documents changed at least once above which content "
                                                               "counts as changing.")
    monthly_churn: float = Field(0.05, ge=0, description="Share of the corpus added, updated or removed per month above which "
                                                         "content counts as changing.")
    change_cycles_per_month: float = Field(1.0, ge=0, description="Stated change cycles per month at or above which content "
                                                                  "counts as changing.")
    citable_share: float = Field(0.8, ge=0, le=1, description="Share of documents with a citable source below which attribution "
                                                              "is flagged as weak.")
    format_fit: float = Field(0.9, ge=0, le=1, description="Share of JSON outputs fitting one inferred schema for the format to "
                                                           "count as consistent.")
    knowledge_tokens: int = Field(200_000, ge=1, description="Corpus tokens above which the knowledge does not fit in a prompt.")
    labelled_examples: int = Field(1000, ge=1, description="Usable labelled examples from which fine-tuning may pay.")
    eval_margin: float = Field(0.02, ge=0, description="Least lead in the deciding metric for an eval to overrule the rules "
                                                       "(when no CI is given).")


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.2%}"


def changing_content(facts: Facts, t: RuleThresholds) -> RuleVerdict:
    """Rule 1: proprietary or changing content → rag."""
    index, stated = facts.index, facts.stated
    value: dict[str, object] = {}
    parts, fired = [], False
    if index is not None:
        if stated.changes_per_month is not None:
            churn = round(stated.changes_per_month * (index.churn_per_cycle or 1.0), 4)
            basis = f"from the stated {stated.changes_per_month:g} change cycles/month"
        else:
            churn = index.monthly_churn
            basis = (f"measured over {index.observed_days:.0f} days" if index.churn_measured else
                     f"assumed: the history spans {index.observed_days:.1f} days, too short to measure a monthly rate, "
                     f"and its {index.content_changes} content change(s) are taken as one month's")
        value.update(changed_share=index.changed_share, monthly_churn=churn)
        changing = index.changed_share >= t.changed_share or churn >= t.monthly_churn
        fired |= changing
        parts.append(f"{_pct(index.changed_share)} of stored documents were edited since first ingested (threshold "
                     f"{_pct(t.changed_share)}); {_pct(churn)} of the corpus changes per month ({basis}; threshold "
                     f"{_pct(t.monthly_churn)})")
    elif stated.changes_per_month is not None:
        value["changes_per_month"] = stated.changes_per_month
        fired |= stated.changes_per_month >= t.change_cycles_per_month
        parts.append(f"{stated.changes_per_month:g} stated change cycles/month (threshold {t.change_cycles_per_month:g})")
    if stated.content_may_leave is not None:
        value["content_may_leave"] = stated.content_may_leave
        if not stated.content_may_leave:
            fired = True
            parts.append("content may not leave for a training pipeline")
    if not value:
        return RuleVerdict(rule="changing_content", question="Is the content proprietary or changing?",
                           fact="changed_share, monthly_churn",
                           value=None, threshold={"changed_share": t.changed_share, "monthly_churn": t.monthly_churn},
                           fired=False,
                           explanation="no index and nothing stated: unknown",
                           would_change="content that changes (--changes-per-month) or may not leave (--content-stays) → rag")
    verdict = ("rag: a tuned model would go stale or hold content that must stay in your store" if fired
               else "no need for retrieval on this ground")
    return RuleVerdict(
        rule="changing_content", question="Is the content proprietary or changing?", fact=", ".join(value), value=value,
        threshold={"changed_share": t.changed_share, "monthly_churn": t.monthly_churn}, fired=fired,
        favours=Candidate.rag if fired else None, explanation="; ".join(parts) + f" → {verdict}",
        would_change=None if fired else f"documents changing (over {_pct(t.changed_share)} of them, or {_pct(t.monthly_churn)} "
                                         "of the corpus a month), or content that may not leave (--content-stays)")


def attribution(facts: Facts, t: RuleThresholds) -> RuleVerdict:
    """Rule 2: attribution needed → rag (and whether the sources can be cited)."""
    required = facts.stated.attribution_required
    citable = facts.index.citable_share if facts.index is not None else None
    q = "Must answers cite their sources?"
    if required is None:
        return RuleVerdict(rule="attribution", question=q, fact="attribution_required", value=None, threshold=True, fired=False,
                           explanation="not stated: attribution assumed not required",
                           would_change="answers that must cite sources (--attribution) → rag")
    if not required:
        return RuleVerdict(rule="attribution", question=q, fact="attribution_required", value=False, threshold=True, fired=False,
                           explanation="attribution not required → no need for retrieval on this ground",
                           would_change="answers that must cite sources → rag")
    text = "attribution required → rag: only retrieved passages can be cited"
    if citable is not None:
        text += f"; {_pct(citable)} of documents have a source fit for citation"
        if citable < t.citable_share:
            text += f" (under {_pct(t.citable_share)}: give documents URLs or titles)"
    return RuleVerdict(rule="attribution", question=q, fact="attribution_required, citable_share",
                       value={"attribution_required": True, "citable_share": citable},
                       threshold={"citable_share": t.citable_share},
                       fired=True, favours=Candidate.rag, explanation=text)


def _examples_withheld(facts: Facts) -> str | None:
    ex = facts.examples
    if ex is not None and ex.invalid_rows:
        shown = "; ".join(str(e) for e in ex.errors[:3])
        return (f"withheld: {ex.invalid_rows} row(s) of {ex.file} have errors ({shown}"
                f"{'; …' if ex.invalid_rows > 3 else ''}); fix them (ragtune data check {ex.file})")
    return None


def consistent_format(facts: Facts, t: RuleThresholds) -> RuleVerdict:
    """Rule 3: a consistent output format or style → ft (with enough examples) or a system prompt."""
    ex = facts.examples
    verdict = partial(RuleVerdict, rule="consistent_format", question="Is a consistent output format or style wanted?",
                      fact="schema_fit", threshold=t.format_fit)
    if ex is None:
        return verdict(value=None, fired=False, explanation="no examples given: unknown")
    withheld = _examples_withheld(facts)
    if withheld:
        return verdict(value=ex.schema_fit, fired=False, withheld=True, explanation=withheld)
    if ex.output_kind != "json" or ex.schema_fit is None:
        return verdict(fact="output_kind", value=ex.output_kind, threshold="json", fired=False,
                       explanation=f"outputs are free text ({ex.rows} rows): no structured format to enforce",
                       would_change="examples whose outputs are JSON of one shape")
    fired = ex.schema_fit >= t.format_fit
    target = Candidate.ft if ex.rows >= t.labelled_examples else Candidate.prompt
    how = (f"ft: {ex.rows} examples teach the format" if target is Candidate.ft
           else f"a system prompt with few-shot examples ({ex.rows} examples are too few to tune on)")
    return verdict(value=ex.schema_fit, fired=fired, favours=target if fired else None,
                   explanation=f"{_pct(ex.schema_fit)} of JSON outputs fit one schema (threshold {_pct(t.format_fit)}) → "
                               + (how if fired else "the outputs disagree on their structure: no consistent format to learn"),
                   would_change=None if fired else f"outputs that agree on one structure (≥{_pct(t.format_fit)} fit)")


def knowledge_size(facts: Facts, t: RuleThresholds) -> RuleVerdict:
    """Rule 4: knowledge over ~200k tokens → rag."""
    index = facts.index
    verdict = partial(RuleVerdict, rule="knowledge_size", question="Is the knowledge over ~200k tokens?",
                      fact="total_tokens", threshold=t.knowledge_tokens)
    if index is None:
        return verdict(value=None, fired=False, explanation="no index given: no corpus to measure",
                       would_change="a corpus of documents (--index)")
    fired = index.total_tokens > t.knowledge_tokens
    why = "rag: it cannot go into every prompt" if fired else "the whole corpus fits in a prompt"
    return verdict(value=index.total_tokens, fired=fired, favours=Candidate.rag if fired else None,
                   explanation=f"{index.total_tokens:,} tokens ({index.tokenizer}) vs {t.knowledge_tokens:,} → {why}",
                   would_change=None if fired else f"a corpus over {t.knowledge_tokens:,} tokens → rag")


def labelled_examples(facts: Facts, t: RuleThresholds) -> RuleVerdict:
    """Rule 5: 1,000+ labelled examples → fine-tuning may pay."""
    ex = facts.examples
    verdict = partial(RuleVerdict, rule="labelled_examples", question="Are there 1,000+ labelled examples?",
                      fact="examples", threshold=t.labelled_examples)
    if ex is None:
        return verdict(value=None, fired=False, explanation="no examples given",
                       would_change=f"{t.labelled_examples:,}+ labelled examples (--examples) → fine-tuning may pay")
    withheld = _examples_withheld(facts)
    if withheld:
        return verdict(value=ex.rows, fired=False, withheld=True, explanation=withheld)
    fired = ex.rows >= t.labelled_examples
    return verdict(value=ex.rows, fired=fired, favours=Candidate.ft if fired else None,
                   explanation=f"{ex.rows:,} usable examples vs {t.labelled_examples:,} → "
                               + ("fine-tuning may pay" if fired
                                  else "too few to tune on reliably: prompt with few-shot examples"),
                   would_change=None if fired else f"{t.labelled_examples - ex.rows:,} more clean examples → fine-tuning may pay")


RULES = (changing_content, attribution, consistent_format, knowledge_size, labelled_examples)


def apply_rules(facts: Facts, thresholds: RuleThresholds) -> list[RuleVerdict]:
    """Every rule's verdict, in the order of the five questions."""
    return [rule(facts, thresholds) for rule in RULES]


def rules_choice(verdicts: list[RuleVerdict]) -> tuple[Candidate, list[str]]:
    """What the rules of thumb recommend together, and why (most important first)."""
    by = {v.rule: v for v in verdicts}
    for_rag = [v for v in verdicts if v.fired and v.favours is Candidate.rag]
    tune = by["labelled_examples"].fired
    reasons = [v.explanation for v in for_rag]
    if tune:
        reasons.append(by["labelled_examples"].explanation)
        if by["consistent_format"].fired:
            reasons.append(by["consistent_format"].explanation)
    if for_rag and tune:
        return Candidate.rag_ft, reasons
    if for_rag:
        return Candidate.rag, reasons
    if tune:
        return Candidate.ft, reasons
    if by["consistent_format"].fired:
        reasons.append(by["consistent_format"].explanation)
    if by["knowledge_size"].value is not None:
        reasons.append(by["knowledge_size"].explanation)
    reasons.append("no rule calls for retrieval or tuning: start with a system prompt (and retrieval once there is a corpus to "
                   "search)")
    return Candidate.prompt, reasons
