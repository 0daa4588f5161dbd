"""The portal in a real browser (Debian's Chromium driven by Playwright) against a real
`sunledger serve` on the demo's store. The public's pages: the projects announced, a project
as the public may see it, the log's checkpoint and key, and checking a report dropped on the
page (the demo's genuine report holds all four checks, a copy with one byte changed does
not). Sign-in with a key file from `sunledger keygen`: the private key stays in the browser,
non-extractable; the session cookie is HttpOnly and SameSite=Strict; a wrong key, a used
challenge, a change without its CSRF token and a revoked key are refused. No page logs a
console error."""

from __future__ import annotations

import base64
import subprocess

import httpx
import pytest

from portal_browser import as_centre, follow, needs_chromium, register_actor, serve_demo_copy, sign_in
from servers import SUNLEDGER

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def portal(demo_run, tmp_path_factory):
    server, demo = serve_demo_copy(demo_run, tmp_path_factory.mktemp("portal"))
    yield server, demo
    server.stop()
    assert "Traceback" not in server.output()


def test_the_public_pages_show_what_the_public_may_see(portal, page):
    server, _ = portal
    page.goto(server.url + "/")  # the public's pages also from /
    assert page.url == server.url + "/portal/"
    assert page.inner_text("h1") == "公告与结果"
    row = page.locator("table.list tbody tr", has_text="LILING-2025-SZ02")  # the tender
    assert row.count() == 1 and "醴陵市棚户区改造二期工程" in row.inner_text()
    assert "已签合同" in row.inner_text() and "工程建设" in row.inner_text()
    follow(page, "text=LILING-2025-SZ02", "/portal/projects/LILING-2025-SZ02")
    facts = page.inner_text("table.facts")
    assert "中标人" in facts and "bidder-02" in facts and "83,760,800.00" in facts
    # what the API withholds from the public, the page withholds too: the prices and scores
    public = httpx.get(server.url + "/v1/projects/LILING-2025-SZ02").json()
    assert "prices" in public["withheld"] and "scores" in public["withheld"]
    assert "投标报价" in page.inner_text("ul.withheld")
    assert "prices" not in facts and "scores" not in facts
    # English by the switch, kept for the next page
    follow(page, "a.lang", "lang=en")
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


# --- sign-in with the actor's own key ---------------------------------------------------------

OFFICER = "witness-chen"


@pytest.fixture(scope="module")
def officer(portal, tmp_path_factory):
    """A witness officer registered on the served store: its key file and key."""
    _, demo = portal
    return register_actor(demo, tmp_path_factory.mktemp("officer"), OFFICER, "陈见证",
                          ["witness"])


def _sign_in(page, url: str, key_file, actor: str = OFFICER) -> None:
    sign_in(page, url, key_file, actor, then="")


