"""The web page in headless Chromium (Debian's, driven by Playwright): ask, see the answer, click a marker, read the source."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not shutil.which("chromium"):
    pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")

FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture
def live_server(served, keys, loopback):
    from ragtune.http import create_app

    with loopback(create_app(served)) as url:
        yield url


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def test_ask_and_open_the_cited_source(live_server, browser, keys, served):
    served.index("support").ingest_uploads([("markup.txt", b"Support hours are <b>9 to 5</b> on weekdays.\n")])
    page = browser.new_page()
    page.goto(live_server + "/")
    page.fill("#key", keys["reader"])
    page.dispatch_event("#key", "change")
    page.wait_for_selector("#index option[value=support]", state="attached")
    assert page.eval_on_selector_all("#index option", "els => els.map(e => e.value)") == ["support"]  # billing is not shown

    page.fill("#question", "How often must API keys be rotated?")
    page.click("#ask")
    page.wait_for_selector("#answer button.marker")
    assert "90 days" in page.inner_text("#answer")
    page.click("#answer button.marker >> nth=0")
    assert page.is_visible("#source")
    assert "API keys must be rotated every 90 days" in page.inner_text("#source-text")
    assert page.inner_text("#source-name").endswith("keys.md")

    # document text is shown as text: markup inside a document never becomes page elements
    page.fill("#question", "What are the support hours?")
    page.click("#ask")
    page.wait_for_selector("#ask:not([disabled])")
    page.click("#answer button.marker >> nth=0")
    assert "<b>9 to 5</b>" in page.inner_text("#source-text")
    assert page.query_selector("#source-text b") is None and page.query_selector("#answer b") is None


def test_a_wrong_key_shows_the_problem(live_server, browser):
    page = browser.new_page()
    page.goto(live_server + "/")
    page.fill("#key", "rt_deadbeef_wrong")
    page.dispatch_event("#key", "change")
    sync_api.expect(page.locator("#status")).to_contain_text("not valid")
    sync_api.expect(page.locator("#status")).to_have_class("error")


def signed_in(browser, live_server: str, key: str):
    """A page with ``key`` entered and the index list loaded."""
    page = browser.new_page()
    page.goto(live_server + "/")
    page.fill("#key", key)
    page.dispatch_event("#key", "change")
    page.wait_for_selector("#index option[value=support]", state="attached")
    return page


def test_run_advice_and_an_eval_from_the_page_and_open_their_reports(live_server, browser, keys, tmp_path):
    page = signed_in(browser, live_server, keys["reader"])

    page.fill("#queries", "20000")
    page.check("#attribution")
    page.click("#advise")
    page.wait_for_selector("#jobs li.succeeded a.link-html", timeout=60000)
    assert "advise" in page.inner_text("#jobs li.succeeded") and "→ rag" in page.inner_text("#jobs li.succeeded")
    report = browser.new_page()
    report.goto(live_server + page.get_attribute("#jobs li.succeeded a.link-html", "href"))
    assert "rag" in report.inner_text("body").lower() and "20,000" in report.inner_text("body").replace("20000", "20,000")

    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"id": "q1", "question": "How often must API keys be rotated?", "reference_answer": "Every 90 days."}\n'
                         '{"id": "q2", "question": "How long are audit log entries kept?", "reference_answer": "400 days."}\n')
    page.set_input_files("#eval-file", str(questions))
    page.click("#eval")
    page.wait_for_selector("#jobs li.succeeded >> nth=1", timeout=60000)
    eval_item = page.locator("#jobs li.succeeded", has_text="eval")
    report.goto(live_server + eval_item.locator("a.link-html").get_attribute("href"))
    assert "How long are audit log entries kept?" in report.inner_text("body")


def test_the_eval_form_runs_the_chosen_variants_and_shows_the_report_in_the_page(live_server, browser, keys, client,
                                                                                 tmp_path):
    page = signed_in(browser, live_server, keys["reader"])
    served_models = client.get("/v1/models", headers={"Authorization": f"Bearer {keys['reader']}"}).json()["models"]
    assert page.eval_on_selector_all("#eval-model option", "els => els.map(e => e.value)") == served_models
    checked = "els => els.filter(e => e.checked).map(e => e.value)"
    assert page.eval_on_selector_all("input[name=eval-variant]", checked) == ["base", "rag"]
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"id": "q1", "question": "How often must API keys be rotated?", '
                         '"reference_answer": "Every 90 days."}\n')
    page.set_input_files("#eval-file", str(questions))
    page.uncheck("input[name=eval-variant][value=base]")
    page.click("#eval")
    page.wait_for_selector("#report-panel:not([hidden])", timeout=60000)
    href = page.locator("#jobs li.succeeded", has_text="eval").locator("a.link-html").get_attribute("href")
    assert page.get_attribute("#report", "src") == href
    frame = page.frame_locator("#report")
    sync_api.expect(frame.locator("body")).to_contain_text("How often must API keys be rotated?")
    header = frame.locator("table:not(.settings) tr").first.locator("th").all_inner_texts()
    assert header[1:] == ["rag"]  # only the chosen variant answered
    keep_screenshot(page, "page-eval", tmp_path, "#report-panel")
    page.uncheck("input[name=eval-variant][value=rag]")
    page.click("#eval")
    sync_api.expect(page.locator("#jobs-status")).to_contain_text("choose at least one variant")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "question": "ok?"}\nnot json\n')
    page.set_input_files("#eval-file", str(bad))
    page.click("#eval")
    sync_api.expect(page.locator("#jobs-status")).to_contain_text("bad.jsonl:2: not valid JSON")


def test_decide_from_the_page_and_open_its_report(live_server, browser, keys, tmp_path):
    page = signed_in(browser, live_server, keys["reader"])
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"id": "q1", "question": "How often must API keys be rotated?", "reference_answer": "Every 90 days."}\n'
                         '{"id": "q2", "question": "How long are audit log entries kept?", "reference_answer": "400 days."}\n')
    page.set_input_files("#decide-questions", str(questions))
    page.fill("#decide-candidates", "base,rag,ft")
    assert page.input_value("#decide-budget") == "10"  # minutes: by default the tuned candidates train too
    page.fill("#decide-budget", "0")  # here no training: ft is listed as skipped
    page.check("#decide-attribution")
    page.click("#decide")
    page.wait_for_selector("#jobs li.succeeded a.link-html", timeout=60000)
    item = page.inner_text("#jobs li.succeeded")
    assert "decide" in item and "(measured; rules of thumb: rag)" in item
    report = browser.new_page()
    report.goto(live_server + page.get_attribute("#jobs li.succeeded a.link-html", "href"))
    body = report.inner_text("body")
    assert "Recommendation:" in body and "skipped" in body and report.locator("svg circle").count() >= 2

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "question": "ok?"}\nnot json\n')
    page.set_input_files("#decide-questions", str(bad))
    page.click("#decide")
    sync_api.expect(page.locator("#jobs-status")).to_contain_text("bad.jsonl:2: not valid JSON")


def keep_screenshot(page, name: str, tmp_path, selector: str | None = None) -> None:
    """Take a screenshot of the page (or of ``selector``); with DOCS_SCREENSHOTS=DIR also keep it there (the docs'
    images are made this way: DOCS_SCREENSHOTS=$PWD/docs/images pytest tests/http/test_page.py)."""
    import os
    from pathlib import Path

    target = page.locator(selector) if selector else page
    target.screenshot(path=str(tmp_path / f"{name}.png"))
    keep = os.environ.get("DOCS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(Path(keep) / f"{name}.png"))
    assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_a_linked_question_is_asked_with_markdown_rendered_and_each_citation_quoted(live_server, browser, keys, served,
                                                                                    client, tmp_path):
    served.index("support").ingest_uploads([("export.md", b"# Export\n\nTo export the audit log, open "
                                                          b"**Settings \xe2\x86\x92 Audit \xe2\x86\x92 Export** and pick a range.\n")])
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(live_server + "/")
    page.evaluate(f"sessionStorage.setItem('ragtune-key', '{keys['reader']}')")
    page.goto(live_server + "/?index=support&q=How%20do%20I%20export%20the%20audit%20log%3F")
    page.wait_for_selector("#answer button.marker")

    assert page.input_value("#question") == "How do I export the audit log?"
    served_models = client.get("/v1/models", headers={"Authorization": f"Bearer {keys['reader']}"}).json()["models"]
    assert page.eval_on_selector_all("#model option", "els => els.map(e => e.value)") == served_models
    assert page.inner_text("#answer strong") == "Settings → Audit → Export" and "**" not in page.inner_text("#answer")
    first = page.locator("#sources li").first
    assert first.locator(".where").inner_text().strip() and first.locator("q").inner_text().strip()
    assert "export.md" in page.inner_text("#sources")
    keep_screenshot(page, "page-answer", tmp_path)

    page.click("#answer button.marker >> nth=0")
    assert page.evaluate("document.getElementById('answer').nextElementSibling.id") == "source"  # beside the marker
    assert page.is_visible("#source") and page.inner_text("#source-text").strip()
    keep_screenshot(page, "page-source", tmp_path)
    assert "q=How+do+I+export" in page.url or "q=How%20do%20I%20export" in page.url


def test_the_page_loads_only_its_own_files_and_its_favicon(live_server, browser):
    page = browser.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(live_server + "/")
    page.wait_for_load_state("networkidle")
    assert requested and all(url.startswith(live_server) for url in requested)
    assert [url for url in failed if "favicon" in url] == []
    assert page.get_attribute("a.docs-link", "href") == "/docs"


def test_a_decide_report_is_shown_in_the_page(live_server, browser, keys, tmp_path):
    page = signed_in(browser, live_server, keys["reader"])
    page.set_viewport_size({"width": 1280, "height": 900})
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"id": "q1", "question": "How often must API keys be rotated?", "reference_answer": "Every 90 days."}\n'
                         '{"id": "q2", "question": "How long are audit log entries kept?", "reference_answer": "400 days."}\n')
    page.set_input_files("#decide-questions", str(questions))
    page.fill("#decide-candidates", "base,prompt,rag")
    page.fill("#decide-budget", "0")
    page.click("#decide")
    page.wait_for_selector("#jobs li.succeeded button.show-report", timeout=60000)
    keep_screenshot(page, "page-decide", tmp_path, ".side")
    page.click("#jobs li.succeeded button.show-report")
    frame = page.frame_locator("#report")
    sync_api.expect(frame.locator("body")).to_contain_text("Recommendation:")
    keep_screenshot(page, "decide-report", tmp_path, "#report")
