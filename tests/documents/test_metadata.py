"""Document metadata by rules: the cover page, the PDF information dictionary and the file name."""

from __future__ import annotations

from pathlib import Path

from ragtune.documents.metadata import detect, from_cover, from_file_name, from_pdf_info

COVER = """UNITED STATES
SECURITIES AND EXCHANGE COMMISSION
FORM 10-Q
QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the quarterly period ended December 31, 2022
Commission File Number: 001-36743
____________________________________
AMAZON.COM, INC.
(Exact name of registrant as specified in its charter)
"""


def test_cover_page_gives_form_period_end_and_organisation():
    found = from_cover(COVER)
    assert found == {"form": "10-Q", "period_end": "2022-12-31", "organization": "Amazon.com, Inc."}


def test_file_name_gives_the_period_label_and_ticker():
    assert from_file_name(Path("2023 Q1 AAPL.pdf")) == {"period": "2023-Q1", "ticker": "AAPL"}
    assert from_file_name(Path("intc_q3-2022.pdf"))["period"] == "2022-Q3"
    assert from_file_name(Path("report FY2021.docx")) == {"period": "2021"}


def test_pdf_information_dictionary_is_read():
    info = {"Subject": "Form 10-Q filed on 2022-07-29 for the period ending 2022-06-25"}
    assert from_pdf_info(info) == {"form": "10-Q", "filed": "2022-07-29", "period_end": "2022-06-25"}
    assert from_pdf_info({"Title": "10-Q - 10/28/2022 - Intel Corporation"})["organization"] == "Intel Corporation"


def test_the_cover_page_wins_over_pdf_metadata():
    info = {"Subject": "Form 10-K filed on 2023-02-03 for the period ending 2022-09-30",
            "Title": "10-K - 2/3/2023 - Wrong Name Corp"}
    found = detect(Path("filing.pdf"), COVER, info)
    assert (found["form"], found["period_end"], found["organization"]) == ("10-Q", "2022-12-31", "Amazon.com, Inc.")
    assert found["filed"] == "2023-02-03"  # only the PDF metadata has it


def test_the_file_name_period_label_wins_over_the_period_end_date():
    assert detect(Path("2023 Q1 AMZN.pdf"), COVER)["period"] == "2023-Q1"  # a fiscal quarter ending 2022-12-31
    assert detect(Path("filing.pdf"), COVER)["period"] == "2022-Q4"  # no label: the calendar quarter of the end date


def test_a_document_without_recognisable_metadata_gets_no_fields():
    assert detect(Path("notes.txt"), "Meeting notes about the garden party.\nBring chairs.", {"Title": "notes"}) == {}
