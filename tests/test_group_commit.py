"""Group commit (ledger/group_commit.py, Ledger.submit_each), on SQLite and PostgreSQL: actions
appended together in one transaction are each judged on their own merits and answered as if
sent alone (a refusal refuses only its own action and is recorded; a stale version, a bad
signature, a re-sent action each get their own answer); single actions sent at once by many
threads are appended once each, in shared transactions, and the store verifies."""

from __future__ import annotations

import json
import subprocess
import threading
import time

from conftest import bid
from ledger import errors
from ledger.evidence.receipts import Receipt
from ledger.group_commit import GroupCommit
from servers import SUNLEDGER

PROJECT = "project:GROUP-1"
OTHER = "project:GROUP-2"


def witnessed(world, *streams: str):
    """Open each project with a witness officer assigned; the officer's signer."""
    if "witness-g" not in world.actors:
        world.register("witness-g", roles=("witness",))
    for stream in streams:
        world.open_project(stream)
        world.submit(world.actors["operator-1"], stream, "project.witness-assigned/v1",
                     {"officer": "witness-g"})
    return world.actors["witness-g"]


def observation(world, officer, stream: str, note: str, version=None):
    return world.sign(officer, stream, "project.witness-observation/v1", {"note": note},
                      version=version)


def _verified(store_url: str) -> None:
    done = subprocess.run([SUNLEDGER, "verify", "--store", store_url, "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["findings"] == []


def test_each_action_of_a_group_is_judged_alone(world, store_url):
    officer = witnessed(world, PROJECT, OTHER)
    world.clock.advance(days=26)  # past the bid deadline
    first = world.sign(officer, PROJECT, "project.witness-observation/v1", {"note": "one"})
    stale = world.sign(officer, OTHER, "project.witness-observation/v1", {"note": "old"},
                       version=2)
    late = world.sign(world.actors["bidder-1"], PROJECT, "project.bid-submitted/v1",
                      bid("bidder-1"))
    # the same stream again, at the version the first of the group leads to
    second = world.sign(officer, PROJECT, "project.witness-observation/v1", {"note": "two"},
                        version=world.ledger.stream_version(PROJECT) + 1)
    size = world.ledger.recorder.tree_size()
    outcomes = world.ledger.submit_each(first, stale, late, second)
    (r1, leaf1), (r2, leaf2) = outcomes[0], outcomes[3]
    assert isinstance(r1, Receipt) and isinstance(r2, Receipt)
    assert (r1.version, r2.version) == (6, 7) and leaf2 == leaf1 + 1
    assert r1.ledger_time == r2.ledger_time  # one transaction
    assert isinstance(outcomes[1], errors.StaleVersion)
    assert isinstance(outcomes[2], errors.RuleRefused)
    assert outcomes[2].details["recorded"] is True  # the late bid's refusal is evidence
    assert world.ledger.stream_version(PROJECT) == 7 and world.ledger.stream_version(OTHER) == 5
    assert world.ledger.stream_version("refusal:GROUP-1") == 1
    assert world.ledger.recorder.tree_size() == size + 3  # two events and the refusal record
    world.ledger.checkpoint()
    _verified(store_url)


def test_a_group_whose_transaction_fails_is_appended_one_by_one(world):
    """An action recorded before, sent again in a group: the group's transaction fails on its
    nonce, and each action is then appended alone: the new one recorded, the old one told
    its nonce is used (the server answers it with the first receipt)."""
    officer = witnessed(world, PROJECT, OTHER)
    again = observation(world, officer, PROJECT, "sent twice")
    world.ledger.submit(again)
    new = observation(world, officer, OTHER, "new")
    outcomes = world.ledger.submit_each(again, new)
    assert isinstance(outcomes[0], (errors.NonceReused, errors.StaleVersion))
    assert world.ledger.recorded_receipt(again) is not None
    receipt, _ = outcomes[1]
    assert receipt.stream == OTHER and world.ledger.stream_version(OTHER) == 6


def test_a_group_refused_whole_writes_nothing_and_the_ledger_goes_on(world):
    officer = witnessed(world, PROJECT)
    size = world.ledger.recorder.tree_size()
    stale = observation(world, officer, PROJECT, "stale", version=1)
    outcomes = world.ledger.submit_each(stale, stale)
    assert all(isinstance(o, errors.StaleVersion) for o in outcomes)
    assert world.ledger.recorder.tree_size() == size
    world.submit(officer, PROJECT, "project.witness-observation/v1", {"note": "after"})
    assert world.ledger.stream_version(PROJECT) == 6


def test_single_actions_sent_at_once_share_transactions_and_are_recorded_once(world, store_url):
    """Sixteen threads each append one action through one GroupCommit while the first
    group is being written: the fifteen that wait are appended together, in one
    transaction (one ledger time), each once, and the store verifies."""
    streams = [f"project:GROUP-T{n}" for n in range(16)]
    officer = witnessed(world, *streams)
    actions = [observation(world, officer, stream, f"thread {n}")
               for n, stream in enumerate(streams)]
    commit = GroupCommit(world.ledger)
    outcomes: dict[int, object] = {}
    clock = world.clock
    clock.now = lambda: clock.advance(microseconds=1)  # each transaction a time of its own

    def send(n: int) -> None:
        outcomes[n] = commit.submit(actions[n])

    with world.ledger._write:  # the first leader waits here, holding the group of one it took
        threads = [threading.Thread(target=send, args=(0,))]
        threads[0].start()
        deadline = time.monotonic() + 30
        while commit._waiting or not commit._leading:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        threads += [threading.Thread(target=send, args=(n,)) for n in range(1, 16)]
        for t in threads[1:]:
            t.start()
        while len(commit._waiting) < 15:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    for t in threads:
        t.join(60)
    assert all(isinstance(outcomes[n], tuple) for n in range(16)), outcomes
    times = [outcomes[n][0].ledger_time for n in range(16)]
    assert len(set(times[1:])) == 1 and times[0] != times[1]  # the fifteen: one transaction
    leaves = sorted(outcomes[n][1] for n in range(16))
    assert leaves == list(range(leaves[0], leaves[0] + 16))
    assert all(world.ledger.stream_version(s) == 6 for s in streams)
    world.ledger.checkpoint()
    _verified(store_url)
