import json

import numpy as np

from ragtune.index.bm25 import BM25Index, Tokenizer
from ragtune.index.lexical import Analyzer, hash_strings

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
    assert loaded.tokenizer.token_pattern == built.tokenizer.token_pattern
    np.testing.assert_allclose(loaded.scores("vitamin D"), built.scores("vitamin D"), rtol=1e-6)


def test_index_saved_without_a_pattern_keeps_cutting_queries_the_old_way(tmp_path):
    old = BM25Index(token_pattern=r"(?u)\b\w\w+\b").build(TEXTS)
    old.save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    del meta["token_pattern"]
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    loaded = BM25Index.load(tmp_path)
    assert loaded.tokenizer.token_pattern == r"(?u)\b\w\w+\b"
    # "D" is not a token under the old pattern: the query is just "vitamin"
    np.testing.assert_array_equal(loaded.scores("vitamin D"), loaded.scores("vitamin"))


VARIED = ["The runner runs daily; IL-6 and type 2 diabetes.", "Vitamin D, naïve café Straße 42x", "a the of", "",
          "Running RUNS ran: well-known co-operation 3.14 _under_score"]


def test_the_tokenizer_cuts_stems_as_it_always_has():
    assert Tokenizer().query(VARIED[0] + " " + VARIED[1]) == [
        "runner", "run", "daili", "il", "6", "type", "2", "diabet", "vitamin", "d", "naïv", "café", "straße", "42x"]
    assert Tokenizer(token_pattern=r"(?u)\b\w\w+\b").query(VARIED[0]) == ["runner", "run", "daili", "il", "type", "diabet"]
    assert Tokenizer(stemmer="").query("the runner runs") == ["runner", "runs"]


def test_segment_analyzer_and_bm25_index_cut_texts_alike():
    for stemmer, pattern in (("english", r"(?u)\b\w+\b"), ("", r"(?u)\b\w\w+\b")):
        index, analyzer = BM25Index(stemmer, pattern).build(VARIED), Analyzer(stemmer, pattern)
        lengths, rows, hashes = analyzer.tokens(VARIED)
        assert sorted(set(hashes.tolist())) == sorted(hash_strings([t for t in index._model.vocab_dict if t]).tolist())
        for i, text in enumerate(VARIED):
            stems = index.tokenizer.query(text)
            assert lengths[i] == len(stems)
            assert sorted(hashes[rows == i].tolist()) == sorted(hash_strings(stems).tolist())
            assert analyzer.query(text).tolist() == hash_strings(stems).tolist()
