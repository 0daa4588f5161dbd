"""Rights transactions by listing (挂牌) and online auction (网上竞价) through the real ledger,
on SQLite and PostgreSQL (ledger/procedures/rights.py, 39号令): each rule at its boundary —
the announcement 20 days ahead, ten days of listing (across a holiday), a quote one fen under
the increment, a quote one second after the countdown, a single quote just below and at the
reserve — and what the ledger does itself: closing the listing, ending the round, refunding
the deposits without interest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ledger.errors import RuleRefused
from ledger.evidence.canonical import format_time
from ledger.procedures.calendar import CHINA
from ledger.procedures.listing import reserve_commitment
from ledger.procedures.refusals import refusal_stream
from projections.project_state import project_events
from projections.reactions import Reactor

STREAM = "project:JIULANG-CONCESSION"
RESERVE, SALT = Decimal("810000000.00"), bytes.fromhex("5a" * 32)
INTAKE = {"title": "石峰区九郎山森林公园生态旅游特许经营权（虚构演练）", "category": "rights",
          "tenderee": "tenderee-1", "method": "listing"}


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA).astimezone(timezone.utc)


def listing_terms(listing_from: str, listing_until: str, **more) -> dict:
    return {"listing_from": format_time(cst(listing_from)),
            "listing_until": format_time(cst(listing_until)),
            "registration_until": format_time(cst(listing_until) - timedelta(days=2)),
            "starting_price": "800000000.00", "increment": "1000000.00",
            "deposit": "160000000.00", "countdown_seconds": 300, "asset": "concession", **more}


def announce(world, at: str, listing_from: str, listing_until: str, **more) -> None:
    tenderee, operator = world.actors["tenderee-1"], world.actors["operator-1"]
    world.clock.moment = cst(at)
    world.submit(tenderee, STREAM, "project.intake/v1", INTAKE)
    world.submit(operator, STREAM, "project.intake-accepted/v1", {})
    world.submit(tenderee, STREAM, "project.listing-announced/v1",
                 listing_terms(listing_from, listing_until, **more))


def refused(world, signer: str, type_: str, payload: dict) -> str:
    """The rule that refused the action, which the ledger recorded as evidence."""
    before = world.ledger.stream_version(refusal_stream(STREAM))
    with pytest.raises(RuleRefused) as caught:
        world.submit(world.actors[signer], STREAM, type_, payload)
    assert caught.value.details["recorded"]
    assert world.ledger.stream_version(refusal_stream(STREAM)) == before + 1
    return caught.value.details["rule"]


@pytest.fixture
def listed(world):
    """A concession listed from 26 March to 7 April 2025 (announced on 5 March), its reserve
    committed, bidder-1 and bidder-2 registered with their deposits."""
    announce(world, "2025-03-05T10:00:00", "2025-03-26T09:00:00", "2025-04-07T17:00:00")
    world.submit(world.actors["tenderee-1"], STREAM, "project.reserve-committed/v1", {
        "reserve_commitment": reserve_commitment(RESERVE, SALT), "decision_hash": "c" * 64})
    for bidder in ("bidder-1", "bidder-2"):
        world.submit(world.actors[bidder], STREAM, "project.bidder-registered/v1",
                     {"bidder": bidder, "deposit": "160000000.00"})
    return world


def quote(world, bidder: str, price: str, at: datetime | None = None):
    if at is not None:
        world.clock.moment = at - timedelta(seconds=1)  # submit moves it one second on
    return world.submit(world.actors[bidder], STREAM, "project.quote-submitted/v1",
                        {"bidder": bidder, "price": price})


def state(world):
    return world.ledger.stream(STREAM).state


def into_timed_round(world) -> list:
    """bidder-1's first quote, bidder-2's request to go on, and the listing closed at its end
    by the ledger (a timed round opens): what the ledger did."""
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    world.submit(world.actors["bidder-2"], STREAM, "project.continuation-requested/v1",
                 {"bidder": "bidder-2"})
    world.clock.moment = cst("2025-04-07T17:00:00")
    return Reactor(world.ledger).run()


def sold(world):
    """The listed concession sold to bidder-2's single quote of 810,000,000.00 (at the
    reserve): the listing closed by the ledger, the reserve revealed, the award recorded."""
    quote(world, "bidder-2", "810000000.00", cst("2025-03-26T09:00:00"))
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()
    tenderee = world.actors["tenderee-1"]
    world.submit(tenderee, STREAM, "project.reserve-revealed/v1",
                 {"reserve": str(RESERVE), "salt": SALT.hex()})
    world.submit(tenderee, STREAM, "project.awarded/v1",
                 {"winner": "bidder-2", "price": "810000000.00"})
    return world


# --- the announcement and the listing's length ---------------------------------------------

def refused_then_announced(world, at: str, refused: tuple[str, str], accepted: tuple[str, str],
                           rule: str, **more) -> None:
    """A listing announced at `at` from–until `refused` is refused by `rule` (and recorded);
    from–until `accepted` it is announced."""
    with pytest.raises(RuleRefused) as caught:
        announce(world, at, *refused, **more)
    assert caught.value.details["rule"] == rule
    world.submit(world.actors["tenderee-1"], STREAM, "project.listing-announced/v1",
                 listing_terms(*accepted, **more))
    assert state(world).stage == "listing"


def test_the_listing_starts_after_20_full_days_of_announcement(world):
    # announced Wednesday 5 March: the 20 days run 6–25 March; the listing starts on the 26th
    refused_then_announced(world, "2025-03-05T10:00:00",
                           ("2025-03-25T09:00:00", "2025-04-07T17:00:00"),
                           ("2025-03-26T09:00:00", "2025-04-07T17:00:00"), "listing-announcement")


def test_state_property_is_disclosed_for_20_working_days(world):
    # from 5 March, 20 working days end on 2 April (Qingming is 4–6 April): the 3rd is early
    # for a concession's 20 days but the first day a state property's disclosure allows
    refused_then_announced(world, "2025-03-05T10:00:00",
                           ("2025-04-02T09:00:00", "2025-04-30T17:00:00"),
                           ("2025-04-03T09:00:00", "2025-04-30T17:00:00"),
                           "state-property-disclosure", asset="state-property")


def test_exactly_ten_days_of_listing_and_across_a_holiday(world):
    # from Monday 21 April the 10th day is 1 May, a holiday to 5 May: the listing runs
    # through the 6th; on the 5th it is a day short
    refused_then_announced(world, "2025-03-28T10:00:00",
                           ("2025-04-21T09:00:00", "2025-05-05T17:00:00"),
                           ("2025-04-21T09:00:00", "2025-05-06T17:00:00"), "listing-period")


def test_exactly_ten_days_of_listing_without_a_holiday(world):
    # from Monday 9 June the 10th day is Thursday 19 June: ending then holds, a day before not
    refused_then_announced(world, "2025-05-12T10:00:00",
                           ("2025-06-09T09:00:00", "2025-06-18T17:00:00"),
                           ("2025-06-09T09:00:00", "2025-06-19T17:00:00"), "listing-period")


# --- registration and quotes ---------------------------------------------------------------

def test_a_mining_right_is_announced_20_days_ahead_under_its_own_rules(world):
    # the same 20 days as land (矿业权交易规则), refused under the mining right's own rule
    refused_then_announced(world, "2025-03-05T10:00:00",
                           ("2025-03-25T09:00:00", "2025-04-10T17:00:00"),
                           ("2025-03-26T09:00:00", "2025-04-10T17:00:00"), "mining-announcement",
                           asset="mining")


def test_a_mining_right_is_listed_for_10_working_days(world):
    # from Monday 21 April: 22–25 April, Sunday the 27th (a working day in lieu of May Day),
    # 28–30 April, then 6 and 7 May: 10 working days end on the 7th, where land's 10 days
    # ended on the 6th (test above)
    refused_then_announced(world, "2025-03-28T10:00:00",
                           ("2025-04-21T09:00:00", "2025-05-06T17:00:00"),
                           ("2025-04-21T09:00:00", "2025-05-07T17:00:00"), "mining-listing-period",
                           asset="mining")


def test_bidding_starts_only_once_the_reserve_is_committed(world):
    announce(world, "2025-03-05T10:00:00", "2025-03-26T09:00:00", "2025-04-07T17:00:00")
    world.submit(world.actors["bidder-1"], STREAM, "project.bidder-registered/v1",
                 {"bidder": "bidder-1", "deposit": "160000000.00"})
    world.clock.moment = cst("2025-03-26T09:00:00")
    assert refused(world, "bidder-1", "project.quote-submitted/v1",
                   {"bidder": "bidder-1", "price": "800000000.00"}) == "reserve-sealed"
    # and once bidding has started the reserve can no longer be committed
    assert refused(world, "tenderee-1", "project.reserve-committed/v1", {
        "reserve_commitment": reserve_commitment(RESERVE, SALT),
        "decision_hash": "c" * 64}) == "reserve-sealed"


def test_registration_needs_the_deposit_before_the_deadline(listed):
    world = listed
    world.register("bidder-3")
    assert refused(world, "bidder-3", "project.bidder-registered/v1", {
        "bidder": "bidder-3", "deposit": "159999999.99"}) == "listing-registration"
    world.clock.moment = cst("2025-04-05T17:00:00")  # the deadline, two days before the end
    assert refused(world, "bidder-3", "project.bidder-registered/v1", {
        "bidder": "bidder-3", "deposit": "160000000.00"}) == "listing-registration"


def test_quotes_rise_by_the_increment_during_the_listing_only(listed):
    world = listed
    assert refused(world, "bidder-1", "project.quote-submitted/v1",  # before it starts
                   {"bidder": "bidder-1", "price": "800000000.00"}) == "listing-period"
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    with pytest.raises(RuleRefused) as caught:  # one fen short of the increment
        quote(world, "bidder-2", "800999999.99")
    assert caught.value.details["rule"] == "quote-increment" and "801000000.00" in str(caught.value)
    quote(world, "bidder-2", "801000000.00")
    world.submit(world.actors["operator-1"], STREAM, "project.increment-adjusted/v1",
                 {"increment": "5000000.00"})
    assert refused(world, "bidder-1", "project.quote-submitted/v1",
                   {"bidder": "bidder-1", "price": "805999999.99"}) == "quote-increment"
    quote(world, "bidder-1", "806000000.00")
    world.register("bidder-9")
    assert refused(world, "bidder-9", "project.quote-submitted/v1",  # not registered
                   {"bidder": "bidder-9", "price": "900000000.00"}) in (
        "listing-registration", "who-may-act")
    current = state(world)
    assert (current.highest_quote, current.quote_count) == (Decimal("806000000.00"), 3)
    world.clock.moment = cst("2025-04-07T17:00:00")  # the listing's end: too late
    assert refused(world, "bidder-2", "project.quote-submitted/v1",
                   {"bidder": "bidder-2", "price": "900000000.00"}) == "listing-period"


# --- the end: the timed round, the reserve, the outcome -------------------------------------

def test_the_timed_round_restarts_at_each_new_highest_and_refuses_a_second_late(listed):
    world = listed
    assert [o[1] for o in into_timed_round(world)] == ["project.listing-closed/v1"]
    opened = state(world)
    assert opened.stage == "timed-round"
    assert opened.round_ends_at == opened.round_opened_at + timedelta(minutes=5)
    # one second before the countdown runs out: accepted, and the countdown starts again
    at = opened.round_ends_at - timedelta(seconds=1)
    quote(world, "bidder-2", "801000000.00", at)
    assert state(world).round_ends_at == at + timedelta(minutes=5)
    # at the instant it runs out: refused as late, and recorded
    world.clock.moment = state(world).round_ends_at - timedelta(seconds=1)
    assert refused(world, "bidder-1", "project.quote-submitted/v1",
                   {"bidder": "bidder-1", "price": "802000000.00"}) == "timed-round"
    # a round ended by the ledger only once its countdown has run out
    assert [o[1] for o in Reactor(world.ledger).run()] == ["project.round-ended/v1"]
    assert state(world).stage == "bidding-ended"


def test_two_equal_quotes_race_and_the_ledgers_order_decides(listed):
    # both bidders sign 801,000,000.00 at the same instant: the one the ledger records first
    # stands, the other is refused as under the new least next quote, and recorded
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    at = world.clock.now()
    first, second = (world.actors[b].sign(STREAM, "project.quote-submitted/v1",
                                          {"bidder": b, "price": "801000000.00"},
                                          expected_version=None, signed_at=at)
                     for b in ("bidder-2", "bidder-1"))
    world.ledger.submit(first)
    with pytest.raises(RuleRefused) as caught:
        world.ledger.submit(second)
    assert caught.value.details["rule"] == "quote-increment" and caught.value.details["recorded"]
    assert [(q.bidder, str(q.price)) for q in state(world).quotes] == [
        ("bidder-1", "800000000.00"), ("bidder-2", "801000000.00")]


def test_every_lost_race_is_recorded_up_to_the_quotes_own_bound(listed):
    # a tender's refusals are recorded 20 a day per actor (refusal-records); a bidder's
    # refused quotes, the timed round's evidence of who came first, 1,000 (quote-refusal-records)
    world = listed
    quote(world, "bidder-2", "800000000.00", cst("2025-03-26T09:00:00"))
    bound = int(world.ledger.procedure.rules["quote-refusal-records"].value)
    recorded = []
    for n in range(bound + 1):
        with pytest.raises(RuleRefused) as caught:  # each a fen under the least next quote
            world.submit(world.actors["bidder-1"], STREAM, "project.quote-submitted/v1",
                         {"bidder": "bidder-1", "price": "800999999.99"})
        recorded.append(caught.value.details["recorded"])
    assert recorded == [True] * bound + [False]
    assert world.ledger.stream_version(refusal_stream(STREAM)) == bound


@pytest.mark.parametrize("top, sold", [("809999999.99", False), ("810000000.00", True)])
def test_a_single_quote_just_below_and_at_the_reserve(listed, top, sold):
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    quote(world, "bidder-1", top, cst("2025-03-27T09:00:00"))  # its own, raised
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()
    tenderee = world.actors["tenderee-1"]
    # the reserve revealed must be the one committed
    assert refused(world, "tenderee-1", "project.reserve-revealed/v1", {
        "reserve": "800000000.00", "salt": SALT.hex()}) == "reserve-sealed"
    world.submit(tenderee, STREAM, "project.reserve-revealed/v1",
                 {"reserve": str(RESERVE), "salt": SALT.hex()})
    if sold:
        assert refused(world, "tenderee-1", "project.awarded/v1", {
            "winner": "bidder-2", "price": top}) == "listing-outcome"
        world.submit(tenderee, STREAM, "project.awarded/v1", {"winner": "bidder-1", "price": top})
        world.submit(tenderee, STREAM, "project.deal-confirmed/v1",
                     {"winner": "bidder-1", "confirmation_hash": "f" * 64})
        assert state(world).stage == "contracted"
    else:
        assert refused(world, "tenderee-1", "project.awarded/v1", {
            "winner": "bidder-1", "price": top}) == "listing-outcome"
        world.submit(world.actors["operator-1"], STREAM, "project.no-sale/v1",
                     {"reason": "below-reserve"})
        assert state(world).stage == "failed"


def test_the_ledger_refunds_the_other_deposits_without_interest(listed):
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    quote(world, "bidder-2", "810000000.00")
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()  # closes the listing; the loser's deposit falls due
    world.clock.advance(minutes=1)
    outcomes = Reactor(world.ledger).run()
    assert outcomes == [(STREAM, "project.security-refunded/v1", "recorded")]
    current = state(world)
    assert current.refunded == {"bidder-1"}  # the winner's deposit is its down payment
    due = next(d for d in current.deadlines if d.rule == "deposit-refund:bidder-1")
    assert due.kept and due.article == "39号令 §21"
    refund, = [e for e in project_events(world.ledger.recorder, STREAM)
               if e["type"] == "project.security-refunded/v1"]
    assert refund["actor"] == "ledger"
    assert refund["payload"] == {"bidder": "bidder-1", "amount": "160000000.00"}


def test_the_deal_is_confirmed_with_the_winner_and_the_result_published_in_10_working_days(listed):
    """The confirmation (成交确认书, §20) names the winner; the result's publication is a
    deadline of the seller's, tracked: due at 24:00 of the 10th working day after bidding
    ended (§22; 7 April + 10 working days, the weekends not counted: 24:00 of 21 April)."""
    world = sold(listed)
    tenderee = world.actors["tenderee-1"]
    assert refused(world, "tenderee-1", "project.deal-confirmed/v1", {
        "winner": "bidder-1", "confirmation_hash": "f" * 64}) == "deal-confirmation"
    world.submit(tenderee, STREAM, "project.deal-confirmed/v1",
                 {"winner": "bidder-2", "confirmation_hash": "f" * 64})
    due = next(d for d in state(world).deadlines if d.rule == "result-publication")
    assert due.due == cst("2025-04-22T00:00:00") and due.article == "39号令 §22"
    world.clock.moment = due.due  # at its first late instant: recorded, and late
    world.submit(tenderee, STREAM, "project.result-published/v1", {})
    assert next(d for d in state(world).deadlines if d.rule == "result-publication").kept is False
    assert refused(world, "tenderee-1", "project.result-published/v1", {}) == "recorded-once"


def test_the_statistics_give_a_sold_lots_premium_over_its_starting_price(listed):
    """溢价率: (price − starting price) / starting price, by the month of the award; the
    savings rate stays a tender's (a listing has no control price)."""
    from projections.project_state import concluded_projects
    from projections.statistics import as_rows, grouped

    world = sold(listed)
    row, = as_rows(grouped(concluded_projects(world.ledger.recorder)))
    assert (row["category"], row["month"], row["awarded"]) == ("rights", "2025-04", 1)
    assert row["premium_rate"] == "0.0125" and row["savings_rate"] is None


