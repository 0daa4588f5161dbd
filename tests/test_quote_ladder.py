"""A lot's quote ladder and countdown history as of any instant (projections/quote_ladder.py),
from a listing driven through the real ledger (test_listing's concession)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from projections.project_state import project_events
from projections.projects_now import ProjectsNow
from projections.quote_ladder import ladder, ladder_of
from projections.reactions import Reactor
from test_listing import STREAM, cst, into_timed_round, listed, quote, state  # noqa: F401 (the fixture)


def test_the_ladder_and_the_countdowns_as_of_any_instant(listed):  # noqa: F811
    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    quote(world, "bidder-2", "801000000.00", cst("2025-03-27T09:00:00"))
    world.submit(world.actors["bidder-1"], STREAM, "project.continuation-requested/v1",
                 {"bidder": "bidder-1"})
    world.clock.moment = cst("2025-04-07T17:00:00")
    Reactor(world.ledger).run()
    opened = state(world).round_opened_at
    quote(world, "bidder-1", "802000000.00", opened + timedelta(minutes=2))
    quote(world, "bidder-2", "803000000.00", opened + timedelta(minutes=6))
    world.clock.moment = state(world).round_ends_at
    Reactor(world.ledger).run()
    events = project_events(world.ledger.recorder, STREAM)

    before = ladder(events, cst("2025-03-26T08:59:59"))  # the listing announced, no quote yet
    assert before.stage == "listing" and before.quotes == () and before.highest is None
    assert before.least_next == Decimal("800000000.00")  # the starting price

    first_day = ladder(events, cst("2025-03-26T12:00:00"))
    assert [q.price for q in first_day.quotes] == [Decimal("800000000.00")]
    assert first_day.least_next == Decimal("801000000.00") and first_day.countdowns == ()

    in_round = ladder(events, opened + timedelta(minutes=3))
    assert in_round.stage == "timed-round" and in_round.highest.bidder == "bidder-1"
    assert [c.runs_out - c.started for c in in_round.countdowns] == [timedelta(minutes=5)] * 2
    assert in_round.countdowns[1].restarted_by.price == Decimal("802000000.00")

    now = ladder(events)
    assert now.stage == "bidding-ended" and now.least_next is None
    assert now.highest.bidder == "bidder-2" and now.highest.price == Decimal("803000000.00")
    assert [c.runs_out for c in now.countdowns] == [
        opened + timedelta(minutes=5), opened + timedelta(minutes=7),
        opened + timedelta(minutes=11)]  # the last ran out: the round ended then
    assert state(world).stage == "bidding-ended"


def test_the_ladder_of_the_fold_a_server_keeps_is_the_ladder_replayed(listed):  # noqa: F811
    """A server reads a lot now from the fold it keeps at the project's head (projects_now,
    folding only the events since): its ladder is the one replayed from all the events, at
    each step of the lot, the listing, the timed round's restarts and the round's end."""
    world = listed
    kept = ProjectsNow(world.ledger.recorder)

    def same() -> None:
        replayed = ladder(project_events(world.ledger.recorder, STREAM))
        assert ladder_of(kept.get(STREAM).state) == replayed

    same()
    into_timed_round(world)
    same()
    opened = state(world)
    quote(world, "bidder-2", "801000000.00", opened.round_ends_at - timedelta(seconds=2))
    same()
    quote(world, "bidder-1", "802000000.00", state(world).round_ends_at - timedelta(seconds=2))
    same()
    world.clock.moment = state(world).round_ends_at
    Reactor(world.ledger).run()
    same()
    assert ladder_of(kept.get(STREAM).state).stage == "bidding-ended"
    assert len(ladder_of(kept.get(STREAM).state).countdowns) == 3


def test_a_lots_steps_say_what_they_changed_in_the_ledgers_words(listed):  # noqa: F811
    """A replay's changes of a listed lot: the intake's from nothing (a land sale was never a
    construction tender), a quote as its members, not as a Python object."""
    from projections.project_state import replay

    world = listed
    quote(world, "bidder-1", "800000000.00", cst("2025-03-26T09:00:00"))
    _, steps = replay(project_events(world.ledger.recorder, STREAM))
    assert "kind: None → rights" in steps[0].changes
    assert not any(c.startswith(("kind", "method")) for s in steps[1:] for c in s.changes)
    quoted = steps[-1].changes
    assert "quotes: +[{bidder: bidder-1, price: 800000000.00, at: 2025-03-26T01:00:00Z, " \
           f"order: {steps[-1].version}}}]" in quoted, quoted  # the ledger's order: its version
    assert not any(word in c for c in quoted for word in ("Quote(", "Decimal(", "datetime"))

