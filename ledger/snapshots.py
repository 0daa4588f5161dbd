"""Snapshots of streams as of past versions, kept in memory by one ledger process, so that a
state as of an old version folds at most SNAPSHOT_EVERY events instead of the whole history.

A snapshot is derived data and is never trusted on its own: before one is used, the stored
event at its version must still have the hash the snapshot was folded to (`Ledger.stream_at`
reads it in the same range read as the events after it). The most recently used
SNAPSHOTS_KEPT are kept: memory stays bounded however long the streams grow.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from ledger.streams import Stream

SNAPSHOTS_KEPT = 256  # a project of 800 bidders is some 400 KB a snapshot: about 100 MB at most


class Snapshots:
    def __init__(self, capacity: int = SNAPSHOTS_KEPT):
        self.capacity = capacity
        self._kept: OrderedDict[tuple[UUID, int], Stream] = OrderedDict()
        self._versions: dict[UUID, set[int]] = {}  # the versions kept, by stream

    def keep(self, stream: Stream) -> None:
        """Keep a copy of `stream` as it is now."""
        key = (stream.id, stream.version)
        if key in self._kept:
            self._kept.move_to_end(key)
            return
        self._kept[key] = stream.copy()
        self._versions.setdefault(stream.id, set()).add(stream.version)
        while len(self._kept) > self.capacity:
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

    def _forget_version(self, uid: UUID, version: int) -> None:
        versions = self._versions[uid]
        versions.discard(version)
        if not versions:
            del self._versions[uid]

    def __len__(self) -> int:
        return len(self._kept)
