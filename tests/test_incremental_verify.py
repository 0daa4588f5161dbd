"""Incremental verification (evidence-format §14.7): a run that starts after a checkpoint an
earlier run verified gives the verdict the full run gives on what came after it, remembers
the same state, and still catches a rewritten checkpoint; what it does not re-read is left to
the full run, which catches it."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from api.simulate import simulate
from ledger.audit.trusted import TrustedCheckpoint, VerifierStateError
from ledger.audit.verify import StoreSource, verify
from ledger.log.checkpoints import Checkpoint, parse_checkpoint
from ledger.log.notes import sign_note


def _grow(world, seed: int) -> None:
    simulate(world.ledger, projects=1, seed=seed, batch=50)
    world.ledger.checkpoint()


def _kinds(report) -> set[tuple[str, int | None]]:
    return {(f.kind, f.position) for f in report.findings}


@pytest.fixture
def trusted(world):
    """A ledger verified once, the state remembered, then grown by one more project."""
    _grow(world, 1)
    first = verify(StoreSource(world.raw.url), workers=1)
    assert first.intact and first.trusted is not None
    _grow(world, 2)
    return world, first.trusted


def test_an_incremental_run_agrees_with_the_full_run(trusted):
    world, state = trusted
    since = verify(StoreSource(world.raw.url), workers=1, since=state)
    full = verify(StoreSource(world.raw.url), workers=1)
    assert since.intact and full.intact
    assert since.events == full.events - state.size and since.since == state.size
    assert since.trusted == full.trusted  # the same memory of the latest checkpoint
    assert since.trusted.size > state.size


def test_a_bundle_is_verified_after_the_same_checkpoint(trusted, tmp_path):
    from ledger.audit.bundle import BundleSource, export_bundle
    from ledger.stores.url import parse_store_url

    world, state = trusted
    bundle = tmp_path / "evidence.zip"
    export_bundle(parse_store_url(world.raw.url), bundle)
    since = verify(BundleSource(bundle), workers=1, since=state)
    full = verify(StoreSource(world.raw.url), workers=1)
    assert since.intact and since.events == full.events - state.size
    assert since.trusted == full.trusted


def test_an_event_changed_after_the_trusted_checkpoint_is_caught(trusted):
    world, state = trusted
    position, event_state = world.raw.execute(
        f"SELECT {world.raw.position}, state FROM {world.raw.events} WHERE "
        f"{world.raw.position} > ? ORDER BY {world.raw.position} LIMIT 1", (state.position,))[0]
    world.raw.execute(f"UPDATE {world.raw.events} SET state=? WHERE {world.raw.position}=?",
                      (bytes(event_state).replace(b'"version":', b'"version": ', 1), position))
    since = verify(StoreSource(world.raw.url), workers=1, since=state)
    full = verify(StoreSource(world.raw.url), workers=1)
    assert ("content_altered", position) in _kinds(since)
    assert _kinds(since) == {k for k in _kinds(full) if k[1] is None or k[1] > state.position}
    assert since.trusted is None and full.trusted is None  # nothing remembered after findings


def test_an_event_changed_before_it_is_left_to_the_full_run(trusted):
    world, state = trusted
    position, event_state = world.raw.execute(
        f"SELECT {world.raw.position}, state FROM {world.raw.events} WHERE "
        f"topic='project.bid-submitted/v1' AND {world.raw.position} <= ? LIMIT 1",
        (state.position,))[0]
    world.raw.execute(f"UPDATE {world.raw.events} SET state=? WHERE {world.raw.position}=?",
                      (bytes(event_state).replace(b'"bid_hash":"', b'"bid_hash":"f', 1), position))
    assert verify(StoreSource(world.raw.url), workers=1, since=state).intact  # not re-read
    assert ("content_altered", position) in _kinds(verify(StoreSource(world.raw.url), workers=1))


def test_a_rewritten_trusted_checkpoint_is_caught_by_the_incremental_run(trusted):
    """An insider with the ledger key re-signs the checkpoint the verifier trusted over
    another root: the compact range it remembered no longer gives what the store states."""
    world, state = trusted
    table = world.raw.table("sunledger_checkpoints")
    (note,), = world.raw.execute(f"SELECT note FROM {table} WHERE tree_size=?", (state.size,))
    checkpoint = parse_checkpoint(note.split("\n\n")[0] + "\n")
    forged = sign_note(Checkpoint(checkpoint.origin, state.size, bytes(32)).text(),
                       checkpoint.origin, world.ledger.key)
    world.raw.execute(f"UPDATE {table} SET note=? WHERE tree_size=?", (forged, state.size))
    since = verify(StoreSource(world.raw.url), workers=1, since=state)
    assert ("checkpoint_mismatch", None) in _kinds(since)


def test_a_state_of_another_log_is_refused(trusted, tmp_path):
    world, state = trusted
    other = TrustedCheckpoint(**{**state.__dict__, "origin": "another.example/log"})
    with pytest.raises(VerifierStateError, match="another.example/log"):
        verify(StoreSource(world.raw.url), workers=1, since=other)
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(VerifierStateError, match="not a verifier state"):
        TrustedCheckpoint.load(path)


def test_the_command_remembers_and_starts_after_it(trusted, tmp_path):
    world, _ = trusted
    state = tmp_path / "jgj-verifier.json"

    def run(*extra: str) -> dict:
        done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()",
                               "verify", "--store", world.raw.url, "--state", str(state),
                               "--json", *extra], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = run()
    assert first["since"] is None and state.exists()
    _grow(world, 3)
    second = run()
    assert second["since"] == first["events"] and 0 < second["events"] < first["events"]
    again = run("--full")
    assert again["since"] is None and again["events"] == first["events"] + second["events"]
    state.write_text("{}")
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "verify",
                           "--store", world.raw.url, "--state", str(state)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "not a verifier state" in done.stderr


class _CountedSource(StoreSource):
    """A store source that counts the registry rows it is asked for."""

    def __init__(self, url: str):
        super().__init__(url)
        self.registry_read: list[int] = []

    def registry_rows(self, after: int = 0):
        for row in super().registry_rows(after):
            self.registry_read.append(row[0])
            yield row


def test_the_registry_is_remembered_and_only_its_later_events_are_read(trusted):
    """The state remembers the registry events applied up to its checkpoint; the next run
    reads only the later ones, and a key revoked after the checkpoint counts from there."""
    world, state = trusted
    assert state.registry and all(p <= state.position for p, _ in state.registry)
    bidder = world.actors["bidder-1"]
    world.submit(world.registrar, "actor:bidder-1", "actor.key-revoked/v1",
                 {"key_id": bidder.key.key_id, "reason": "the token was lost"})
    world.ledger.checkpoint()
    source = _CountedSource(world.raw.url)
    since = verify(source, workers=1, since=state)
    full = verify(StoreSource(world.raw.url), workers=1)
    assert since.intact and full.intact and since.trusted == full.trusted
    assert source.registry_read and min(source.registry_read) > state.position
    revoked = [json.loads(text) for _, text in since.trusted.registry]
    assert revoked[-1]["type"] == "actor.key-revoked/v1"
    # a state written before states remembered the registry: the registry is read whole
    older = TrustedCheckpoint(**{**state.__dict__, "registry": None})
    source = _CountedSource(world.raw.url)
    again = verify(source, workers=1, since=older)
    assert again.intact and again.trusted == full.trusted and min(source.registry_read) == 1


def test_a_damaged_remembered_registry_or_another_pinned_key_is_refused(trusted, tmp_path):
    from ledger.evidence.keys import SigningKey

    world, state = trusted
    damaged = TrustedCheckpoint(**{**state.__dict__,
                                   "registry": [[state.registry[0][0], "{not json"]]})
    with pytest.raises(VerifierStateError, match="registry event at position"):
        verify(StoreSource(world.raw.url), workers=1, since=damaged)
    path = tmp_path / "state.json"
    TrustedCheckpoint(**{**state.__dict__, "registry": [[state.position + 1, "{}"]]}).save(path)
    with pytest.raises(VerifierStateError, match="not a verifier state"):
        TrustedCheckpoint.load(path)  # a remembered event beyond the checkpoint it is of
    pinned = verify(StoreSource(world.raw.url), workers=1, since=state,
                    pinned_ledger_key=SigningKey.generate().public_key)
    assert ("no_ledger_key", None) in _kinds(pinned) and pinned.trusted is None


def test_remembered_heads_map_nodes_that_do_not_give_its_root_are_refused(trusted):
    world, state = trusted
    kept = state.heads_subtrees
    assert kept is not None and kept["nodes"], "an intact run remembers the map's nodes"
    prefix = next(iter(kept["nodes"]))
    nodes = {**kept["nodes"], prefix: base64.b64encode(bytes(32)).decode()}
    damaged = TrustedCheckpoint(**{**state.__dict__, "heads_subtrees": {**kept, "nodes": nodes}})
    with pytest.raises(VerifierStateError, match="heads map nodes"):
        verify(StoreSource(world.raw.url), workers=1, since=damaged)
    # a state without them (or of another depth) still resumes, hashing the map whole
    for without in (None, {**kept, "depth": kept["depth"] + 1}):
        resumed = verify(StoreSource(world.raw.url), workers=1,
                         since=TrustedCheckpoint(**{**state.__dict__, "heads_subtrees": without}))
        assert resumed.intact and resumed.trusted == verify(StoreSource(world.raw.url),
                                                            workers=1, since=state).trusted


@pytest.mark.parametrize("member, value", [
    ("size", 1.5), ("position", "7"), ("root", 7), ("last_time", None), ("origin", 1),
    ("frontier", [1]), ("frontier", "AAAA"), ("streams", {"ab": [1, "h"]}),
    ("streams", {"ab": [1.0, "h", "project:X"]}), ("registry", [[0, "{}"]]),
    ("registry", [["1", "{}"]]), ("registry", "rows"), ("heads_subtrees", []),
    ("heads_subtrees", {"depth": 10, "root": "AAAA", "nodes": {"x": "AAAA"}}),
    ("heads_subtrees", {"depth": "10", "root": "AAAA", "nodes": {}}),
])
def test_a_state_file_with_a_member_of_the_wrong_kind_is_refused_clearly(trusted, tmp_path,
                                                                          member, value):
    world, state = trusted
    path = tmp_path / "state.json"
    data = {"format": "sunledger-verifier-state/v1", **state.__dict__, member: value}
    path.write_text(json.dumps(data))
    with pytest.raises(VerifierStateError, match="not a verifier state"):
        TrustedCheckpoint.load(path)
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "verify",
                           "--store", world.raw.url, "--state", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
