from ragtune.documents.tables import COLUMNS, column_labels, columns_of, label_row, row_group, row_headers

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


def test_years_after_a_month_and_day_share_them():
    assert column_labels("Three Months Ended March 31, 2022 2023") == ["three months ended March 31, 2022",
                                                                       "three months ended March 31, 2023"]


def test_rows_after_a_subheading_keep_the_header_above():
    sheet = "July 1,\n2023\nSeptember 24,\n2022\nCurrent assets:\nCash $ 28,408 $ 23,646\nNon-current assets:\nSecurities 104,061 120,805"
    assert row_headers(sheet)["Securities 104,061 120,805"] == "July 1, 2023 September 24, 2022 Current assets:"


def test_the_columns_line_of_a_context_is_read_back():
    assert columns_of(f"Acme | Form 10-Q\n{COLUMNS}Three Months Ended July 1, 2023") == "Three Months Ended July 1, 2023"


GROUPED = ["Net sales:", "Products $ 60,584 $ 63,355", "Services 21,213 19,604", "Total net sales 81,797 82,959",
           "Cost of sales:", "Products 39,136 41,485", "Services 6,248 5,719", "Total cost of sales 45,384 47,204",
           "Gross margin 36,413 35,755"]


def test_a_total_row_comes_with_the_rows_it_sums():
    assert row_group(GROUPED, 3, 6) == [1, 2, 3]


def test_a_row_comes_with_its_siblings_and_their_total():
    assert row_group(GROUPED, 5, 6) == [5, 6, 7]


def test_a_row_after_a_total_starts_a_group_of_its_own():
    assert row_group(GROUPED, 8, 6) == [8]


def test_a_group_over_the_limit_keeps_the_rows_nearest():
    assert row_group(GROUPED, 2, 2) == [1, 2]


def test_a_line_that_is_no_row_is_its_own_group():
    assert row_group(GROUPED, 0, 6) == [0]
