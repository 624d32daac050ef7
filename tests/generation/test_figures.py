from ragtune.generation.figures import asks_for_figures, expand_acronyms, figure_count

def test_questions_that_ask_for_figures():
    assert asks_for_figures("How has Apple's total net sales changed over time?")
    assert asks_for_figures("How much does the Team plan cost?")


def test_questions_that_do_not_ask_for_figures():
    assert not asks_for_figures("What is the policy?")
    assert not asks_for_figures("Who signs the audit report?")


def test_figure_count_leaves_years_out():
    assert figure_count("In 2023 revenue was $14.2 billion, up 8% on 12,059 units.") == 3


def test_an_acronym_is_spelled_as_the_passages_spell_it():
    passages = ["Research and development 4,109 4,362", "research and development expenses rose"]
    assert expand_acronyms("What was the R&D expenditure?", passages) == \
        "What was the R&D (research and development) expenditure?"


def test_an_acronym_the_passages_do_not_spell_is_kept():
    assert expand_acronyms("What is AWS?", ["Net sales rose."]) == "What is AWS?"
