"""Filings end to end: metadata found at ingest, context headers in the index, questions read for their
organisation and period, answers over several documents; scanned PDFs and bare documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.api import Workspace
from ragtune.index import Filters, IndexManifest
from tests.conftest import make_config

FILINGS = {  # file name: (registrant, period ended, total net sales this quarter, last year's)
    "2023 Q1 NWND.pdf": ("NORTHWIND TRADERS, INC.", "March 31, 2023", "1,234", "1,100"),
    "2023 Q2 NWND.pdf": ("NORTHWIND TRADERS, INC.", "June 30, 2023", "1,456", "1,210"),
    "2023 Q1 CTSO.pdf": ("Contoso Corporation", "April 1, 2023", "8,020", "7,900"),
    "2023 Q2 CTSO.pdf": ("Contoso Corporation", "July 1, 2023", "8,450", "8,100"),
}


def _filing(path: Path, registrant: str, ended: str, sales: str, last_year: str) -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    cover = ["UNITED STATES SECURITIES AND EXCHANGE COMMISSION", "FORM 10-Q",
             f"For the quarterly period ended {ended}", registrant, "(Exact name of registrant as specified in its charter)"]
    for y, line in zip(range(760, 0, -18), cover):
        c.drawString(72, y, line)
    c.showPage()
    body = ["CONDENSED STATEMENTS OF OPERATIONS", "Three Months Ended", f"Total net sales {sales} {last_year}",
            "Cost of sales 600 550", "", "Demand for hosted services rose during the quarter."]
    for y, line in zip(range(760, 0, -18), body):
        c.drawString(72, y, line)
    c.showPage()
    c.save()


@pytest.fixture
def filings(tmp_path) -> Path:
    root = tmp_path / "filings"
    root.mkdir()
    for name, parts in FILINGS.items():
        _filing(root / name, *parts)
    return root


@pytest.fixture
def ingested(tmp_path, filings) -> Workspace:
    ws = Workspace(make_config(tmp_path / "home"))
    ws.ingest([str(filings)], "f")
    return ws


def _meta(ws: Workspace, name: str) -> dict:
    return next(d.metadata for d in ws.index("f").documents() if d.doc_id.endswith(name))


def test_metadata_is_detected_at_ingest_and_listed(ingested):
    meta = _meta(ingested, "2023 Q2 NWND.pdf")
    assert {k: meta.get(k) for k in ("organization", "ticker", "form", "period", "period_end")} == {
        "organization": "Northwind Traders, Inc.", "ticker": "NWND", "form": "10-Q", "period": "2023-Q2",
        "period_end": "2023-06-30"}


def test_metadata_fields_filter_search(ingested):
    hits = ingested.index("f").search("total net sales", k=10, filters=Filters(metadata={"period": "2023-Q1"}))
    assert {Path(h.source).name for h in hits} == {"2023 Q1 NWND.pdf", "2023 Q1 CTSO.pdf"}


def test_a_new_index_records_header_context_and_indexes_it(ingested):
    assert ingested.index("f").manifest.context == "header"
    hits = ingested.index("f").search("Contoso 2023-Q2 hosted services demand", k=1, mode="lexical")
    assert Path(hits[0].source).name == "2023 Q2 CTSO.pdf"
    assert hits[0].text.startswith("CONDENSED STATEMENTS")  # the stored text is the passage alone
    assert "Contoso" not in hits[0].text


def test_an_index_built_without_context_indexes_the_passage_alone(tmp_path, filings):
    ws = Workspace(make_config(tmp_path / "plain", index={"context": "none"}))
    ws.ingest([str(filings)], "f")
    assert ws.index("f").manifest.context == "none"
    hits = ws.index("f").search("Contoso", k=5, mode="lexical", filters=Filters(metadata={"period": "2023-Q2"}))
    assert ["Contoso" in h.text for h in hits] == [True]  # the cover page alone, which names it


def test_a_manifest_from_before_context_headers_reads_as_none(ingested):
    doc = json.loads(ingested.index("f").manifest.model_dump_json())
    del doc["context"]
    assert IndexManifest.model_validate(doc).context == "none"


def test_a_question_naming_organisation_and_period_is_filtered_and_traced(ingested):
    answer = ingested.ask("What were Contoso's total net sales in Q2 2023?", "f", model="extractive")
    trace = answer.to_json()["trace"]["query_filter"]
    assert trace["filters"] == [{"organization": "Contoso Corporation", "period": "2023-Q2"}]
    assert {Path(c.source).name for c in answer.citations} == {"2023 Q2 CTSO.pdf"}
    assert "8,450" in answer.answer


def test_search_json_reports_the_inferred_filter(ingested):
    result = ingested.index("f").search("Northwind sales in the latest quarter", k=3).to_json()
    assert result["trace"]["query_filter"]["filters"] == [{"organization": "Northwind Traders, Inc.", "period": "2023-Q2"}]


def test_a_question_over_time_cites_every_period(ingested):
    answer = ingested.ask("How have Northwind's total net sales changed over time?", "f", model="extractive")
    assert {Path(c.source).name for c in answer.citations} == {"2023 Q1 NWND.pdf", "2023 Q2 NWND.pdf"}
    assert "Total net sales 1,456 1,210" in answer.answer and "Total net sales 1,234 1,100" in answer.answer
    per_doc = [b["doc_id"].rsplit("/", 1)[-1] for b in answer.to_json()["context"]]
    assert sorted(per_doc) == ["2023 Q1 NWND.pdf"] * 2 + ["2023 Q2 NWND.pdf"] * 2  # answer.per_document_k blocks each


def test_a_period_no_document_has_is_not_filtered_and_the_answer_lists_periods(ingested):
    answer = ingested.ask("What were Contoso's total net sales in Q4 2019?", "f", model="extractive")
    assert answer.to_json()["trace"]["query_filter"]["filters"] == []
    assert answer.answer.endswith("No document covers 2019-Q4; the documents cover 2023-Q1, 2023-Q2.")


def test_a_question_naming_nothing_held_is_plain_retrieval(ingested):
    answer = ingested.ask("What did demand for hosted services do?", "f", model="extractive")
    assert answer.to_json()["trace"]["query_filter"]["filters"] == []
    assert answer.citations


def test_a_scanned_pdf_is_a_skipped_entry_and_a_bare_document_is_searchable(tmp_path, filings):
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(filings / "scan.pdf"))
    c.rect(72, 600, 200, 100, fill=1)  # an image-only page: no text layer
    c.showPage()
    c.save()
    (filings / "notes.txt").write_text("Garden party: bring folding chairs.\n", encoding="utf-8")
    ws = Workspace(make_config(tmp_path / "home"))
    report = ws.ingest([str(filings)], "f")
    assert [(Path(s["source"]).name, "no extractable text" in s["error"]) for s in report.skipped] == [("scan.pdf", True)]
    notes = next(d for d in ws.index("f").documents() if d.doc_id.endswith("notes.txt"))
    assert not {"organization", "period", "form"} & set(notes.metadata)
    assert Path(ws.index("f").search("folding chairs", k=1)[0].source).name == "notes.txt"


def test_the_cli_lists_metadata_filters_with_where_and_traces_the_filter(tmp_path, filings, monkeypatch):
    from typer.testing import CliRunner

    from ragtune.cli import app

    monkeypatch.chdir(tmp_path)
    env = {"RAGTUNE_HOME": str(tmp_path / "cli"), "RAGTUNE_EMBEDDER": "fake:64", "COLUMNS": "300"}

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], env=env)

    assert run("ingest", filings, "--index", "f").exit_code == 0
    listed = run("docs", "--index", "f")
    assert "Contoso Corporation" in listed.stdout and "2023-Q2" in listed.stdout
    asked = run("ask", "What were the total net sales?", "--index", "f", "--where", "period=2023-Q1", "--where", "ticker=CTSO",
                "--model", "extractive", "--json")
    assert asked.exit_code == 0, asked.stderr
    assert {Path(c["source"]).name for c in json.loads(asked.stdout)["citations"]} == {"2023 Q1 CTSO.pdf"}
    searched = json.loads(run("search", "Northwind sales in Q1 2023", "--index", "f", "--json").stdout)
    assert searched["trace"]["query_filter"]["filters"] == [{"organization": "Northwind Traders, Inc.", "period": "2023-Q1"}]
