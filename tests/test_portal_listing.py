"""A lot sold by listing (挂牌) or online auction in the portal (api/portal/listing.py,
_ladder.html, static/ladder.js): its terms, its ladder as the caller may see it (the public
never learns who quoted; the seller and the bidders from the close; the keepers always), the
live countdown of the timed round, and the listing's own legal periods on the witness
officer's page.

The pure view and the periods through the real ledger (test_listing's concession); then, in
Debian's Chromium, a store driven in-process at real now (a listing closed a minute after its
end with a continuation requested, a quote seconds ago) and served by a real `sunledger
serve` on the system clock: the countdown ticks, a new quote shows without a reload and
restarts it, the round's end shows, and the officer sees who quoted."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from api.portal.listing import lot_view
from api.portal.periods import LISTING, LISTING_NOTICE, REGISTRATION, TIMED_ROUND, legal_periods
from conftest import World, opened_world
from ledger.evidence.canonical import format_time
from ledger.evidence.keys import write_private_key
from ledger.procedures.listing import reserve_commitment
from portal_browser import needs_chromium, sign_in
from projections import visibility as v
from projections.project_state import project_events
from projections.quote_ladder import ladder
from projections.reactions import Reactor
from servers import ledger_server
import test_listing
from test_listing import RESERVE, SALT, STREAM, cst, into_timed_round, quote, state

listed = test_listing.listed  # the fixture: a concession listed, two bidders registered

PUBLIC = v.Caller()
OPERATOR = v.Caller("operator-1", frozenset({"operator"}))
SELLER = v.Caller("tenderee-1", frozenset({"tenderee"}))


def shown(world: World, caller: v.Caller) -> set[str]:
    """The members of the concession's state the caller may see now."""
    facts = v.facts_of(project_events(world.ledger.recorder, STREAM))
    return set(v.state_view(state(world), caller, facts)[0])


def view(world: World, caller: v.Caller, at: datetime | None = None):
    """The portal's view of test_listing's concession for `caller`, now (or `at`)."""
    events = project_events(world.ledger.recorder, STREAM)
    facts = v.facts_of(events)
    shown, _ = v.state_view(state(world), caller, facts)
    return lot_view(ladder(events), shown, v.sees_field("quotes", caller, facts),
                    at or world.clock.now())


# --- the view, pure --------------------------------------------------------------------------

def test_the_public_sees_prices_and_times_never_who_quoted(listed):
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    quote(world, "bidder-2", "801000000.00", cst("2025-03-27T09:00:00"))
    public, operator, seller = view(world, PUBLIC), view(world, OPERATOR), view(world, SELLER)
    assert (public.highest, public.count, public.least_next) == (
        Decimal("801000000.00"), 2, Decimal("802000000.00"))
    assert [q.price for q in public.quotes] == [Decimal("800000000.00"), Decimal("801000000.00")]
    assert [q.highest for q in public.quotes] == [False, True]
    assert not public.named and all(q.bidder is None for q in public.quotes)
    assert "bidder-" not in repr(public)  # not even kept aside
    assert not seller.named  # the seller learns who quoted from the close
    assert operator.named and [q.bidder for q in operator.quotes] == ["bidder-1", "bidder-2"]
    terms = public.terms
    assert (terms.asset, terms.starting_price, terms.increment, terms.deposit,
            terms.countdown_seconds) == ("concession", Decimal("800000000.00"),
                                         Decimal("1000000.00"), Decimal("160000000.00"), 300)
    assert (terms.listing_from, terms.listing_until) == (cst("2025-03-26T09:00:00"),
                                                         cst("2025-04-07T17:00:00"))
    assert public.sealed and public.reserve is None and public.bidding and not public.ended
    # what counts down during the listing: its end; at that instant it has run out
    assert (public.clock.kind, public.clock.ends) == ("listing", cst("2025-04-07T17:00:00"))
    assert not public.clock.ran_out
    assert view(world, PUBLIC, cst("2025-04-07T17:00:00")).clock.ran_out
    assert view(world, PUBLIC, cst("2025-03-26T08:59:59")).clock.kind == "starts"


