import json
import shutil
from pathlib import Path

import pytest

from ragtune.advisor import eval_facts, example_facts, index_facts, regex_counter
from ragtune.documents import count_tokens
from ragtune.api import Workspace
from ragtune.config import RagtuneConfig
from ragtune.errors import IndexNotFoundError, InputError

EXAMPLE_DOCS = Path(__file__).resolve().parents[2] / "examples" / "docs"

CHANGED_GUIDES = 8  # guides ingested first in a shorter edition, then in full (conftest)


def test_index_facts_measure_size_history_and_citability(advisor_ws, counter):
    facts = index_facts(advisor_ws.store, "support", counter)
    docs = advisor_ws.index("support").documents()
    assert facts.documents == len(docs) == 27
    assert facts.chunks == len(advisor_ws.store.all_chunks("support"))
    assert facts.indexes_in_workspace == 2
    # Three commits: the first ingest, eight updated guides, one withdrawn guide.
    assert (facts.ingests, facts.change_cycles) == (3, 2)
    assert facts.documents_changed == CHANGED_GUIDES == sum(1 for d in docs if d.version == 2)
    assert facts.changed_share == pytest.approx(CHANGED_GUIDES / 27, abs=1e-4)
    assert facts.versions_per_document == pytest.approx((27 + CHANGED_GUIDES) / 27, abs=1e-4)
    assert facts.churn_per_cycle == pytest.approx((CHANGED_GUIDES / 27 + 1 / 27) / 2, abs=1e-4)
    # The history spans seconds: its two cycles count as one month's, an assumption the facts say.
    assert facts.change_cycles_per_month == 2
    assert facts.content_changes == CHANGED_GUIDES + 1
    assert facts.monthly_churn == pytest.approx((CHANGED_GUIDES + 1) / 27, abs=1e-4)
    assert not facts.churn_measured
    assert any("assumed to be one month's" in n for n in facts.notes)
    assert facts.citable_share == 1.0  # files are citable


def _small_index(tmp_path: Path) -> tuple[Workspace, Path]:
    docs = tmp_path / "docs"
    shutil.copytree(EXAMPLE_DOCS, docs)
    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home"), "embedder": {"model": "fake:64"}}, env={}))
    ws.ingest([str(docs)], index="kb")
    return ws, docs


def test_a_removal_undone_by_the_same_content_is_no_change(tmp_path):
    ws, docs = _small_index(tmp_path)
    ws.index("kb").remove(["docs/sla.md"])
    assert ws.ingest([str(docs)], index="kb").added == 1  # the same file back
    facts = index_facts(ws.store, "kb", regex_counter())
    assert facts.ingests == 3
    assert facts.content_changes == 0
    assert facts.change_cycles == 0
    assert facts.monthly_churn == 0.0
    assert facts.changed_share == 0.0


def test_a_removal_and_new_content_are_changes(tmp_path):
    ws, docs = _small_index(tmp_path)
    ws.index("kb").remove(["docs/sla.md"])
    (docs / "sla.md").write_text("# SLA\n\nA new edition of the service levels.\n", encoding="utf-8")
    ws.ingest([str(docs)], index="kb")
    facts = index_facts(ws.store, "kb", regex_counter())
    assert facts.content_changes == 2
    assert facts.change_cycles == 2
    assert facts.monthly_churn == pytest.approx(2 / 5)


def test_index_tokens_do_not_count_chunk_overlap_twice(advisor_ws):
    facts = index_facts(advisor_ws.store, "support", regex_counter())
    chunks = advisor_ws.store.all_chunks("support")
    with_overlap = sum(count_tokens(c.text) for c in chunks)
    assert facts.total_tokens < with_overlap
    # Each chunk repeats at most the configured overlap from the one before it.
    overlap = advisor_ws.index("support").manifest.chunking.overlap_tokens
    assert with_overlap - facts.total_tokens <= len(chunks) * (overlap + 2)
    assert facts.tokenizer == "word-pieces (estimate)"
    assert facts.chunk_tokens_mean == pytest.approx(with_overlap / len(chunks), rel=1e-3)


def test_real_tokenizer_counts_where_installed(advisor_ws, counter):
    if counter.tokenizer is None:
        pytest.skip("no local generator tokenizer installed")
    facts = index_facts(advisor_ws.store, "support", counter)
    assert "SmolLM2" in facts.tokenizer
    estimate = index_facts(advisor_ws.store, "support", regex_counter()).total_tokens
    assert facts.total_tokens != estimate and facts.total_tokens > 0


