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
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import NotRequired, TypedDict

from ledger.errors import LedgerError, NotInLog
from ledger.evidence.canonical import format_time, parse_time
from ledger.evidence.envelope import SEALED_STAGE_TYPES, stream_uuid
from ledger.evidence.receipts import Receipt
from ledger.procedures.refusals import refusal_stream
from projections import visibility as v
from projections.projects_now import ProjectNow
from projections.project_state import project_events, project_streams, replay

from .actions import ReceiptBody, SealedReceiptBody
from .problems import MalformedRequest, problem_responses
from .signed_requests import Caller, UNAUTHENTICATED, caller_or_public, signed_caller

router = APIRouter(prefix="/v1", tags=["projects"])
PAGE = 1000  # events in one answer, at most
EXAMPLE = "LILING-2025-SZ02"
PROJECT = Path(description="the project's id (`project:` before it may be left out)",
               examples=[EXAMPLE])
NOT_VISIBLE = (404, "no such project visible to the caller")
# the form of a ledger time (its calendar is parse_time's to check)
LEDGER_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"

# --- the answers ------------------------------------------------------------------------------


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "project": EXAMPLE, "title": "醴陵市某棚户区改造工程（虚构）", "category": "construction",
    "stage": "announced"}]}))
class ProjectSummary(TypedDict):
    project: str
    title: str
    category: Annotated[str, Field(description="construction, procurement, …")]
    stage: Annotated[str, Field(description="the stage the project has reached")]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "projects": [{"project": EXAMPLE, "title": "醴陵市某棚户区改造工程（虚构）",
                  "category": "construction", "stage": "announced"}],
    "after": 0, "limit": 100}]}))
class ProjectList(TypedDict):
    """A page of the projects the caller may see, in intake order."""

    projects: list[ProjectSummary]
    after: Annotated[int, Field(description="the projects skipped")]
    limit: Annotated[int, Field(description="the most this page holds")]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "project": EXAMPLE, "state": {"stage": "announced", "kind": "construction",
                                  "tenderee": "tenderee-liling", "bid_deadline":
                                  "2025-04-08T01:30:00.000000Z"},
    "withheld": ["bids", "security", "committee"], "reached": ["announced"]}]}))
class ProjectStateView(TypedDict):
    """A project's state as the caller may see it now."""

    project: str
    state: Annotated[dict[str, Any], Field(description="the members of the project's state "
                                                       "the caller may see (docs/visibility.md)")]
    withheld: Annotated[list[str], Field(description="the members it may not see")]
    reached: Annotated[list[str], Field(description="the stages the project has reached")]
    version: NotRequired[Annotated[int, Field(description="the version the state is at; absent "
                                                          "before the opening (法 §22)")]]


class EventView(TypedDict):
    event: Annotated[dict[str, Any], Field(description="the event (evidence-format §7) whole "
                                                       "or with members withheld: each such "
                                                       "member is {\"withheld\": why}, and "
                                                       "`withheld` lists them")]
    receipt: NotRequired[ReceiptBody | SealedReceiptBody]
    leaf_index: NotRequired[Annotated[int, Field(description="the event's leaf in the Merkle "
                                                             "log, with its receipt")]]


WITHHELD_EXAMPLE = {"withheld": "the version counts the bidders' events: shown from the "
                                "opening (法 §22)"}


@with_config(ConfigDict(json_schema_extra={"examples": [{"project": EXAMPLE, "events": [{
    "event": {"actor": "tenderee-liling", "hash": WITHHELD_EXAMPLE,
              "key_id": "f8bd904d2ddd2b5946eef1b6209b68ab",
              "ledger_time": "2025-03-03T01:00:07.000000Z",
              "nonce": "6d7e264d15492a9c413a4231d7037769",
              "payload": {"category": "construction", "control_price": "167014800.00",
                          "tenderee": "tenderee-liling", "title": "醴陵市某棚户区改造工程（虚构）"},
              "prev": WITHHELD_EXAMPLE, "signature": "bzwWaXSXWzJxF2zsKqdLLGwoebOoeh+XFqwQdFS51eM"
              "v7mvfKxuzJ4eLH3/BnmoMYTmH6z6a5vV6CpbgTpJ9Cw==",
              "signed_at": "2025-03-03T01:00:07.000000Z", "stream": f"project:{EXAMPLE}",
              "type": "project.intake/v1", "version": WITHHELD_EXAMPLE,
              "withheld": ["version", "prev", "hash"]}}]}]}))
class ProjectEvents(TypedDict):
    """A project's events as the caller may see them, in order."""

    project: str
    events: list[EventView]


@with_config(ConfigDict(json_schema_extra={"examples": [{"project": EXAMPLE, "refusals": []}]}))
class ProjectRefusals(TypedDict):
    """The refusals the ledger recorded on the project that the caller may see."""

    project: str
    refusals: Annotated[list[dict[str, Any]], Field(description="refusal.recorded/v1 events "
                                                                "(evidence-format §7)")]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "project": EXAMPLE, "version": 4,
    "head": "46b6146073e97db770865a3b6d97786e41323221724dfc6d01c6c5ff8126b957"}]}))
