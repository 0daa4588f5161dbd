"""Reads of a stream's state, current and as of a past version: the same state a fold of the
stored events gives, from the nearest snapshot, and never from a snapshot the store no longer
bears out."""

from __future__ import annotations

import json
import random

import pytest

from api.simulate import SimulatedClock, Sizes, simulate
from ledger.evidence.envelope import stream_uuid
from ledger.ledger import Ledger
from ledger.state_cache import Snapshots, StreamCache
from ledger.streams import SNAPSHOT_EVERY, ProjectStream
from projections.project_state import project_events, replay

from conftest import RawStore

SIXTY_BIDDERS = Sizes(large_share=1.0, large=(60, 60))  # a project of several hundred events


@pytest.fixture
def large_project(store_url, tmp_path):
    ledger = Ledger.open(store_url, key_path=tmp_path / "ledger.key", clock=SimulatedClock())
    simulate(ledger, projects=1, seed=4, batch=50, sizes=SIXTY_BIDDERS)
    stream = "project:sim4-00001"
    yield ledger, stream, store_url
    ledger.close()


def _folded(events: list[dict], version: int):
    return replay(events, at_version=version, steps=False)[0]


def test_the_state_as_of_any_version_is_the_fold_of_the_stored_events(large_project):
    ledger, stream, _ = large_project
    events = project_events(ledger.recorder, stream)
    newest = len(events)
    assert newest > 3 * SNAPSHOT_EVERY
    versions = [1, SNAPSHOT_EVERY - 1, SNAPSHOT_EVERY, SNAPSHOT_EVERY + 1, newest // 2, newest]
    versions += random.Random(1).sample(range(1, newest + 1), 20)
    for version in versions:
        as_of = ledger.stream_at(stream, version)
        assert isinstance(as_of, ProjectStream)
        assert as_of.version == version and as_of.head == events[version - 1]["hash"]
        assert as_of.state == _folded(events, version), version
    assert ledger.stream_at(stream, newest + 50).version == newest  # as of now
    assert ledger.stream_at(stream, 0) is None
    assert ledger.stream_at("project:never-opened", 5) is None
    assert ledger.stream_at(stream, newest).state == ledger.stream(stream).state


def test_an_as_of_read_folds_from_the_nearest_snapshot_and_leaves_it_unchanged(large_project):
    ledger, stream, _ = large_project
    events = project_events(ledger.recorder, stream)
    ledger.stream_at(stream, len(events))  # one fold from the first: snapshots on the way
    uid = stream_uuid(stream)
    kept = ledger._snapshots.nearest(uid, 2 * SNAPSHOT_EVERY + 7)
    assert kept is not None and kept.version == 2 * SNAPSHOT_EVERY
    before = kept.state.copy()
    later = ledger.stream_at(stream, 2 * SNAPSHOT_EVERY + 7)
    assert later.state == _folded(events, 2 * SNAPSHOT_EVERY + 7)
    assert kept.state == before and later is not kept  # folded on a copy


def test_a_snapshot_the_store_no_longer_bears_out_is_not_used(large_project):
    """An event changed behind the ledger's back at a snapshot's version: the snapshot is
    dropped and the state folded again from what the store holds (verify says what changed)."""
    ledger, stream, url = large_project
    ledger.stream_at(stream, 3 * SNAPSHOT_EVERY)
    uid = stream_uuid(stream)
    assert ledger._snapshots.nearest(uid, 3 * SNAPSHOT_EVERY).version == 3 * SNAPSHOT_EVERY
    raw = RawStore(url)
    key = uid.hex if raw.engine == "sqlite" else uid
    (state,), = raw.execute(f"SELECT state FROM {raw.events} WHERE originator_id=? AND "
                            "originator_version=?", (key, 3 * SNAPSHOT_EVERY))
    event = json.loads(bytes(state))
    event["hash"] = "0" * 64
    raw.execute(f"UPDATE {raw.events} SET state=? WHERE originator_id=? AND originator_version=?",
                (json.dumps(event).encode(), key, 3 * SNAPSHOT_EVERY))
    as_of = ledger.stream_at(stream, 3 * SNAPSHOT_EVERY + 5)
    assert as_of.head == project_events(ledger.recorder, stream)[3 * SNAPSHOT_EVERY + 4]["hash"]
    assert ledger._snapshots.nearest(uid, 3 * SNAPSHOT_EVERY).head == "0" * 64  # the new fold's
    raw.execute(f"DELETE FROM {raw.events} WHERE originator_id=? AND originator_version=?",
                (key, 2 * SNAPSHOT_EVERY + 50))
    with pytest.raises(Exception, match="missing from the store"):
        ledger.stream_at(stream, 3 * SNAPSHOT_EVERY + 5)


def test_snapshots_stay_within_their_capacity_the_least_recently_used_going_first():
    from uuid import uuid4

    snapshots = Snapshots(capacity=3)
    streams = [ProjectStream(uuid4()) for _ in range(2)]
    for version in (100, 200, 300):
        streams[0].version = version
        snapshots.keep(streams[0])
    assert snapshots.nearest(streams[0].id, 150).version == 100  # now the most recent
    streams[1].version = 100
    snapshots.keep(streams[1])
    assert len(snapshots) == 3
    assert snapshots.nearest(streams[0].id, 250).version == 100  # 200 went first
    assert snapshots.nearest(streams[0].id, 99) is None
    snapshots.forget(streams[0].id)
    assert len(snapshots) == 1 and snapshots.nearest(streams[1].id, 500).version == 100


def test_snapshots_stay_within_the_events_folded_into_them():
    """A snapshot copies its state's containers: the snapshots of one long stream are bounded
    by their weight, not by their number alone."""
    from uuid import uuid4

    snapshots = Snapshots(capacity=256, events=2_000)
    stream = ProjectStream(uuid4())
    for version in range(100, 1_001, 100):  # 5,500 events folded into ten snapshots
        stream.version = version
        snapshots.keep(stream)
    assert len(snapshots) == 2 and snapshots.weight == 1_900  # the oldest went first
    assert snapshots.nearest(stream.id, 950).version == 900
    assert snapshots.nearest(stream.id, 850) is None
    stream.version = 5_000  # over the bound alone: kept, as the one just folded
    snapshots.keep(stream)
    assert len(snapshots) == 1 and snapshots.weight == 5_000
    snapshots.forget(stream.id)
    assert len(snapshots) == 0 and snapshots.weight == 0


def test_the_stream_cache_stays_within_its_streams_and_its_events():
    from uuid import uuid4

    cache = StreamCache(streams=3, events=100)
    streams = [ProjectStream(uuid4()) for _ in range(5)]
    for stream, version in zip(streams, (10, 20, 30, 40, 5)):
        stream.version = version
    for stream in streams[:3]:
        cache.put(stream)
    assert len(cache) == 3 and cache.weight == 60
    cache.get(streams[0].id)  # now the most recently used
    cache.put(streams[3])  # 100 events: over neither bound after the oldest goes
    assert cache.get(streams[1].id) is None and cache.weight == 80
    streams[3].version = 95  # it advanced by appends: kept again, the others make room
    cache.put(streams[3])
    assert cache.get(streams[3].id) is streams[3] and cache.weight == 95 and len(cache) == 1
    big = ProjectStream(uuid4())
    big.version = 500  # over the bound alone: still kept, as the one in use
    cache.put(big)
    assert len(cache) == 1 and cache.get(big.id) is big
    cache.evict(big.id)
    assert len(cache) == 0 and cache.weight == 0
