"""The witness officer's project page in a real browser (Debian's Chromium driven by
Playwright) against a real `sunledger serve` on a copy of the demo's store: the legal
periods with their state, the reports (downloaded, checked in words, signed off), the
warnings, refusals and observations the officer may see; an observation and a sign-off
signed in the browser with the officer's own key, recorded on the ledger under that key, and
`sunledger verify` still intact; the timeline showing a new event without a reload; the
browser's canonical JSON equal to the ledger's on hostile text."""

from __future__ import annotations

import hashlib
import json
import subprocess

import httpx
import pytest

from ledger.evidence.canonical import canonical_json
from ledger.evidence.envelope import Action
from ledger.evidence.keys import signature_ok
from portal_browser import (
    as_centre, needs_chromium, open_ledger, register_actor, serve_demo_copy, sign_in,
)
from projections.project_state import project_events
from servers import SUNLEDGER

pytestmark = needs_chromium

PROJECT = "LILING-2025-SZ02"
STREAM = f"project:{PROJECT}"
OFFICER = "witness-chen"


@pytest.fixture(scope="module")
def served(demo_run, tmp_path_factory):
    """The demo served, with witness-chen registered and assigned to its project, and
    witness-wu registered (assigned while a test watches the timeline)."""
    folder = tmp_path_factory.mktemp("witness-portal")
    server, demo = serve_demo_copy(demo_run, folder)
    chen = register_actor(demo, folder, OFFICER, "陈见证", ["witness"])
    wu = register_actor(demo, folder, "witness-wu", "吴见证", ["witness"])
    as_centre(demo, STREAM, "project.witness-assigned/v1", {"officer": OFFICER})
    yield server, demo, chen, wu
    server.stop()
    assert "Traceback" not in server.output()


def _events(demo):
    ledger = open_ledger(demo)
    try:
        return project_events(ledger.recorder, STREAM)
    finally:
        ledger.close()


def test_the_browser_canonical_json_is_the_ledgers(served, page):
    """The action a browser signs is the bytes the ledger checks: RFC 8785 on keys and text
    that trip naive encoders (sorting by code units, escapes, CJK, emoji, nesting)."""
    server = served[0]
    page.goto(server.url + "/portal/")
    page.add_script_tag(url="/portal/static/signed_actions.js")
    hostile = [
        {"b": 1, "a": [True, False, None], "A": "", "aa": {"z": -9007199254740991, "é": 0}},
        {"\u00e9": "é", "\ue000": "private use", "\u4e2d": "中文", "~": "tilde", "": "empty"},
        {"text": "quote \" backslash \\ slash / \b\f\n\r\t \u0000 \u001f \u007f \u2028 \u2029"},
        {"emoji": "😀 𝄞", "nested": [[[{"k": [1, 2, {"x": "y"}]}]]], "n": 9007199254740991},
        {"note": "开标过程经音视频全程记录；11 家投标人在线签到。", "media_hash": "ab" * 32},
    ]
    for value in hostile:
        assert page.evaluate("(v) => SunledgerActions.canonical(v)", value) == \
            canonical_json(value).decode()
    refused = page.evaluate("() => { try { SunledgerActions.canonical({x: 1.5}); return 'no'; }"
                            " catch (e) { return e.message; } }")
    assert "floats" in refused


def test_the_officer_sees_periods_reports_warnings_refusals_and_observations(served, page):
    server, demo, (chen_file, _), _ = served
    sign_in(page, server.url, chen_file, OFFICER)
    row = page.locator("#witnessed tbody tr").first
    assert PROJECT in row.inner_text() and "暂无" in row.inner_text()  # every period is past
    page.goto(server.url + f"/portal/witness/{PROJECT}")
    periods = page.locator("table.periods tbody tr").all_inner_texts()
    assert any("投标截止时间" in p and "已截标" in p for p in periods)
    assert any("签订书面合同" in p and "法 §46" in p and "2025-04-30 24:00" in p
               and "按期完成于 2025-04-10 10:00:00" in p for p in periods)
    refunds = next(p for p in periods if "退还投标保证金" in p)
    assert "bidder-01" in refunds and "bidder-11" in refunds  # one row names its bidders
    reports = page.locator("table.reports tbody tr")
    listed = [reports.nth(i).get_attribute("data-report") for i in range(reports.count())]
    events = _events(demo)
    issued = [e["payload"]["report_id"] for e in events if e["type"] == "project.report-issued/v1"]
    assert listed == issued
    assert page.locator("ul.warnings li").count() >= 1
    assert "条例 §40" in page.inner_text("#warnings")
    assert "逾期送达的投标文件" in page.inner_text("#refusals")
    assert "开标过程经音视频全程记录" in page.inner_text("#observations")
    # the downloaded report is the one issued, and checks out in words
    first = reports.first
    pdf = page.request.get(server.url + first.get_attribute("data-download"))
    assert pdf.status == 200
    assert hashlib.sha256(pdf.body()).hexdigest() == first.get_attribute("data-pdf-hash")
    first.locator(".check-report").click()
    page.wait_for_selector("#report-result.genuine", timeout=90_000)
    assert page.locator("#report-result .check.holds").count() == 4