class ProjectVersion(TypedDict):
    """Where an actor signs its next action on the project."""

    project: str
    version: Annotated[int, Field(description="the stream's version: sign the next action "
                                              "with expected_version = this")]
    head: Annotated[str, Field(description="the hash of the stream's last event")]


# --- the routes -------------------------------------------------------------------------------


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


def visible_project(request: Request, project: str, caller: v.Caller) -> tuple[str, list[dict], v.ProjectFacts]:
    stream = project_stream_of(project)
    events = project_events(request.app.state.ledger.recorder, stream)
    facts = v.facts_of(events)
    if not events or not v.sees_project(caller, facts, events[0]):
        raise NotInLog(f"no project {project!r} is visible to this caller", project=project)
    return stream, events, facts


async def project_now(request: Request, stream: str) -> ProjectNow | None:
    """The project as it stands now (projections/projects_now.py: folded once by this
    process, then only its newer events): the fold kept at its head is a short read
    (store_reads.py); folding newer events is done in a worker thread."""
    projects = request.app.state.projects_now
    head = await request.app.state.loop_reads.stream_head(stream_uuid(stream))
    now = projects.kept_at(stream, head)
    return now if now is not None else await run_in_threadpool(projects.get, stream)


async def visible_now(request: Request, project: str, caller: v.Caller):
    """The project as it stands now, if the caller may see it."""
    stream = project_stream_of(project)
    return stream, seen_by(caller, await project_now(request, stream), project)


def visible_now_in_thread(request: Request, project: str, caller: v.Caller):
    """visible_now for a handler run in a worker thread (it reads the store there)."""
    stream = project_stream_of(project)
    return stream, seen_by(caller, request.app.state.projects_now.get(stream), project)


def seen_by(caller: v.Caller, now: ProjectNow | None, project: str) -> ProjectNow:
    """The project as it stands now (`now`, None if it has no events), if the caller may
    see it."""
    if now is None or not v.sees_project(caller, now.facts, now.intake):
        raise NotInLog(f"no project {project!r} is visible to this caller", project=project)
    return now


AT = Query(None, description="as of this ledger time (RFC 3339 UTC with microseconds)",
           pattern=LEDGER_TIME, examples=["2025-03-24T01:30:00.000000Z"])


@router.get("/projects", summary="The projects visible to the caller",
            response_description="a page of the projects", responses=UNAUTHENTICATED)
def list_projects(request: Request, after: int = Query(0, ge=0, description="skip this many"),
                  limit: int = Query(100, ge=1, le=PAGE, description="list this many at most"),
                  caller: Caller | None = Depends(caller_or_public)) -> ProjectList:
    """Every project the caller may see (the public: those announced), in intake order, with
    its title, stage and category."""
    who = viewer(caller)
    recorder = request.app.state.ledger.recorder
    found, seen = [], 0
    for stream in project_streams(recorder):
        entry = request.app.state.projects_now.listed(stream)
        if entry is None or not v.sees_project(who, entry.facts, entry.intake):
            continue
        seen += 1
        if seen <= after:
            continue
        found.append({"project": stream.split(":", 1)[1], "title": entry.intake["payload"]["title"],
                      "category": entry.intake["payload"]["category"], "stage": entry.stage})
        if len(found) == limit:
            break
    return {"projects": found, "after": after, "limit": limit}


@router.get("/projects/{project}", summary="A project's state, now or as of a time or version",
            response_description="the state, as the caller may see it",
            responses={**UNAUTHENTICATED, **problem_responses(
                (403, "an as-of version before the opening: ask as of a time", {
                    "type": "urn:sunledger:error:not-visible", "title": "not visible",
                    "status": 403, "detail": "a project's versions count its bidders' events "
                    "until the opening (法 §22): ask as of a time instead"}),
                NOT_VISIBLE)})
async def project_state(request: Request, project: str = PROJECT,
                  version: int | None = Query(None, ge=1, description="as of this version"),
                  at: str | None = AT,
                  caller: Caller | None = Depends(caller_or_public)) -> ProjectStateView:
    """The state folded from the project's events, with the fields the caller may see now
    (`withheld` names the others). What the caller may see is judged at the project's stage
    now, whatever moment is asked for."""
    who = viewer(caller)
    if version is not None or at is not None:  # a replay: in a worker thread
        return await run_in_threadpool(_state_then, request, project, version, at, who)
    stream, now = await visible_now(request, project, who)
    body = now.answers.get(who)  # the same fold shown to the same viewer: the same bytes
    if body is None:
        answer = state_answer(stream, now.state, now.facts, now.version, who)
        body = now.answers[who] = _STATE_VIEW.dump_json(_STATE_VIEW.validate_python(answer))
    return Response(body, media_type="application/json")


_STATE_VIEW = TypeAdapter(ProjectStateView)  # the answer checked as FastAPI checks a return


