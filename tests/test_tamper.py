"""Tampering with plain SQL, behind the library's back: the verifier finds each change and
names the right stream and version. On a SQLite file and on the PostgreSQL server."""

from __future__ import annotations

import json

from conftest import bid


from ledger.audit.verify import (
    BAD_RECEIPT, BAD_SIGNATURE, CONTENT_ALTERED, DUPLICATE, KEY_REVOKED, LINK_BROKEN,
    MALFORMED_EVENT, MISSING_EVENT, OUT_OF_ORDER, UNDECODABLE_ROW, UNKNOWN_KEY, StoreSource, verify,
)
from ledger.evidence.canonical import canonical_json
from ledger.evidence.envelope import action_bytes, encode_signature
from ledger.evidence.envelope import event_hash, stream_uuid
from ledger.evidence.keys import SigningKey


def run_verify(url: str, workers: int = 1):
    return verify(StoreSource(url), workers=workers)


def kinds_at(report, stream: str, version: int) -> set[str]:
    return {f.kind for f in report.findings if f.stream == stream and f.version == version}


def envelope(raw, stream: str, version: int) -> dict:
    return json.loads(raw.row_of(stream_uuid(stream), version)[4])


def test_intact_store_verifies_clean(world, project):
    report = run_verify(world.raw.url, workers=2)
    assert report.intact, report.findings
    assert report.events == len(world.raw.rows()) == 1 + 4 * 2 + 10
    assert report.receipts == report.events
    assert report.origin == world.ledger.origin


def test_one_byte_of_a_payload_changed(world, project):
    sid = stream_uuid(project)
    state = world.raw.row_of(sid, 7)[4]
    assert b"0000000000000002" in state
    world.raw.set_state(sid, 7, state.replace(b"0000000000000002", b"0000000000000003", 1))
    report = run_verify(world.raw.url)
    assert CONTENT_ALTERED in kinds_at(report, project, 7)
    assert {f.version for f in report.findings} == {7}, report.findings


def test_two_payloads_swapped(world, project):
    a, b = envelope(world.raw, project, 6), envelope(world.raw, project, 9)
    a["payload"], b["payload"] = b["payload"], a["payload"]
    world.raw.set_state(stream_uuid(project), 6, canonical_json(a))
    world.raw.set_state(stream_uuid(project), 9, canonical_json(b))
    report = run_verify(world.raw.url)
    assert CONTENT_ALTERED in kinds_at(report, project, 6)
    assert CONTENT_ALTERED in kinds_at(report, project, 9)
    assert {f.version for f in report.findings} == {6, 9}


def test_whole_rows_swapped_between_versions(world, project):
    sid = stream_uuid(project)
    s6, s9 = world.raw.row_of(sid, 6)[4], world.raw.row_of(sid, 9)[4]
    world.raw.set_state(sid, 6, s9)
    world.raw.set_state(sid, 9, s6)
    report = run_verify(world.raw.url)
    assert kinds_at(report, project, 6) & {DUPLICATE, OUT_OF_ORDER}
    assert kinds_at(report, project, 9) & {DUPLICATE, OUT_OF_ORDER}


def test_event_deleted_from_the_middle_of_a_stream(world, project):
    world.raw.delete(stream_uuid(project), 7)
    report = run_verify(world.raw.url)
    assert MISSING_EVENT in kinds_at(report, project, 7)
    assert not report.intact


def test_last_event_of_a_stream_deleted_leaves_its_receipt(world, project):
    world.raw.delete(stream_uuid(project), 10)
    report = run_verify(world.raw.url)
    assert kinds_at(report, project, 10) == {MISSING_EVENT}


