"""Question writers: the template rules on chosen sentences, and lenient parsing of a model's reply."""

from __future__ import annotations

from ragtune.evaluation.question_writers import ModelWriter, TemplateWriter, TermRarity, parse_draft
from ragtune.generation import FakeGenerator
from ragtune.index.base import ChunkRecord


def chunk(text: str, headings: tuple[str, ...] = (), doc: str = "d.md") -> ChunkRecord:
    return ChunkRecord(chunk_id=f"{doc}#0", doc_id=doc, position=0, text=text, start=0, end=len(text), page=None,
                       headings=headings, source=doc, doc_type="md")


def writer_for(*texts: str) -> TemplateWriter:
    return TemplateWriter(TermRarity(list(texts)))


def test_a_to_sentence_becomes_a_how_to_question():
    text = "To rotate the signing keys, run vaultctl rotate with the admin token."
    draft = writer_for(text, "Other text about something else entirely here.").write(chunk(text))
    assert draft.question == "How do you rotate the signing keys?"


def test_the_how_to_answer_is_the_sentence_itself():
    text = "To rotate the signing keys, run vaultctl rotate with the admin token."
    draft = writer_for(text).write(chunk(text))
    assert draft.answer == text


def test_an_is_sentence_becomes_a_definition_question():
    text = "The audit log is an append-only record of every administrative action taken."
    draft = writer_for(text).write(chunk(text))
    assert (draft.question, draft.rule) == ("What is the audit log?", "definition")


def test_other_sentences_ask_about_their_rarest_terms_under_the_heading():
    text = "Backups run nightly at 02:00 and are stored in the northwind-archive bucket for ninety days."
    draft = writer_for(text, "Backups are described here in general terms for everyone.").write(chunk(text, ("Backups",)))
    assert draft.question.startswith("In Backups, what does the documentation say about ")


def test_a_chunk_of_code_only_gives_no_question():
    text = "```bash\noc -n openshift-logging get secret/splunk-secret -o yaml and more words\n```"
    assert writer_for(text).write(chunk(text)) == "no_sentence"


def test_a_sentence_opening_with_a_pronoun_is_not_chosen():
    text = "It is enabled by default on every new cluster we create. The scheduler is the component that places pods."
    draft = writer_for(text).write(chunk(text))
    assert draft.answer == "The scheduler is the component that places pods."


def test_parse_draft_reads_json_inside_prose():
    reply = 'Sure! Here it is:\n```json\n{"question": "How long are entries kept?", "answer": "400 days."}\n```'
    assert parse_draft(reply) == ("How long are entries kept?", "400 days.")


def test_parse_draft_reads_question_and_answer_lines():
    assert parse_draft("Question: Which port is used?\nAnswer: Port 8420.") == ("Which port is used?", "Port 8420.")


def test_parse_draft_of_garbage_is_none():
    assert parse_draft("lorem ipsum {not json} dolor") is None


def test_a_model_reply_without_a_draft_is_unparseable():
    assert ModelWriter(FakeGenerator("I cannot help with that.")).write(chunk("Some text here.")) == "unparseable"


def test_a_model_that_fails_is_a_counted_error():
    class Broken(FakeGenerator):
        def generate(self, prompt, options=None, on_text=None):
            raise RuntimeError("connection reset")

    writer = ModelWriter(Broken())
    assert (writer.write(chunk("Some text here.")), writer.errors) == ("generator_error", ["RuntimeError: connection reset"])


def test_parse_draft_reads_a_json_reply_cut_short():
    reply = '{"question": "Which port is used?", "answer": "Port 8420 by default, unless'
    assert parse_draft(reply) == ("Which port is used?", "Port 8420 by default, unless")


def test_parse_draft_reads_an_unlabelled_question_and_the_line_after_it():
    assert parse_draft("How long are entries kept?\n\nThey are kept for 400 days.") == (
        "How long are entries kept?", "They are kept for 400 days.")
