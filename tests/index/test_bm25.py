import json

import numpy as np

from ragtune.index.bm25 import BM25Index

TEXTS = ["vitamin C and the common cold", "vitamin D deficiency in winter", "sunlight exposure and bone health"]


def test_single_character_tokens_count():
    scores = BM25Index().build(TEXTS).scores("vitamin D")
    assert np.argmax(scores) == 1
    assert scores[1] > scores[0] > 0


def test_stemming_matches_word_forms_and_stop_words_do_not_score():
    index = BM25Index().build(["the runner runs daily", "a quiet afternoon"])
    assert index.scores("running")[0] > 0
    assert np.all(index.scores("the a") == 0)


def test_without_a_stemmer_word_forms_differ():
    assert np.all(BM25Index(stemmer="").build(["the runner runs daily"]).scores("running") == 0)


def test_empty_index_scores_zeros():
    assert BM25Index().build([]).scores("anything").shape == (0,)


def test_save_and_load_keep_scores_and_token_pattern(tmp_path):
    built = BM25Index().build(TEXTS)
    built.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert loaded.token_pattern == built.token_pattern
    np.testing.assert_allclose(loaded.scores("vitamin D"), built.scores("vitamin D"), rtol=1e-6)


def test_index_saved_without_a_pattern_keeps_cutting_queries_the_old_way(tmp_path):
    old = BM25Index(token_pattern=r"(?u)\b\w\w+\b").build(TEXTS)
    old.save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    del meta["token_pattern"]
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    loaded = BM25Index.load(tmp_path)
    assert loaded.token_pattern == r"(?u)\b\w\w+\b"
    # "D" is not a token under the old pattern: the query is just "vitamin"
    np.testing.assert_array_equal(loaded.scores("vitamin D"), loaded.scores("vitamin"))