def test_forged_event_inserted(world, project):
    """The forger knows the format and links correctly, but holds no registered key."""
    last = envelope(world.raw, project, 10)
    forger = SigningKey.derived(b"forger", "x")
    forged = {**last, "version": 11, "prev": last["hash"], "nonce": "f" * 32,
              "payload": {"bidder": last["actor"], "bid_hash": "e" * 64}}
    forged["signature"] = encode_signature(forger.sign(action_bytes(forged)))
    forged["hash"] = event_hash(forged)
    world.raw.insert(stream_uuid(project), 11, forged["type"], canonical_json(forged))
    report = run_verify(world.raw.url)
    assert kinds_at(report, project, 11) == {BAD_SIGNATURE, BAD_RECEIPT}
    assert {f.version for f in report.findings if f.stream != "log"} == {11}
    # the forged row has no leaf: the store's own tree says so too
    assert {f.kind for f in report.findings if f.stream == "log"} == {"leaf_row_altered",
                                                                      "tree_row_altered"}


def test_type_changed_in_the_row(world, project):
    world.raw.set_topic(stream_uuid(project), 8, "project.awarded/v1")
    report = run_verify(world.raw.url)
    assert kinds_at(report, project, 8) == {CONTENT_ALTERED}


def test_type_changed_inside_the_event(world, project):
    e = envelope(world.raw, project, 8)
    e["type"] = "project.documents-obtained/v1"
    world.raw.set_state(stream_uuid(project), 8, canonical_json(e))
    report = run_verify(world.raw.url)
    assert CONTENT_ALTERED in kinds_at(report, project, 8)


def test_event_resigned_with_an_unregistered_key(world, project):
    e = envelope(world.raw, project, 6)
    stranger = SigningKey.derived(b"stranger", "bidder-2")
    e["key_id"] = stranger.key_id
    e["signature"] = encode_signature(stranger.sign(action_bytes(e)))
    e["hash"] = event_hash(e)
    world.raw.set_state(stream_uuid(project), 6, canonical_json(e))
    report = run_verify(world.raw.url)
    assert UNKNOWN_KEY in kinds_at(report, project, 6)
    assert LINK_BROKEN in kinds_at(report, project, 7)  # the next event still names the old hash


def test_undecodable_row(world, project):
    world.raw.set_state(stream_uuid(project), 5, b"\xff\xfenot json")
    report = run_verify(world.raw.url)
    assert UNDECODABLE_ROW in kinds_at(report, project, 5)


def test_a_valid_event_copied_elsewhere_is_a_duplicate(world, project):
    state = world.raw.row_of(stream_uuid(project), 5)[4]
    world.raw.insert(stream_uuid(project), 11, "project.bid-submitted/v1", state)
    report = run_verify(world.raw.url)
    assert DUPLICATE in kinds_at(report, project, 11)


def test_event_signed_after_its_key_was_revoked(world, project):
    """Revocation moved before a signed event (by rewriting positions) is found as such."""
    bidder = world.actors["bidder-1"]
    world.submit(world.registrar, "actor:bidder-1", "actor.key-revoked/v1",
                 {"key_id": bidder.key.key_id, "reason": "test"})
    rows = world.raw.rows()
    revoke = rows[-1]
    # move the revocation's row (and its receipt) to just before version 5 of the project (its first bid)
    target = next(r for r in rows if r[1] == stream_uuid(project).hex and r[2] == 5)
    pos = world.raw.position
    free = min(r[0] for r in rows) - 1 if world.raw.engine == "sqlite" else -1
    world.raw.execute(f"UPDATE {world.raw.events} SET {pos}=? WHERE {pos}=?", (free, target[0]))
    world.raw.execute(f"UPDATE {world.raw.events} SET {pos}=? WHERE {pos}=?", (target[0], revoke[0]))
    world.raw.execute(f"UPDATE {world.raw.events} SET {pos}=? WHERE {pos}=?", (revoke[0], free))
    report = run_verify(world.raw.url)
    assert KEY_REVOKED in kinds_at(report, project, 5)


def test_a_lone_surrogate_in_a_stored_row_is_undecodable(world, project):
    state = world.raw.row_of(stream_uuid(project), 5)[4]
    assert b'"bidder":"bidder-1"' in state
    world.raw.set_state(stream_uuid(project), 5, state.replace(b'"bidder":"bidder-1"',
                                                               b'"bidder":"\\ud800"', 1))
    report = run_verify(world.raw.url)
    assert UNDECODABLE_ROW in kinds_at(report, project, 5)


