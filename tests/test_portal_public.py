"""The portal's public pages in a real browser (Debian's Chromium driven by Playwright) against
a real `sunledger serve` on the demo's store: the projects announced, a project as the public
may see it, the log's checkpoint and key, and checking a report dropped on the page: the
demo's genuine report holds all four checks, a copy with one byte changed does not. No page
logs a console error."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from servers import Server

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: ./run setup installs it")


@pytest.fixture(scope="module")
def portal(demo_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("portal")
    shutil.copytree(demo_run.out, folder / "demo")
    store = folder / "demo" / "ledger.db"
    server = Server(["--store", f"sqlite:{store}", "--ledger-key",
                     str(store.with_name("ledger.db.ledger-key"))], folder / "serve.log")
    yield server, folder / "demo"
    server.stop()
    assert "Traceback" not in server.output()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                            "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.console_errors = errors  # a test may take out one it caused on purpose
    yield opened
    opened.close()
    assert errors == [], errors


def test_the_public_pages_show_what_the_public_may_see(portal, page):
    server, _ = portal
    page.goto(server.url + "/")  # the public's pages also from /
    assert page.url == server.url + "/portal/"
    assert page.inner_text("h1") == "公告与结果"
    row = page.locator("table.list tbody tr")
    assert row.count() == 1 and "醴陵市棚户区改造二期工程" in row.inner_text()
    assert "已签合同" in row.inner_text() and "工程建设" in row.inner_text()
    page.click("text=LILING-2025-SZ02")
    assert page.url.endswith("/portal/projects/LILING-2025-SZ02")
    facts = page.inner_text("table.facts")
    assert "中标人" in facts and "bidder-02" in facts and "83760800.00" in facts
    # what the API withholds from the public, the page withholds too: the prices and scores
    public = httpx.get(server.url + "/v1/projects/LILING-2025-SZ02").json()
    assert "prices" in public["withheld"] and "scores" in public["withheld"]
    assert "投标报价" in page.inner_text("ul.withheld")
    assert "prices" not in facts and "scores" not in facts
    # English by the switch, kept for the next page
    page.click("a.lang")
    assert "Withheld by law for now" in page.inner_text("main")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(server.url + "/portal/log")
    assert page.inner_text("h1") == "The log's checkpoint"
    key = httpx.get(server.url + "/v1/log-key").json()["verifier_key"]
    assert page.inner_text("#verifier-key") == key
    assert page.inner_text("#checkpoint").strip() == httpx.get(server.url + "/log/checkpoint").text.strip()
    answered = page.goto(server.url + "/portal/projects/NONE-SUCH?lang=zh")
    assert answered.status == 404 and "没有公众可见的此项目" in page.inner_text("main")
    # the browser logs the 404 of the page itself, and nothing else
    assert page.console_errors == ["Failed to load resource: the server responded with a "
                                   "status of 404 (Not Found)"]
    page.console_errors.clear()


def test_a_report_dropped_on_the_page_is_checked(portal, page, tmp_path):
    server, demo = portal
    genuine = demo / "LILING-2025-SZ02-full-2025-0003.pdf"
    changed = tmp_path / "changed.pdf"
    data = bytearray(genuine.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed.write_bytes(bytes(data))
    page.goto(server.url + "/portal/verify?report=2025-0003&lang=zh")
    assert "2025-0003" in page.inner_text("main")
    page.set_input_files("#file", str(genuine))
    page.wait_for_selector(".result.genuine", timeout=60_000)
    assert page.inner_text(".verdict") == "这份报告是真实的：四项核对全部通过。"
    assert page.locator(".check.holds").count() == 4
    page.set_input_files("#file", str(changed))
    page.wait_for_selector(".result.not-genuine", timeout=60_000)
    assert page.inner_text(".verdict") == "这份报告未通过核对，不能作为证据使用。"
    outcomes = [page.locator(".check").nth(i).get_attribute("class") for i in range(4)]
    assert outcomes == ["check holds", "check holds", "check fails", "check fails"]
    # not a report at all: said so, no trace
    answer = httpx.post(server.url + "/portal/verify", content=b"%PDF-1.7 nothing here",
                        headers={"Content-Type": "application/pdf"}, timeout=60)
    assert answer.status_code == 200 and not answer.json()["genuine"]
    assert answer.json()["steps"][0] == {"step": "evidence", "result": "fails"}
