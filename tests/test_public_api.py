"""The public names, pinned: a change to either list is a change to the library's contract, made on purpose."""

import importlib

import pytest

import ragtune
import ragtune.api

ROOT = [
    "Answer", "Citation", "ConfigError", "EmbedderMismatchError", "EvaluationError", "Hit", "Index",
    "IndexNotFoundError", "IngestReport", "InputError", "MissingKeyError", "ModelNotFoundError", "ProviderError",
    "QuestionError", "RagtuneConfig", "RagtuneError", "StoreError", "TuningError", "Workspace", "__version__",
]

API = [
    "ALL_INDEXES", "AdvisorConfig", "Answer", "Answerer", "ApiKey", "AskRequest", "Citation", "Components", "ContextMode",
    "DatedDocFields", "DECIDE_ROWS_FIELDS", "DecideConfig", "Decision", "GeneratedQuestions",
    "Device", "EmbeddingLoss", "EmbeddingTuneConfig", "Engine", "EvalConfig", "EvalResult", "Filters",
    "GenerateOptions", "Generation", "Generator", "Hit", "Index", "IndexManifest", "IngestReport", "JOB_FILES", "Job",
    "JobRunner", "JobStore", "JsonlFields", "KeyStore", "Launch", "Launcher", "LoraConfig", "LoraTargets",
    "ManagedConfig", "NoOracleTarget", "PairsConfig", "PriceTable", "Principal", "Prompt", "RaftSettings", "RagtuneConfig",
    "ReindexReport", "RerankerHead", "RerankerLoss", "RerankerTuneConfig", "Role", "SchemaMode", "SearchMode",
    "SearchResult", "StatedNeeds", "TimedQuestionFields", "TrainingEvent", "UpdatesConfig", "Workspace",
    "batch_queue_of", "check_examples", "check_index_name", "compare_runs", "format_metric_value", "format_money", "format_value",
    "index_summary", "is_managed", "load_advisor_config", "load_beir", "load_questions", "load_schema", "metric_info",
    "metric_table", "money", "figure_words", "assumed_figures", "parse_candidates", "parse_duration", "prepare_process", "questions_from_rows",
    "read_qrels", "read_results",
    "split_examples", "stated_needs", "stream_generation", "validated", "validation_message", "write_advice_report",
    "write_decision_report", "write_eval_report", "write_text", "write_updates",
]


def test_the_package_exports_exactly_these_names():
    assert sorted(ragtune.__all__) == sorted(ROOT)


def test_the_api_exports_exactly_these_names():
    assert sorted(ragtune.api.__all__) == sorted(API)


@pytest.mark.parametrize("module, name", [("ragtune", n) for n in ROOT] + [("ragtune.api", n) for n in API])
def test_every_exported_name_resolves(module, name):
    assert getattr(importlib.import_module(module), name) is not None


def test_an_unknown_api_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        ragtune.api.nothing_here  # noqa: B018


def test_money_is_the_one_money_formatter():
    assert ragtune.api.money is ragtune.api.format_money
