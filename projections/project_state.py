"""Project state, as of now or as of any event or time, rebuilt from the project's events
through the procedure's own steps (without re-judging them: they were judged when accepted).

`replay` answers a dispute's question "how did the project get here?": each transition with
the event that caused it (version, ledger time, type, actor, hash) and what it changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, Iterator

import orjson

from ledger.errors import LedgerError
from ledger.evidence.canonical import parse_time
from ledger.evidence.envelope import stream_uuid
from ledger.procedures.tender import Procedure, ProjectState
from ledger.stores.tables import rows_of_type
from ledger.streams import FOLD, step_of


@dataclass(frozen=True)
class Transition:
    version: int
    ledger_time: str
    type: str
    actor: str
    hash: str
    changes: tuple[str, ...]  # "field: before → after", for what changed


def project_events(recorder: Any, project_stream: str) -> list[dict]:
    """A project's stored events, in version order."""
    return [orjson.loads(e.state) for e in recorder.select_events(stream_uuid(project_stream))]


def project_streams(recorder: Any) -> Iterator[str]:
    """Every project's stream name, in the order the projects were taken in: each project
    opens with its intake (version 1), read along the event type's index."""
    for row in rows_of_type(recorder, "project.intake/v1"):
        yield orjson.loads(row[4])["stream"]


def project_now(recorder: Any, stream: str) -> tuple[str, ProjectState, str | None]:
    """(stream, current state, ledger time of its last award or None) of one project."""
    events = project_events(recorder, stream)
    awards = [e["ledger_time"] for e in events if e["type"] == "project.awarded/v1"]
    return stream, replay(events, steps=False)[0], (awards[-1] if awards else None)


def each_project(recorder: Any) -> Iterator[tuple[str, ProjectState, str | None]]:
    """`project_now` of every project, one at a time: memory holds one project's events,
    however many projects the log holds."""
    for stream in project_streams(recorder):
        yield project_now(recorder, stream)


def concluded_projects(recorder: Any) -> Iterator[tuple[str, ProjectState, str | None]]:
    """`project_now` of every project whose result is fixed: an award is recorded, or its
    tender stands failed (`tender_failed`). Found along the award's and the closing's type
    indexes: the other projects are not read."""
    seen: set[str] = set()
    for event_type in ("project.awarded/v1", "project.submission-closed/v1"):
        for row in rows_of_type(recorder, event_type):
            stream = orjson.loads(row[4])["stream"]
            if stream in seen:
                continue
            seen.add(stream)
            concluded = project_now(recorder, stream)
            if concluded[2] is not None or tender_failed(concluded[1]):
                yield concluded


def tender_failed(state: ProjectState) -> bool:
    """The tender stands failed (流标): closed without enough bids and not tendered again, or
    archived without a winner."""
    return state.stage == "failed" or (state.stage == "archived" and state.winner is None)


# how a replay words its changes: 2 (now): the first step makes the project from nothing, a
# record shows its members; 1 (dossiers of format v1, projections/dossier.py): the first
# step changed the state's defaults, a record showed as Python writes it
WORDING = 2
CHANGE_TIME = "%Y-%m-%dT%H:%M:%SZ"  # a time as a change writes it: UTC, to the second


def _show(value: object, wording: int = WORDING) -> str:
    if isinstance(value, datetime):
        return value.strftime(CHANGE_TIME)
    if wording > 1 and is_dataclass(value) and not isinstance(value, type):  # a quote, …
        return "{" + ", ".join(f"{f.name}: {_show(getattr(value, f.name), wording)}"
                               for f in fields(value)) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v, wording)}"
                               for k, v in sorted(value.items(), key=str)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v, wording) for v in value) + "]"
    return str(value)


def changed_field(change: str) -> str:
    """The state field a change names (a change reads "field: …" or "field[i]: …")."""
    return _FIELD.match(change)[0]  # type: ignore[index]


_FIELD = re.compile(r"[a-z_]+")


