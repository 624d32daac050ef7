from ragtune.generation.base import ContextBlock, Prompt
from ragtune.generation.extractive import ExtractiveGenerator
from ragtune.generation.prompts import CANNOT_ANSWER

INSTALL = ("Northwind Vault runs on Linux. The server listens on port 8420 by default; change it with the "
           "NV_LISTEN_PORT environment variable. Downgrades are not supported.")
AUDIT = ("Audit logs include the following information:\n\n* Name of the audited event\n* Actor that triggered the event\n"
         "* Event status\n\nAudit entries are kept for 400 days.")


def prompt(question, *texts):
    return Prompt(messages=[], question=question,
                  blocks=[ContextBlock(i, t, f"c{i}", f"d{i}", f"s{i}") for i, t in enumerate(texts, start=1)])


def test_quotes_the_sentence_that_answers_and_cites_its_block():
    gen = ExtractiveGenerator(sentences=1)
    out = gen.generate(prompt("Which port does the server listen on?", AUDIT, INSTALL))
    assert out.text == ("The server listens on port 8420 by default; change it with the NV_LISTEN_PORT "
                        "environment variable [2].")
    assert (out.usage.input_tokens, out.usage.output_tokens) == (0, 0)


def test_a_list_introduction_brings_its_items():
    out = ExtractiveGenerator(sentences=1).generate(prompt("What information do audit logs include?", AUDIT))
    assert out.text.startswith("Audit logs include the following information: Name of the audited event; "
                               "Actor that triggered the event; Event status")
    assert out.text.endswith("[1].")


def test_second_sentence_only_when_it_adds_question_words():
    gen = ExtractiveGenerator(sentences=2)
    kept, exported = "Audit entries are kept for 400 days.", "Audit entries can be exported as JSON Lines."
    both = gen.generate(prompt("How long are audit entries kept and how are they exported?", kept, exported)).text
    assert both == "Audit entries are kept for 400 days [1]. Audit entries can be exported as JSON Lines [2]."
    same = gen.generate(prompt("How long are audit entries kept?", kept, "Audit entries are kept for 400 days, we said.")).text
    assert same == "Audit entries are kept for 400 days [1]."


def test_nothing_to_quote_says_it_cannot_answer():
    gen = ExtractiveGenerator()
    assert gen.generate(prompt("What is the boiling point of mercury?", INSTALL)).text == CANNOT_ANSWER
    assert gen.generate(Prompt(messages=[], question="Which port?")).text == CANNOT_ANSWER


def test_streams_the_same_text():
    pieces = []
    out = ExtractiveGenerator().generate(prompt("How long are audit entries kept?", AUDIT), on_text=pieces.append)
    assert "".join(pieces) == out.text


