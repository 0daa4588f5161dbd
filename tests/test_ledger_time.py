"""Ledger time only moves forward (evidence-format §8): the ledger holds its clock at the
newest recorded time while its clock is behind, across processes and restarts, and the
verifier reports a time that goes back (`time_reversed`, tamper with plain SQL in
test_evidence_format.py)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from api.simulate import EPOCH, simulate, simulation_start
from ledger.audit.verify import StoreSource, verify
from ledger.evidence.canonical import format_time, parse_time
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger

from conftest import MovableClock


def _times(world) -> list[str]:
    return [t for (t,) in world.raw.execute(
        f"SELECT ledger_time FROM {world.raw.receipts} ORDER BY position")]


def test_a_clock_set_back_is_held_at_the_newest_ledger_time(world):
    newest = world.clock.moment
    world.clock.moment = newest - timedelta(days=30)  # someone sets the server's clock back
    receipt = world.submit(world.registrar, "actor:held-1", "actor.registered/v1",
                           {"name": "Fictional held", "roles": ["bidder"],
                            "organisation": "虚构单位"})
    assert parse_time(receipt.ledger_time) == newest  # held, not refused
    world.clock.moment = newest + timedelta(seconds=5)  # the clock passes it: time moves on
    later = world.submit(world.registrar, "actor:held-2", "actor.registered/v1",
                         {"name": "Fictional held", "roles": ["bidder"],
                          "organisation": "虚构单位"})
    assert parse_time(later.ledger_time) == newest + timedelta(seconds=6)
    world.ledger.checkpoint()
    assert _times(world) == sorted(_times(world))
    assert verify(StoreSource(world.raw.url), workers=1).intact


def test_a_second_server_with_a_slower_clock_never_records_an_earlier_time(world, tmp_path):
    """Two ledgers on one store, the second's clock an hour behind the first's: it holds at
    the first's newest time whether it knew the log already or not."""
    ahead = world.clock
    behind = MovableClock(ahead.moment - timedelta(hours=1))
    other = Ledger.open(world.raw.url, clock=behind, key_path=tmp_path / "ledger.key")
    try:
        registrar = ActorSigner("ledger", other.key)
        for n in range(3):
            world.submit(world.registrar, f"actor:fast-{n}", "actor.registered/v1",
                         {"name": "Fictional fast", "roles": ["bidder"], "organisation": "虚构单位"})
            behind.advance(seconds=1)
            stream = f"actor:slow-{n}"
            receipt, = other.submit(registrar.sign(
                stream, "actor.registered/v1",
                {"name": "Fictional slow", "roles": ["bidder"], "organisation": "虚构单位"},
                expected_version=0, signed_at=behind.now()))
            assert parse_time(receipt.ledger_time) == ahead.moment
    finally:
        other.close()
    times = _times(world)
    assert times == sorted(times)
    assert verify(StoreSource(world.raw.url), workers=1).intact


def test_a_reopened_ledger_holds_at_the_stored_time(sqlite_url, tmp_path):
    start = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)
    Ledger.open(sqlite_url, clock=MovableClock(start), key_path=tmp_path / "k").close()
    reopened = Ledger.open(sqlite_url, clock=MovableClock(start - timedelta(days=400)),
                           key_path=tmp_path / "k")
    try:
        assert reopened.last_time() == start
        registrar = ActorSigner("ledger", reopened.key)
        receipt, = reopened.submit(registrar.sign(
            "actor:reopened", "actor.registered/v1",
            {"name": "Fictional", "roles": ["bidder"], "organisation": "虚构单位"},
            expected_version=0, signed_at=start))
        assert parse_time(receipt.ledger_time) == start
    finally:
        reopened.close()


def test_simulation_starts_after_the_newest_event_of_the_store(sqlite_url, tmp_path):
    assert simulation_start(None) == EPOCH
    assert simulation_start(EPOCH - timedelta(days=1)) == EPOCH
    assert simulation_start(EPOCH) == EPOCH
    assert simulation_start(EPOCH + timedelta(seconds=1)) == EPOCH + timedelta(weeks=1)
    assert simulation_start(EPOCH + timedelta(weeks=3)) == EPOCH + timedelta(weeks=3)

    ledger = Ledger.open(sqlite_url, clock=MovableClock(EPOCH), key_path=tmp_path / "k")
    try:
        simulate(ledger, projects=2, seed=1, batch=20)
        first_run_ends = ledger.last_time()
        simulate(ledger, projects=2, seed=2, batch=20)  # the same store, a second run
        assert ledger.last_time() > first_run_ends
    finally:
        ledger.close()
    with sqlite3.connect(sqlite_url[len("sqlite:"):]) as conn:
        times = [t for (t,) in conn.execute(
            "SELECT ledger_time FROM sunledger_receipts ORDER BY position")]
    assert times == sorted(times)
    second = [t for t in times if t > format_time(first_run_ends)]
    assert second and min(second) >= format_time(simulation_start(first_run_ends))
    report = verify(StoreSource(sqlite_url), workers=1)
    assert report.intact, report.findings[:3]
