"""The transaction witness report (交易见证报告) of a rights transaction sold by listing, as a
reader and a checker meet it: a concession listed, quoted, taken to a timed round whose
countdown restarts at each new highest quote, a quote one fen under the increment and one a
second after the countdown refused, the reserve revealed and checked, sold, confirmed,
deposits refunded, the result published; rendered from a real store and read back with
poppler's pdftotext, verified, and re-rendered byte for byte."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest

import test_reports
from ledger.errors import RuleRefused
from ledger.procedures.listing import reserve_commitment
from projections.reactions import Reactor
from test_listing import RESERVE, SALT, STREAM, announce, cst, quote, refused, state
from witness import transaction
from witness.evidence import gather_evidence
from witness.model import report_reached
from witness.reports import ReportNotReached, Reporter, issue_report, recorded_in_store, verify_report

liling = test_reports.liling  # the fixture: a tender, for the other side of each rule
POPPLER = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils missing: ./run setup installs it")

ROUND_QUOTES = [("bidder-2", "805000000.00", 60), ("bidder-3", "807000000.00", 200),
                ("bidder-1", "809000000.00", 400), ("bidder-2", "812000000.00", 650)]


@pytest.fixture
def store_url(sqlite_url):
    """Rendering does not depend on the engine: these tests use a SQLite file only."""
    return sqlite_url


def text_of(pdf: bytes, tmp_path, name: str = "report.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def listed_with_three(world):
    """The concession listed 26 March – 7 April 2025, its reserve committed; three bidders."""
    announce(world, "2025-03-05T10:00:00", "2025-03-26T09:00:00", "2025-04-07T17:00:00")
    world.submit(world.actors["tenderee-1"], STREAM, "project.reserve-committed/v1", {
        "reserve_commitment": reserve_commitment(RESERVE, SALT), "decision_hash": "c" * 64})
    world.register("bidder-3")
    for bidder in ("bidder-1", "bidder-2", "bidder-3"):
        world.submit(world.actors[bidder], STREAM, "project.bidder-registered/v1",
                     {"bidder": bidder, "deposit": "160000000.00"})
    return world


def through_the_listing(world):
    """Quotes during the listing (one a fen under the least next quote, refused), the
    increment adjusted, two bidders asking to go on; the ledger closes the listing."""
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    quote(world, "bidder-2", "801000000.00", cst("2025-03-27T10:00:00"))
    assert refused(world, "bidder-3", "project.quote-submitted/v1",
                   {"bidder": "bidder-3", "price": "801999999.99"}) == "quote-increment"
    world.submit(world.actors["operator-1"], STREAM, "project.increment-adjusted/v1",
                 {"increment": "2000000.00"})
    quote(world, "bidder-1", "803000000.00", cst("2025-04-01T09:00:00"))
    for bidder in ("bidder-2", "bidder-3"):
        world.submit(world.actors[bidder], STREAM, "project.continuation-requested/v1",
                     {"bidder": bidder})
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()
    assert state(world).stage == "timed-round"


def sold_in_a_timed_round(world):
    """Four quotes in the round, each restarting the countdown; two a second or two after the
    last countdown ran out, refused; the round ended, the reserve revealed, the sale awarded,
    confirmed, the deposits refunded and the result published."""
    listed_with_three(world)
    through_the_listing(world)
    opened = state(world).round_opened_at
    for bidder, price, after in ROUND_QUOTES:
        quote(world, bidder, price, opened + timedelta(seconds=after))
    runs_out = state(world).round_ends_at
    world.clock.moment = runs_out  # the next submission is a second after it ran out
    for late in ("bidder-1", "bidder-3"):
        assert refused(world, late, "project.quote-submitted/v1",
                       {"bidder": late, "price": "820000000.00"}) == "timed-round"
    Reactor(world.ledger).run()
    assert state(world).stage == "bidding-ended"
    seller = world.actors["tenderee-1"]
    world.submit(seller, STREAM, "project.reserve-revealed/v1",
                 {"reserve": str(RESERVE), "salt": SALT.hex()})
    world.submit(seller, STREAM, "project.awarded/v1", {"winner": "bidder-2", "price": "812000000.00"})
    world.submit(seller, STREAM, "project.deal-confirmed/v1",
                 {"winner": "bidder-2", "confirmation_hash": "d" * 64})
    world.clock.advance(minutes=5)
    Reactor(world.ledger).run()  # the two other deposits
    world.submit(seller, STREAM, "project.result-published/v1", {"url": "https://example.invalid/result"})
    return world


@pytest.fixture
def auctioned(world):
    return sold_in_a_timed_round(world)


def test_the_transaction_report_shows_the_reserve_every_quote_the_countdowns_and_the_outcome(
        auctioned, tmp_path):
    pdf, issued = issue_report(auctioned.ledger, STREAM, None)  # the project's own kind
    assert issued["kind"] == "transaction"
    text = text_of(pdf, tmp_path)
    for expected in ("交易见证报告", "特许经营权", "挂牌出让（含限时竞价）", "出让人",
                     # the periods, each met
                     "挂牌公告", "挂牌期", "竞买申请", "底价密封", "限时竞价", "退还竞买保证金",
                     "公布出让结果",
                     # the reserve, committed, revealed and checked here again
                     "810,000,000.00", "与竞价开始前密封的承诺一致",
                     # the outcome worked out again, the premium over 800,000,000.00
                     "结果与记录一致", "溢价率 1.50%", "成交确认书", "转作定金", "https://example.invalid/result",
                     # the countdowns: the opening and four restarts, the last run out
                     "重新计时", "倒计时结束，竞价终止",
                     # the refused quotes: one alone, the two late ones summed in the witness record
                     "的“报价”操作被拒绝", "2 家竞买人的报价被拒绝 2 次", issued["report_id"]):
        assert expected in text, expected
    assert "不符合" not in text and "不一致" not in text
    # every quote accepted, in the ledger's order, the last marked highest
    prices = ["800,000,000.00", "801,000,000.00", "803,000,000.00", "805,000,000.00",
              "807,000,000.00", "809,000,000.00", "812,000,000.00（最高）"]
    quotes_part = text[text.index("报价记录（按交易系统记录顺序）"):]
    places = [quotes_part.index(p) for p in prices]
    assert places == sorted(places)
    for code in ("quote-submitted", "timed-round", "bidding-ended", "concession", "listing-closed",
                 "quote-increment", "security-refunded"):
        assert code not in text, f"the stable code {code!r} shows untranslated"
    check = verify_report(pdf, recorded_hashes=recorded_in_store(auctioned.ledger.recorder, STREAM))
    assert check.ok, check.fails  # its evidence holds and it renders again to the same bytes


def test_the_english_transaction_report(auctioned, tmp_path):
    pdf, _ = issue_report(auctioned.ledger, STREAM, "transaction", "en")
    text = text_of(pdf, tmp_path)
    for expected in ("Transaction witness report", "concession", "Reserve price", "premium 1.50%",
                     "the same outcome as recorded", "ran out: bidding ended", "Quotes, in the ledger's order"):
        assert expected in text, expected


def test_a_listing_has_a_transaction_report_only(auctioned):
    listing = state(auctioned)
    assert report_reached(listing, "transaction")
    assert not any(report_reached(listing, kind) for kind in ("opening", "evaluation", "full"))
    with pytest.raises(ReportNotReached, match="has not reached the full report, and never will"):
        issue_report(auctioned.ledger, STREAM, "full")


def test_a_tender_never_has_a_transaction_report(liling):
    tender = liling.ledger.stream("project:LILING-R").state
    assert report_reached(tender, "full") and not report_reached(tender, "transaction")
    with pytest.raises(ReportNotReached, match="has not reached the transaction report, and never will"):
        issue_report(liling.ledger, "project:LILING-R", "transaction")
    _, issued = issue_report(liling.ledger, "project:LILING-R", None)  # its own: full
    assert issued["kind"] == "full"


def test_the_reporter_issues_the_transaction_report_once_the_result_is_published(world, tmp_path):
    listed_with_three(world)
    through_the_listing(world)
    reporter = Reporter(world.ledger, tmp_path)
    assert [kind for stream, kind in reporter.due() if stream == STREAM] == []
    opened = state(world).round_opened_at
    quote(world, "bidder-2", "805000000.00", opened + timedelta(seconds=10))
    world.clock.moment = state(world).round_ends_at
    Reactor(world.ledger).run()
    seller = world.actors["tenderee-1"]
    world.submit(seller, STREAM, "project.reserve-revealed/v1", {"reserve": str(RESERVE), "salt": SALT.hex()})
    # the highest quote, 805,000,000.00, is below the reserve: nothing is sold
    world.submit(world.actors["operator-1"], STREAM, "project.no-sale/v1", {"reason": "below-reserve"})
    assert [kind for stream, kind in reporter.due() if stream == STREAM] == []  # not published
    world.submit(seller, STREAM, "project.result-published/v1", {})
    assert [kind for stream, kind in reporter.due() if stream == STREAM] == ["transaction"]
    written = reporter.run()
    text = text_of(written[0].read_bytes(), tmp_path)
    assert "最高报价低于底价，不成交" in text and "结果与记录一致" in text
    assert [kind for stream, kind in reporter.due() if stream == STREAM] == []


def test_a_long_ladder_prints_its_last_quotes_and_says_where_the_rest_are(auctioned, monkeypatch):
    monkeypatch.setattr(transaction, "QUOTES_LISTED_AT_MOST", 3)
    auctioned.ledger.checkpoint()
    report = transaction.build(gather_evidence(auctioned.ledger.recorder, STREAM, "transaction"))
    quotes = next(s for s in report.sections if s.title.endswith("报价记录"))
    table = quotes.blocks[-1]
    assert [row[0] for row in table.rows] == ["5", "6", "7"]  # the last three of seven
    assert [row[3] for row in table.rows] == ["807,000,000.00", "809,000,000.00", "812,000,000.00（最高）"]
    assert any("下表列出最后 3 次" in b.text for b in quotes.blocks if hasattr(b, "text"))


def test_the_premium_is_over_the_starting_price():
    assert transaction.premium(Decimal("812000000.00"), Decimal("800000000.00")) == Decimal("1.50")
    assert transaction.premium(Decimal("800000000.00"), Decimal("800000000.00")) == Decimal("0.00")


def test_a_quote_refused_is_not_in_the_ladder_but_in_the_refusals(auctioned):
    assert [str(q.price) for q in state(auctioned).quotes] == [
        "800000000.00", "801000000.00", "803000000.00", "805000000.00", "807000000.00",
        "809000000.00", "812000000.00"]
    with pytest.raises(RuleRefused):
        quote(auctioned, "bidder-3", "900000000.00")  # bidding has ended


def test_an_officer_signs_off_the_transaction_report_and_its_signed_edition_follows(auctioned, tmp_path):
    ledger = auctioned.ledger
    officer = auctioned.register("witness-officer-1", roles=("witness",))
    auctioned.submit(auctioned.registrar, STREAM, "project.witness-assigned/v1",
                     {"officer": "witness-officer-1"})
    _, issued = issue_report(ledger, STREAM, None)
    auctioned.submit(officer, STREAM, "project.report-signed-off/v1",
                     {"report_id": issued["report_id"], "pdf_hash": issued["pdf_hash"]})
    reporter = Reporter(ledger, tmp_path)
    assert [kind for stream, kind in reporter.due() if stream == STREAM] == [
        "signed:" + issued["report_id"]]
    signed, = reporter.run()
    text = text_of(signed.read_bytes(), tmp_path, "signed.pdf")
    assert "交易见证报告（签发版）" in text and "Fictional witness-officer-1" in text
    assert "签认人" in text and issued["report_id"] in text
    check = verify_report(signed.read_bytes(), recorded_hashes=recorded_in_store(ledger.recorder, STREAM))
    assert check.ok, check.fails


def test_a_lot_nobody_quoted_for_has_its_report_too(world, tmp_path):
    """No quote: the listing closes, nothing is sold (39号令 §19), every deposit is refunded,
    the result is published; the report says so, and that the reserve was never revealed."""
    listed_with_three(world)
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()
    world.submit(world.actors["operator-1"], STREAM, "project.no-sale/v1", {"reason": "no-quote"})
    world.clock.advance(minutes=5)
    Reactor(world.ledger).run()
    world.submit(world.actors["tenderee-1"], STREAM, "project.result-published/v1", {})
    pdf, issued = issue_report(world.ledger, STREAM, None)
    text = text_of(pdf, tmp_path)
    for expected in ("无人报价，不成交", "结果与记录一致", "无人报价。", "无竞买人申请继续竞价",
                     "竞价结束后公开，尚未公开", "公布出让结果"):
        assert expected in text, expected
    assert text.count("17时05分 退还") == 3  # every deposit, by the ledger itself
    assert verify_report(pdf, recorded_hashes=recorded_in_store(world.ledger.recorder, STREAM)).ok