def test_the_timed_round_counts_down_from_the_newest_highest_quote(listed):
    world = listed
    into_timed_round(world)
    opened = state(world).round_opened_at
    before = view(world, PUBLIC)
    assert (before.clock.kind, before.clock.ends) == ("round", opened + timedelta(minutes=5))
    assert [c.restarted_by for c in before.countdowns] == [None]
    quote(world, "bidder-2", "801000000.00", opened + timedelta(minutes=2))
    after = view(world, PUBLIC)
    assert after.clock.ends == opened + timedelta(minutes=7) and after.mark != before.mark
    assert [c.restarted_by for c in after.countdowns] == [None, Decimal("801000000.00")]
    assert [c.current for c in after.countdowns] == [False, True]
    assert view(world, PUBLIC, opened + timedelta(minutes=7)).clock.ran_out
    # from the close the seller sees who quoted; the public still does not
    assert view(world, SELLER).named and not view(world, PUBLIC).named
    world.clock.moment = opened + timedelta(minutes=7)
    Reactor(world.ledger).run()
    ended = view(world, PUBLIC)
    assert ended.ended and not ended.bidding and ended.clock is None
    assert ended.least_next is None and ended.highest == Decimal("801000000.00")


def test_the_reserve_and_the_outcome_once_recorded(listed):
    world = listed
    quote(world, "bidder-2", "810000000.00", cst("2025-03-26T09:00:00"))
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()
    tenderee = world.actors["tenderee-1"]
    assert view(world, OPERATOR).sealed
    world.submit(tenderee, STREAM, "project.reserve-revealed/v1",
                 {"reserve": str(RESERVE), "salt": SALT.hex()})
    revealed = view(world, PUBLIC)
    assert revealed.reserve == RESERVE and not revealed.sealed and revealed.award_price is None
    world.submit(tenderee, STREAM, "project.awarded/v1",
                 {"winner": "bidder-2", "price": "810000000.00"})
    operator = view(world, OPERATOR)
    assert (operator.winner, operator.award_price) == ("bidder-2", Decimal("810000000.00"))
    assert operator.stage == "awarded" and operator.ended


def test_the_officers_timeline_has_the_timed_round_as_a_phase(listed):
    """Between the close (a bidder asked to go on) and the round's end, the officer's
    timeline groups the round's quotes as the timed round, not as after bidding."""
    from api.portal.witnessing import timeline_rows

    world = listed
    into_timed_round(world)
    quote(world, "bidder-2", "801000000.00")
    world.clock.moment = state(world).round_ends_at
    Reactor(world.ledger).run()  # the round ends
    world.clock.advance(minutes=1)
    Reactor(world.ledger).run()  # bidder-2's deposit refunded
    events = project_events(world.ledger.recorder, STREAM)
    rows = timeline_rows(events, OPERATOR, v.facts_of(events))
    assert [(r["phase"], r["type"]) for r in rows[-4:]] == [
        ("listing", "project.listing-closed/v1"),
        ("timed-round", "project.quote-submitted/v1"),
        ("timed-round", "project.round-ended/v1"),
        ("bidding-ended", "project.security-refunded/v1")]


# --- the listing's legal periods on the officer's page ---------------------------------------

def test_a_listings_legal_periods_close_and_run_out_at_their_instants(listed):
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    world.submit(world.actors["bidder-2"], STREAM, "project.continuation-requested/v1",
                 {"bidder": "bidder-2"})
    periods = {p.name: p for p in legal_periods(state(world), shown(world, OPERATOR))}
    assert [periods[n].article for n in (LISTING_NOTICE, LISTING, REGISTRATION)] == [
        "39号令 §11", "39号令 §18", "39号令 §11"]
    end = cst("2025-04-07T17:00:00")
    assert periods[LISTING].status(end - timedelta(seconds=1)) == "open"
    assert periods[LISTING].status(end) == "closed"
    assert periods[REGISTRATION].status(cst("2025-04-05T17:00:00")) == "ended"
    assert periods[LISTING_NOTICE].status(cst("2025-03-26T09:00:00")) == "ended"
    assert TIMED_ROUND not in periods
    world.clock.moment = end + timedelta(seconds=30)  # the ledger records the close late
    Reactor(world.ledger).run()
    periods = {p.name: p for p in legal_periods(state(world), shown(world, OPERATOR))}
    assert periods[LISTING].met == end + timedelta(seconds=30)
    round_end = periods[TIMED_ROUND]
    assert round_end.article == "39号令 §19" and round_end.due == state(world).round_ends_at
    assert round_end.status(round_end.due - timedelta(seconds=1)) == "open"
    assert round_end.status(round_end.due) == "closed"