def test_an_event_the_rules_forbid_is_malformed_even_when_signed(world, project):
    """Someone holding the bidder's key writes, behind the ledger, a type it would refuse."""
    e = envelope(world.raw, project, 8)
    e["type"] = "actor.registered/v1"
    e["signature"] = encode_signature(world.actors["bidder-1"].key.sign(
        action_bytes(e)))
    e["hash"] = event_hash(e)
    world.raw.set_state(stream_uuid(project), 8, canonical_json(e))
    world.raw.set_topic(stream_uuid(project), 8, e["type"])
    report = run_verify(world.raw.url)
    assert MALFORMED_EVENT in kinds_at(report, project, 8)


def test_after_the_newest_event_is_deleted_the_ledger_still_appends(world, project):
    """Positions are never reused, so the deleted event's receipt cannot block new appends."""
    world.raw.delete(stream_uuid(project), 10)
    world.ledger.stream(project)  # the ledger re-reads the stream
    receipt = world.submit(world.actors["bidder-2"], project, "project.bid-submitted/v1",
                           bid("bidder-2", 77))
    assert receipt.version == 10
    report = run_verify(world.raw.url)
    # the deleted event's leaf is still stored, so the stored tree is not the events' either
    assert {f.kind for f in report.findings} == {MISSING_EVENT, "leaf_row_altered",
                                                 "tree_row_altered"}


def test_workers_forked_before_the_store_opens_find_what_one_process_finds(world, project):
    """A command's verifier forks its workers before it opens the store (one thread then),
    and they wait for the registry it replays: the findings are one process's findings."""
    import subprocess
    import sys

    sid = stream_uuid(project)
    state = world.raw.row_of(sid, 7)[4]
    world.raw.set_state(sid, 7, state.replace(b"0000000000000002", b"0000000000000003", 1))
    script = ("import json, sys, threading\n"
              "from ledger.audit.verify import StoreSource, verify, _WaitingPool\n"
              "assert threading.active_count() == 1\n"
              "forked = []\n"
              "begin = _WaitingPool.begin\n"
              "_WaitingPool.begin = lambda self, *a: forked.append(1) or begin(self, *a)\n"
              "report = verify(StoreSource(sys.argv[1], job_size=4), workers=2)\n"
              "print(json.dumps({'forked': forked, **report.to_json()}))\n")
    done = subprocess.run([sys.executable, "-c", script, world.raw.url], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    forked = json.loads(done.stdout)
    alone = verify(StoreSource(world.raw.url, job_size=4), workers=1).to_json()
    assert forked.pop("forked") == [1]  # the waiting workers did the checking
    assert forked == alone and not alone["intact"]
    assert CONTENT_ALTERED in {f["kind"] for f in alone["findings"] if f["version"] == 7}


def test_a_verifier_stopped_midway_ends_its_workers_and_exits(world, project):
    """Ctrl-C reaches the verifier and its workers (one process group) while jobs are still
    queued: the pool must end all the same, and only the main process speaks. Its task
    thread once waited forever for room to queue the next job, and the command hung."""
    import subprocess
    import sys

    from api.simulate import simulate

    simulate(world.ledger, projects=2, seed=3, batch=50)  # more jobs than may be in flight
    # A shell that runs a job in the background without job control starts it with SIGINT
    # ignored, and Python then never raises KeyboardInterrupt: as a terminal does, the
    # script first takes Ctrl-C as Python's default (CI may run the suite in such a job).
    script = ("import os, signal, sys\n"
              "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "import ledger.audit.verify as v\n"
              "sequence = v._sequence\n"
              "def interrupted(*args, **kwargs):\n"
              "    os.killpg(0, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group\n"
              "    signal.pause()\n"
              "v._sequence = interrupted\n"
              "try:\n"
              "    v.verify(v.StoreSource(sys.argv[1], job_size=1), workers=2)\n"
              "except KeyboardInterrupt:\n"
              "    print('stopped')\n")
    done = subprocess.run([sys.executable, "-c", script, world.raw.url], capture_output=True,
                          text=True, timeout=120, start_new_session=True)
    assert done.returncode == 0 and done.stdout == "stopped\n", done.stderr
    assert "Traceback" not in done.stderr, done.stderr
