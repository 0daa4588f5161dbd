"""The dispute replay (争议回放): a project step by step as the caller may see it, each step
with what it changed, the project's state just after it and a link to its proof, and the
dispute dossier (争议卷宗) to download.

Anyone may open it, and each sees what the API's replay shows them: the public what GET
/v1/projects/{project}/replay answers an unsigned request, a signed-in actor what it answers
that actor's signed request. The steps are the API's (`visible_steps` runs the same replay
through the same visibility functions); the dossier and the proofs are the API's own routes'
answers (api/http/reports.py `dossier`, api/http/proofs.py `inclusion`), called for the
session's actor, since a browser does not sign its requests (RFC 9421)."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from ledger.errors import LedgerError
from ledger.evidence.canonical import is_money, parse_time
from ledger.evidence.envelope import stream_uuid
from ledger.procedures.calendar import CHINA
from ledger.procedures.refusals import refusal_stream
from projections import visibility as v
from projections.project_state import CHANGE_TIME, changed_field, project_events, replay
from witness.model import money

from ..http import signed_requests
from ..http.proofs import inclusion
from ..http.projects import project_stream_of, state_answer, visible_project
from ..http.reports import dossier, steps_shown
from .pages import MONEY_MEMBERS, PUBLIC, _caller, china_moment, china_time, page, state_table
from .session import Session, current_session

router = APIRouter(include_in_schema=False)

# the forms of a China-time moment a visitor may give (a datetime-local input sends the first)
MOMENT_FORMS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


# --- the steps, as the API's replay shows them to the caller ------------------------------------

@dataclass(frozen=True)
class Step:
    """One step of the replay as the caller may see it: `view` is the step exactly as GET
    /v1/projects/{project}/replay answers it to this caller; `position` is its event's place
    among all the project's events (0-based), to fold the state just after it."""

    number: int  # 1-based, among the steps the caller sees
    position: int
    view: dict

    @property
    def whole(self) -> bool:
        """Whether the step's event is shown whole: a step withholds a member (its version,
        hash, actor or changes) exactly when its event's view withholds one."""
        return v.WITHHELD not in self.view

    @property
    def version(self) -> int | None:
        """The event's version, if the caller may see it."""
        version = self.view["version"]
        return version if isinstance(version, int) else None


@dataclass(frozen=True)
class Replayed:
    """A project's replay for one caller: its stream, events and visibility facts, and the
    steps the caller sees (at least the intake: a caller who sees the project sees that)."""

    stream: str
    events: list[dict]
    facts: v.ProjectFacts
    state: Any  # the project's state now (ProjectState)
    steps: list[Step]


def visible_steps(request: Request, project: str, who: v.Caller) -> Replayed:
    """The project's steps as `who` may see them: the replay GET /v1/projects/{project}/replay
    answers, without its paging (api/http/reports.py `steps_shown`, which it pages), of the
    replay kept by `folded`. NotInLog if the caller may not see the project at all."""
    stream, events, facts = visible_project(request, project, who)
    state, transitions = folded(stream, events)
    steps = [Step(number, position, view) for number, (position, _, view) in
             enumerate(steps_shown(state, transitions, events, who, facts), 1)]
    return Replayed(stream, events, facts, state, steps)


_FOLDS: OrderedDict[tuple[str, int, str], tuple[Any, list]] = OrderedDict()
_FOLDS_KEPT = 16  # projects whose replay this process keeps
_folding = threading.Lock()


def folded(stream: str, events: list[dict]) -> tuple[Any, list]:
    """`replay(events)`: the state and every transition with its changes, the same for every
    caller; kept for the last few projects replayed, by their head (a stream's events never
    change once recorded, so the same head is the same replay). Stepping through a project
    of 2,000 events refolds it once, not at every step."""
    key = (stream, len(events), events[-1]["hash"] if events else "")
    with _folding:
        if key in _FOLDS:
            _FOLDS.move_to_end(key)
            return _FOLDS[key]
    found = replay(events)
    with _folding:
        _FOLDS[key] = found
        while len(_FOLDS) > _FOLDS_KEPT:
            _FOLDS.popitem(last=False)
    return found


def state_after(replayed: Replayed, step: Step, who: v.Caller) -> dict:
    """The project's state just after the step, as the caller may see it (the answer of GET
    /v1/projects/{project}?version=<the step's version>, which before the opening a caller
    asks as of a time instead): the events up to the step's, folded, through `state_answer`."""
    state, _ = replay(replayed.events[:step.position + 1], steps=False)
    return state_answer(replayed.stream, state, replayed.facts,
                        replayed.events[step.position]["version"], who)


