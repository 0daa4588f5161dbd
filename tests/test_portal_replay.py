"""The dispute replay page (争议回放, api/portal/replay.py) in a real browser (Debian's
Chromium driven by Playwright) against a real `sunledger serve` on a copy of the demo's store,
and before an opening through the app itself. Each step the page shows is the step GET
/v1/projects/{id}/replay gives the same caller (its event, time, actor, hash and changes),
with the state after it as GET /v1/projects/{id}?version= gives it: the public's replay shows
nothing the public's API answer withholds, a witness officer's shows more. Stepping works by
plain links (?step=), by arrow keys, by version (?version=) and by a China-time moment (?at=);
bad input is said on the page. A step's proof link answers the inclusion proof; the dossier
downloads for whoever the API gives it to, and the page says why not to the others."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from api.client import signature_headers
from api.http.app import create_app
from api.portal.pages import china_time
from api.portal.words import category_name, word_of
from ledger.evidence.canonical import is_money, parse_time
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.procedures.calendar import CHINA
from projections.visibility import procedure_fields
from witness.model import money
from witness.vocabulary import METHODS
from portal_browser import as_centre, needs_chromium, register_actor, serve_demo_copy, sign_in
from test_trading import Tender, cst

PROJECT = "LILING-2025-SZ02"
REPLAY = f"/portal/replay/{PROJECT}"
OFFICER = "witness-chen"


@pytest.fixture(scope="module")
def portal(demo_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("replay")
    server, demo = serve_demo_copy(demo_run, folder)
    key_file, key = register_actor(demo, folder, OFFICER, "陈见证", ["witness"])
    as_centre(demo, f"project:{PROJECT}", "project.witness-assigned/v1", {"officer": OFFICER})
    yield server, key_file, ActorSigner(OFFICER, key)
    server.stop()
    assert "Traceback" not in server.output()


def api(server, path: str, signer: ActorSigner | None = None, **query) -> httpx.Response:
    """An API read, unsigned (the public) or signed by `signer` (RFC 9421)."""
    encoded = urlencode(query)
    headers = {} if signer is None else signature_headers(signer, "GET", path, encoded)
    return httpx.get(server.url + path + (f"?{encoded}" if encoded else ""), headers=headers,
                     timeout=60)


def api_steps(server, signer: ActorSigner | None = None) -> list[dict]:
    return api(server, f"/v1/projects/{PROJECT}/replay", signer).json()["steps"]


def shown_step(page) -> dict:
    """What the page shows of its step, in the API's terms."""
    hash_ = page.locator("#step-hash")
    return {"position": page.inner_text("#step-position"),
            "type": page.inner_text("#step-type"), "time": page.inner_text("#step-time"),
            "actor": page.inner_text("#step-actor"), "version": page.inner_text("#step-version"),
            "hash": hash_.inner_text() if hash_.count() else None,
            "changes": page.locator("#changes li").evaluate_all(
                "items => items.map(i => i.dataset.change)"),
            "members": page.locator("#state-after table.facts > tbody > tr > th > code")
            .all_inner_texts(),
            "values": dict(page.locator("#state-after table.facts > tbody > tr").evaluate_all(
                "rows => rows.map(r => [r.querySelector('th > code').textContent, "
                "r.querySelector('td').textContent.trim()])")),
            "withheld": page.locator("#state-after ul.withheld li").count()}


