"""The one public API. The CLI, HTTP and MCP faces call only this package.

>>> ws = Workspace()                                  # ./.ragtune, or RAGTUNE_HOME
>>> ws.ingest(["docs/"], index="support")             # IngestReport(added=…, …)
>>> ws.index("support").search("how do I rotate keys", k=5).to_json()
>>> ws.ask("What does the audit log record?", index="support").to_json()   # cited answer

``Workspace`` (``workspace.py``) is the facade over the parts built once (``ragtune.components``): each method checks
its inputs, builds a request and calls one runner below; ``Index`` (``index.py``) is one named index; ``files.py``
holds the functions over files. ``AskRequest`` and ``Answerer`` are the one answer path every face comes through.

The faces (CLI, HTTP, MCP) import only this package (and ``ragtune.errors``): the settings, parsers and formatters
they share with the library are re-exported here too, imported on first use (``_LAZY``) so that starting a face
costs no more than before.
"""

from typing import TYPE_CHECKING, Any

from ragtune.advisor import AdvisorConfig, StatedNeeds, load_advisor_config
from ragtune.advisor.report import write_report as write_advice_report
from ragtune.api.files import check_examples, compare_runs, split_examples, write_decision_report, write_eval_report
from ragtune.api.index import Index, index_summary
from ragtune.components.process import prepare_process
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

if TYPE_CHECKING:
    from ragtune.components.answerer import Answerer
    from ragtune.components.parts import Components
    from ragtune.config import ContextMode, Engine, RagtuneConfig, SearchMode
    from ragtune.generation.answer import AskRequest
    from ragtune.common import validation_message
    from ragtune.documents import JsonlFields
    from ragtune.index import IndexManifest
    from ragtune.index.names import check_index_name
    from ragtune.generation.base import GenerateOptions, Generation, Generator, Prompt, stream_generation
    from ragtune.generation.batching import batch_queue_of
    from ragtune.generation.structured import load_schema
    from ragtune.evaluation.base import SchemaMode, metric_info
    from ragtune.evaluation.config import validated
    from ragtune.costs.prices import PriceTable
    from ragtune.evaluation.questions import load_beir, load_questions, questions_from_rows
    from ragtune.evaluation.synthetic import GeneratedQuestions
    from ragtune.evaluation.report import metric_table, write_text, format_value as format_metric_value
    from ragtune.evaluation.retrieval import read_qrels
    from ragtune.evaluation.updates import DatedDocFields, TimedQuestionFields, UpdatesConfig, write_updates
    from ragtune.tuning import TrainingEvent
    from ragtune.tuning.embedding import EmbeddingLoss, EmbeddingTuneConfig
    from ragtune.tuning.launch import Launch, Launcher
    from ragtune.tuning.lora import Device, LoraConfig, LoraTargets
    from ragtune.tuning.pairs import PairsConfig
    from ragtune.tuning.managed import ManagedConfig, is_managed
    from ragtune.tuning.raft import NoOracleTarget, RaftSettings
    from ragtune.tuning.reranker import RerankerHead, RerankerLoss, RerankerTuneConfig
    from ragtune.advisor import stated_needs
    from ragtune.advisor.base import format_value
    from ragtune.common import format_money
    from ragtune.decide import parse_candidates, parse_duration
    from ragtune.decide.rows import ROWS_FIELDS as DECIDE_ROWS_FIELDS
    from ragtune.common import format_money as money
    from ragtune.decide.report import assumed_figures, figure_words
    from ragtune.serving import ALL_INDEXES
    from ragtune.serving.jobs import JOB_FILES, Job, JobRunner, JobStore

__all__ = ["ALL_INDEXES", "AdvisorConfig", "Answer", "Answerer", "ApiKey", "AskRequest", "Citation", "Components", "ContextMode",
           "DatedDocFields", "DECIDE_ROWS_FIELDS",
           "DecideConfig",
           "Decision", "Device", "EmbeddingLoss", "EmbeddingTuneConfig", "Engine", "EvalConfig", "EvalResult",
           "Filters", "GeneratedQuestions",
           "GenerateOptions", "Generation", "Generator", "Hit", "Index", "IndexManifest", "IngestReport",
           "JOB_FILES", "Job", "JobRunner", "JobStore", "JsonlFields", "KeyStore", "Launch", "Launcher", "LoraConfig",
           "LoraTargets", "ManagedConfig", "NoOracleTarget", "PairsConfig", "PriceTable", "Principal", "Prompt", "RaftSettings",
           "RagtuneConfig", "ReindexReport", "RerankerHead", "RerankerLoss", "RerankerTuneConfig", "Role",
           "SchemaMode", "SearchMode", "SearchResult", "StatedNeeds", "TimedQuestionFields", "TrainingEvent",
           "UpdatesConfig", "Workspace", "batch_queue_of", "check_examples", "check_index_name", "compare_runs",
           "format_metric_value",
           "format_money", "format_value", "index_summary", "is_managed", "load_advisor_config", "load_beir", "load_questions",
           "load_schema", "metric_info", "metric_table", "money", "figure_words", "assumed_figures", "parse_candidates",
           "prepare_process", "parse_duration",
           "questions_from_rows", "read_qrels", "read_results", "split_examples", "stated_needs", "stream_generation",
           "validated", "validation_message", "write_advice_report", "write_decision_report", "write_eval_report",
           "write_text", "write_updates"]

