import pytest

from ragtune.evaluation.answers import exact_match, normalize_answer, token_f1, token_precision_recall


def test_squad_normalisation():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple, a pear") == "apple pear"


def test_exact_match_against_several_references():
    assert exact_match("Paris.", ["London", "paris"]) == 1.0
    assert exact_match("Paris, France", "Paris") == 0.0


def test_token_f1_hand_computed():
    # prediction tokens: port 8420 default ; reference: listens on port 8420 -> overlap 2
    f1 = token_f1("the default port 8420", "listens on port 8420")
    p, r = 2 / 3, 2 / 4
    assert f1 == pytest.approx(2 * p * r / (p + r))
    assert token_precision_recall("the default port 8420", "listens on port 8420") == pytest.approx((p, r))
    assert token_f1("nothing shared", "completely different") == 0.0
    assert token_f1("", "") == 1.0
