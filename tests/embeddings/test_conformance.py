"""The Embedder contract (ragtune/embeddings/base.py), run against every embedder in ragtune.embeddings.

Texts in, L2-normalised float32 vectors out, one row per text, of ``info.dimension``; the same text gives the
same vector, alone or in a batch; ``info`` names the model and is what ``load_embedder(info.spec)`` builds.
The bundled MiniLM (sentence-transformers) loads offline once for this module.
"""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.embeddings import Embedder, FakeEmbedder, SentenceTransformerEmbedder, load_embedder
from ragtune.errors import ConfigError

TEXTS = ["Rotate API keys every 90 days from the admin console.", "audit log", "Vitamin C does not prevent the common cold.",
         "Backups run nightly and are kept for thirty days; restores take an hour.", "x", "Ünïcödé — text 東京 ✓"]
TOLERANCE = {"fake": 0.0, "local": 1e-5}  # a transformer pads a batch: the last float digits may move


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    embedder = load_embedder("local")
    embedder.load()
    return embedder


@pytest.fixture(params=["fake:64", "fake:32", "local"])
def embedder(request) -> Embedder:
    return request.getfixturevalue("minilm") if request.param == "local" else load_embedder(request.param)


def tolerance(embedder: Embedder) -> float:
    return TOLERANCE[embedder.info.spec.partition(":")[0]]


def test_info_names_the_model(embedder):
    info = embedder.info
    assert all(isinstance(v, str) and v for v in (info.spec, info.name, info.version))
    assert isinstance(info.dimension, int) and info.dimension >= 8
    again = load_embedder(info.spec).info
    assert again == info and again.same_model(info)
    assert not info.same_model(FakeEmbedder(info.dimension + 1).info)


def test_documents_are_unit_float32_rows_of_the_dimension(embedder):
    seen: list[int] = []
    out = embedder.embed_documents(TEXTS, seen.append)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == (len(TEXTS), embedder.info.dimension)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert sum(seen) in (0, len(TEXTS))  # progress, where reported, counts every text once


def test_queries_are_unit_float32_vectors(embedder):
    one = embedder.embed_query(TEXTS[0])
    assert isinstance(one, np.ndarray) and one.dtype == np.float32 and one.shape == (embedder.info.dimension,)
    assert abs(float(np.linalg.norm(one)) - 1.0) < 1e-5
    many = embedder.embed_queries(TEXTS)
    assert many.dtype == np.float32 and many.shape == (len(TEXTS), embedder.info.dimension)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)


def test_deterministic(embedder):
    np.testing.assert_array_equal(embedder.embed_documents(TEXTS), embedder.embed_documents(TEXTS))
    np.testing.assert_array_equal(embedder.embed_query(TEXTS[2]), embedder.embed_query(TEXTS[2]))
    np.testing.assert_array_equal(embedder.embed_queries(TEXTS), embedder.embed_queries(TEXTS))


def test_batch_equals_one_text_at_a_time(embedder):
    single = np.stack([embedder.embed_query(t) for t in TEXTS])
    atol = tolerance(embedder)
    np.testing.assert_allclose(embedder.embed_queries(TEXTS), single, rtol=0, atol=atol)
    np.testing.assert_allclose(embedder.embed_documents(TEXTS), single, rtol=0, atol=atol)
    np.testing.assert_allclose(embedder.embed_documents(TEXTS[::-1])[::-1], single, rtol=0, atol=atol)  # order-free


def test_empty_input(embedder):
    docs = embedder.embed_documents([])
    assert docs.shape == (0, embedder.info.dimension) and docs.dtype == np.float32
    queries = embedder.embed_queries([])
    assert len(queries) == 0 and queries.dtype == np.float32
    empty_text = embedder.embed_query("")  # a text with no words still gets a unit vector
    assert empty_text.shape == (embedder.info.dimension,) and abs(float(np.linalg.norm(empty_text)) - 1.0) < 1e-5


def test_similar_texts_are_nearer_than_unrelated_ones(embedder):
    keys, rotate, cold = embedder.embed_queries(["rotate the api keys", "rotating api keys every 90 days",
                                                 "vitamin c and the common cold"])
    assert float(keys @ rotate) > float(keys @ cold)


def test_bad_specs_are_config_errors():
    with pytest.raises(ConfigError, match="fake takes a whole-number dimension"):
        load_embedder("fake:many")
    with pytest.raises(ConfigError, match="unknown embedder spec 'nope:x'"):
        load_embedder("nope:x")
    with pytest.raises(ConfigError, match="cannot load embedding model"):
        load_embedder("local:/nonexistent/model-folder").load()