_LAZY: dict[str, tuple[str, str]] = {
    "ALL_INDEXES": ("ragtune.serving", "ALL_INDEXES"),
    "Answerer": ("ragtune.components.answerer", "Answerer"),
    "AskRequest": ("ragtune.generation.answer", "AskRequest"),
    "Components": ("ragtune.components.parts", "Components"),
    "batch_queue_of": ("ragtune.generation.batching", "batch_queue_of"),
    "check_index_name": ("ragtune.index.names", "check_index_name"),
    "DatedDocFields": ("ragtune.evaluation.updates", "DatedDocFields"),
    "DECIDE_ROWS_FIELDS": ("ragtune.decide.rows", "ROWS_FIELDS"),
    "Device": ("ragtune.tuning.lora", "Device"),
    "EmbeddingLoss": ("ragtune.tuning.embedding", "EmbeddingLoss"),
    "EmbeddingTuneConfig": ("ragtune.tuning.embedding", "EmbeddingTuneConfig"),
    "ContextMode": ("ragtune.config", "ContextMode"),
    "Engine": ("ragtune.config", "Engine"),
    "format_metric_value": ("ragtune.evaluation.report", "format_value"),
    "format_money": ("ragtune.common", "format_money"),
    "format_value": ("ragtune.advisor.base", "format_value"),
    "GeneratedQuestions": ("ragtune.evaluation.synthetic", "GeneratedQuestions"),
    "GenerateOptions": ("ragtune.generation.base", "GenerateOptions"),
    "Generation": ("ragtune.generation.base", "Generation"),
    "Generator": ("ragtune.generation.base", "Generator"),
    "IndexManifest": ("ragtune.index", "IndexManifest"),
    "Job": ("ragtune.serving.jobs", "Job"),
    "JOB_FILES": ("ragtune.serving.jobs", "JOB_FILES"),
    "JobRunner": ("ragtune.serving.jobs", "JobRunner"),
    "JobStore": ("ragtune.serving.jobs", "JobStore"),
    "JsonlFields": ("ragtune.documents", "JsonlFields"),
    "Launch": ("ragtune.tuning.launch", "Launch"),
    "Launcher": ("ragtune.tuning.launch", "Launcher"),
    "load_beir": ("ragtune.evaluation.questions", "load_beir"),
    "load_questions": ("ragtune.evaluation.questions", "load_questions"),
    "load_schema": ("ragtune.generation.structured", "load_schema"),
    "is_managed": ("ragtune.tuning.managed", "is_managed"),
    "LoraConfig": ("ragtune.tuning.lora", "LoraConfig"),
    "ManagedConfig": ("ragtune.tuning.managed", "ManagedConfig"),
    "LoraTargets": ("ragtune.tuning.lora", "LoraTargets"),
    "metric_info": ("ragtune.evaluation.base", "metric_info"),
    "metric_table": ("ragtune.evaluation.report", "metric_table"),
    "money": ("ragtune.common", "format_money"),
    "figure_words": ("ragtune.decide.report", "figure_words"),
    "assumed_figures": ("ragtune.decide.report", "assumed_figures"),
    "NoOracleTarget": ("ragtune.tuning.raft", "NoOracleTarget"),
    "PairsConfig": ("ragtune.tuning.pairs", "PairsConfig"),
    "parse_candidates": ("ragtune.decide", "parse_candidates"),
    "parse_duration": ("ragtune.decide", "parse_duration"),
    "PriceTable": ("ragtune.costs.prices", "PriceTable"),
    "Prompt": ("ragtune.generation.base", "Prompt"),
    "questions_from_rows": ("ragtune.evaluation.questions", "questions_from_rows"),
    "RaftSettings": ("ragtune.tuning.raft", "RaftSettings"),
    "RagtuneConfig": ("ragtune.config", "RagtuneConfig"),
    "read_qrels": ("ragtune.evaluation.retrieval", "read_qrels"),
    "RerankerHead": ("ragtune.tuning.reranker", "RerankerHead"),
    "RerankerLoss": ("ragtune.tuning.reranker", "RerankerLoss"),
    "RerankerTuneConfig": ("ragtune.tuning.reranker", "RerankerTuneConfig"),
    "SchemaMode": ("ragtune.evaluation.base", "SchemaMode"),
    "SearchMode": ("ragtune.config", "SearchMode"),
    "stated_needs": ("ragtune.advisor", "stated_needs"),
    "stream_generation": ("ragtune.generation.base", "stream_generation"),
    "TimedQuestionFields": ("ragtune.evaluation.updates", "TimedQuestionFields"),
    "TrainingEvent": ("ragtune.tuning", "TrainingEvent"),
    "UpdatesConfig": ("ragtune.evaluation.updates", "UpdatesConfig"),
    "validated": ("ragtune.evaluation.config", "validated"),
    "validation_message": ("ragtune.common", "validation_message"),
    "write_text": ("ragtune.evaluation.report", "write_text"),
    "write_updates": ("ragtune.evaluation.updates", "write_updates"),
}
"""Names the faces use, by the module and name that define them: imported when first asked for."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ragtune.api' has no attribute '{name}'")
    import importlib

    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
