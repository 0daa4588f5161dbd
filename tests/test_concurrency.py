"""Writers racing on one stream: exactly one wins, the other gets a conflict, nothing forks."""

from __future__ import annotations

import contextlib
import threading

import pytest

from conftest import MovableClock, bid
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.signer import ActorSigner
from ledger.audit.verify import StoreSource, verify
from ledger.errors import BadSignature, KeyRevoked, StaleVersion
from ledger.ledger import Ledger


@pytest.mark.parametrize("rounds", [20])
def test_two_writers_racing_on_one_stream(world, tmp_path, rounds):
    """Two ledgers (two connections, as two processes would have) append two actions signed at
    the same version to one stream: one wins, the other is stale, nothing forks."""
    stream = "project:RACE-1"
    world.open_project(stream)
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    tenderee = world.actors["tenderee-1"]
    outcomes = []
    for n in range(rounds):
        version = world.ledger.stream_version(stream)
        signed = [tenderee.sign(stream, "project.clarification-issued/v1",
                                {"document_hash": f"{n:062x}{i:02x}", "affects_bids": False},
                                expected_version=version, signed_at=world.clock.now())
                  for i in range(2)]
        results = race(signed, (world.ledger, other))
        wins = [r for r in results if not isinstance(r, StaleVersion)]
        assert len(wins) == 1, results
        assert wins[0].version == version + 1
        outcomes.append(results.index(wins[0]))
    other.close()
    # one version per round, no fork: the clarifications are versions 5..rounds+4, each once
    versions = [r[2] for r in world.raw.rows() if r[3] == "project.clarification-issued/v1"]
    assert sorted(versions) == list(range(5, rounds + 5))
    report = verify(StoreSource(world.raw.url), workers=1)
    assert report.intact, report.findings