def test_sign_in_with_a_key_file_keeps_the_key_in_the_browser(portal, officer, page):
    server, _ = portal
    key_file, key = officer
    _sign_in(page, server.url, key_file)
    page.wait_for_url("**/portal/me", timeout=20_000)
    assert page.inner_text("h1") == "陈见证"
    assert page.inner_text("#me-actor") == OFFICER and page.inner_text("#me-key") == key.key_id
    assert "见证人员" in page.inner_text("main") and "已登录：陈见证" in page.inner_text("nav")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session, csrf = cookies["sunledger-session"], cookies["sunledger-csrf"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert not csrf["httpOnly"] and csrf["sameSite"] == "Strict"
    kept = page.evaluate("""async () => { const e = await SunledgerKeys.kept();
        return [e.key.extractable, e.key.algorithm.name, e.key.usages, e.keyId]; }""")
    assert kept == [False, "Ed25519", ["sign"], key.key_id]  # never exportable
    assert "sunledger-session" not in page.evaluate("document.cookie")  # HttpOnly
    # a change through the portal without its CSRF token is refused; with it, signed out
    jar = {"sunledger-session": session["value"], "sunledger-csrf": csrf["value"]}
    refused = httpx.post(server.url + "/portal/session/end", cookies=jar)
    assert refused.status_code == 403 and refused.json()["error"] == "csrf"
    page.click("#sign-out")
    page.wait_for_url("**/portal/", timeout=20_000)
    assert "登录" in page.inner_text("nav")
    assert page.evaluate("""() => new Promise((done) => {  // the key is forgotten
        const opening = indexedDB.open("sunledger-portal", 1);
        opening.onsuccess = () => { const got = opening.result.transaction("keys")
            .objectStore("keys").get("session"); got.onsuccess = () => done(got.result === undefined); };
    })""") is True
    assert httpx.get(server.url + "/portal/me", follow_redirects=False).status_code == 303


def test_a_witness_officer_opens_only_the_projects_assigned(portal, officer, page):
    """Before the assignment the officer's witness page of the project is refused (its public
    page stays open to anyone); once assigned, the project is listed on /portal/me and its
    witness page shows the events the officer may see, grouped by phase, in China time."""
    server, demo = portal
    key_file, _ = officer
    _sign_in(page, server.url, key_file)
    page.wait_for_url("**/portal/me", timeout=20_000)
    assert "目前没有指派给您的见证项目" in page.inner_text("main")
    answered = page.goto(server.url + "/portal/witness/LILING-2025-SZ02")
    assert answered.status == 404 and "您不是此项目的见证人员" in page.inner_text("main")
    page.console_errors.clear()  # the 404 of the page itself
    as_centre(demo, "project:LILING-2025-SZ02", "project.witness-assigned/v1",
              {"officer": OFFICER})
    page.goto(server.url + "/portal/me")
    follow(page, "#witnessed a", "/portal/witness/LILING-2025-SZ02")
    phases = page.locator("details.phase summary").all_inner_texts()
    assert [p.split()[0] for p in phases[:3]] == ["受理与公告前", "公告至开标", "开标与评标"]
    opened = page.locator("details.phase[open]")
    assert opened.count() == 1 and opened.get_attribute("open") is not None  # the latest phase
    page.click("details.phase summary >> nth=0")  # fold the first phase open
    first = page.locator("table.timeline tbody tr").first.inner_text()
    assert "2025-03-01 10:00:00" in first and "项目进场登记" in first  # 02:00 UTC
    assert "project.intake/v1" in first
    events = httpx.get(server.url + "/v1/projects/LILING-2025-SZ02/events?limit=1000").json()
    assert page.locator("table.timeline tbody tr").count() >= len(events["events"])
    from api.portal.words import EVENT_NAMES
    from ledger.evidence.catalogue import EVENT_TYPES
    assert set(EVENT_NAMES) == set(EVENT_TYPES)  # every type has its name
    page.click("#sign-out")
    page.wait_for_url("**/portal/", timeout=20_000)


def test_a_wrong_key_a_used_challenge_and_a_revoked_key_are_refused(portal, officer, page,
                                                                    tmp_path):
    server, demo = portal
    key_file, key = officer
    stranger = tmp_path / "stranger.key"
    subprocess.run([SUNLEDGER, "keygen", "--out", str(stranger)], check=True, capture_output=True)
    _sign_in(page, server.url, stranger)
    page.wait_for_selector("#status.bad", timeout=20_000)
    assert "未能登录" in page.inner_text("#status") and "no registered key" in page.inner_text("#status")
    assert page.url.endswith("/portal/sign-in?lang=zh")
    # the browser logs the refusal's status, and nothing else
    assert page.console_errors == ["Failed to load resource: the server responded with a "
                                   "status of 401 (Unauthorized)"]
    page.console_errors.clear()
    # the same challenge twice: the second is refused (each is good once)
    asked = httpx.post(server.url + "/portal/session/challenge").json()
    message = (b"sunledger portal sign-in v1\n" + asked["origin"].encode() + b"\n"
               + asked["challenge"].encode())
    body = {"actor": OFFICER, "key_id": key.key_id, "challenge": asked["challenge"],
            "signature": base64.b64encode(key.sign(message)).decode()}
    first = httpx.post(server.url + "/portal/session", json=body)
    assert first.status_code == 200 and first.cookies.get("sunledger-session")
    again = httpx.post(server.url + "/portal/session", json=body)
    assert again.status_code == 401 and again.json()["error"] == "challenge-used"
    forged = dict(body, challenge=asked["challenge"][:-2] + "AA")
    assert httpx.post(server.url + "/portal/session", json=forged).json()["error"] == \
        "challenge-refused"
    # the key revoked: the session it opened ends at once
    jar = {"sunledger-session": first.cookies["sunledger-session"]}
    assert "陈见证" in httpx.get(server.url + "/portal/me", cookies=jar).text
    as_centre(demo, f"actor:{OFFICER}", "actor.key-revoked/v1",
              {"key_id": key.key_id, "reason": "lost"})
    assert httpx.get(server.url + "/portal/me", cookies=jar,
                     follow_redirects=False).status_code == 303


def test_the_demo_writes_keys_to_sign_in_as_its_officer_and_supervision_body(portal, page):
    """`./run portal` shows every role's pages: the demo writes its witness officers' and
    supervision body's key files, and signing in with them opens their pages."""
    server, demo = portal
    keys = demo / "portal-keys"
    assert sorted(p.name for p in keys.iterdir()) == [
        "supervisor-liling.key", "witness-zz.key", "witness-zz2.key"]
    sign_in(page, server.url, keys / "witness-zz.key", "witness-zz")
    assert "陈静" in page.inner_text("h1")
    follow(page, "#witnessed a", "/portal/witness/LILING-2025-SZ02")
    page.click("#sign-out")
    page.wait_for_url("**/portal/", timeout=20_000)
    sign_in(page, server.url, keys / "supervisor-liling.key", "supervisor-liling")
    assert "行政监督部门" in page.inner_text("main")
    follow(page, "nav >> text=监督", "/portal/supervision")
    assert "LILING-2025-SZ02" in page.inner_text("main")
