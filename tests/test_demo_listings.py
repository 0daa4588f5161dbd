"""The demo's two rights transactions sold by listing (api/demo_listings.py), as the demo's
store holds them (conftest.py's `demo_run`: `sunledger demo`, run once for the suite): the
land parcel through a timed round with its two refusals recorded, the 九郎山 concession sold
at 810,000,000.00 during the listing, each awarded to its highest quote, the other deposits
refunded by the ledger itself, the store verified INTACT."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from api.demo_listings import CONCESSION, LAND
from ledger.audit.verify import StoreSource, verify
from ledger.procedures.listing import Quote, reveal_holds, round_ends
from ledger.procedures.refusals import refusal_stream
from ledger.stores.url import open_recorder, parse_store_url
from projections.project_state import project_events, project_now


@pytest.fixture(scope="module")
def store(demo_run) -> str:
    return f"sqlite:///{demo_run.out / 'ledger.db'}"


@pytest.fixture(scope="module")
def recorder(store):
    return open_recorder(parse_store_url(store))


@pytest.fixture(scope="module")
def events(recorder) -> dict[str, list[dict]]:
    """Each stream's events (the two listings and their refusal streams), in version order."""
    return {stream: project_events(recorder, stream) for lot in (LAND, CONCESSION)
            for stream in (lot.project, refusal_stream(lot.project))}


def of_type(events: list[dict], step: str) -> list[dict]:
    return [e for e in events if e["type"] == f"project.{step}/v1"]


def at(event: dict) -> datetime:
    return datetime.fromisoformat(event["ledger_time"].replace("Z", "+00:00"))


@pytest.mark.parametrize("lot, winner, price", [
    (LAND, "land-bidder-01", "103500000.00"),
    (CONCESSION, "park-bidder-03", "810000000.00"),
])
def test_each_listing_is_awarded_to_its_highest_quote_and_its_deal_confirmed(
        events, lot, winner, price):
    project = events[lot.project]
    quotes = of_type(project, "quote-submitted")
    highest = max(quotes, key=lambda e: Decimal(e["payload"]["price"]))
    assert highest["payload"] == {"bidder": winner, "price": price}
    award, = of_type(project, "awarded")
    assert award["payload"] == {"winner": winner, "price": price}
    assert award["actor"] == lot.seller[0]
    confirmed, = of_type(project, "deal-confirmed")
    assert confirmed["payload"]["winner"] == winner
    assert len(of_type(project, "result-published")) == 1
    # the reserve revealed is the one committed before bidding, and at most the price
    committed, = of_type(project, "reserve-committed")
    revealed, = of_type(project, "reserve-revealed")
    assert at(committed) < lot.listing_from
    reserve = Decimal(revealed["payload"]["reserve"])
    assert reveal_holds(committed["payload"]["reserve_commitment"], reserve,
                        bytes.fromhex(revealed["payload"]["salt"]))
    assert reserve <= Decimal(price)


@pytest.mark.parametrize("lot", [LAND, CONCESSION])
def test_the_ledger_closes_the_listing_and_refunds_the_other_deposits(recorder, events, lot):
    """The ledger closes the listing at its end, refunds the losers' deposits within 5
    working days (39号令 §21) and the result is published within 10 (§22)."""
    project = events[lot.project]
    closed, = of_type(project, "listing-closed")
    assert closed["actor"] == "ledger" and at(closed) == lot.listing_until
    refunds = of_type(project, "security-refunded")
    winner = of_type(project, "awarded")[0]["payload"]["winner"]
    assert all(r["actor"] == "ledger" for r in refunds)
    assert sorted(r["payload"]["bidder"] for r in refunds) == sorted(set(lot.bidders) - {winner})
    assert all(r["payload"] == {"bidder": r["payload"]["bidder"], "amount": str(lot.deposit)}
               for r in refunds)  # the deposit as paid, without interest
    _, state, _ = project_now(recorder, lot.project)
    kept = {d.rule.split(":")[0]: d.kept for d in state.deadlines}
    assert kept == {"deposit-refund": True, "result-publication": True}
    assert state.stage == "contracted"


