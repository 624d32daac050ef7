import pytest

from ragtune.api import Workspace
from ragtune.config import FusionMethod, RagtuneConfig, RetrievalConfig
from ragtune.retrieval import convex_fuse, rrf_fuse

RANKINGS = {"lexical": [("a", 12.0), ("b", 3.0), ("c", 2.0)], "dense": [("b", 0.62), ("c", 0.61), ("a", 0.30)]}


def test_rrf_by_hand():
    fused = {c: s for c, s, _ in rrf_fuse(RANKINGS, {"lexical": 1.0, "dense": 2.0}, 10)}
    assert fused["a"] == pytest.approx(1 / 11 + 2 / 13)
    assert fused["b"] == pytest.approx(1 / 12 + 2 / 11)


def test_convex_by_hand_uses_min_max_per_method():
    fused = convex_fuse(RANKINGS, {"lexical": 0.5, "dense": 0.5})
    scores = {c: s for c, s, _ in fused}
    assert scores["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert scores["b"] == pytest.approx(0.5 * (1 / 10) + 0.5 * 1.0)
    assert scores["c"] == pytest.approx(0.5 * 0.0 + 0.5 * (0.31 / 0.32))
    assert [c for c, _, _ in fused] == ["b", "a", "c"]
    assert fused[0][2] == {"lexical": 3.0, "dense": 0.62}  # raw per-method scores are kept


def test_convex_keeps_score_gaps_that_rrf_loses():
    # lexical is sure about "x" (far ahead); dense barely prefers "y": convex follows the sure method, RRF ties them
    rankings = {"lexical": [("x", 20.0), ("y", 2.0), ("z", 1.0)], "dense": [("y", 0.71), ("x", 0.70), ("z", 0.2)]}
    assert convex_fuse(rankings, {})[0][0] == "x"
    rrf = rrf_fuse(rankings, {}, 60)
    assert rrf[0][1] == pytest.approx(rrf[1][1])


def test_convex_absent_counts_zero_and_single_candidate_counts_full_weight():
    fused = {c: s for c, s, _ in convex_fuse({"lexical": [("only", 4.0)], "dense": [("d1", 0.9), ("d2", 0.1)]},
                                             {"lexical": 0.3, "dense": 0.7})}
    assert fused == {"only": pytest.approx(0.3), "d1": pytest.approx(0.7), "d2": pytest.approx(0.0)}


@pytest.fixture
def index(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in {"keys.md": "Rotate API keys every 90 days from the admin console.",
                       "backup.md": "Backups run nightly and are kept for thirty days.",
                       "sso.md": "Single sign-on uses SAML; the admin console maps groups to roles.",
                       "cold.md": "Vitamin C does not prevent the common cold."}.items():
        (docs / name).write_text(text)
    ws = Workspace(RagtuneConfig(home=tmp_path / "home", embedder={"model": "fake:64"}))
    ws.ingest([str(docs)], index="kb")
    return ws.index("kb")


@pytest.mark.parametrize("fusion", list(FusionMethod))
def test_hybrid_search_fuses_the_store_rankings_as_configured(index, fusion):
    config = RetrievalConfig(fusion=fusion, candidates=10, lexical_weight=0.6, dense_weight=0.4, rrf_k=5)
    index.workspace.config.retrieval = config
    query = "how often should keys be rotated in the admin console"
    hits = index.search(query, k=3, mode="hybrid")
    store, vector = index.workspace.store, index.workspace.embedder().embed_query(query)
    rankings = {"lexical": store.search_lexical("kb", query, 10), "dense": store.search_dense("kb", vector, 10)}
    weights = {"lexical": 0.6, "dense": 0.4}
    want = rrf_fuse(rankings, weights, 5) if fusion is FusionMethod.rrf else convex_fuse(rankings, weights)
    assert [(h.chunk_id, round(h.score, 9)) for h in hits] == [(c, round(s, 9)) for c, s, _ in want[:3]]
    assert hits[0].doc_id.endswith("keys.md")


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