def test_the_keepers_see_a_listings_deposit_refunds_and_result_publication(listed):
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()  # bidding ends: the loser's deposit and the result fall due
    assert {d.rule for d in state(world).deadlines} == {"deposit-refund:bidder-2",
                                                        "result-publication"}
    periods = {p.name[0]: p for p in legal_periods(state(world), shown(world, OPERATOR))}
    assert periods["退还竞买保证金（不计利息）"].subjects == ("bidder-2",)
    assert periods["公布出让结果"].article == "39号令 §22"


# --- the pages, served for real at real now --------------------------------------------------

LIVE, ON_LISTING, ENDED = "LIVE-ROUND", "ON-LISTING", "BIDDING-ENDED"
OFFICER = "witness-li"
COUNTDOWN = 10  # seconds: the live lot's timed round
NAMES = ("bidder-1", "bidder-2", "Fictional bidder")  # who quoted, in any form


def terms(listing_from: datetime, listing_until: datetime, countdown: int) -> dict:
    return {"listing_from": format_time(listing_from), "listing_until": format_time(listing_until),
            "registration_until": format_time(listing_until - timedelta(days=1)),
            "starting_price": "800000000.00", "increment": "1000000.00",
            "deposit": "160000000.00", "countdown_seconds": countdown, "asset": "land"}


def submit_now(world: World, bidder: str, project: str, type_: str, payload: dict) -> None:
    """A bidder's action recorded at the system's time (world.submit moves the ledger's
    clock one second on first)."""
    world.clock.moment = datetime.now(timezone.utc) - timedelta(seconds=1)
    world.submit(world.actors[bidder], f"project:{project}", type_, payload)


def react_now(world: World) -> list[tuple[str, str]]:
    """What the ledger does itself at the system's time: (project, type) of each reaction."""
    world.clock.moment = datetime.now(timezone.utc)
    return [(stream.split(":", 1)[1], type_) for stream, type_, _ in Reactor(world.ledger).run()]


def build_lots(world: World, now: datetime) -> None:
    """Three land-use rights listed around `now`, each with bidder-1 and bidder-2 registered,
    its reserve committed, the witness officer assigned and a quote of each: LIVE listed
    until a minute ago with a continuation asked (its close and round come in the test, at
    real now), ON_LISTING listed for three days more, ENDED closed twenty minutes ago
    without a continuation (bidding ended; bidder-1's deposit refunded, the result due)."""
    tenderee = world.actors["tenderee-1"]
    until = {LIVE: now - timedelta(minutes=1), ON_LISTING: now + timedelta(days=3),
             ENDED: now - timedelta(minutes=30)}
    world.clock.moment = now - timedelta(days=50)
    for project, listing_until in until.items():
        stream = f"project:{project}"
        world.submit(tenderee, stream, "project.intake/v1", {
            "title": f"虚构市{project}地块国有建设用地使用权挂牌出让（演练）",
            "category": "rights", "tenderee": "tenderee-1", "method": "listing"})
        world.submit(world.actors["operator-1"], stream, "project.intake-accepted/v1", {})
        world.submit(tenderee, stream, "project.listing-announced/v1", terms(
            now - timedelta(days=22), listing_until, COUNTDOWN if project == LIVE else 300))
        world.submit(world.registrar, stream, "project.witness-assigned/v1", {"officer": OFFICER})
        world.submit(tenderee, stream, "project.reserve-committed/v1", {
            "reserve_commitment": reserve_commitment(RESERVE, SALT), "decision_hash": "c" * 64})
        for bidder in ("bidder-1", "bidder-2"):
            world.submit(world.actors[bidder], stream, "project.bidder-registered/v1",
                         {"bidder": bidder, "deposit": "160000000.00"})
    world.clock.moment = now - timedelta(days=21)
    for project, price in ((LIVE, "800000000.00"), (ON_LISTING, "800000000.00"),
                           (ENDED, "800000000.00")):
        world.submit(world.actors["bidder-1"], f"project:{project}",
                     "project.quote-submitted/v1", {"bidder": "bidder-1", "price": price})
    world.submit(world.actors["bidder-2"], f"project:{ENDED}", "project.quote-submitted/v1",
                 {"bidder": "bidder-2", "price": "805000000.00"})
    world.clock.moment = now - timedelta(hours=1)
    world.submit(world.actors["bidder-2"], f"project:{LIVE}", "project.continuation-requested/v1",
                 {"bidder": "bidder-2"})
    world.clock.moment = now - timedelta(minutes=20)
    assert [o[:2] for o in Reactor(world.ledger).run()] == [
        (f"project:{ENDED}", "project.listing-closed/v1")]
    world.clock.moment = now - timedelta(minutes=19)
    assert [o[:2] for o in Reactor(world.ledger).run()] == [
        (f"project:{ENDED}", "project.security-refunded/v1")]  # the ledger refunds at once