def test_a_sign_off_and_an_observation_signed_in_the_browser(served, page, tmp_path):
    """Both land on the ledger signed by the officer's own key (its key id, the signature
    verifying with the registered public key over JCS(action)), show in the timeline
    without a reload, and `sunledger verify` stays intact."""
    server, demo, (chen_file, chen_key), _ = served
    sign_in(page, server.url, chen_file, OFFICER)
    page.goto(server.url + f"/portal/witness/{PROJECT}")
    page.wait_for_selector("#live:not([hidden])", timeout=20_000)  # the timeline is live
    rows_before = page.locator("table.timeline tbody tr").count()
    target = page.locator("table.reports tbody tr:has(button.sign-off)").first
    report_id = target.get_attribute("data-report")
    target.locator("button.sign-off").click()
    page.wait_for_selector("#signing-status.good", timeout=20_000)
    assert "已记入账本" in page.inner_text("#signing-status")
    # an observation with a recording: its hash only leaves the browser
    recording = tmp_path / "opening.mp4"
    recording.write_bytes(b"\x00\x00\x00\x18ftypmp42 a recording of the opening" * 100)
    page.fill("textarea[name=note]", "复核签认：报告与现场记录一致。")
    page.set_input_files("#media", str(recording))
    assert page.inner_text("#media-chosen") == "opening.mp4"
    page.click("form#observe button[type=submit]")
    page.wait_for_function("() => document.querySelector('#signing-status').textContent"
                           ".includes('已记入账本') && !document.querySelector('#media').files.length",
                           timeout=20_000)
    # both appear in the live timeline, without a reload
    page.wait_for_function(f"() => document.querySelectorAll('table.timeline tbody tr').length"
                           f" >= {rows_before + 2}", timeout=20_000)
    added = page.locator("table.timeline tbody tr.new").all_inner_texts()
    assert any("见证人员签认报告" in t for t in added), added
    assert any("复核签认" in t for t in added), added
    events = _events(demo)
    sign_off, observation = events[-2], events[-1]
    assert sign_off["type"] == "project.report-signed-off/v1"
    assert sign_off["payload"]["report_id"] == report_id
    assert observation["payload"] == {
        "note": "复核签认：报告与现场记录一致。",
        "media_hash": hashlib.sha256(recording.read_bytes()).hexdigest()}
    for event in (sign_off, observation):
        assert event["actor"] == OFFICER and event["key_id"] == chen_key.key_id
        action = Action(**{k: event[k] for k in ("stream", "type", "payload", "actor", "key_id",
                                                  "nonce", "signed_at")},
                        expected_version=event["version"] - 1)
        import base64
        assert signature_ok(chen_key.public_key, action.signing_bytes(),
                            base64.b64decode(event["signature"]))
    # the sign-off is listed with the report, the button gone
    page.reload()
    signed = page.locator(f"table.reports tbody tr[data-report='{report_id}']")
    assert OFFICER in signed.inner_text() and signed.locator("button.sign-off").count() == 0
    listing = subprocess.run([SUNLEDGER, "verify", "--store", f"sqlite:{demo / 'ledger.db'}"],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "INTACT" in listing.stdout, listing.stdout


def test_the_timeline_shows_an_event_recorded_elsewhere_without_a_reload(served, page):
    server, demo, (chen_file, _), _ = served
    sign_in(page, server.url, chen_file, OFFICER)
    page.goto(server.url + f"/portal/witness/{PROJECT}")
    page.wait_for_selector("#live:not([hidden])", timeout=20_000)
    page.evaluate("() => { window.sameDocument = true; }")  # a reload would forget it
    as_centre(demo, STREAM, "project.witness-assigned/v1", {"officer": "witness-wu"})
    page.wait_for_selector("table.timeline tbody tr.new", timeout=20_000)
    assert "指派见证人员" in page.locator("table.timeline tbody tr.new").last.inner_text()
    assert page.evaluate("() => window.sameDocument") is True  # no reload happened


def test_an_officer_not_assigned_gets_nothing(served, page, tmp_path):
    server, demo, _, _ = served
    zhou_file, _ = register_actor(demo, tmp_path, "witness-zhou", "周见证", ["witness"])
    sign_in(page, server.url, zhou_file, "witness-zhou")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    for path in ("", "/live", "/version", "/reports/株交见〔2025〕第0001号.pdf"):
        answer = httpx.get(f"{server.url}/portal/witness/{PROJECT}{path}", cookies=cookies)
        assert answer.status_code == 404, (path, answer.status_code)
        assert "开标过程经音视频全程记录" not in answer.text
    # and the public is sent to sign in
    answer = httpx.get(f"{server.url}/portal/witness/{PROJECT}/version")
    assert answer.status_code == 404 and json.loads(answer.text)["error"] == "not-witnessed"