def assert_same_step(server, page, number: int, steps: list[dict],
                     signer: ActorSigner | None = None) -> None:
    """The page shows step `number` of `steps` (the API's replay for the same caller), and
    the state after it is the API's state as of its version, member for member."""
    shown, step = shown_step(page), steps[number - 1]
    assert shown["position"] == f"第 {number} 步 / 共 {len(steps)} 步"
    assert shown["type"] == step["type"] and shown["time"] == china_time(step["ledger_time"])
    assert shown["actor"] == step["actor"] and shown["version"] == str(step["version"])
    assert shown["hash"] == step["hash"] and shown["changes"] == step["changes"]
    state = api(server, f"/v1/projects/{PROJECT}", signer, version=step["version"]).json()
    own = procedure_fields(listing=False)  # a tender's page: no listing's members
    members = [m for m, x in state["state"].items() if m != "stage" and m in own
               and x not in (None, "", [], {}, False)]
    assert shown["members"] == members
    assert shown["withheld"] == len([m for m in state["withheld"] if m in own])
    for member in members:  # a plain value as the API gives it (times there in China time,
        value = state["state"][member]  # a category or a method in words, amounts as money)
        if isinstance(value, str):
            assert shown["values"][member] in (value, china_time(value), category_name(value, "zh"),
                                               word_of(METHODS, value, "zh"),
                                               money(value) if is_money(value) else value), member
    if state["state"].get("stage"):
        assert page.locator("#stage-after").count() == 1
    current = page.locator("#step-list li.current")
    assert current.count() == 1 and current.inner_text().startswith(str(number))


@needs_chromium
def test_the_public_steps_forth_and_back_as_the_api_replays(portal, page):
    server, _, _ = portal
    steps = api_steps(server)
    page.goto(server.url + REPLAY + "?lang=zh")
    assert_same_step(server, page, 1, steps)
    assert "视角：社会公众" in page.inner_text("#seen-as")
    made = page.inner_text("#changes")  # the intake made the project: from nothing, in words
    assert "— → 工程建设" in made and "construction" not in made
    for number in range(2, 6):  # forth by the links
        page.click("#go-next")
        page.wait_for_url(f"**?step={number}")
        assert_same_step(server, page, number, steps)
        changed = page.inner_text("#changes") if page.locator("#changes").count() else ""
        assert not re.search(r"\dT\d\d:\d\d:\d\dZ", changed)  # times in China time
    page.click("#go-previous")
    page.wait_for_url("**?step=4")
    assert_same_step(server, page, 4, steps)
    page.keyboard.press("ArrowRight")  # and by the arrow keys (replay.js)
    page.wait_for_url("**?step=5")
    assert_same_step(server, page, 5, steps)
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**?step=4")
    page.click("#go-last")
    page.wait_for_url(f"**?step={len(steps)}")
    assert_same_step(server, page, len(steps), steps)
    assert page.locator("#go-next").count() == 0  # the last step has no next
    page.click("#step-list a >> nth=0")  # the list of all steps leads to each
    page.wait_for_url("**?step=1")
    assert page.locator("#step-list li").count() == len(steps)
    # a step with a change is named in words: the award names its winner
    awarded = next(n for n, s in enumerate(steps, 1) if s["type"] == "project.awarded/v1")
    page.goto(server.url + REPLAY + f"?step={awarded}")
    assert "中标人" in page.inner_text("#changes") and "确定中标人" in page.inner_text("#step-title")


