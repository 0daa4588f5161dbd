"""What one ledger process keeps of streams in memory, bounded however long they grow.

`StreamCache`: the current state of the streams it used last, so that an append or a read does
not fold a stream again. Bounded by streams and by the events folded into the states it holds
(a state grows with its events: a tender of 800 bidders is some 2.4 MB at 10,000 events), the
least recently used going first. `Ledger.stream` checks a cached state against the stored head
before it trusts it.

`Snapshots`: streams as of past versions, so that a state as of an old version folds at most
SNAPSHOT_EVERY events instead of the whole history. A snapshot is derived data and is never
trusted on its own: before one is used, the stored event at its version must still have the
hash the snapshot was folded to (`Ledger.stream_at` reads it in the same range read as the
events after it). The most recently used are kept, at most SNAPSHOTS_KEPT and at most
SNAPSHOT_EVENTS events folded into them, as the stream cache is bounded: a long stream keeps
fewer snapshots, and an as-of read of it folds more events.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from ledger.streams import Stream

SNAPSHOTS_KEPT = 256  # a project of 800 bidders is some 400 KB a snapshot
SNAPSHOT_EVENTS = 400_000  # events folded into the snapshots kept: about 100 MB of state (a
#   snapshot copies its state's containers, so one of a 100,000-event stream is some 10 MB)
CACHED_STREAMS = 20_000
CACHED_EVENTS = 400_000  # events folded into the cached states: about 100 MB of state


class StreamCache:
    def __init__(self, streams: int = CACHED_STREAMS, events: int = CACHED_EVENTS):
        self.streams, self.events = streams, events
        self._kept: OrderedDict[UUID, tuple[Stream, int]] = OrderedDict()  # -> (state, weight)
        self.weight = 0  # events folded into the states kept

    def get(self, uid: UUID) -> Stream | None:
        kept = self._kept.get(uid)
        if kept is None:
            return None
        self._kept.move_to_end(uid)
        return kept[0]

    def put(self, stream: Stream) -> None:
        """Keep a stream's state (again, after it advanced): the least recently used go
        first while the cache is over either bound; the one just kept stays."""
        self.evict(stream.id)
        self._kept[stream.id] = (stream, stream.version)
        self.weight += stream.version
        while len(self._kept) > 1 and (len(self._kept) > self.streams or self.weight > self.events):
            _, (_, weight) = self._kept.popitem(last=False)
            self.weight -= weight

    def evict(self, uid: UUID) -> None:
        kept = self._kept.pop(uid, None)
        if kept is not None:
            self.weight -= kept[1]

    def __len__(self) -> int:
        return len(self._kept)


class Snapshots:
    def __init__(self, capacity: int = SNAPSHOTS_KEPT, events: int = SNAPSHOT_EVENTS):
        self.capacity, self.events = capacity, events
        self._kept: OrderedDict[tuple[UUID, int], Stream] = OrderedDict()
        self._versions: dict[UUID, set[int]] = {}  # the versions kept, by stream
        self.weight = 0  # events folded into the snapshots kept (a snapshot's size grows so)

    def keep(self, stream: Stream) -> None:
        """Keep a copy of `stream` as it is now; the least recently used go first while over
        either bound (the one just kept stays)."""
        key = (stream.id, stream.version)
        if key in self._kept:
            self._kept.move_to_end(key)
            return
        self._kept[key] = stream.copy()
        self._versions.setdefault(stream.id, set()).add(stream.version)
        self.weight += stream.version
        while len(self._kept) > 1 and (len(self._kept) > self.capacity
                                       or self.weight > self.events):
            (uid, version), _ = self._kept.popitem(last=False)
            self._forget_version(uid, version)

    def nearest(self, uid: UUID, version: int) -> Stream | None:
        """The kept snapshot of a stream at the greatest version not after `version`: the
        kept object itself (copy it before folding on it)."""
        below = [v for v in self._versions.get(uid, ()) if v <= version]
        if not below:
            return None
        key = (uid, max(below))
        self._kept.move_to_end(key)
        return self._kept[key]

    def forget(self, uid: UUID) -> None:
        """Drop a stream's snapshots (the store no longer holds what they were folded from)."""
        for version in self._versions.pop(uid, set()):
            del self._kept[(uid, version)]
            self.weight -= version

    def _forget_version(self, uid: UUID, version: int) -> None:
        self.weight -= version
        versions = self._versions[uid]
        versions.discard(version)
        if not versions:
            del self._versions[uid]

    def __len__(self) -> int:
        return len(self._kept)