def _state_then(request: Request, project: str, version: int | None, at: str | None,
                who: v.Caller) -> dict:
    stream, events, facts = visible_project(request, project, who)
    return state_answer(stream, *_state_as_of(events, facts, version, at), who)


def state_answer(stream: str, state: Any, facts: v.ProjectFacts, last: int,
                  who: v.Caller) -> dict:
    shown, withheld = v.state_view(state, who, facts)
    answer = {"project": stream.split(":", 1)[1], "state": plain(shown), "withheld": withheld,
              "reached": sorted(facts.reached, key=v.STAGES.index)}
    if not v.sealed_positions(facts):
        answer["version"] = last
    return answer


def moment_of(at: str | None) -> datetime | None:
    """The `at` query as a time (None: now)."""
    if at is None:
        return None
    try:
        return parse_time(at)
    except ValueError:
        raise MalformedRequest(f"query.at: {at!r} is not a ledger time such as "
                               "2025-03-24T01:30:00.000000Z") from None


def _state_as_of(events: list[dict], facts: v.ProjectFacts, version: int | None, at: str | None):
    if version is not None and v.sealed_positions(facts):
        raise NotVisible("a project's versions count its bidders' events until the opening "
                         "(法 §22): ask as of a time instead")
    state, steps = replay(events, at_version=version, at_time=moment_of(at), steps=False)
    return state, facts, steps[-1].version if steps else 0


@router.get("/projects/{project}/events", summary="A project's events as the caller may see them",
            response_description="the events, in order, from after_version on",
            responses={**UNAUTHENTICATED, **problem_responses(NOT_VISIBLE)})
def project_events_view(request: Request, project: str = PROJECT,
                        after_version: int = Query(0, ge=0, description="the events after this "
                                                   "version (from the opening on)"),
                        limit: int = Query(100, ge=1, le=PAGE, description="this many at most"),
                        caller: Caller | None = Depends(caller_or_public)) -> ProjectEvents:
    """Each event whole, in part (withheld members named) or not at all, by
    docs/visibility.md; an event shown whole comes with its receipt. Before the opening,
    positions are withheld and the paging is over what is shown; a bidder's own actions then
    come with their sealed receipts (evidence-format §9.1)."""
    who = viewer(caller)
    stream, events, facts = visible_project(request, project, who)
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
        whole = v.WITHHELD not in view
        if whole or (event["actor"] == who.actor and event["type"] in SEALED_STAGE_TYPES):
            found = recorder.leaf_of(stream_uuid(stream), event["version"])
            rows = recorder.select_receipts(found[1] - 1, found[1]) if found else []
            if rows:  # a bidder's own action's receipt is sealed before the opening
                receipt = Receipt.of_row(rows[0])
                item["receipt"] = receipt.to_json() if whole else \
                    receipt.sealed(request.app.state.ledger.key)
                item["leaf_index"] = found[0]
        shown.append(item)
        if len(shown) == limit:
            break
    return {"project": stream.split(":", 1)[1], "events": shown}


@router.get("/projects/{project}/refusals", summary="The project's recorded refusals the caller may see",
            response_description="the refusals, in the order recorded",
            responses={**UNAUTHENTICATED, **problem_responses(NOT_VISIBLE)})
def project_refusals(request: Request, project: str = PROJECT,
                     caller: Caller | None = Depends(caller_or_public)) -> ProjectRefusals:
    """Each refused action the ledger recorded on the project (refusal.recorded/v1: a late
    bid, say), shown whole to the actor refused and to whoever may see the refused action's
    type whole at this stage; to nobody else."""
    who = viewer(caller)
    stream, _, facts = visible_project(request, project, who)
    records = project_events(request.app.state.ledger.recorder, refusal_stream(stream))
    return {"project": stream.split(":", 1)[1],
            "refusals": [view for r in records if (view := v.refusal_view(r, who, facts)) is not None]}


@router.get("/projects/{project}/version", summary="The version an actor signs its next action at",
            response_description="the stream's version and head",
            responses={**UNAUTHENTICATED, **problem_responses(
                (403, "before the opening, to a caller who does not sign at a version then "
                      "(a bidder: its actions name none)"),
                (404, "no such project, or a caller with no role"))})
async def project_version(request: Request, project: str = PROJECT,
                          caller: Caller = Depends(signed_caller)) -> ProjectVersion:
    """The project's current version and head, for a registered actor about to sign an
    action on it (signed requests only). Before the opening the version counts the bidders'
    events, so it is told only to those who sign at a version then (docs/visibility.md): a
    bidder's actions before the opening name no version (evidence-format §6)."""
    stream = project_stream_of(project)
    now = await project_now(request, stream) if caller.roles else None
    if now is None:
        raise NotInLog(f"no project {project!r} is visible to this caller", project=project)
    if not v.may_learn_version(viewer(caller), now.facts):
        raise NotVisible(f"{stream}'s version counts its bidders' events until the opening "
                         "(法 §22); a bidder's actions before it name no version: sign them "
                         "with expected_version null", project=project)
    return {"project": stream.split(":", 1)[1], "version": now.version, "head": now.head}