def race(signed: list, ledgers: tuple) -> list:
    """Submit signed[i] through ledgers[i], all at once: each one's receipt or StaleVersion."""
    barrier = threading.Barrier(len(signed))
    results: list = [None] * len(signed)

    def write(i: int, ledger: Ledger) -> None:
        barrier.wait()
        try:
            results[i] = ledger.submit(signed[i])[0]
        except StaleVersion as error:
            results[i] = error

    threads = [threading.Thread(target=write, args=(i, led)) for i, led in enumerate(ledgers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("rounds", [20])
def test_two_bidders_racing_both_get_in_one_after_the_other(world, tmp_path, rounds):
    """Bids name no version (evidence-format §6): two bids appended at once through two
    ledgers are both recorded, at consecutive versions, each linked to the one before."""
    stream = "project:RACE-2"
    world.open_project(stream)
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    bidders = [world.actors["bidder-1"], world.actors["bidder-2"]]
    for n in range(rounds):
        version = world.ledger.stream_version(stream)
        signed = [b.sign(stream, "project.bid-submitted/v1", bid(b.actor, n),
                         expected_version=None, signed_at=world.clock.now()) for b in bidders]
        results = race(signed, (world.ledger, other))
        assert sorted(r.version for r in results) == [version + 1, version + 2], results
    other.close()
    rows = [r for r in world.raw.rows() if r[3] == "project.bid-submitted/v1"]
    assert sorted(r[2] for r in rows) == list(range(5, 2 * rounds + 5))
    report = verify(StoreSource(world.raw.url), workers=1)
    assert report.intact, report.findings


def test_a_stale_cache_is_refreshed_not_refused(world, tmp_path):
    """Another writer advanced the stream: a client who read the true version is accepted."""
    stream = "project:CACHE-1"
    world.open_project(stream)
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    b = world.actors["bidder-1"]
    other.submit(b.sign(stream, "project.bid-submitted/v1", bid("bidder-1", 1),
                        expected_version=4, signed_at=world.clock.now()))
    receipt, = world.ledger.submit(b.sign(stream, "project.bid-submitted/v1", bid("bidder-1", 2),
                                          expected_version=5, signed_at=world.clock.now()))
    assert receipt.version == 6
    other.close()


def test_a_key_revoked_by_another_writer_is_not_used(world, tmp_path):
    """Process A cached bidder-1's key; process B revokes it; A must not accept it."""
    stream = "project:KEY-1"
    b = world.actors["bidder-1"]
    world.open_project(stream)
    world.submit(b, stream, "project.bid-submitted/v1", bid("bidder-1", 1))  
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    other.submit(world.registrar.sign("actor:bidder-1", "actor.key-revoked/v1",
                                      {"key_id": b.key.key_id, "reason": "stolen"},
                                      expected_version=2, signed_at=world.clock.now()))

    # A's append finds the log moved on (its leaf index is taken), and is tried once more
    # from the stored state, which has the revocation
    with pytest.raises(KeyRevoked):
        world.ledger.submit(b.sign(stream, "project.bid-submitted/v1", bid("bidder-1"),
                                   expected_version=5, signed_at=world.clock.now()))
    assert world.ledger.stream_version(stream) == 5
    other.close()


def test_a_signature_checked_ahead_of_the_append_decides_nothing(world, tmp_path):
    """A server checks signatures before the append's write turn (Ledger.check_signatures),
    with the keys it last read; the append judges every key again as the ledger stands then.
    A key revoked by another writer after the check is refused, a bad signature is refused
    by the append, and a check made with one key never vouches for another."""
    stream = "project:KEY-3"
    b = world.actors["bidder-1"]
    world.open_project(stream)
    world.submit(b, stream, "project.bid-submitted/v1", bid("bidder-1", 1))
    ahead = b.sign(stream, "project.bid-submitted/v1", bid("bidder-1", 2),
                   expected_version=None, signed_at=world.clock.now())
    world.ledger.check_signatures([ahead])
    assert ahead.verifies_with(b.key.public_key)
    assert not ahead.verifies_with(world.actors["bidder-2"].key.public_key)
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    other.submit(world.registrar.sign("actor:bidder-1", "actor.key-revoked/v1",
                                      {"key_id": b.key.key_id, "reason": "stolen"},
                                      expected_version=2, signed_at=world.clock.now()))
    other.close()
    with pytest.raises(KeyRevoked):
        world.ledger.submit(ahead)
    c = world.actors["bidder-2"]
    forged = c.sign(stream, "project.bid-submitted/v1", bid("bidder-2", 3),
                    expected_version=None, signed_at=world.clock.now())
    forged = type(forged)(forged.action, bytes(64))  # a signature that does not verify
    world.ledger.check_signatures([forged])  # decides nothing: the append refuses it
    with pytest.raises(BadSignature):
        world.ledger.submit(forged)
    assert world.ledger.stream_version(stream) == 5


def test_a_key_revoked_between_reading_and_storing_is_caught_before_the_append_lands(world,
                                                                                     tmp_path):
    """B revokes the key after A has read it but before A's transaction: A's leaves collide
    with B's (A's frontier comes from the events before its transaction, never from stored
    nodes read inside it), A tries again from the log as it now stands, and its key is found
    revoked. Nothing of A's is stored."""
    stream = "project:KEY-2"
    b = world.actors["bidder-1"]
    world.open_project(stream)
    world.submit(b, stream, "project.bid-submitted/v1", bid("bidder-1", 1))
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    # on SQLite, writers of one file take turns (stores/write_turn.py) and B would wait for
    # A: B here is a writer that does not (an older one), as on PostgreSQL any other is
    other._turn = contextlib.nullcontext()
    other.recorder.datastore.__dict__.pop("transaction", None)  # its writes: no turn either
    revoke = world.registrar.sign("actor:bidder-1", "actor.key-revoked/v1",
                                  {"key_id": b.key.key_id, "reason": "stolen"},
                                  expected_version=2, signed_at=world.clock.now())
    put = world.ledger.events.put

    def revoke_then_put(events, **kwargs):  # B's append lands between A's checks and commit
        other.submit(revoke)
        return put(events, **kwargs)

    world.ledger.events.put = revoke_then_put
    try:
        with pytest.raises(KeyRevoked):
            world.ledger.submit(b.sign(stream, "project.bid-submitted/v1", bid("bidder-1"),
                                       expected_version=5, signed_at=world.clock.now()))
    finally:
        world.ledger.events.put = put
    assert world.ledger.stream_version(stream) == 5
    other.close()


def test_two_writers_of_one_sqlite_file_take_turns_instead_of_colliding(sqlite_url, tmp_path):
    """Two ledgers on one SQLite file (as `serve --workers 2` has), four threads each,
    appending at once: each append waits for its turn (stores/write_turn.py), so it collides
    on leaf indexes at most once (when the frontier its ledger kept from its own last append
    is behind) and then commits from the log read in its turn; everything is recorded and
    verifies."""
    clock = MovableClock()
    ledgers = [Ledger.open(sqlite_url, clock=clock, key_path=tmp_path / "ledger.key")
               for _ in range(2)]
    registrar = ActorSigner(LEDGER_ACTOR, ledgers[0].key)
    tries: dict[str, int] = {}
    for ledger in ledgers:
        once = ledger._append_once

        def counted(signed, starting, *each, once=once):
            stream = signed[0].action.stream
            tries[stream] = tries.get(stream, 0) + 1
            return once(signed, starting, *each)

        ledger._append_once = counted
    failures: list = []

    def write(ledger: Ledger, thread: int) -> None:
        try:
            for n in range(15):
                ledger.submit(registrar.sign(
                    f"actor:turn-{thread}-{n}", "actor.registered/v1",
                    {"name": "Fictional", "roles": ["bidder"], "organisation": "虚构单位"},
                    expected_version=0, signed_at=clock.now()))
        except Exception as error:  # noqa: BLE001 (the test reports whatever went wrong)
            failures.append(error)

    threads = [threading.Thread(target=write, args=(ledgers[t % 2], t)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ledger in ledgers:
        ledger.close()
    assert not failures, failures
    assert len(tries) == 8 * 15 and max(tries.values()) <= 2, sorted(tries.values())[-5:]
    report = verify(StoreSource(sqlite_url), workers=1)
    assert report.intact, report.findings


def test_a_bid_goes_to_the_stored_head_whatever_this_process_cached(world, tmp_path):
    """A bid names no version (evidence-format §6): the ledger places it at the head as
    stored, not as this process last saw it. Ledger B saw the project, ledger A (another
    process) bid since, and B appended elsewhere after that (so its frontier of the log is
    current, and only its view of the project is behind): B's next bid is recorded after A's,
    never refused as stale."""
    stream = "project:HEAD-1"
    world.open_project(stream)
    world.open_project("project:HEAD-2")
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    b1, b2 = world.actors["bidder-1"], world.actors["bidder-2"]

    def bid_through(ledger: Ledger, bidder, n: int):
        return ledger.submit(bidder.sign(stream, "project.bid-submitted/v1", bid(bidder.actor, n),
                                         expected_version=None, signed_at=world.clock.now()))[0]

    try:
        assert bid_through(other, b1, 1).version == 5  # B has the project cached at 5
        assert bid_through(world.ledger, b2, 2).version == 6  # A bids meanwhile
        other.submit(b2.sign("project:HEAD-2", "project.bid-submitted/v1", bid(b2.actor, 9),
                             expected_version=None, signed_at=world.clock.now()))
        assert bid_through(other, b1, 3).version == 7
        assert bid_through(other, b2, 4).version == 8
    finally:
        other.close()
    report = verify(StoreSource(world.raw.url), workers=1)
    assert report.intact, report.findings


def test_a_state_read_is_never_changed_by_a_later_append(world, project, tmp_path):
    """A reader's state is its own to read while others append: the ledger folds new events
    into a copy and caches that, never into the object it handed out (threads reading a
    project while bidders append to it saw states change under them, and the cache refolded
    the whole project from its first event when a fold met a state advanced meanwhile)."""
    read = world.ledger.stream(project)
    version, bids = read.version, dict(read.state.bids)
    world.submit(world.actors["bidder-1"], project, "project.bid-submitted/v1", bid("bidder-1", 99))
    assert (read.version, read.state.bids) == (version, bids)  # unchanged
    again = world.ledger.stream(project)
    assert again.version == version + 1 and again is not read
    # a state another process's append moved on is folded into a copy too
    other = Ledger.open(world.raw.url, key_path=tmp_path / "ledger.key")
    try:
        other.stream(project)
        world.submit(world.actors["bidder-2"], project, "project.bid-submitted/v1",
                     bid("bidder-2", 98))
        before = other.stream(project, fresh=False)
        held = before.version
        assert other.stream(project).version == held + 1 and before.version == held
    finally:
        other.close()
