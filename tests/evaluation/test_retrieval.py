import math

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.retrieval import evaluate_rankings, mrr, ndcg_at_k, read_qrels, recall_at_k


def test_ndcg_perfect_ranking_is_one():
    assert ndcg_at_k(["a", "b", "x"], {"a": 1, "b": 1}, 10) == pytest.approx(1.0)


def test_ndcg_binary_by_hand():
    # relevant at ranks 2 and 4; ideal puts both relevant documents at ranks 1 and 2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(["x", "a", "y", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(dcg / idcg)


def test_ndcg_graded_uses_linear_gain_and_ideal_order():
    # trec_eval ndcg_cut: gain = grade; the ideal ranking sorts judged grades 2, 1
    got = ndcg_at_k(["low", "high"], {"high": 2, "low": 1}, 10)
    want = (1 / 1 + 2 / math.log2(3)) / (2 / 1 + 1 / math.log2(3))
    assert got == pytest.approx(want)


def test_ndcg_cut_ignores_ranks_past_k_and_counts_every_judged_doc_in_ideal():
    assert ndcg_at_k(["x", "a"], {"a": 1}, 1) == 0.0
    # three relevant documents, cut at 2: the ideal DCG holds only two of them
    assert ndcg_at_k(["a", "b"], {"a": 1, "b": 1, "c": 1}, 2) == pytest.approx(1.0)


def test_repeated_ids_count_once():
    # a document ranked twice (two chunks) must not add gain twice nor push a later doc out of the cut
    assert ndcg_at_k(["a", "a", "b"], {"a": 1, "b": 1}, 2) == pytest.approx(1.0)
    assert recall_at_k(["a", "a", "b"], {"a": 1, "b": 1}, 2) == 1.0


def test_zero_and_negative_grades_are_not_relevant():
    assert ndcg_at_k(["a"], {"a": 0, "b": -1}, 10) == 0.0
    assert recall_at_k(["a"], {"a": 0}, 10) == 0.0
    assert mrr(["a"], {"a": 0}, 10) == 0.0


def test_recall_at_k():
    qrels = {"a": 1, "b": 2, "c": 1, "d": 1}
    assert recall_at_k(["a", "x", "b", "c"], qrels, 3) == pytest.approx(0.5)
    assert recall_at_k(["a", "x", "b", "c"], qrels, 100) == pytest.approx(0.75)


def test_mrr_first_relevant_within_k():
    assert mrr(["x", "y", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / 3)
    assert mrr(["x", "y", "a"], {"a": 1}, 2) == 0.0


def test_k_below_one_is_rejected():
    for fn in (ndcg_at_k, recall_at_k, mrr):
        with pytest.raises(ValueError):
            fn(["a"], {"a": 1}, 0)


def test_evaluate_rankings_means_over_judged_queries_and_zero_for_missing():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    rankings = {"q1": ["a"], "q3": ["c"], "unjudged": ["z"]}
    got = evaluate_rankings(rankings, qrels, ndcg_k=(10,), recall_k=(100,), mrr_k=(10,))
    # q3 has no relevant document and is skipped; q2 was not answered and scores 0
    assert got == {"ndcg@10": pytest.approx(0.5), "recall@100": pytest.approx(0.5), "mrr@10": pytest.approx(0.5)}


def test_evaluate_rankings_without_relevant_documents_is_an_error():
    with pytest.raises(ValueError):
        evaluate_rankings({"q": ["a"]}, {"q": {"a": 0}})


def test_read_qrels(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t2\r\n2\td1\t0\n\n")
    assert read_qrels(path) == {"1": {"d1": 1, "d2": 2}, "2": {"d1": 0}}


@pytest.mark.parametrize("body, where", [("q\td\n", ":1:"), ("q\td\t1\nq\td2\thigh\n", ":2:")])
def test_read_qrels_names_the_bad_line(tmp_path, body, where):
    path = tmp_path / "bad.tsv"
    path.write_text(body)
    with pytest.raises(InputError, match=f"bad.tsv{where}"):
        read_qrels(path)


def test_read_qrels_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing.tsv"):
        read_qrels(tmp_path / "missing.tsv")