def test_choice_does_not_depend_on_the_process_hash_seed(support_home, ws_for, example_docs):
    """Scores sum idf weights over sets of terms, whose order differs per process (PYTHONHASHSEED): answers on
    Ray workers and locally must still agree. The example questions over their retrieved chunks once hit a near tie."""
    import json
    import os
    import subprocess
    import sys

    index = ws_for(support_home).index("support")
    cases = []
    for line in (example_docs.parent / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        cases.append([question, [h.text for h in index.search(question, k=5)]])
    script = (
        "import json, sys; from ragtune.generation.base import ContextBlock, Prompt;"
        "from ragtune.generation.extractive import ExtractiveGenerator;"
        "print(json.dumps([ExtractiveGenerator().generate(Prompt(messages=[], question=q, blocks=["
        "ContextBlock(i, t, 'c', 'd', 's') for i, t in enumerate(ts, start=1)])).text for q, ts in json.load(sys.stdin)]))"
    )
    answers = [subprocess.run([sys.executable, "-c", script], input=json.dumps(cases), capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
               for seed in range(6)]
    assert all(a == answers[0] for a in answers)
    assert len(json.loads(answers[0])) == len(cases)


STATEMENT = ("Net sales:\nProducts $ 60,584 $ 63,355\nServices 21,213 19,604\nTotal net sales 81,797 82,959\n"
             "Cost of sales:\nProducts 39,136 41,485")


def test_a_table_row_is_quoted_whole_with_its_label_and_figures_and_the_rows_it_totals():
    out = ExtractiveGenerator(sentences=1).generate(prompt("What were the total net sales?", STATEMENT))
    assert out.text == "Products $ 60,584 $ 63,355 [1]. Services 21,213 19,604 [1]. Total net sales 81,797 82,959 [1]."


def test_a_row_quoted_for_a_question_without_figures_comes_alone():
    out = ExtractiveGenerator(sentences=1).generate(prompt("Which products are listed?", STATEMENT))
    assert "Services" not in out.text


def test_a_question_over_several_documents_quotes_each_source_in_block_order():
    def block(number, text, doc):
        return ContextBlock(number, text, f"{doc}#0", doc, doc)

    blocks = [block(1, "Total net sales 94,836 97,278\nServices 20,907 19,821", "q2"),
              block(2, "Total net sales 117,154 123,945\nServices 20,766 19,516", "q1"),
              block(3, "Total net sales were higher in the second quarter of the year.", "q2")]
    question = "How have total net sales changed over time?"
    out = ExtractiveGenerator(sentences=1).generate(Prompt(messages=[], question=question, blocks=blocks, per_source=True))
    assert out.text == "Total net sales 94,836 97,278 [1]. Total net sales 117,154 123,945 [2]."
    single = ExtractiveGenerator(sentences=1).generate(Prompt(messages=[], question=question, blocks=blocks))
    assert single.text.count("[") == 2  # rows with new figures, within the budget of one sentence plus FIGURE_QUOTES


def test_the_focus_keeps_words_every_filtered_passage_shares_from_deciding():
    footer, row = "Northwind Inc. | Q3 2023 Form 10-Q | page 17", "Gross margin 36,413 35,885"
    blocks = [ContextBlock(1, footer, "a#0", "a", "a"), ContextBlock(2, row, "a#1", "a", "a")]
    question = "What was Northwind's gross margin in the Q3 2023 Form 10-Q?"
    focused = Prompt(messages=[], question=question, blocks=blocks, focus="What was gross margin in the ?")
    assert ExtractiveGenerator(sentences=1).generate(focused).text == "Gross margin 36,413 35,885 [2]."


def test_a_row_whose_label_the_question_names_wins_over_prose_sharing_its_words():
    prose = "Gross margin can be affected by many factors, and the gross margin outlook is uncertain."
    out = ExtractiveGenerator(sentences=1).generate(prompt("What was the gross margin?", prose, "Total gross margin $ 36,413 $ 35,885"))
    assert out.text == "Total gross margin $ 36,413 $ 35,885 [2]."


def test_rows_with_spaced_percentages_are_rows():
    from ragtune.generation.extractive import units

    text = "Rest of Asia Pacific 6,150 5,395 14 % 23,002\nTotal net sales $ 82,959 $ 81,434 2 %\nAmericas net sales grew."
    assert units(text) == ["Rest of Asia Pacific 6,150 5,395 14 % 23,002", "Total net sales $ 82,959 $ 81,434 2 %",
                           "Americas net sales grew."]


FILING = ("Operating expenses:\nThree Months Ended\nJuly 1, 2023 June 25, 2022\n"
          "Research and development $ 7,442 $ 6,797\nSelling, general and administrative 5,973 6,012\n")
PROSE = ("Research and development spending reflects the Company's continued investment in new products. "
         "The growth in research and development expense was driven by headcount-related expenses.")


def test_a_question_asking_for_an_amount_quotes_the_row_with_its_periods():
    out = ExtractiveGenerator(sentences=1).generate(prompt("How much did Apple spend on R&D?", PROSE, FILING)).text
    assert out.startswith("Research and development: $ 7,442 (three months ended July 1, 2023); $ 6,797 (three months "
                          "ended June 25, 2022) [2].")


def test_a_row_quoted_for_an_amount_brings_its_sibling_rows_with_their_periods():
    out = ExtractiveGenerator(sentences=1).generate(prompt("How much did Apple spend on R&D?", PROSE, FILING)).text
    assert out.endswith(" Selling, general and administrative: 5,973 (three months ended July 1, 2023); 6,012 (three "
                        "months ended June 25, 2022) [2].")


def test_a_question_without_an_amount_keeps_to_prose():
    out = ExtractiveGenerator(sentences=1).generate(prompt("What drove the growth in research and development?", PROSE, FILING)).text
    assert out.startswith("The growth in research and development expense was driven by headcount")


def test_the_same_sentence_is_quoted_once():
    text = "Audit entries are kept for 400 days."
    out = ExtractiveGenerator(sentences=3).generate(prompt("How long are audit entries kept?", text, text)).text
    assert out == "Audit entries are kept for 400 days [1]."


def test_a_row_in_a_chunk_that_starts_inside_a_table_is_quoted_with_the_periods_of_its_context():
    row = "Research and development $ 7,442 $ 6,797"
    block = ContextBlock(1, f"{row}\nTotal operating expenses $ 13,415 $ 12,809", "c1", "d1", "s1",
                         indexed=f"Acme | Form 10-Q\nColumns: Three Months Ended July 1, 2023 June 25, 2022\n{row}\n"
                                 "Total operating expenses $ 13,415 $ 12,809")
    out = ExtractiveGenerator(sentences=1).generate(Prompt(messages=[], question="How much did Acme spend on R&D?",
                                                           blocks=[block])).text
    assert out.startswith("Research and development: $ 7,442 (three months ended July 1, 2023); $ 6,797 (three months "
                          "ended June 25, 2022) [1]")


def test_a_figure_question_quotes_a_row_from_the_far_end_of_a_long_table_with_its_period(tmp_path, ws_for):
    rows = "\n".join(f"Model {chr(65 + i // 26)}{chr(65 + i % 26)} revenue $ {1000 + i},{100 + i} $ {900 + i},{200 + i}"
                     for i in range(60))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sales.txt").write_text("Net sales by product (in millions):\nThree Months Ended\n"
                                                 f"July 1, 2023 June 25, 2022\n{rows}\n", encoding="utf-8")
    ws = ws_for(tmp_path / "home")
    ws.ingest([str(tmp_path / "docs")], "sales")
    answer = ws.ask("How much revenue did Model CF bring?", "sales", model="extractive")
    assert ("Model CF revenue: $ 1057,157 (three months ended July 1, 2023); $ 957,257 (three months ended June 25, "
            "2022) [1]") in answer.answer


def _hit(n, text, doc="d1"):
    from ragtune.index.base import ChunkRecord
    from ragtune.retrieval.base import ScoredChunk

    return ScoredChunk(ChunkRecord(chunk_id=f"{doc}#{n}", doc_id=doc, position=n, text=text, start=0, end=len(text), page=None,
                                   headings=(), source=f"{doc}.txt", doc_type="txt"), 1.0 / (1 + n))


def test_a_figure_question_keeps_the_retrieved_blocks_and_adds_the_deeper_one_whose_row_answers_it():
    from ragtune.generation.extractive import with_answering

    hits = [_hit(0, "Revenue recognition follows the five-step model."), _hit(1, "Headcount grew in the quarter."),
            _hit(2, "Cafeteria hours changed."), _hit(3, "Services revenue $ 20,766 $ 19,516")]
    kept = with_answering("How much services revenue was there?", hits, first=1, extra=1)
    assert [h.chunk.chunk_id for h in kept] == ["d1#0", "d1#3"]


def test_a_figure_question_adds_no_block_without_a_table_row():
    from ragtune.generation.extractive import with_answering

    hits = [_hit(0, "Revenue recognition follows the five-step model."), _hit(1, "Services revenue grew 6% to $20.8 billion.")]
    assert [h.chunk.chunk_id for h in with_answering("How much services revenue was there?", hits, first=1, extra=1)] == ["d1#0"]