def test_jsonl_rows_are_citable_only_with_a_url_or_title(advisor_ws, tmp_path, counter):
    facts = index_facts(advisor_ws.store, "news", regex_counter())
    assert facts.citable_share == 1.0  # every CLARK span carries its article URL
    rows = [{"_id": "a", "text": "Plain row without a locator."},
            {"_id": "b", "text": "Row with a title.", "title": "Guide"},
            {"_id": "c", "text": "Row with a link.", "url": "https://example.org/c"},
            {"_id": "d", "text": "Row with a relative link.", "url": "c.html"}]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    advisor_ws.ingest([str(path)], index="rows")
    try:
        facts = index_facts(advisor_ws.store, "rows", regex_counter())
        assert (facts.citable_documents, facts.citable_share) == (2, 0.5)
    finally:
        advisor_ws.delete_index("rows")


def test_unknown_index_is_an_input_error(advisor_ws):
    with pytest.raises(IndexNotFoundError):
        index_facts(advisor_ws.store, "nope", regex_counter())


def test_example_facts_from_snips(examples_2000):
    facts = example_facts(examples_2000, regex_counter())
    rows = [json.loads(line) for line in examples_2000.read_text().splitlines()]
    assert facts.rows == len(rows) == 2000 and facts.invalid_rows == 0 and facts.errors == []
    assert facts.format == "input_output" and facts.output_kind == "json"
    assert facts.schema_fit >= 0.98
    assert facts.output_labels == len({r["output"]["intent"] for r in rows}) == 7
    assert facts.prompt_tokens_mean == pytest.approx(sum(count_tokens(r["input"]) for r in rows) / 2000, abs=0.01)
    assert facts.unique_prompt_share == pytest.approx(len({r["input"].lower() for r in rows}) / 2000, abs=0.01)
    assert 0 < facts.distinct_bigram_ratio < 1


def test_example_facts_name_the_broken_rows(broken_examples):
    facts = example_facts(broken_examples, regex_counter())
    assert facts.invalid_rows == 3 and facts.rows == 1197
    assert [e.line for e in facts.errors] == [5, 10, 20]
    assert "not valid JSON" in facts.errors[0].message
    assert facts.errors[1].field == "output"
    assert facts.format_share == pytest.approx(1197 / 1200, abs=1e-4)


def test_example_facts_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        example_facts(tmp_path / "missing.jsonl", regex_counter())
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no examples"):
        example_facts(empty, regex_counter())


def test_eval_facts_read_metrics_by_name(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({
        "config": {"index": "support", "format_version": 1}, "rows": [{"id": "1", "variant": "rag"}],
        "aggregates": {"rag": {"token_f1": {"mean": 0.61, "ci95": 0.04}, "latency_ms_p50": {"mean": 900},
                               "notes": "free text is ignored"},
                       "ft": {"token_f1": {"mean": 0.4, "ci95": [0.3, 0.5]}, "json_valid": 1},
                       "judge": {"token_f1": {"mean": 0.9}}}}))
    facts = eval_facts(path)
    assert facts.index == "support" and facts.rows == 1
    assert facts.metric("rag", "token_f1").mean == 0.61 and facts.metric("rag", "token_f1").ci95 == 0.04
    assert facts.metric("ft", "token_f1").ci95 == pytest.approx(0.1)
    assert facts.metric("ft", "json_valid").mean == 1.0
    assert "notes" not in facts.variants["rag"]
    assert any("judge" in n for n in facts.notes)


_CONFIG = '"config": {"format_version": 1}, "rows": []'


@pytest.mark.parametrize("content,message", [
    ("{not json", "not a valid eval results file"),
    ("[1, 2]", "not an eval results file"),
    ('{"config": {}, "rows": [], "aggregates": {}}', "no format_version"),
    ('{"config": {"format_version": 0}, "rows": [], "aggregates": {}}', "format_version 0"),
    ('{%s}' % _CONFIG, "'aggregates' is missing"),
    ('{%s, "aggregates": {}}' % _CONFIG, "'aggregates' is missing or empty"),
    ('{%s, "aggregates": {"rag": 3}}' % _CONFIG, "'aggregates.rag' must be an object"),
    ('{%s, "aggregates": {"rag": {"token_f1": {"mean": 0.5, "ci95": "wide"}}}}' % _CONFIG, "aggregates.rag.token_f1"),
])
def test_eval_facts_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        eval_facts(path)
    with pytest.raises(InputError, match="no such eval"):
        eval_facts(tmp_path / "missing.json")
