"""Reads of projects, each through the visibility table (projections/visibility.py,
docs/visibility.md): the projects a caller may see, a project's state now or as of a time or
version, its events with their receipts, its refusals, and the version an actor signs at.

Unsigned requests read as the public; a signed request (RFC 9421) reads as its actor. A
project the caller may not see at all is answered as if it did not exist (404): its existence
is no one else's business before its announcement."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request

from ledger.errors import LedgerError, NotInLog
from ledger.evidence.canonical import format_time, parse_time
from ledger.evidence.envelope import stream_uuid
from ledger.procedures.refusals import refusal_stream
from projections import visibility as v
from projections.project_state import project_events, project_streams, replay

from .signed_requests import Caller, UNAUTHENTICATED, caller_or_public, signed_caller

router = APIRouter(prefix="/v1", tags=["projects"])
PAGE = 1000  # events in one answer, at most


class NotVisible(LedgerError):
    """A read the caller may not make at this stage (the reason says why and from when)."""

    code = "not-visible"
    status = 403


def viewer(caller: Caller | None) -> v.Caller:
    return v.Caller() if caller is None else v.Caller(caller.actor, caller.roles)


def plain(value: Any) -> Any:
    """A state value as JSON: amounts and times as the ledger writes them, sets sorted, pairs
    as lists."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return format_time(value)
    if is_dataclass(value):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {("/".join(map(str, k)) if isinstance(k, tuple) else str(k)): plain(x)
                for k, x in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(x) for x in value)
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    return value


def project_stream_of(project: str) -> str:
    return project if project.startswith("project:") else f"project:{project}"


def _visible_project(request: Request, project: str, caller: v.Caller) -> tuple[str, list[dict], v.ProjectFacts]:
    stream = project_stream_of(project)
    events = project_events(request.app.state.ledger.recorder, stream)
    facts = v.facts_of(events)
    if not events or not v.sees_project(caller, facts, events[0]):
        raise NotInLog(f"no project {project!r} is visible to this caller", project=project)
    return stream, events, facts


@router.get("/projects", summary="The projects visible to the caller",
            responses=UNAUTHENTICATED)
def list_projects(request: Request, after: int = Query(0, ge=0, description="skip this many"),
                  limit: int = Query(100, ge=1, le=PAGE),
                  caller: Caller | None = Depends(caller_or_public)) -> dict:
    """Every project the caller may see (the public: those announced), in intake order, with
    its title, stage and category."""
    who = viewer(caller)
    recorder = request.app.state.ledger.recorder
    found, seen = [], 0
    for stream in project_streams(recorder):
        events = project_events(recorder, stream)
        facts = v.facts_of(events)
        if not v.sees_project(who, facts, events[0]):
            continue
        seen += 1
        if seen <= after:
            continue
        state, _ = replay(events, steps=False)
        found.append({"project": stream.split(":", 1)[1], "title": events[0]["payload"]["title"],
                      "category": events[0]["payload"]["category"], "stage": state.stage})
        if len(found) == limit:
            break
    return {"projects": found, "after": after, "limit": limit}


@router.get("/projects/{project}", summary="A project's state, now or as of a time or version",
            responses={404: {"description": "no such project visible to the caller"},
                       403: {"description": "an as-of version before the opening"},
                       **UNAUTHENTICATED})
def project_state(request: Request, project: str,
                  version: int | None = Query(None, ge=1, description="as of this version"),
                  at: str | None = Query(None, description="as of this ledger time (RFC 3339)"),
                  caller: Caller | None = Depends(caller_or_public)) -> dict:
    """The state folded from the project's events, with the fields the caller may see now
    (`withheld` names the others). What the caller may see is judged at the project's stage
    now, whatever moment is asked for."""
    who = viewer(caller)
    stream, events, facts = _visible_project(request, project, who)
    if version is not None and v.sealed_positions(facts):
        raise NotVisible("a project's versions count its bidders' events until the opening "
                         "(法 §22): ask as of a time instead")
    moment = None
    if at is not None:
        try:
            moment = parse_time(at)
        except ValueError:
            raise NotVisible(f"{at!r} is not a ledger time such as 2025-03-24T01:30:00.000000Z") from None
    state, steps = replay(events, at_version=version, at_time=moment, steps=False)
    shown, withheld = v.state_view(state, who, facts)
    answer = {"project": stream.split(":", 1)[1], "state": plain(shown), "withheld": withheld,
              "reached": sorted(facts.reached, key=v.STAGES.index)}
    if not v.sealed_positions(facts):
        answer["version"] = steps[-1].version if steps else 0
    return answer


@router.get("/projects/{project}/events", summary="A project's events as the caller may see them",
            responses={404: {"description": "no such project visible to the caller"},
                       **UNAUTHENTICATED})
def project_events_view(request: Request, project: str,
                        after_version: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=PAGE),
                        caller: Caller | None = Depends(caller_or_public)) -> dict:
    """Each event whole, in part (withheld members named) or not at all, by
    docs/visibility.md; an event shown whole comes with its receipt. Before the opening,
    positions are withheld and the paging is over what is shown."""
    who = viewer(caller)
    stream, events, facts = _visible_project(request, project, who)
    sealed = v.sealed_positions(facts)
    recorder = request.app.state.ledger.recorder
    shown = []
    for event in events:
        if not sealed and event["version"] <= after_version:
            continue
        view = v.project_view(event, who, facts)
        if view is None:
            continue
        item: dict = {"event": view}
        if v.WITHHELD not in view:
            found = recorder.leaf_of(stream_uuid(stream), event["version"])
            rows = recorder.select_receipts(found[1] - 1, found[1]) if found else []
            if rows:
                r = rows[0]
                item["receipt"] = {"event_hash": r.event_hash, "ledger_time": r.ledger_time,
                                   "position": r.position, "receipt": "sunledger/receipt/v1",
                                   "stream": r.stream, "version": r.version,
                                   "signature": r.signature}
                item["leaf_index"] = found[0]
        shown.append(item)
        if len(shown) == limit:
            break
    return {"project": stream.split(":", 1)[1], "events": shown}


@router.get("/projects/{project}/refusals", summary="The project's recorded refusals the caller may see",
            responses={404: {"description": "no such project visible to the caller"},
                       **UNAUTHENTICATED})
def project_refusals(request: Request, project: str,
                     caller: Caller | None = Depends(caller_or_public)) -> dict:
    who = viewer(caller)
    stream, _, facts = _visible_project(request, project, who)
    records = project_events(request.app.state.ledger.recorder, refusal_stream(stream))
    return {"project": stream.split(":", 1)[1],
            "refusals": [view for r in records if (view := v.refusal_view(r, who, facts)) is not None]}


@router.get("/projects/{project}/version", summary="The version an actor signs its next action at",
            responses={404: {"description": "no such project visible to the caller"},
                       **UNAUTHENTICATED})
def project_version(request: Request, project: str,
                    caller: Caller = Depends(signed_caller)) -> dict:
    """The project's current version and head, for a registered actor about to sign an
    action on it (signed requests only). Before the opening this count is the one channel
    docs/visibility.md names: the version counts every event before it."""
    stream = project_stream_of(project)
    head = request.app.state.ledger.recorder.stream_head(stream_uuid(stream))
    if head is None or not caller.roles:
        raise NotInLog(f"no project {project!r} is visible to this caller", project=project)
    return {"project": stream.split(":", 1)[1], "version": head[0],
            "head": orjson.loads(head[1])["hash"]}
