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


def _raw_pdf(pages: list[bytes]) -> bytes:
    """A minimal PDF whose pages have the given content streams (Helvetica as /F1)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))) + b"] /Count %d >>" % len(pages),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, content in enumerate(pages):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                    b"/Contents %d 0 R >>" % (5 + 2 * i))
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_pdf_that_pypdf_gives_up_on_is_read_by_the_fallback_engine_with_pages(tmp_path):
    from ragtune.documents.loaders.pdf import PdfLoader

    huge_array = b"BT /F1 10 Tf 72 700 Td [" + b" 0 ".join([b"(x)"] * 60_000) + b"] TJ ET"  # 120k elements: over pypdf's limit
    p = tmp_path / "filing.pdf"
    p.write_bytes(_raw_pdf([b"BT /F1 12 Tf 72 720 Td (Net revenue 1,234 5,678) Tj ET\n" + huge_array,
                            b"BT /F1 12 Tf 72 720 Td (Page two covers liquidity.) Tj ET"]))
    with pytest.raises(InputError, match="pypdf: LimitReachedError: Reached maximum array element count"):
        list(PdfLoader(["pypdf"]).load(p, "f"))
    for loader in (PdfLoader(["pypdf", "pdfium"]), loader_for(p)):
        (doc,) = loader.load(p, "f")
        assert [b for b in doc.blocks if "liquidity" in b.text][0].page == 2
        assert [b for b in doc.blocks if "Net revenue 1,234 5,678" in b.text][0].page == 1


def test_pdf_table_rows_keep_their_labels_and_pages(tmp_path):
    from reportlab.pdfgen import canvas

    from ragtune.documents.loaders.pdf import PdfLoader

    p = tmp_path / "table.pdf"
    c = canvas.Canvas(str(p))
    for page, rows in enumerate([[("Net revenue", "1,234", "5,678")], [("Operating income", "321", "654")]], start=1):
        c.drawString(72, 760, f"Statement page {page}")
        for y, (label, q1, q2) in zip(range(720, 0, -16), rows):
            c.drawString(72, y, label)
            c.drawRightString(400, y, q1)
            c.drawRightString(480, y, q2)
        c.showPage()
    c.save()
    assert PdfLoader().engines[0].value == "pdfium"
    (doc,) = loader_for(p).load(p, "t")  # pypdf alone puts each separately drawn cell on a line of its own
    lines = {line.split()[0] + " " + line.split()[1]: (" ".join(line.split()), b.page)
             for b in doc.blocks for line in b.text.splitlines() if len(line.split()) > 2}
    assert lines["Net revenue"] == ("Net revenue 1,234 5,678", 1)
    assert lines["Operating income"] == ("Operating income 321 654", 2)
