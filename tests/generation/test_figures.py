from ragtune.generation.figures import asks_for_figures, column_labels, expand_acronyms, figure_count, label_row, row_headers

TABLE = ("The following table shows net sales by category (dollars in millions):\n"
         "Three Months Ended Nine Months Ended\nJuly 1,\n2023\nJune 25,\n2022 Change\nJuly 1,\n2023\nJune 25,\n2022 Change\n"
         "iPhone $ 39,669 $ 40,665 (2)% $ 156,778 $ 162,863 (4)%\n"
         "Total net sales $ 81,797 $ 82,959 (1)% $ 293,787 $ 304,182 (3)%\n"
         "iPhone net sales decreased during the third quarter of 2023.")
TOTAL = "Total net sales $ 81,797 $ 82,959 (1)% $ 293,787 $ 304,182 (3)%"


def test_a_table_row_keeps_its_period_columns():
    header = row_headers(TABLE)[TOTAL]
    assert label_row(TOTAL, header) == ("Total net sales: $ 81,797 (three months ended July 1, 2023); $ 82,959 (three months "
                                        "ended June 25, 2022); $ 293,787 (nine months ended July 1, 2023); $ 304,182 (nine "
                                        "months ended June 25, 2022)")


def test_every_row_of_a_table_gets_its_header():
    assert len(row_headers(TABLE)) == 2


def test_a_row_whose_figures_do_not_pair_with_the_columns_is_left_as_it_is():
    assert label_row("Total net sales $ 81,797 $ 82,959 $ 1", "Three Months Ended July 1, 2023 June 25, 2022") == \
        "Total net sales $ 81,797 $ 82,959 $ 1"


def test_a_table_without_period_headers_has_no_header():
    assert row_headers("Region sizes:\nNorth 1,200 1,300\nSouth 900 950") == {}


def test_column_labels_without_spans_are_the_dates():
    assert column_labels("Sep 30, 2023 Dec 31, 2022") == ["Sep 30, 2023", "Dec 31, 2022"]


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


def test_years_after_a_month_and_day_share_them():
    assert column_labels("Three Months Ended March 31, 2022 2023") == ["three months ended March 31, 2022",
                                                                       "three months ended March 31, 2023"]
