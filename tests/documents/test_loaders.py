import json

import pytest

from ragtune.documents import JsonlFields, loader_for
from ragtune.errors import InputError


def load(path, fields=None):
    return list(loader_for(path, fields).load(path, path.name))


def test_text_detects_latin1_encoding(tmp_path):
    p = tmp_path / "legacy.txt"
    p.write_bytes("Caf\xe9 cr\xe8me: la r\xe9ponse est dans le manuel d'utilisation.\n\nSecond paragraphe ici.".encode("latin-1"))
    (doc,) = load(p)
    assert "Café crème" in doc.text
    assert len(doc.blocks) == 2
    assert doc.text[doc.blocks[1].start:doc.blocks[1].end] == "Second paragraphe ici."


@pytest.mark.parametrize("content,message", [(b"", "empty file"), (b"   \n\n", "empty file"),
                                             (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file")])
def test_text_rejects_empty_and_binary(tmp_path, content, message):
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    with pytest.raises(InputError, match=message) as exc:
        load(p)
    assert str(p) in str(exc.value)


def test_markdown_keeps_heading_path(tmp_path):
    p = tmp_path / "guide.md"
    p.write_text("---\ntitle: x\n---\n# Guide\n\nIntro text.\n\n## Install\n\nRun the installer.\n\n```\n# not a heading\n```\n\n## Upgrade\n\nStop first.\n")
    (doc,) = load(p)
    heads = {b.text: b.headings for b in doc.blocks}
    assert heads["Intro text."] == ("Guide",)
    assert heads["Run the installer."] == ("Guide", "Install")
    assert heads["Stop first."] == ("Guide", "Upgrade")
    assert any("# not a heading" in b.text for b in doc.blocks)
    assert "title: x" not in doc.text
    assert doc.metadata["title"] == "Guide"


def test_html_strips_boilerplate(tmp_path, docs_dir):
    (doc,) = load(docs_dir / "faq.html")
    assert "8 USD" in doc.text
    assert "Pricing" not in doc.text and "Copyright" not in doc.text
    assert doc.blocks[0].headings == ("FAQ", "Billing")
    assert doc.metadata["title"] == "FAQ"


def test_pdf_pages_are_numbered(tmp_path):
    from reportlab.pdfgen import canvas

    p = tmp_path / "manual.pdf"
    c = canvas.Canvas(str(p))
    c.drawString(72, 720, "Page one talks about installation.")
    c.showPage()
    c.drawString(72, 720, "Page two talks about backups.")
    c.save()
    (doc,) = load(p)
    pages = {b.page for b in doc.blocks}
    assert pages == {1, 2}
    assert [b for b in doc.blocks if "backups" in b.text][0].page == 2


def test_pdf_corrupt_and_encrypted(tmp_path):
    from pypdf import PdfWriter

    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n this is not really a pdf \n%%EOF")
    with pytest.raises(InputError, match="broken.pdf"):
        load(corrupt)
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="secret", owner_password="owner")
    enc = tmp_path / "locked.pdf"
    with open(enc, "wb") as fh:
        w.write(fh)
    with pytest.raises(InputError, match="encrypted PDF"):
        load(enc)


def test_docx_headings_and_corrupt(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Handbook", level=1)
    d.add_paragraph("Employees get 25 days of leave.")
    d.add_heading("Travel", level=2)
    d.add_paragraph("Book trains for trips under 500 km.")
    p = tmp_path / "handbook.docx"
    d.save(p)
    (doc,) = load(p)
    by_text = {b.text: b.headings for b in doc.blocks}
    assert by_text["Book trains for trips under 500 km."] == ("Handbook", "Travel")
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(InputError, match="bad.docx"):
        load(bad)


def test_jsonl_beir_fields_and_metadata(tmp_path):
    p = tmp_path / "corpus.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [
        {"_id": "d1", "title": "Aspirin", "text": "Aspirin reduces fever.", "year": 2001},
        {"_id": "d2", "title": "", "text": "Ibuprofen reduces pain."}]))
    docs = load(p)
    assert [d.doc_id for d in docs] == ["d1", "d2"]
    assert docs[0].metadata == {"year": 2001, "title": "Aspirin"}
    assert docs[0].blocks[0].headings == ("Aspirin",)


def test_jsonl_custom_fields(tmp_path):
    p = tmp_path / "kb.jsonl"
    p.write_text(json.dumps({"key": "a", "body": "Body text here."}) + "\n")
    (doc,) = load(p, JsonlFields(id="key", text="body"))
    assert doc.doc_id == "a" and doc.text == "Body text here."


@pytest.mark.parametrize("line,message", [("{not json", ":2: not valid JSON"), ('{"_id": "x"}', ":2: field 'text' is missing"),
                                          ('[1, 2]', ":2: expected a JSON object")])
def test_jsonl_bad_line_names_file_and_line(tmp_path, line, message):
    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps({"_id": "ok", "text": "fine"}) + "\n" + line + "\n")
    with pytest.raises(InputError, match=message) as exc:
        load(p)
    assert "c.jsonl" in str(exc.value)


def test_unsupported_type(tmp_path):
    p = tmp_path / "image.png"
    p.write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="unsupported file type '.png'"):
        loader_for(p)
