import pytest

from ragtune.retrieval import rrf_fuse


def test_rrf_fusion_matches_hand_computation():
    rankings = {"lexical": [("a", 9.0), ("b", 5.0)], "dense": [("b", 0.9), ("c", 0.8)]}
    fused = rrf_fuse(rankings, {"lexical": 1.0, "dense": 1.0}, rrf_k=60)
    scores = {c: s for c, s, _ in fused}
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["c"] == pytest.approx(1 / 62)
    assert [c for c, _, _ in fused] == ["b", "a", "c"]
    assert fused[0][2] == {"lexical": 5.0, "dense": 0.9}


def test_rrf_weights_shift_the_order():
    rankings = {"lexical": [("a", 1.0)], "dense": [("b", 1.0)]}
    fused = rrf_fuse(rankings, {"lexical": 0.5, "dense": 2.0}, rrf_k=60)
    assert [c for c, _, _ in fused] == ["b", "a"]
