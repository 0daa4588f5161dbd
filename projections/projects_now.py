"""Each project as it stands now, for reads: its intake, its visibility facts and its state,
folded from its events and kept by this process.

A read looks at the project's stored head (one read of the primary key) and folds in only
the events after the version it kept, so reading a project costs the same at its 10,000th
event as at its 10th. Kept folds are caches of the events, never trusted beyond them: a head
that the kept fold does not lead to (the events after it do not link to its newest hash) is
folded again from the first event. What is kept is never changed afterwards: a newer fold
makes new objects, so a read in progress keeps the view it took."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson

from ledger.evidence.envelope import stream_uuid
from ledger.ledger import at_head
from ledger.procedures.tender import ProjectState
from ledger.streams import FOLD, step_of

from .visibility import ProjectFacts


@dataclass(frozen=True)
class ProjectNow:
    version: int  # of the newest event folded
    head: str  # its hash
    intake: dict  # the first event
    facts: ProjectFacts
    state: ProjectState
    # what readers made of this fold, under keys of their own (api/http/projects.py keeps
    # each viewer's answer): a pure function of the fold, dropped with it when a newer fold
    # replaces it
    answers: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ProjectListed:
    """What a listing of projects shows of one, and what decides who sees it."""

    version: int
    head: str
    intake: dict
    facts: ProjectFacts
    stage: str


class ProjectsNow:
    """The newest fold of each project read lately (at most `keep` of them), and the
    listing entry of every project listed (small: its intake, facts and stage)."""

    def __init__(self, recorder: Any, keep: int = 1024):
        self.recorder = recorder
        self.keep = keep
        self._kept: OrderedDict[str, ProjectNow] = OrderedDict()
        self._listed: dict[str, ProjectListed] = {}
        self._lock = threading.Lock()

    def listed(self, stream: str) -> ProjectListed | None:
        """The project's listing entry as its events stand now: one read of its head while
        it has not moved, a fold of its newer events when it has."""
        uid = stream_uuid(stream)
        head = self._head(uid)
        if head is None:
            return None
        version, newest = head
        entry = self._listed.get(stream)
        if entry is not None and (entry.version, entry.head) == (version, newest):
            return entry
        now = self._at(stream, uid, version, newest)
        if now is None:
            return None
        entry = ProjectListed(now.version, now.head, now.intake, now.facts, now.state.stage)
        with self._lock:
            self._listed[stream] = entry
        return entry

    def kept_at(self, stream: str, head: tuple[int, bytes] | None) -> ProjectNow | None:
        """The fold kept of `stream` if it is at `head`, the stored head just read (version,
        stored bytes; `stream_head`'s answer), reading nothing; None if none is kept or the
        project moved on (then `get` folds its newer events)."""
        with self._lock:
            kept = self._kept.get(stream)
        return kept if at_head(kept, head) else None

    def get(self, stream: str) -> ProjectNow | None:
        """The project `stream` as its events stand now; None if it has none."""
        uid = stream_uuid(stream)
        head = self._head(uid)
        return None if head is None else self._at(stream, uid, *head)

    def _head(self, uid: Any) -> tuple[int, str] | None:
        """The stored head's (version, hash): one read of the primary key."""
        head = self.recorder.stream_head(uid)
        return None if head is None else (head[0], orjson.loads(head[1])["hash"])

    def _at(self, stream: str, uid: Any, version: int, newest: str) -> ProjectNow | None:
        """The project as of its stored head (`version`, hash `newest`), just read."""
        with self._lock:
            kept = self._kept.get(stream)
        if kept is not None and (kept.version, kept.head) == (version, newest):
            now = kept
        else:
            newer = [orjson.loads(e.state) for e in self.recorder.select_events(
                uid, gt=kept.version if kept is not None else None)]
            if kept is None or not newer or newer[0]["prev"] != kept.head:
                now = _folded(None, [orjson.loads(e.state) for e in self.recorder.select_events(uid)]
                              if kept is not None else newer)
            else:
                now = _folded(kept, newer)
            if now is None:
                return None
        with self._lock:
            self._kept[stream] = now
            self._kept.move_to_end(stream)
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
        return now


def _folded(kept: ProjectNow | None, events: list[dict]) -> ProjectNow | None:
    """`kept` (or nothing) with `events` folded in, as new objects."""
    if kept is None and not events:
        return None
    facts = copy.deepcopy(kept.facts) if kept is not None else ProjectFacts()
    state = kept.state.copy() if kept is not None else ProjectState()
    for event in events:
        facts.add(event)
        FOLD.run(state, step_of(event))
    last = events[-1] if events else None
    return ProjectNow(last["version"] if last else kept.version, last["hash"] if last else kept.head,
                      kept.intake if kept is not None else events[0], facts, state)
