"""The one public API. The CLI, HTTP and MCP faces call only this package.

>>> ws = Workspace()                                  # ./.ragtune, or RAGTUNE_HOME
>>> ws.ingest(["docs/"], index="support")             # IngestReport(added=…, …)
>>> ws.index("support").search("how do I rotate keys", k=5).to_json()
>>> ws.ask("What does the audit log record?", index="support").to_json()   # cited answer

``Workspace`` (``workspace.py``) holds the parts built once and the index management; its tuning and measuring
methods come from ``tuning.py`` and ``measuring.py``; ``Index`` (``index.py``) is one named index; ``files.py``
holds the functions over files. Each method checks its inputs and delegates to the layer below.
"""

from ragtune.advisor import AdvisorConfig, StatedNeeds, load_advisor_config
from ragtune.advisor.report import write_report as write_advice_report
from ragtune.api.files import check_examples, compare_runs, split_examples, write_decision_report, write_eval_report
from ragtune.api.index import Index, index_summary
from ragtune.api.workspace import Workspace
from ragtune.decide import DecideConfig, Decision
from ragtune.evaluation.base import EvalResult, read_results
from ragtune.evaluation.config import EvalConfig
from ragtune.generation.answer import Answer
from ragtune.generation.citations import Citation
from ragtune.index import Filters
from ragtune.index.reindex import ReindexReport
from ragtune.index.sync import IngestReport
from ragtune.retrieval.hits import Hit, SearchResult
from ragtune.serving.keys import ApiKey, KeyStore, Principal, Role

__all__ = ["AdvisorConfig", "Answer", "ApiKey", "Citation", "DecideConfig", "Decision", "EvalConfig", "EvalResult", "Filters",
           "Hit", "Index", "IngestReport", "KeyStore", "Principal", "ReindexReport", "Role", "SearchResult", "StatedNeeds",
           "Workspace", "check_examples", "compare_runs", "index_summary", "load_advisor_config", "read_results",
           "split_examples", "write_advice_report", "write_decision_report", "write_eval_report"]
