"""The advisor: measured facts, rules of thumb, a cost model with break-even, and the decision."""

from ragtune.advisor.base import (
    BreakEven,
    CostReport,
    EvalFacts,
    EvalVerdict,
    ExampleFacts,
    Facts,
    IndexFacts,
    Recommendation,
    RuleVerdict,
    StatedNeeds,
    VariantCost,
)
from ragtune.advisor.costs import CostConfig, CostInputs, CostModel, TrainingMode, cost_inputs
from ragtune.advisor.decision import AdvisorConfig, decide, estimate_costs, load_advisor_config, measure_facts, stated_needs
from ragtune.advisor.facts import TokenCounter, eval_facts, example_facts, index_facts, regex_counter, token_counter
from ragtune.advisor.rules import RuleThresholds, apply_rules, rules_choice

__all__ = ["AdvisorConfig", "BreakEven", "CostConfig", "CostInputs", "CostModel", "CostReport", "EvalFacts",
           "EvalVerdict", "ExampleFacts", "Facts", "IndexFacts", "Recommendation", "RuleThresholds", "RuleVerdict",
           "StatedNeeds", "TokenCounter", "TrainingMode", "VariantCost", "apply_rules", "cost_inputs", "decide",
           "estimate_costs", "eval_facts", "example_facts", "index_facts", "load_advisor_config", "measure_facts",
           "regex_counter", "rules_choice", "stated_needs", "token_counter"]
