"""PDF text engines on the same generated long filings: pages/s, share of files read, table rows kept.

Generates ``--files`` statement-like PDFs of ``--pages`` pages each with reportlab (a heading, paragraphs and a
table whose rows are drawn cell by cell, as filings are), and makes every ``--hard-every``-th one carry a
content array longer than pypdf's element limit (as some SEC 10-Q filings do). Each engine reads every file
alone (``ragtune.documents.loaders.pdf``), then the loader reads them with its engine order (pdfium, then
pypdf on failure). Writes bench/results/pdf_engines.json.

    python bench/pdf_engines.py [--files 12] [--pages 60] [--hard-every 4]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from _common import RESULTS, log  # noqa: E402 - offline, single-thread settings and the src path

from ragtune.documents.loaders.pdf import ENGINES, PdfEngine, PdfLoader  # noqa: E402

ROWS = ["Net revenue", "Cost of revenue", "Gross profit", "Operating expenses", "Operating income", "Net income"]


def make_filing(path: Path, pages: int, hard: bool, seed: int) -> None:
    """A long statement-like PDF; ``hard`` adds a 120,000-element text array to page 1."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for page in range(1, pages + 1):
        c.setFont("Helvetica-Bold", 12)
        c.drawString(72, 760, f"Item {page}. Condensed statement of operations (filing {seed})")
        c.setFont("Helvetica", 9)
        y = 740
        for line in range(18):
            c.drawString(72, y, f"Paragraph {line} of page {page}: results of operations compared with the prior "
                                f"quarter, liquidity and capital resources.")
            y -= 12
        for row, label in enumerate(ROWS):
            y -= 14
            c.drawString(72, y, label)
            c.drawRightString(400, y, f"{(seed + 1) * (page + row) * 17:,}")
            c.drawRightString(480, y, f"{(seed + 2) * (page + row) * 13:,}")
        if hard and page == 1:
            c._code.append("BT /F1 1 Tf 72 20 Td [" + " 0 ".join(["(.)"] * 60_000) + "] TJ ET")
        c.showPage()
    c.save()


def rows_kept(pages: list[str]) -> float:
    """Share of table rows whose label and both figures are on one line."""
    lines = [" ".join(line.split()) for text in pages for line in text.splitlines()]
    found = sum(1 for line in lines for label in ROWS if line.startswith(label + " ") and len(line.split()) >= len(label.split()) + 2)
    return found / (len(ROWS) * len(pages)) if pages else 0.0


def measure(read, files: list[Path]) -> dict:
    pages = read_files = 0
    kept: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    for path in files:
        try:
            texts = read(path)
        except Exception as exc:  # noqa: BLE001 - counted as a file not read
            errors.append(f"{path.name}: {type(exc).__name__}: {str(exc)[:80]}")
            continue
        read_files += 1
        pages += len(texts)
        kept.append(rows_kept(texts))
    wall = time.perf_counter() - started
    return {"files_read": read_files, "share_read": round(read_files / len(files), 3), "pages": pages,
            "wall_s": round(wall, 2), "pages_per_s": round(pages / wall, 1) if wall else None,
            "table_rows_kept": round(sum(kept) / len(kept), 3) if kept else None, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--hard-every", type=int, default=4, help="Every n-th file carries an over-long array (0: none).")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="pdf_engines_"))
    files = []
    for i in range(args.files):
        path = folder / f"filing_{i:02d}.pdf"
        make_filing(path, args.pages, bool(args.hard_every) and i % args.hard_every == args.hard_every - 1, i)
        files.append(path)
    log(f"{len(files)} files of {args.pages} pages in {folder}")
    from importlib.metadata import version

    out: dict = {"files": len(files), "pages_per_file": args.pages, "hard_every": args.hard_every,
                 "mb": round(sum(p.stat().st_size for p in files) / 2**20, 1),
                 "versions": {"pypdf": version("pypdf"), "pypdfium2": version("pypdfium2")},
                 "load_average_at_start": round(os.getloadavg()[0], 2), "engines": {}}
    for engine in PdfEngine:
        out["engines"][engine.value] = measure(lambda p, e=engine: ENGINES[e](p)[0], files)
        log(f"{engine.value}: {json.dumps({k: v for k, v in out['engines'][engine.value].items() if k != 'errors'})}")
    loader = PdfLoader()

    def through_loader(path: Path) -> list[str]:
        (doc,) = loader.load(path, path.name)
        by_page: dict[int, list[str]] = {}
        for block in doc.blocks:
            by_page.setdefault(block.page or 0, []).append(block.text)
        return ["\n".join(v) for _, v in sorted(by_page.items())]

    out["loader"] = {"engines": [e.value for e in loader.engines], **measure(through_loader, files)}
    log(f"loader: {json.dumps({k: v for k, v in out['loader'].items() if k != 'errors'})}")
    (RESULTS / "pdf_engines.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