def test_the_land_listing_went_through_a_timed_round(events):
    project = events[LAND.project]
    closed, = of_type(project, "listing-closed")
    ended, = of_type(project, "round-ended")
    assert ended["actor"] == "ledger"
    assert sorted(e["payload"]["bidder"] for e in of_type(project, "continuation-requested")) \
        == ["land-bidder-01", "land-bidder-03"]
    in_round = [e for e in of_type(project, "quote-submitted") if e["version"] > closed["version"]]
    assert len(in_round) == 8
    # each quote came before the countdown then running ran out, and restarted it; the round
    # ended one second after the last countdown ran out (when the late quote was refused)
    countdown = timedelta(seconds=LAND.countdown_seconds)
    ladder: list[Quote] = []
    for e in in_round:
        assert at(e) < round_ends(at(closed), ladder, countdown)
        ladder.append(Quote(e["payload"]["bidder"], Decimal(e["payload"]["price"]), at(e),
                            e["version"]))
    assert at(ended) == round_ends(at(closed), ladder, countdown) + timedelta(seconds=1)
    # the increment was adjusted during the listing
    adjusted, = of_type(project, "increment-adjusted")
    assert LAND.listing_from < at(adjusted) < LAND.listing_until


def test_the_land_listings_two_refusals_are_recorded(events):
    """One quote a fen under the least next quote during the listing, one a second after the
    countdown ran out: each refused, and recorded in the listing's refusal stream."""
    refusals = events[refusal_stream(LAND.project)]
    assert [(r["payload"]["rule"], r["payload"]["action"]["actor"]) for r in refusals] == [
        ("quote-increment", "land-bidder-02"), ("timed-round", "land-bidder-03")]
    under, late = (r["payload"]["action"]["payload"] for r in refusals)
    assert under["price"] == "87999999.99"  # the least next quote was 88,000,000.00
    ended, = of_type(events[LAND.project], "round-ended")
    assert at(refusals[1]) == at(ended)
    assert events[refusal_stream(CONCESSION.project)] == []


def test_the_concession_sold_during_the_listing_without_a_round(events):
    project = events[CONCESSION.project]
    assert of_type(project, "continuation-requested") == []
    assert of_type(project, "round-ended") == []
    prices = [e["payload"]["price"] for e in of_type(project, "quote-submitted")]
    assert prices == sorted(prices, key=Decimal) and prices[-1] == "810000000.00"
    assert len(prices) == 6


def test_the_demo_tells_each_listings_outcome_and_verifies_intact(demo_run, tmp_path):
    said = demo_run.stdout
    for line in (
            "refused and recorded: land-bidder-02's quote of 87999999.99 yuan was one fen under "
            "the least next quote 88000000.00 (rule quote-increment, 39号令 §18)",
            "one second after the countdown ran out (rule timed-round, 39号令 §19)",
            "LILING-2025-GP07 sold: winner land-bidder-01 (醴陵虚构置业有限公司), price "
            "103500000.00 yuan, premium 20.35% over the starting price (溢价率), 14 quotes, "
            "2 refusals recorded",
            "SHIFENG-2025-TX01 sold: winner park-bidder-03 (虚构九郎文化旅游投资有限公司), price "
            "810000000.00 yuan, premium 3.85% over the starting price (溢价率), 6 quotes, "
            "0 refusals recorded",
            "verification: INTACT"):
        assert line in said, line
    shutil.copy2(demo_run.out / "ledger.db", tmp_path / "ledger.db")  # the suite's: read only
    report = verify(StoreSource(f"sqlite:///{tmp_path / 'ledger.db'}"), workers=1)
    assert report.intact, report.findings


@pytest.mark.parametrize("lot, buyer, price", [
    (LAND, "醴陵虚构置业有限公司", "103,500,000.00（最高）"),
    (CONCESSION, "虚构九郎文化旅游投资有限公司", "810,000,000.00（最高）"),
])
def test_each_listing_has_its_transaction_report_issued_and_verified(demo_run, recorder, lot,
                                                                     buyer, price):
    from witness.reports import embedded_evidence, recorded_in_store, verify_report

    pdf, = demo_run.out.glob(lot.project.split(":", 1)[1] + "-transaction-*.pdf")
    evidence = embedded_evidence(pdf.read_bytes())
    assert (evidence["kind"], evidence["project"]) == ("transaction", lot.project)
    check = verify_report(pdf.read_bytes(), recorded_hashes=recorded_in_store(recorder, lot.project))
    assert check.ok, check.fails
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "交易见证报告" in text and buyer in text and price in text and "结果与记录一致" in text
