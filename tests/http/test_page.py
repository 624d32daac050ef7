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