def _changes(before: ProjectState, after: ProjectState,
             wording: int = WORDING) -> tuple[str, ...]:
    """What one step changed, field by field, naming only what changed: the entries of a
    mapping or a set added or changed (+) and removed (−), the items of a list appended (+)
    or changed at their index. Never the whole of a container: a step of a tender of 800
    bidders says what it did, not the 800 (a replay stays proportional to its events)."""
    found = []
    for f in fields(ProjectState):
        old, new = getattr(before, f.name), getattr(after, f.name)
        if old == new:
            continue
        if isinstance(new, dict) and isinstance(old, dict):
            added = {k: v for k, v in new.items() if k not in old or old[k] != v}
            removed = {k for k in old if k not in new}
            found.append(f"{f.name}: " + " ".join(
                part for part in (added and f"+{_show(added, wording)}",
                                  removed and f"−{_show(removed, wording)}") if part))
        elif isinstance(new, (set, frozenset)) and isinstance(old, (set, frozenset)):
            found.append(f"{f.name}: " + " ".join(
                part for part in (new - old and f"+{_show(new - old, wording)}",
                                  old - new and f"−{_show(old - new, wording)}") if part))
        elif isinstance(new, list) and isinstance(old, list) and len(new) >= len(old):
            changed = [f"{f.name}[{i}]: {_show(o, wording)} → {_show(n, wording)}"
                       for i, (o, n) in enumerate(zip(old, new)) if o != n]
            found.extend(changed)
            if len(new) > len(old):
                found.append(f"{f.name}: +{_show(new[len(old):], wording)}")
        else:
            found.append(f"{f.name}: {_show(old, wording)} → {_show(new, wording)}")
    return tuple(found)


def _created(state: ProjectState) -> tuple[str, ...]:
    """What the first event made: each member it gave a value, from nothing (before it there
    was no project, not a project of the state's defaults: a land sale's intake did not
    change a construction tender's `kind` into `rights`)."""
    found = []
    for f in fields(ProjectState):
        new = getattr(state, f.name)
        if isinstance(new, (dict, list, set, frozenset)):
            if new:
                found.append(f"{f.name}: +{_show(new)}")
        elif new:  # not None, nor a zero count, nor False: what the event gave
            found.append(f"{f.name}: None → {_show(new)}")
    return tuple(found)


def replay(events: list[dict], *, at_version: int | None = None,
           at_time: datetime | None = None, steps: bool = True,
           wording: int = WORDING) -> tuple[ProjectState, list[Transition]]:
    """The project's state after its events up to `at_version` or `at_time` (inclusive), and
    (with `steps`) every transition on the way, with what it changed (worded as `wording`
    says)."""
    state = ProjectState()
    transitions = []
    for event in events:
        if at_version is not None and event["version"] > at_version:
            break
        if at_time is not None and parse_time(event["ledger_time"]) > at_time:
            break
        before = state.copy() if steps else state
        FOLD.run(state, step_of(event))
        changes = () if not steps else _created(state) if not transitions and wording > 1 \
            else _changes(before, state, wording)
        transitions.append(Transition(event["version"], event["ledger_time"], event["type"],
                                      event["actor"], event["hash"], changes))
    return state, transitions


def rejudge(events: list[dict], procedure: Procedure | None = None) -> str | None:
    """Judge a project's events again by the rules, in order, at their recorded ledger times
    (roles are the registry's business and are not judged here): None when every step holds,
    else what the first one that does not hold breaks. A changed input of the expert draw,
    for one, no longer replays to the recorded committee."""
    judge = procedure or Procedure(checking=True, roles=False)
    state = ProjectState()
    for event in events:
        try:
            judge.run(state, step_of(event))
        except LedgerError as error:
            return f"v{event['version']} {event['type']}: {error.message}"
    return None


class ProjectStates:
    """A projection: the current state of every project, following the global order."""

    def __init__(self) -> None:
        self.states: dict[str, ProjectState] = {}
        self.awarded_at: dict[str, str] = {}  # project stream -> ledger time of the award

    def apply(self, event: dict, position: int) -> None:
        stream = event["stream"]
        if not stream.startswith("project:"):
            return
        state = self.states.setdefault(stream, ProjectState())
        FOLD.run(state, step_of(event))
        if event["type"] == "project.awarded/v1":
            self.awarded_at[stream] = event["ledger_time"]