# --- choosing the step: ?step=, ?version=, ?at= ---------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """The step a visit asks for (0-based among the caller's steps), and, when the asking was
    wrong, what was wrong: a word key and the values its text names."""

    index: int
    problem: str | None = None
    detail: dict | None = None


def choose_step(steps: list[Step], step: str | None = None, version: str | None = None,
                at: str | None = None) -> Choice:
    """The step `?step=k` (1-based among the caller's steps), `?version=N` (the step of that
    version, if the caller sees it) or `?at=` (the last step at or before a China-time
    moment) names; the first step with the problem when it names none."""
    if step is not None:
        number = _whole_number(step)
        if number is None or not 1 <= number <= len(steps):
            return Choice(0, "bad_step", {"asked": step, "n": len(steps)})
        return Choice(number - 1)
    if version is not None:
        number = _whole_number(version)
        found = next((s for s in steps if number is not None and s.version == number), None)
        if found is not None:
            return Choice(found.number - 1)
        if all(s.version is None for s in steps):
            return Choice(0, "versions_sealed", {"asked": version})
        return Choice(0, "bad_version", {"asked": version})
    if at is not None:
        moment = moment_given(at)
        if moment is None:
            return Choice(0, "bad_time", {"asked": at})
        before = [s for s in steps if parse_time(s.view["ledger_time"]) <= moment]
        if not before:
            return Choice(0, "before_first", {"asked": at.replace("T", " ")})
        return Choice(before[-1].number - 1)
    return Choice(0)


def _whole_number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def moment_given(text: str) -> datetime | None:
    """A moment given in China Standard Time (`YYYY-MM-DDTHH:MM`, as a datetime-local input
    sends it, or with seconds), as an aware time to compare with ledger times (UTC); None if
    it is not one."""
    for form in MOMENT_FORMS:
        try:
            return datetime.strptime(text.strip(), form).replace(tzinfo=CHINA)
        except ValueError:
            continue
    return None


def china_input_value(ledger_time: str) -> str:
    """A ledger time as a datetime-local input's value, in China Standard Time."""
    return parse_time(ledger_time).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


# --- what one step shows ----------------------------------------------------------------------

def change_parts(change: str) -> dict:
    """A change as the API words it (`member: before → after`, `member[i]: before → after`,
    `member: +added −removed`), in parts to show: the member, the index if any, and the
    before and after (or the text of an addition or removal), a time in China time and an
    amount as money, as the state's table shows them (the page words a code: replay.html)."""
    head, _, detail = change.partition(": ")
    member = changed_field(head)
    parts = detail.split(" → ")
    before, after = (parts if len(parts) == 2 else (None, detail))
    return {"raw": change, "member": member, "index": head[len(member):],
            "before": None if before is None else _value(member, before),
            "after": _value(member, after)}


# a time as a change writes it (project_state.CHANGE_TIME)
_CHANGE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _value(member: str, text: str) -> str:
    if text in ("None", ""):
        return "—"
    if member in MONEY_MEMBERS and is_money(text):
        return money(text)
    return _CHANGE_TIME.sub(lambda time: china_moment(  # every time in it, a record's too
        datetime.strptime(time[0], CHANGE_TIME).replace(tzinfo=UTC)), text)


def _withheld_why(value: Any) -> str | None:
    """The reason of a withheld member ({"withheld": why}), None for a member shown."""
    return value.get(v.WITHHELD) if isinstance(value, dict) else None


def step_shown(request: Request, replayed: Replayed, step: Step, session: Session | None,
               who: v.Caller) -> dict:
    """What the page shows of one step: its event, time, actor, version, hash, leaf index
    and proof (each as far as the caller may see it), its changes, and the state after it."""
    view, project = step.view, replayed.stream.split(":", 1)[1]
    version = step.version
    proved = version is not None and not v.sealed_positions(replayed.facts)  # as the API
    leaf = None
    if step.whole:  # as GET /v1/projects/{project}/events gives it: with an event shown whole
        found = request.app.state.ledger.recorder.leaf_of(stream_uuid(replayed.stream), version)
        leaf = found[0] if found else None
    changes = view["changes"]
    answer = state_after(replayed, step, who)
    return {
        "number": step.number, "type": view["type"], "time": china_time(view["ledger_time"]),
        "actor": view["actor"] if isinstance(view["actor"], str) else None,
        "actor_withheld": _withheld_why(view["actor"]),
        "version": version, "version_withheld": _withheld_why(view["version"]),
        "hash": view["hash"] if isinstance(view["hash"], str) else None, "leaf_index": leaf,
        "proof": proof_url(project, replayed.stream, version, session) if proved else None,
        "changes": [change_parts(c) for c in changes] if isinstance(changes, list) else None,
        "changes_withheld": _withheld_why(changes),
        "stage_after": answer["state"].get("stage"),
        **state_table(answer, replayed.facts.listing)}