def test_a_listings_timeline_is_grouped_in_phases_of_its_own(listed):
    """The witness officer's timeline (api/portal/witnessing.py) names a listing's phases as a
    listing's, not a tender's (its close plays the opening's part in the milestones)."""
    from api.portal.witnessing import timeline_rows
    from projections import visibility as v

    world = sold(listed)
    tenderee = world.actors["tenderee-1"]
    world.submit(tenderee, STREAM, "project.result-published/v1", {})
    events = project_events(world.ledger.recorder, STREAM)
    operator = v.Caller("operator-1", frozenset({"operator"}))
    phases = [row["phase"] for row in timeline_rows(events, operator, v.facts_of(events))]
    assert list(dict.fromkeys(phases)) == ["intake", "listing", "bidding-ended", "sold"]


def test_the_ladder_is_served_as_the_caller_may_see_it(listed, store_url, tmp_path):
    """GET /v1/projects/{p}/ladder: prices and times to anyone as they come, who quoted only
    to a caller who may see it (the operator now, the seller and bidders from the close, the
    public never), as of any instant; a tender has no ladder (404)."""
    from fastapi.testclient import TestClient

    from api.client import signature_headers
    from api.http.app import create_app
    from ledger.ledger import Ledger

    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    quote(world, "bidder-2", "801000000.00", cst("2025-03-27T09:00:00"))
    path = "/v1/projects/JIULANG-CONCESSION/ladder"
    app = create_app(lambda: Ledger.open(store_url, key_path=tmp_path / "ledger.key",
                                         clock=world.clock))

    def ask(actor: str | None = None, query: str = "") -> dict:
        headers = {} if actor is None else signature_headers(
            world.actors[actor], "GET", path, query, now=world.clock.now().timestamp())
        answer = client.get(path + (f"?{query}" if query else ""), headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    with TestClient(app) as client:
        public = ask()
        assert public["stage"] == "listing" and public["withheld"] == ["bidder"]
        assert [q["price"] for q in public["quotes"]] == ["800000000.00", "801000000.00"]
        assert all("bidder" not in q for q in public["quotes"])
        assert (public["highest"], public["least_next"]) == ("801000000.00", "802000000.00")
        assert "reserve" not in public and public["countdowns"] == []
        assert public["as_of"] == format_time(world.clock.now())  # the server's clock, not ours
        assert all("bidder" not in q for q in ask("bidder-1")["quotes"])  # not even its own
        assert all("bidder" not in q for q in ask("tenderee-1")["quotes"])  # nor the seller
        assert [q["bidder"] for q in ask("operator-1")["quotes"]] == ["bidder-1", "bidder-2"]
        assert all("bidder" not in q for q in ask()["quotes"])  # the same fold, the public's view
        then = ask(query="at=" + format_time(cst("2025-03-26T12:00:00")).replace(":", "%3A"))
        assert [q["price"] for q in then["quotes"]] == ["800000000.00"]
        assert then["as_of"] == format_time(cst("2025-03-26T12:00:00"))
        world.clock.moment = cst("2025-04-07T17:00:00")
        Reactor(world.ledger).run()  # the listing closes: the seller and bidders learn who
        assert [q["bidder"] for q in ask("tenderee-1")["quotes"]] == ["bidder-1", "bidder-2"]
        assert all("bidder" not in q for q in ask()["quotes"])  # the public never does
        world.open_project("project:A-TENDER")
        assert client.get("/v1/projects/A-TENDER/ladder").status_code == 404


def test_a_bidders_registration_and_quotes_get_sealed_receipts_over_http(world, store_url, tmp_path):
    """POST /v1/actions: a bidder's registration, quote and request to go on name no version
    (they race other bidders'), and each receipt, or the place a refused quote was recorded,
    carries none: the version counts the project's events, other bidders' among them."""
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from ledger.evidence.receipts import sealed_receipt_body
    from ledger.ledger import Ledger

    announce(world, "2025-03-05T10:00:00", "2025-03-26T09:00:00", "2025-04-07T17:00:00")
    world.submit(world.actors["tenderee-1"], STREAM, "project.reserve-committed/v1", {
        "reserve_commitment": reserve_commitment(RESERVE, SALT), "decision_hash": "c" * 64})
    app = create_app(lambda: Ledger.open(store_url, key_path=tmp_path / "ledger.key",
                                         clock=world.clock))

    def post(bidder: str, type_: str, payload: dict):
        world.clock.advance(seconds=1)
        signed = world.actors[bidder].sign(STREAM, type_, payload, expected_version=None,
                                           signed_at=world.clock.now())
        return client.post("/v1/actions", json=signed.to_json())

    with TestClient(app) as client:
        registered = post("bidder-1", "project.bidder-registered/v1",
                          {"bidder": "bidder-1", "deposit": "160000000.00"})
        world.clock.moment = cst("2025-03-26T09:00:00")
        quoted = post("bidder-1", "project.quote-submitted/v1",
                      {"bidder": "bidder-1", "price": "800000000.00"})
        going_on = post("bidder-1", "project.continuation-requested/v1", {"bidder": "bidder-1"})
        under = post("bidder-1", "project.quote-submitted/v1",
                     {"bidder": "bidder-1", "price": "800999999.99"})
    for answer in (registered, quoted, going_on):
        assert answer.status_code == 201, answer.text
        receipt = answer.json()["receipt"]
        assert "version" not in receipt
        assert set(receipt) == set(sealed_receipt_body("0" * 64, STREAM, 1, "t")) | {"signature"}
    assert under.status_code == 409 and under.json()["rule"] == "quote-increment"
    assert under.json()["recorded"] and "version" not in under.json()["recorded_in"]
    assert state(world).quote_count == 1


def test_react_kept_running_closes_a_listing_at_its_end(listed, store_url, tmp_path):
    """`sunledger react --every SECONDS` keeps recording what is due (a centre running timed
    rounds runs it a second apart): here the listing's close, its end long past on the system
    clock; Ctrl-C stops it with what is due recorded."""
    import os
    import selectors
    import signal
    import subprocess
    import time

    from servers import SUNLEDGER

    world = listed
    into = [SUNLEDGER, "react", "--store", store_url, "--ledger-key", str(tmp_path / "ledger.key"),
            "--every", "0.2"]
    running = subprocess.Popen(into, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    said = []  # its lines as it says them: stopped once it has said the close
    try:
        watch = selectors.DefaultSelector()
        watch.register(running.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and running.poll() is None and not any(
                "listing-closed" in line for line in said):
            if watch.select(timeout=0.5):
                said.append(running.stdout.readline())
        assert any(e["type"] == "project.listing-closed/v1"
                   for e in project_events(world.ledger.recorder, STREAM))
    finally:
        running.send_signal(signal.SIGINT)
        out, err = running.communicate(timeout=30)
    out = "".join(said) + out
    assert running.returncode == 0 and "Traceback" not in err, err
    assert f"{STREAM}  project.listing-closed/v1  recorded" in out
    assert out.rstrip().endswith("stopped: everything due so far is recorded")
