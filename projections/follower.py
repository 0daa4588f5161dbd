"""A follower of the global order: reads the events after its own position, in position
order, and hands each to its projection. Projections are pure folds of the events, so
following from zero always rebuilds the same result.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol

import orjson

BATCH = 1000


class Projection(Protocol):
    def apply(self, event: dict, position: int) -> None: ...


class Follower:
    """Feeds projections the events after `position`, and keeps the position it reached."""

    def __init__(self, recorder: Any, *projections: Projection, position: int = 0):
        self.recorder = recorder
        self.projections = projections
        self.position = position

    def events(self) -> Iterator[tuple[int, dict]]:
        """(position, event) after this follower's position, in global order."""
        while True:
            batch = self.recorder.select_notifications(start=self.position, limit=BATCH,
                                                       inclusive_of_start=False)
            if not batch:
                return
            for notification in batch:
                yield notification.id, orjson.loads(notification.state)
            self.position = batch[-1].id

    def follow(self) -> int:
        """Apply every new event; return how many."""
        count = 0
        for position, event in self.events():
            for projection in self.projections:
                projection.apply(event, position)
            count += 1
        return count


class ChangedProjects:
    """A projection that keeps only the names of the projects whose streams changed since it
    was last asked: a follower of a large log that needs some projects' states reads them
    from the ledger's bounded cache instead of holding every project's state itself."""

    def __init__(self) -> None:
        self.changed: set[str] = set()

    def apply(self, event: dict, position: int) -> None:
        if event["stream"].startswith("project:"):
            self.changed.add(event["stream"])

    def take(self) -> set[str]:
        taken, self.changed = self.changed, set()
        return taken
