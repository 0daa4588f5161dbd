"""Project state, as of now or as of any event or time, rebuilt from the project's events
through the procedure's own steps (without re-judging them: they were judged when accepted).

`replay` answers a dispute's question "how did the project get here?": each transition with
the event that caused it (version, ledger time, type, actor, hash) and what it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson

from ledger.errors import LedgerError
from ledger.evidence.canonical import parse_time
from ledger.evidence.envelope import stream_uuid
from ledger.procedures.tender import Procedure, ProjectState
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


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _changes(before: ProjectState, after: ProjectState) -> tuple[str, ...]:
    found = []
    for f in fields(ProjectState):
        old, new = getattr(before, f.name), getattr(after, f.name)
        if old != new:
            if isinstance(new, dict) and isinstance(old, dict):
                added = {k: v for k, v in new.items() if old.get(k) != v}
                found.append(f"{f.name}: +{_show(added)}")
            elif isinstance(new, (set, list)) and isinstance(old, (set, list)) and len(new) > len(old):
                extra = [v for v in new if v not in old]
                found.append(f"{f.name}: +{_show(extra)}")
            else:
                found.append(f"{f.name}: {_show(old)} → {_show(new)}")
    return tuple(found)


def replay(events: list[dict], *, at_version: int | None = None,
           at_time: datetime | None = None,
           steps: bool = True) -> tuple[ProjectState, list[Transition]]:
    """The project's state after its events up to `at_version` or `at_time` (inclusive), and
    (with `steps`) every transition on the way, with what it changed."""
    state = ProjectState()
    transitions = []
    for event in events:
        if at_version is not None and event["version"] > at_version:
            break
        if at_time is not None and parse_time(event["ledger_time"]) > at_time:
            break
        before = state.copy() if steps else state
        FOLD.run(state, step_of(event))
        transitions.append(Transition(event["version"], event["ledger_time"], event["type"],
                                      event["actor"], event["hash"],
                                      _changes(before, state) if steps else ()))
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
