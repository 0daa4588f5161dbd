"""The supervision body's pages (行政监督部门) in a real browser against a real `sunledger serve`
on a copy of the demo's store: every project with its stage and the warnings it may see (as
GET /v1/warnings gives them to the same actor), the warnings with their article and each
event behind them linked to its project version's replay, the log's health (the checkpoint
as GET /log/checkpoint serves it, each witness's cosigned size), "verify now" ending with the
run recorded, and the statistics with their charts drawn on the server. A witness officer
and the public open none of them. Then the charts' pure functions, and the page's own."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from api.client import LedgerClient
from api.portal import charts
from api.portal.supervision import (
    bids_per_project, events_at, failed_by_month, indicator_about, indicator_name,
)
from ledger.evidence.envelope import stream_uuid
from ledger.evidence.keys import read_private_key
from portal_browser import follow, needs_chromium, open_ledger, register_actor, serve_demo_copy, sign_in
from projections.warnings import ARTICLES

PROJECT = "LILING-2025-SZ02"
SUPERVISOR, OFFICER = "supervisor-zz", "witness-li"
PAGES = ("/portal/supervision", "/portal/supervision/warnings", "/portal/supervision/log",
         "/portal/supervision/statistics")


@pytest.fixture(scope="module")
def served(demo_run, tmp_path_factory):
    """The demo's store served, with a supervision body and a witness officer registered:
    (server, the copy's folder, the supervisor's key file, the officer's key file)."""
    folder = tmp_path_factory.mktemp("supervision")
    server, demo = serve_demo_copy(demo_run, folder)
    supervisor, _ = register_actor(demo, folder, SUPERVISOR, "株洲市住建局（虚构）",
                                   ["supervisor"])
    officer, _ = register_actor(demo, folder, OFFICER, "李见证", ["witness"])
    yield server, demo, supervisor, officer
    server.stop()
    assert "Traceback" not in server.output()


def session_cookies(url: str, key_file: Path, actor: str) -> dict[str, str]:
    """A portal session for the actor, signed in as the sign-in page does (without a
    browser): its session and CSRF cookies."""
    key = read_private_key(key_file)
    asked = httpx.post(url + "/portal/session/challenge").json()
    message = (b"sunledger portal sign-in v1\n" + asked["origin"].encode() + b"\n"
               + asked["challenge"].encode())
    answer = httpx.post(url + "/portal/session", json={
        "actor": actor, "key_id": key.key_id, "challenge": asked["challenge"],
        "signature": base64.b64encode(key.sign(message)).decode()})
    assert answer.status_code == 200, answer.text
    return dict(answer.cookies)


def api_warnings(url: str, key_file: Path) -> dict[str, list[dict]]:
    """GET /v1/warnings signed by the supervisor: the warnings per project id."""
    with LedgerClient.from_key_file(url, SUPERVISOR, key_file) as client:
        return {p["project"]: p["warnings"] for p in client.get("/v1/warnings")["projects"]}


@needs_chromium
def test_a_supervisor_sees_every_project_with_its_warnings(served, page):
    server, _, supervisor, _ = served
    sign_in(page, server.url, supervisor, SUPERVISOR)
    follow(page, "nav a[href='/portal/supervision']", "/portal/supervision")  # in a supervisor's nav
    assert page.inner_text("h1") == "项目总览"
    assert page.locator("nav.subnav a").all_inner_texts() == ["项目总览", "围标串标预警",
                                                              "账本健康", "交易统计"]
    row = page.locator(f"#supervised tr[data-project='{PROJECT}']")
    assert "醴陵市棚户区改造二期工程" in row.inner_text() and "已签合同" in row.inner_text()
    warned = api_warnings(server.url, supervisor)
    assert warned[PROJECT]  # the demo's colluding bidders
    assert row.locator("td.warnings").inner_text() == str(len(warned[PROJECT]))
    assert page.inner_text("#warnings-total") == str(sum(map(len, warned.values())))
    assert row.locator(f"a[href='/portal/projects/{PROJECT}']").count() == 1
    assert row.locator(f"a[href='/portal/replay/{PROJECT}']").count() == 1
    follow(page, row.locator("td.warnings a"), f"/portal/supervision/warnings?project={PROJECT}")
    assert page.locator("article.warning").count() == len(warned[PROJECT])


@needs_chromium
def test_the_warnings_page_links_each_event_to_its_replay(served, page):
    """Each warning as GET /v1/warnings gives it, with its indicator in words and its
    article; each event behind it (a global position) is its project's version, linked to
    the replay at that version, as the store relates the two."""
    server, demo, supervisor, _ = served
    sign_in(page, server.url, supervisor, SUPERVISOR)
    page.goto(server.url + "/portal/supervision/warnings")
    assert "不作任何认定" in page.inner_text("#warnings-inform")
    assert "第三十九条" in page.inner_text("#warnings-inform")
    warned = api_warnings(server.url, supervisor)[PROJECT]
    shown = page.locator(f"section[data-project='{PROJECT}'] article.warning")
    assert shown.count() == len(warned)
    ledger = open_ledger(demo)
    try:
        version_at = {}
        for event_version in range(1, ledger.stream_version(f"project:{PROJECT}") + 1):
            found = ledger.recorder.leaf_of(stream_uuid(f"project:{PROJECT}"), event_version)
            version_at[found[1]] = event_version
    finally:
        ledger.close()
    for i, warning in enumerate(warned):
        article = shown.nth(i)
        assert article.get_attribute("data-indicator") == warning["indicator"]
        heading = article.locator("h3").inner_text()
        assert indicator_name(warning["indicator"], "zh") in heading
        assert warning["article"] in heading
        assert warning["text"] in article.locator("dd.found").inner_text()
        assert article.locator("span.bidder").all_inner_texts() == warning["bidders"]
        links = article.locator("a.replay-link")
        assert links.count() == len(warning["events"])
        for j, position in enumerate(warning["events"]):
            assert links.nth(j).get_attribute("href") == \
                f"/portal/replay/{PROJECT}?version={version_at[position]}"
    article = shown.first
    article.locator("details.behind summary").click()
    first = article.locator("table.behind tbody tr").first.inner_text()
    assert "获取招标文件" in first and "2025-03-" in first  # the type in words, China time


@needs_chromium
def test_the_log_page_shows_the_checkpoint_and_each_witness(served, page):
    server, demo, supervisor, _ = served
    sign_in(page, server.url, supervisor, SUPERVISOR)
    page.goto(server.url + "/portal/supervision/log")
    checkpoint = httpx.get(server.url + "/log/checkpoint").text
    size = int(checkpoint.split("\n")[1])
    assert page.inner_text("#checkpoint-size") == str(size)
    assert page.inner_text("#checkpoint-root") == checkpoint.split("\n")[2]
    ledger = open_ledger(demo)
    try:
        cosigned: dict[str, int] = {}
        for tree_size, witness, _ in ledger.recorder.cosignatures():
            cosigned[witness] = max(tree_size, cosigned.get(witness, 0))
    finally:
        ledger.close()
    assert cosigned  # the demo's witness cosigned its checkpoints
    rows = page.locator("#witnesses tbody tr.witness")
    assert rows.count() == len(cosigned)
    for witness, largest in cosigned.items():
        row = page.locator(f"#witnesses tr.witness[data-witness='{witness.split('+', 1)[0]}']")
        assert row.locator("td.cosigned").inner_text() == str(largest)
        behind = row.locator("td.behind").inner_text()
        assert behind == ("已是最新" if largest == size else str(size - largest))


@needs_chromium
def test_verify_now_runs_the_verifier_and_shows_the_run(served, page):
    server, demo, supervisor, _ = served
    sign_in(page, server.url, supervisor, SUPERVISOR)
    page.goto(server.url + "/portal/supervision/log")
    # without the CSRF token the button's request is refused
    jar = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = httpx.post(server.url + "/portal/supervision/verify",
                         cookies={"sunledger-session": jar["sunledger-session"]})
    assert refused.status_code == 403 and refused.json()["error"] == "csrf"
    with page.expect_navigation(timeout=120_000):  # it reloads once the run has ended
        page.click("#verify-now")
    assert page.get_attribute("#run-verdict", "class") == "verdict intact"
    assert page.inner_text("#run-by") == SUPERVISOR
    size = int(httpx.get(server.url + "/log/checkpoint").text.split("\n")[1])
    assert int(page.inner_text("#run-events")) >= size
    assert page.inner_text("#run-findings") == "0"
    progress = httpx.get(server.url + "/portal/supervision/verify", cookies=jar).json()
    assert progress["running"] is False and progress["job"]["intact"] is True
    from ledger.audit.runs import last_run

    ledger = open_ledger(demo)
    try:
        run = last_run(ledger.recorder)
    finally:
        ledger.close()
    assert run is not None and run.by == SUPERVISOR and run.intact


@needs_chromium
def test_the_statistics_page_draws_its_charts_on_the_server(served, page):
    server, _, supervisor, _ = served
    sign_in(page, server.url, supervisor, SUPERVISOR)
    page.goto(server.url + "/portal/supervision/statistics")
    groups = httpx.get(server.url + "/v1/statistics").json()["groups"]
    rated = [g for g in groups if g["savings_rate"] is not None]
    assert page.locator("#savings-chart rect.bar").count() == len(rated) == 1
    title = page.locator("#savings-chart rect.bar title").first.text_content()
    assert title == f"工程建设 · {rated[0]['month']}: " \
        f"{float(Decimal(rated[0]['savings_rate'])) * 100:.1f}%"
    assert page.locator("#statistics-table tbody tr").count() == len(groups)
    assert page.locator("#savings-chart .legend text").all_text_contents() == ["工程建设"]
    # the demo's one project was opened: its 11 bids
    assert page.locator("#bids-chart rect.bar").count() == 1
    assert page.locator("#bids-chart rect.bar").get_attribute("data-value") == "11"
    assert "没有流标的项目" in page.inner_text("main")
    assert page.locator("svg [style]").count() == 0  # no inline style (the CSP allows none)


def test_a_witness_officer_and_the_public_open_no_supervision_page(served):
    server, _, _, officer = served
    for path in PAGES:
        public = httpx.get(server.url + path, follow_redirects=False)
        assert public.status_code == 303
        assert public.headers["location"] == f"/portal/sign-in?next={path}"
    jar = session_cookies(server.url, officer, OFFICER)
    for path in PAGES:
        answer = httpx.get(server.url + path, cookies=jar, follow_redirects=False)
        assert answer.status_code == 404 and "监督页面只向行政监督部门开放" in answer.text
        assert "醴陵市棚户区改造二期工程" not in answer.text and "bidder-09" not in answer.text
    assert httpx.get(server.url + "/portal/supervision/verify", cookies=jar).status_code == 404
    started = httpx.post(server.url + "/portal/supervision/verify", cookies=jar,
                         headers={"X-CSRF-Token": jar["sunledger-csrf"]})
    assert started.status_code == 404
    assert httpx.get(server.url + "/portal/supervision/verify").status_code == 404
    assert 'href="/portal/supervision"' not in httpx.get(server.url + "/portal/me",
                                                         cookies=jar).text


# --- the charts' pure functions ---------------------------------------------------------------

def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def test_an_axis_includes_zero_and_covers_the_figures_in_round_steps():
    for low, high in ((0.0, 0.4173), (-0.2252, 0.4173), (-5.0, -1.0), (0.0, 1234567.0),
                      (0.3, 0.3), (0.0, 0.0)):
        ticks = charts.nice_ticks(low, high)
        assert 0.0 in ticks and ticks[0] <= min(low, 0) and ticks[-1] >= max(high, 0)
        assert 2 <= len(ticks) <= 7
        steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
        assert len(steps) == 1
    assert charts.nice_ticks(-0.2252, 0.4173) == [-0.25, 0.0, 0.25, 0.5]
    assert charts.integer_ticks(1) == [0.0, 1.0]
    assert charts.integer_ticks(7) == [0.0, 2.0, 4.0, 6.0, 8.0]  # never 2.5, 5, 7.5
    assert charts.integer_ticks(0) == [0.0, 1.0]


def test_a_chart_of_nothing_is_no_chart():
    assert charts.bar_chart([], [], title="t", x_label="x", y_label="y", show=str) == ""
    assert charts.grouped_bar_chart(["2025-04"], [charts.Series("a", (None,))], title="t",
                                    x_label="x", y_label="y", show=str) == ""


def test_one_bar_and_fifty_and_four_hundred():
    one = charts.bar_chart(["P-1"], [3], title="bids", x_label="项目", y_label="投标数",
                           show=lambda v: f"{v:.0f}", counts=True, chart_id="one")
    assert one.count('<rect class="bar') == 1 and "<title>P-1: 3</title>" in one
    assert ">3</text>" in one  # its figure is written above it
    assert 'class="chart"' in one and "style=" not in one
    fifty = charts.bar_chart([f"P-{i:05d}" for i in range(50)], list(range(50)), title="b",
                             x_label="x", y_label="y", show=str, counts=True)
    assert fifty.count('<rect class="bar') == 50 and 'class="chart"' in fifty  # it fits
    many = charts.bar_chart([f"P-{i:05d}" for i in range(400)], [i % 9 for i in range(400)],
                            title="b", x_label="x", y_label="y", show=str, counts=True)
    assert many.count('<rect class="bar') == 400 and 'class="chart wide"' in many
    assert many.count('class="label"') < 400  # labels thinned, each bar still has its title
    assert many.count("<title") == 401  # the chart's own, and each bar's


def test_grouped_bars_below_zero_with_a_legend_and_escaped_labels():
    svg = charts.grouped_bar_chart(
        ["2025-04", "2025-05"], [charts.Series("工程建设", (0.28, 0.31)),
                                 charts.Series("<产权>", (-0.22, None))],
        title="节约率", x_label="月份", y_label="节约率", show=_percent)
    assert svg.count('<rect class="bar') == 3
    assert "<title>工程建设 · 2025-04: 28.0%</title>" in svg
    assert "&lt;产权&gt;" in svg and "<产权>" not in svg
    legend = svg[svg.index('<g class="legend">'):]
    assert legend.count("<rect") == 2 and "工程建设" in legend
    zero = float(svg.split('class="zero"')[1].split('y1="')[1].split('"')[0])
    negative = svg.split('data-value="-0.22"')[0].rsplit("<rect", 1)[1]
    assert float(negative.split('y="')[1].split('"')[0]) == pytest.approx(zero, abs=0.1)


# --- the pages' own functions ---------------------------------------------------------------

def test_every_indicator_has_a_name_and_an_explanation():
    for indicator in ARTICLES:
        for lang in ("zh", "en"):
            assert indicator_name(indicator, lang) != indicator
            assert indicator_about(indicator, lang)


def test_bids_from_the_states_a_caller_sees_and_failed_tenders_from_the_statistics():
    closed = datetime(2025, 4, 30, 17, 0, tzinfo=timezone.utc)  # 1 May in China
    seen = [("A", {"stage": "archived", "kind": "construction", "winner": None,
                   "closed_at": closed, "bids": {"b1": "h", "b2": "h"}}),
            ("B", {"stage": "failed", "kind": "construction", "winner": None,
                   "closed_at": datetime(2025, 4, 2, tzinfo=timezone.utc), "bids": {}}),
            ("C", {"stage": "archived", "kind": "procurement", "winner": "b1",
                   "closed_at": closed, "bids": {"b1": "h", "b2": "h", "b3": "h"}}),
            ("D", {"stage": "announced", "kind": "construction", "winner": None,
                   "closed_at": None})]  # not opened: its bids withheld
    assert bids_per_project(seen) == [("A", 2), ("B", 0), ("C", 3)]
    rows = [{"category": "construction", "month": "2025-04", "failed": 1},
            {"category": "construction", "month": "2025-05", "failed": 0},
            {"category": "procurement", "month": "2025-05", "failed": 2}]
    assert failed_by_month(rows) == {("construction", "2025-04"): 1,
                                     ("procurement", "2025-05"): 2}


def test_the_events_behind_a_warning_are_found_by_their_positions(served):
    ledger = open_ledger(served[1])
    try:
        stream = f"project:{PROJECT}"
        position = ledger.recorder.leaf_of(stream_uuid(stream), 15)[1]
        found = events_at(ledger.recorder, stream, {position, 1})  # 1: the registry's
        assert list(found) == [position]
        assert found[position]["version"] == 15 and found[position]["bidder"]
        assert found[position]["time"].startswith("2025-")
    finally:
        ledger.close()