@needs_chromium
def test_a_step_is_found_by_version_and_by_a_moment_in_china_time(portal, page):
    server, _, _ = portal
    steps = api_steps(server)
    awarded = next(n for n, s in enumerate(steps, 1) if s["type"] == "project.awarded/v1")
    page.goto(server.url + REPLAY + f"?version={steps[awarded - 1]['version']}&lang=zh")
    assert_same_step(server, page, awarded, steps)
    # 09:30 China time is 01:30 UTC: the last step at or before it is the API's last as of then
    page.fill("#at", "2025-03-24T09:30")
    page.click("form.moment button")
    page.wait_for_url("**at=2025-03-24T09%3A30")
    until = api(server, f"/v1/projects/{PROJECT}/replay", at="2025-03-24T01:30:00.000000Z")
    expected = len(until.json()["steps"])
    assert until.json()["steps"][-1] == steps[expected - 1]
    assert_same_step(server, page, expected, steps)
    assert page.input_value("#at") == "2025-03-24T09:30"
    # a moment between two steps: the one before it
    later = parse_time(steps[expected]["ledger_time"]) - timedelta(minutes=1)
    page.goto(server.url + REPLAY + "?at=" + later.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M"))
    assert_same_step(server, page, expected, steps)


@needs_chromium
def test_bad_input_is_said_on_the_page(portal, page):
    server, _, _ = portal
    steps = api_steps(server)
    seen = {s["version"] for s in steps}
    unseen = next(n for n in range(1, 200) if n not in seen)
    for query, said in (("step=0", f"没有第 “0” 步：此回放共 {len(steps)} 步"),
                        ("step=abc", "没有第 “abc” 步"),
                        (f"step={len(steps) + 1}", f"没有第 “{len(steps) + 1}” 步"),
                        ("at=yesterday", "无法识别时刻 “yesterday”"),
                        ("at=2025-02-30T10:00", "无法识别时刻"),
                        ("at=2020-01-01T08:00", "2020-01-01 08:00（北京时间）之前没有您可见的步骤"),
                        (f"version={unseen}", f"没有您可见的版本 “{unseen}”"),
                        ("version=x", "没有您可见的版本 “x”")):
        answered = page.goto(server.url + REPLAY + f"?{query}&lang=zh")
        assert answered.status == 200, query
        assert said in page.inner_text("#replay-problem"), query
        assert page.inner_text("#step-position").startswith("第 1 步"), query  # and step 1
    answered = page.goto(server.url + "/portal/replay/NONE-SUCH")
    assert answered.status == 404 and "没有公众可见的此项目" in page.inner_text("main")
    assert page.console_errors == ["Failed to load resource: the server responded with a "
                                   "status of 404 (Not Found)"]
    page.console_errors.clear()
    proof = httpx.get(server.url + REPLAY + "/proof?version=nine")  # the API's problem, no trace
    assert proof.status_code == 422
    assert proof.json()["type"] == "urn:sunledger:error:malformed-request"


@needs_chromium
def test_a_steps_proof_link_answers_its_inclusion_proof(portal, page):
    server, _, _ = portal
    steps = api_steps(server)
    page.goto(server.url + REPLAY + f"?step={len(steps)}")
    href = page.get_attribute("#step-proof", "href")
    assert href.startswith("/v1/proofs/inclusion?")  # the API's own, public after the opening
    proof = httpx.get(server.url + href)
    assert proof.status_code == 200
    assert proof.json()["event_hash"] == steps[-1]["hash"]
    assert str(proof.json()["leaf_index"]) == page.inner_text("#step-leaf")
    tlog = httpx.get(server.url + page.get_attribute("#step-tlog-proof", "href"))
    assert tlog.status_code == 200 and tlog.text.startswith("c2sp.org/tlog-proof@v1")


@needs_chromium
def test_the_public_is_told_why_it_gets_no_dossier(portal, page):
    server, _, _ = portal
    refused = api(server, f"/v1/projects/{PROJECT}/dossier")
    assert refused.status_code == 403  # the public sees some events only in part, or not
    why = refused.json()["detail"].split(", and ", 1)[1]
    page.goto(server.url + REPLAY + "?lang=zh")
    assert page.locator("#dossier-download").count() == 0
    assert "您目前不能下载争议卷宗" in page.inner_text("#dossier-refused")
    assert why in page.inner_text("#dossier-refused")
    answered = page.goto(server.url + REPLAY + "/dossier")  # asked all the same: why not
    assert answered.status == 403 and refused.json()["detail"] in page.inner_text("#refused")
    page.console_errors.clear()  # the 403 of the page itself


@needs_chromium
def test_an_officer_replays_more_than_the_public_and_gets_the_dossier(portal, page, tmp_path):
    server, key_file, officer = portal
    public, own = api_steps(server), api_steps(server, officer)
    assert len(own) > len(public)
    # the public's replay shows no member the public's API answer withholds: no bid prices
    withheld = api(server, f"/v1/projects/{PROJECT}").json()["withheld"]
    assert "prices" in withheld
    priced = next(n for n, s in enumerate(own, 1)
                  if any(c.startswith("prices:") for c in s["changes"]))
    prices = api(server, f"/v1/projects/{PROJECT}", officer).json()["state"]["prices"]
    award = api(server, f"/v1/projects/{PROJECT}").json()["state"]["award_price"]
    secret = {price for price in prices.values() if price != award}  # the losers' prices
    assert secret
    for number in range(1, len(public) + 1):
        page.goto(server.url + REPLAY + f"?step={number}&lang=zh")
        assert not any(price in page.inner_text("main") for price in secret), number
        codes = page.locator("#state-after table.facts code, #changes code").all_inner_texts()
        assert not set(codes) & set(withheld), number
    # the officer, signed in, sees the steps the API gives it, the prices among them
    sign_in(page, server.url, key_file, OFFICER)
    page.goto(server.url + REPLAY + f"?step={priced}&lang=zh")
    assert "视角：陈见证 · 见证人员" in page.inner_text("#seen-as")
    assert_same_step(server, page, priced, own, officer)
    assert "prices" in page.locator("#changes code").all_inner_texts()
    assert page.locator("#step-list li").count() == len(own)
    # its proof link is the portal's, answering the API's proof for the officer
    href = page.get_attribute("#step-proof", "href")
    assert href.startswith(REPLAY + "/proof?")
    proof = page.request.get(server.url + href)
    assert proof.status == 200 and proof.json()["event_hash"] == own[priced - 1]["hash"]
    assert api(server, "/v1/proofs/inclusion", stream=f"project:{PROJECT}",
               version=own[priced - 1]["version"]).status_code == 404  # not the public's
    # the dossier, as the API gives it to the officer
    given = api(server, f"/v1/projects/{PROJECT}/dossier", officer)
    assert given.status_code == 200
    with page.expect_download() as download:
        page.click("#dossier-download")
    data = open(download.value.path(), "rb").read()
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    assert manifest["project"] == f"project:{PROJECT}"
    assert download.value.suggested_filename == given.headers["content-disposition"].split(
        "''", 1)[1]
    # with ?about= as the API has it: that version's tlog-proof added
    about = page.request.get(server.url + REPLAY + f"/dossier?about={own[priced - 1]['version']}")
    assert about.status == 200
    names = zipfile.ZipFile(io.BytesIO(about.body())).namelist()
    assert f"about/{own[priced - 1]['version']}.tlog-proof" in names
    bad = page.goto(server.url + REPLAY + "/dossier?about=many")
    assert bad.status == 400 and "“many”" in page.inner_text("#refused")
    page.console_errors.clear()  # the 400 of the page itself


# --- before the opening: positions sealed (法 §22) ----------------------------------------------

@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


def test_before_the_opening_the_replay_goes_by_step_without_versions(world, tmp_path):
    """Before the opening the public's steps come without version, hash or proof; ?step=
    goes through them all the same, and ?version= says why it cannot."""
    tender = Tender(world, "project:SEALED-1", category="construction", method="lowest-price",
                    control="50000000.00", bidders=3, experts=5)
    deadline = cst("2025-06-10T09:30:00")
    tender.run(["41000000.00", "40500000.00", "43900000.00"], deadline, until="bids")
    app = create_app(lambda: Ledger.open(f"sqlite:{tmp_path / 'ledger.db'}",
                                         key_path=tmp_path / "ledger.key", clock=world.clock))
    with TestClient(app) as http:
        steps = http.get("/v1/projects/SEALED-1/replay").json()["steps"]
        assert all("version" in s["withheld"] for s in steps)
        for number in (1, len(steps)):
            html = http.get(f"/portal/replay/SEALED-1?step={number}&lang=zh").text
            assert f"第 {number} 步 / 共 {len(steps)} 步" in html
            assert steps[number - 1]["type"] in html and 'id="step-proof"' not in html
            assert 'id="step-hash"' not in html and "开标前版本号依法保密" in html
        answered = http.get("/portal/replay/SEALED-1?version=3&lang=zh")
        assert answered.status_code == 200 and "开标前项目的版本号依法保密" in answered.text
        # what the public may not see, it is not shown: no bidder is named
        pages = "".join(http.get(f"/portal/replay/SEALED-1?step={n}").text
                        for n in range(1, len(steps) + 1))
        assert not any(b.actor in pages for b in tender.bidders)
        assert http.get("/portal/replay/SEALED-1/proof?version=2").status_code == 403
        html = http.get("/portal/replay/SEALED-1?at=2025-06-10T09:30&lang=zh").text
        assert f"第 {len(steps)} 步" in html