def open_round(world: World) -> None:
    """LIVE's close at real now (the timed round opens) and bidder-2's quote just after."""
    assert react_now(world) == [(LIVE, "project.listing-closed/v1")]
    submit_now(world, "bidder-2", LIVE, "project.quote-submitted/v1",
               {"bidder": "bidder-2", "price": "801000000.00"})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The three lots in a store of their own, served by a real `sunledger serve` (its clock
    the system's); the officer's key file; the world that drives the store in-process."""
    folder = tmp_path_factory.mktemp("portal-listing")
    url = f"sqlite:{folder / 'ledger.db'}"
    with opened_world(url, folder) as world:
        officer = world.register(OFFICER, roles=("witness",))
        key_file = folder / f"{OFFICER}.key"
        write_private_key(key_file, officer.key)
        build_lots(world, datetime.now(timezone.utc))
        server = ledger_server(url, folder / "ledger.key", folder / "serve.log")
        try:
            yield server, world, key_file
        finally:
            server.stop()
    assert "Traceback" not in server.output()


def test_the_lots_section_is_served_as_the_caller_may_see_it(served):
    """The script's answer (GET /portal/projects/<id>/ladder) is the public's view: no
    bidder in it; a tender or an unknown project is a 404 with a message, never a trace."""
    server = served[0]
    answer = httpx.get(f"{server.url}/portal/projects/{ENDED}/ladder")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    lot = answer.json()
    assert (lot["stage"], lot["bidding"]) == ("bidding-ended", False)
    assert abs(lot["now_ms"] / 1000 - time.time()) < 5  # the server's clock
    assert "805,000,000.00" in lot["html"] and not any(n in lot["html"] for n in NAMES)
    # a page that holds the section says so (its mark): the answer then leaves it out
    again = httpx.get(f"{server.url}/portal/projects/{ENDED}/ladder", params={"mark": lot["mark"]})
    assert "html" not in again.json() and again.json()["mark"] == lot["mark"]
    stale = httpx.get(f"{server.url}/portal/projects/{ENDED}/ladder", params={"mark": "0" * 16})
    assert stale.json()["html"] == lot["html"]
    assert httpx.get(f"{server.url}/portal/projects/NONE-SUCH/ladder").status_code == 404
    assert httpx.get(f"{server.url}/portal/witness/{ENDED}/ladder").status_code == 404  # no session


@needs_chromium
def test_the_timed_round_counts_down_live_and_ends(served, page):
    server, world, _ = served
    open_round(world)
    page.goto(f"{server.url}/portal/projects/{LIVE}?lang=zh")
    left = page.locator("#lot-left")
    page.wait_for_function("() => /^\\d\\d:\\d\\d$/.test(document.getElementById('lot-left').textContent)")
    page.evaluate("() => { window.keptSinceLoad = true; }")
    assert page.inner_text("#lot-highest").startswith("801,000,000.00")
    assert page.inner_text("#lot-count") == "2"
    assert not any(name in page.content() for name in NAMES)  # the public never learns who
    first = left.inner_text()
    page.wait_for_timeout(1100)
    assert left.inner_text() != first  # it ticks
    ends = int(page.get_attribute(".lot-clock", "data-ends-ms"))
    submit_now(world, "bidder-1", LIVE, "project.quote-submitted/v1",
               {"bidder": "bidder-1", "price": "802000000.00"})
    page.wait_for_function("() => document.getElementById('lot-count').textContent === '3'",
                           timeout=5000)
    assert page.evaluate("() => window.keptSinceLoad") is True  # no reload
    assert page.inner_text("#lot-highest").startswith("802,000,000.00")
    assert int(page.get_attribute(".lot-clock", "data-ends-ms")) > ends  # restarted
    assert page.locator("details.lot-countdowns tbody tr").count() == 3
    assert not any(name in page.content() for name in NAMES)
    # the countdown runs out: the page says so until the ledger records the round's end
    page.wait_for_selector(".ran-out-note:visible", timeout=(COUNTDOWN + 3) * 1000)
    assert left.inner_text() == "00:00" and "等待系统记录" in page.inner_text("#ladder")
    assert react_now(world) == [(LIVE, "project.round-ended/v1")]
    page.wait_for_selector("#lot-ended", timeout=5000)
    assert "竞价已结束" in page.inner_text("#lot-ended") and page.locator(".lot-clock").count() == 0
    assert page.inner_text("#stage-now") == "竞价结束"
    assert page.evaluate("() => window.keptSinceLoad") is True


@needs_chromium
def test_the_officer_sees_who_quoted_and_the_listings_periods(served, page):
    server, _, key_file = served
    sign_in(page, server.url, key_file, OFFICER)
    page.goto(f"{server.url}/portal/witness/{ON_LISTING}?lang=zh")
    assert "bidder-1" in page.inner_text("table.lot-quotes")
    page.wait_for_function("() => /天 \\d\\d:\\d\\d:\\d\\d$/.test("
                           "document.getElementById('lot-left').textContent)")
    assert "距挂牌截止" in page.inner_text(".lot-clock")
    periods = page.locator("table.periods tbody tr").all_inner_texts()
    assert any("挂牌出让公告期" in p and "已届满" in p for p in periods)
    assert any("挂牌期" in p and "39号令 §18" in p and "剩余 2 天" in p for p in periods)
    assert any("竞买申请截止" in p for p in periods)
    page.goto(f"{server.url}/portal/witness/{ENDED}?lang=zh")
    assert re.search(r"1\s+800,000,000\.00.*bidder-1", page.inner_text("table.lot-quotes"))
    assert "竞价已结束" in page.inner_text("#ladder")
    periods = page.locator("table.periods tbody tr").all_inner_texts()
    assert any("挂牌期" in p and "挂牌截止于" in p for p in periods)
    # its timeline names the deposits' refund a listing's way, never a tender's
    timeline = " ".join(page.locator("table.timeline tbody tr").all_text_contents())
    assert "退还竞买保证金" in timeline and "投标保证金" not in timeline
    # what each caller sees is made once a fold: the officer's view, made first, is never
    # what the public is shown of the same fold
    public = httpx.get(f"{server.url}/portal/projects/{ON_LISTING}/ladder").json()
    assert "挂牌" in public["html"] and not any(name in public["html"] for name in NAMES)
    officer = page.request.get(f"{server.url}/portal/witness/{ON_LISTING}/ladder").json()
    assert "bidder-1" in officer["html"]


def test_a_listings_stages_are_named_as_a_listing_names_them():
    from api.portal.words import stage_name

    assert (stage_name("failed", "zh"), stage_name("failed", "zh", listing=True)) == ("流标", "未成交")
    assert stage_name("contracted", "en", listing=True) == "deal confirmed"
    assert stage_name("timed-round", "zh", listing=True) == stage_name("timed-round", "zh")


def test_a_step_has_one_name_on_the_portal_and_in_the_report_a_listings_its_own():
    """The portal's timeline names each step of a project as the witness report does
    (witness/vocabulary.py), and a listing's award and deposit refunds its own way."""
    from api.portal.words import event_name
    from witness.vocabulary import LISTING_STEPS, STEPS

    for steps, listing in ((STEPS, False), (LISTING_STEPS, True)):
        for code, words in steps.items():
            assert tuple(event_name(f"project.{code}/v1", lang, listing)
                         for lang in ("zh", "en")) == words, code
    assert event_name("project.awarded/v1", "zh") == "确定中标人"
    assert event_name("project.awarded/v1", "zh", listing=True) == "确定竞得人"
    assert event_name("project.security-refunded/v1", "zh", listing=True) == "退还竞买保证金"
    assert event_name("actor.registered/v1", "zh", listing=True) == "参与方登记"