def proof_url(project: str, stream: str, version: int, session: Session | None) -> str:
    """Where the step's inclusion proof is: the API's (public) for the public; for a
    signed-in actor the portal's, which answers the API's proof for the session's actor (an
    event the public may not see is missing from the public's answer)."""
    if session is None:
        return "/v1/proofs/inclusion?" + urlencode({"stream": stream, "version": version},
                                                   safe=":")
    return f"/portal/replay/{quote(project)}/proof?" + urlencode({"version": version})


def dossier_refusal(request: Request, replayed: Replayed, who: v.Caller) -> str | None:
    """Why the API's GET /v1/projects/{project}/dossier refuses the caller (the reason its
    403 gives, from the same `v.why_not_whole` over the project's events and refusals); None
    when it gives the dossier."""
    refusals = project_events(request.app.state.ledger.recorder, refusal_stream(replayed.stream))
    return v.why_not_whole(replayed.events, refusals, who, replayed.facts)


def _viewer(session: Session | None) -> v.Caller:
    return PUBLIC if session is None else _caller(session)


def _signed_caller(session: Session | None) -> signed_requests.Caller | None:
    """The session's actor as the API's routes take a signed request's caller (they read its
    actor and roles), or None for the public, as an unsigned request is."""
    if session is None:
        return None
    return signed_requests.Caller(session.actor, session.key_id, session.roles, "", session.name)


# --- the pages --------------------------------------------------------------------------------

@router.get("/portal/replay/{project}")
def replay_page(request: Request, project: str) -> Response:
    """One step of the project's replay, with the links to the others (?step=k, ?version=N,
    ?at=China time), the list of all steps, and the dossier (or why not)."""
    session = current_session(request)
    who = _viewer(session)
    try:
        replayed = visible_steps(request, project, who)
    except LedgerError:
        return page(request, "not_found.html", status=404, session=session, project=project)
    steps, query = replayed.steps, request.query_params
    choice = choose_step(steps, query.get("step"), query.get("version"), query.get("at"))
    step = steps[choice.index]
    project_id = replayed.stream.split(":", 1)[1]
    intake = replayed.events[0]["payload"]
    last = len(steps)
    return page(
        request, "replay.html", session=session, project=project_id, title=intake["title"],
        kind=intake["category"], stage_now=replayed.state.stage,
        step=step_shown(request, replayed, step, session, who), n=last,
        neighbours={"first": 1 if step.number > 1 else None,
                    "previous": step.number - 1 if step.number > 1 else None,
                    "next": step.number + 1 if step.number < last else None,
                    "last": last if step.number < last else None},
        timeline=[{"number": s.number, "type": s.view["type"],
                   "time": china_time(s.view["ledger_time"])[5:16]} for s in steps],
        problem=choice.problem, detail=choice.detail or {},
        moment=china_input_value(step.view["ledger_time"]),
        earliest=china_input_value(steps[0].view["ledger_time"]),
        latest=china_input_value(steps[-1].view["ledger_time"]),
        refused=dossier_refusal(request, replayed, who))


@router.get("/portal/replay/{project}/dossier")
def dossier_download(request: Request, project: str) -> Response:
    """The dispute dossier (ZIP) the API's GET /v1/projects/{project}/dossier gives the
    session's actor (or the public), with `?about=N` (repeatable) as there; a page saying
    why not to a caller it refuses."""
    session = current_session(request)
    try:
        visible_project(request, project, _viewer(session))
    except LedgerError:
        return page(request, "not_found.html", status=404, session=session, project=project)
    asked = request.query_params.getlist("about")
    about = [_whole_number(a) for a in asked]
    if None in about:
        return page(request, "replay_refused.html", status=400, session=session,
                    project=project, reason="bad_about", asked=asked[about.index(None)])
    try:
        return dossier(request, project, about=about, caller=_signed_caller(session))
    except LedgerError as refused:  # NotVisible (403): the reason; NotInLog: no such version
        return page(request, "replay_refused.html", status=refused.status, session=session,
                    project=project, reason="dossier_refused", why=refused.message)


@router.get("/portal/replay/{project}/proof")
def step_proof(request: Request, project: str,
               version: int = Query(..., ge=1, description="the event's version"),
               format: str | None = Query(None, pattern="^(json|tlog-proof)$")) -> Response:
    """The inclusion proof of the project's event of `version` that the API's GET
    /v1/proofs/inclusion gives the session's actor (or the public): the same answer, its
    refusals the same problems (404 an event the caller may not see, 403 before the opening)."""
    proof = inclusion(request, stream=project_stream_of(project), version=version, index=None,
                      size=None, format=format, caller=_signed_caller(current_session(request)))
    return proof if isinstance(proof, Response) else JSONResponse(proof)

