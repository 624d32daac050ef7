"""Calibrating a tuned reranker's share against the retrieval order on held-out first-stage lists."""

import pytest

from ragtune.tuning.reranker.fusion import calibrate_fusion


def test_a_perfect_reranker_takes_the_whole_order():
    # Retrieval puts the relevant candidate last; the reranker scores it highest.
    lists = [([False, False, False, True], [0.1, 0.2, 0.3, 0.9]), ([False, True, False], [0.2, 0.8, 0.1])]
    fusion = calibrate_fusion(lists)
    assert 0.5 < fusion["weight"] <= 1.0 and fusion["fused_ndcg@10"] == fusion["reranker_ndcg@10"] == 1.0
    assert fusion["first_stage_ndcg@10"] < 1.0 and fusion["grid"]["0.0"] == fusion["first_stage_ndcg@10"]
    assert (fusion["queries"], fusion["candidates_per_query"]) == (2, 3.5)


def test_a_reranker_that_inverts_good_retrieval_gets_no_share():
    lists = [([True, False, False, False], [0.1, 0.5, 0.6, 0.9]), ([True, False], [0.0, 1.0])]
    fusion = calibrate_fusion(lists)
    assert fusion["weight"] == 0.0 and fusion["fused_ndcg@10"] == 1.0 == fusion["first_stage_ndcg@10"]
    assert fusion["reranker_ndcg@10"] < 1.0


def test_a_middle_weight_wins_when_each_order_is_right_on_a_different_query():
    # Query 1: retrieval ranks the relevant text first and the reranker second, behind one it likes; query 2: the
    # reverse. Each order alone misses one query; half and half ranks the relevant text first in both.
    lists = [([True, False, False], [0.5, 0.1, 0.9]), ([False, True, False], [0.1, 0.9, 0.5])]
    fusion = calibrate_fusion(lists)
    assert 0.0 < fusion["weight"] < 1.0
    assert fusion["fused_ndcg@10"] > max(fusion["first_stage_ndcg@10"], fusion["reranker_ndcg@10"])


def test_lists_without_a_relevant_candidate_are_left_out_or_refused():
    assert calibrate_fusion([([False, False], [0.2, 0.1]), ([True, False], [0.9, 0.1])])["queries"] == 1
    with pytest.raises(ValueError, match="no held-out query has a relevant first-stage candidate"):
        calibrate_fusion([([False, False], [0.2, 0.1])])
