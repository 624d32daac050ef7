"""Questions read for the organisations and periods the documents hold."""

from __future__ import annotations

from ragtune.index.base import ChunkRecord, DocRecord, Filters
from ragtune.retrieval.base import Retriever, ScoredChunk
from ragtune.retrieval.self_query import QueryPlan, QueryPlanner, interleave_by_document, retrieve_planned


def _doc(doc_id: str, org: str, ticker: str, period: str) -> DocRecord:
    return DocRecord(doc_id=doc_id, source=doc_id, origin="o", hash="h", version=1, chunks=1, doc_type="pdf",
                     metadata={"organization": org, "ticker": ticker, "form": "10-Q", "period": period})


DOCS = [_doc(f"{p} {t}.pdf", org, t, p.replace(" ", "-")) for p in ("2022 Q3", "2023 Q1", "2023 Q2")
        for org, t in (("Apple Inc.", "AAPL"), ("Amazon.com, Inc.", "AMZN"))]


def test_an_organisation_and_a_period_named_become_one_filter():
    plan = QueryPlanner([d.metadata for d in DOCS]).plan("What was Apple's cash flow as reported in the Q3 2022 10-Q?")
    assert plan.filters == [{"organization": "Apple Inc.", "period": "2022-Q3"}]


def test_period_spellings_are_read():
    planner = QueryPlanner([d.metadata for d in DOCS])
    for question in ("Amazon sales in the first quarter of 2023?", "Amazon sales in 2023 Q1?", "AMZN sales, 2023-Q1?"):
        assert planner.plan(question).filters == [{"organization": "Amazon.com, Inc.", "period": "2023-Q1"}], question


def test_latest_is_the_newest_period_held():
    plan = QueryPlanner([d.metadata for d in DOCS]).plan("What was Amazon's gross margin in the most recent 10-Q filing?")
    assert plan.filters == [{"organization": "Amazon.com, Inc.", "period": "2023-Q2"}]


def test_a_question_over_time_gets_one_filter_per_period():
    plan = QueryPlanner([d.metadata for d in DOCS]).plan("How has Apple's total net sales changed over time?")
    assert plan.per_document
    assert plan.filters == [{"organization": "Apple Inc.", "period": p} for p in ("2023-Q2", "2023-Q1", "2022-Q3")]


def test_a_question_naming_nothing_held_is_plain_retrieval():
    plan = QueryPlanner([d.metadata for d in DOCS]).plan("What is the capital of France?")
    assert plan.filters == [] and plan.note is None


def test_a_period_no_document_has_gives_no_filter_and_lists_the_periods_held():
    plan = QueryPlanner([d.metadata for d in DOCS]).plan("What were Apple's sales in Q4 2019?")
    assert plan.filters == []
    assert plan.note == "No document covers 2019-Q4; the documents cover 2022-Q3, 2023-Q1, 2023-Q2."


def test_documents_without_metadata_plan_nothing():
    bare = [DocRecord("a.txt", "a.txt", "o", "h", 1, 1, "txt", {"title": "a"})]
    assert QueryPlanner([d.metadata for d in bare]).plan("Apple in Q3 2022?").filters == []


class _Recording(Retriever):
    """Returns one chunk per call, of the document the filter names, and records the filters it was given."""

    def __init__(self, empty: bool = False) -> None:
        self.calls: list[tuple[int, Filters | None]] = []
        self.empty = empty

    def retrieve(self, query, k, filters=None):
        self.calls.append((k, filters))
        if self.empty and filters is not None and filters.metadata:
            return []
        doc = (filters.metadata.get("period") if filters else None) or "any"
        return [ScoredChunk(ChunkRecord(f"{doc}#{i}", doc, i, "t", 0, 1, None, (), source=doc, doc_type="pdf"), 1.0 - i / 10) for i in range(k)]


def test_per_document_retrieval_gives_each_document_a_share_and_keeps_caller_filters():
    retriever = _Recording()
    plan = QueryPlan([{"period": "A"}, {"period": "B"}], per_document=True)
    hits = retrieve_planned(retriever, "q", 3, Filters(types=("pdf",), metadata={"form": "10-Q"}), plan)
    assert [h.chunk.doc_id for h in hits] == ["A", "B", "A", "B"]
    assert [(k, f.metadata, tuple(f.types)) for k, f in retriever.calls] == [
        (2, {"period": "A", "form": "10-Q"}, ("pdf",)), (2, {"period": "B", "form": "10-Q"}, ("pdf",))]


def test_a_filter_that_matches_nothing_falls_back_to_plain_retrieval():
    retriever = _Recording(empty=True)
    plan = QueryPlan([{"period": "A"}])
    hits = retrieve_planned(retriever, "q", 2, None, plan)
    assert [h.chunk.doc_id for h in hits] == ["any", "any"]
    assert plan.fallback


def test_interleave_by_document_takes_turns():
    retriever = _Recording()
    scored = retriever.retrieve("q", 3, Filters(metadata={"period": "A"})) + retriever.retrieve("q", 2, Filters(metadata={"period": "B"}))
    assert [s.chunk.chunk_id for s in interleave_by_document(scored, 4)] == ["A#0", "B#0", "A#1", "B#1"]


def test_the_focus_leaves_out_what_the_filter_settles():
    planner = QueryPlanner([d.metadata for d in DOCS])
    assert planner.plan("What was Apple's gross margin in the latest 10-Q report?").focus == "What was gross margin in the report?"
    assert planner.plan("How has Apple's total net sales changed over time?").focus == "How has total net sales changed ?"
    assert planner.plan("What is the capital of France?").focus is None


def test_filtered_retrieval_searches_for_the_focus():
    class Queries(_Recording):
        def retrieve(self, query, k, filters=None):
            self.queries = [*getattr(self, "queries", []), query]
            return super().retrieve(query, k, filters)

    retriever = Queries()
    retrieve_planned(retriever, "Apple gross margin Q3 2022", 1, None, QueryPlan([{"period": "A"}], focus="gross margin"))
    assert retriever.queries == ["gross margin"]
