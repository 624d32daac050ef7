"""The measured decision: every candidate answers the same held-out questions; each is *as good* as the best,
*worse* or *not yet known*, and the cheapest one as good is recommended (``ragtune decide``)."""

from ragtune.decide.base import CandidateResult, Decision
from ragtune.decide.config import ALL_CANDIDATES, Candidate, DecideConfig, parse_candidates, parse_duration

__all__ = ["ALL_CANDIDATES", "Candidate", "CandidateResult", "DecideConfig", "Decision", "parse_candidates", "parse_duration"]
