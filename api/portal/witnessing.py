"""The witness officer's pages (见证人员): the projects they witness, each with its stage and
next deadline; a project's page with a listed lot's ladder and live countdown, its live
timeline (server-sent events) grouped by phase, the legal periods with the time left, the
refusals, warnings and observations the officer may see, and its witness reports:
download, checked in words, signed off.

Only the officers assigned to a project open its page. Everything on it is read through the
API's own reads and visibility filter for this officer (api/http/projects.py, reports.py,
supervision.py). What the officer records here (an observation, a report's sign-off) is
signed in the browser with the officer's own key and submitted as a signed action to
POST /v1/actions (static/witness.js): the server holds no key and signs nothing for them."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime, timezone
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ledger.errors import LedgerError
from ledger.evidence.envelope import stream_uuid
from ledger.procedures.refusals import refusal_stream
from ledger.procedures.tender import ProjectState
from projections import visibility as v
from projections.project_state import project_events
from witness.model import cst_due
from witness.vocabulary import INDICATORS, REFUSED_RULES

from ..http.projects import state_answer, visible_now, visible_project
from ..http.reports import report_file, reports_listed
from ..http.supervision import warnings_now, warnings_seen
from .pages import (
    TEMPLATES, _caller, _projects, china_moment, china_time, language, lot_answer, lot_of, page,
    server_ms, state_table, to_sign_in,
)
from .periods import duration_words, legal_periods, next_deadline
from .session import Session, current_session
from .words import event_name, phase_name, stage_name, word

router = APIRouter(include_in_schema=False)
OBSERVATION = "project.witness-observation/v1"
# the phases of a listing or online auction, by the milestone reached (visibility.MILESTONES)
LISTING_PHASES = {"announced": "listing", "opened": "bidding-ended", "fixed": "sold",
                  "published": "result-published"}
# and its timed round, between the close (when a bidder asked to go on) and the round's end
ROUND_PHASES = {("project.listing-closed/v1", True): "timed-round",
                ("project.round-ended/v1", True): "opened"}
LIVE_SECONDS = 60  # a live timeline's connection lasts this long; the browser reconnects
LIVE_POLL = 0.5  # how often the stream's head is looked at, seconds
KEEP_ALIVE = 15  # a comment this often keeps proxies from closing a quiet stream


def witnessed(request: Request, session: Session) -> list[dict]:
    """The projects the signed-in witness officer is assigned to, in intake order, each with
    its next deadline (as the officer may see it)."""
    if "witness" not in session.roles:
        return []
    found = _projects(request, lambda entry: session.actor in entry.facts.witnesses)
    lang, now = language(request), datetime.now(timezone.utc)
    for project in found:
        stream = f"project:{project['id']}"
        current = request.app.state.projects_now.get(stream)
        answer = state_answer(stream, current.state, current.facts, current.version,
                              _caller(session))
        due = next_deadline(legal_periods(current.state, set(answer["state"]),
                                          request.app.state.ledger.procedure.rules), now)
        project["next"] = None if due is None else {
            "name": due.name[0 if lang == "zh" else 1], "due": cst_due(due.due),
            "left": duration_words((due.due - now).total_seconds(), lang)}
    return found


def _assigned(request: Request, project: str):
    """(session, caller, stream, events, facts) for the officer assigned to the project, or
    the answer to give instead: the sign-in page, or a 404 saying it is not theirs."""
    session = current_session(request)
    if session is None:
        return to_sign_in(request)
    caller = _caller(session)
    try:
        stream, events, facts = visible_project(request, project, caller)
    except LedgerError:
        events, facts = [], None
    if facts is None or session.actor not in facts.witnesses:
        return page(request, "not_found.html", status=404, session=session, project=project,
                    reason="not_witnessed")
    return session, caller, stream, events, facts


@router.get("/portal/me")
def my_page(request: Request) -> Response:
    """Who is signed in, with what key and roles, and the projects they witness; the
    sign-in page for the public."""
    session = current_session(request)
    if session is None:
        return to_sign_in(request)
    return page(request, "me.html", session=session, witnessed=witnessed(request, session))


@router.get("/portal/witness/{project}")
def witness_project_page(request: Request, project: str) -> Response:
    """A project as the witness officer assigned to it sees it: a listed lot's ladder and
    live countdown (pages.lot_of, who quoted included), its periods, reports, warnings,
    refusals, observations, its events (the same filter as GET /v1/projects/{project}/events
    for this officer) grouped by phase and followed live, and its state."""
    found = _assigned(request, project)
    if isinstance(found, Response):
        return found
    session, caller, stream, events, facts = found
    now = request.app.state.projects_now.get(stream)
    answer = state_answer(stream, now.state, now.facts, now.version, caller)
    lang, moment = language(request), datetime.now(timezone.utc)
    periods = [{"name": p.name[0 if lang == "zh" else 1], "article": p.article,
                "subjects": p.subjects, "status": p.status(moment),
                # a countdown runs out at a second, not with a day
                "due": china_moment(p.due) if p.kind == "timed-round" else cst_due(p.due),
                "kind": p.kind,
                "met": p.met and china_moment(p.met),
                "left": duration_words(abs((p.due - moment).total_seconds()), lang)}
               for p in legal_periods(now.state, set(answer["state"]),
                                      request.app.state.ledger.procedure.rules)]
    rows = timeline_rows(events, caller, facts)
    return page(request, "witness_project.html", session=session, project=answer["project"],
                title=now.intake["payload"]["title"], kind=now.intake["payload"]["category"],
                stage_now=now.state.stage, **state_table(answer, facts.listing),
                phases=_phases(rows), live_seen=len(rows),
                live_mark=_mark(rows), periods=periods,
                reports=_reports(request, stream, events, facts, caller, session,
                                 now.state if now.version == len(events) else None),
                warnings=_warnings(request, stream, events, caller, lang),
                refusals=_refusals(request, stream, caller, facts, lang),
                observations=[r for r in rows if r["type"] == OBSERVATION],
                lot=lot_of(request, project, caller),
                lot_poll=f"/portal/witness/{quote(answer['project'], safe='')}/ladder",
                now_ms=server_ms(request))


@router.get("/portal/witness/{project}/ladder")
def witnessed_lot(request: Request, project: str) -> Response:
    """A listed lot's ladder section as the officer assigned sees it now (pages.lot_answer),
    who quoted included: the officers always see it (docs/visibility.md)."""
    found = _assigned(request, project)
    if isinstance(found, Response):
        return JSONResponse({"error": "not-witnessed"}, status_code=404)
    session, caller = found[0], found[1]
    return lot_answer(request, lot_of(request, project, caller), session)


def timeline_rows(events: list[dict], caller: v.Caller, facts: v.ProjectFacts) -> list[dict]:
    """The events the caller may see, in order, each with the phase it came in (the
    milestone the project had reached before it: intake, announced, opened, reported,
    published, fixed; a listing's timed round between its close and its end)."""
    rows, phase, continuing = [], "intake", False
    # a listing's phases have names of their own (the milestones are the tender's: its
    # close plays the opening's part)
    names = LISTING_PHASES if facts.listing else {}
    for event in events:
        view = v.project_view(event, caller, facts)
        if view is not None:
            payload = view.get("payload") if isinstance(view.get("payload"), dict) else {}
            rows.append({"phase": names.get(phase, phase), "type": event["type"],
                         "time": china_time(event.get("ledger_time", "")),
                         "actor": view["actor"] if isinstance(view["actor"], str) else None,
                         "withheld": v.WITHHELD in view,
                         "note": payload.get("note") if event["type"] == OBSERVATION else None,
                         "media_hash": payload.get("media_hash")
                         if event["type"] == OBSERVATION else None})
        phase = v.MILESTONES.get(event["type"], phase)
        if facts.listing:  # a continuation asked for: the close opens the timed round
            continuing = continuing or event["type"] == "project.continuation-requested/v1"
            phase = ROUND_PHASES.get((event["type"], continuing), phase)
    return rows


def _phases(rows: list[dict]) -> list[dict]:
    phases: list[dict] = []
    for row in rows:
        if not phases or phases[-1]["phase"] != row["phase"]:
            phases.append({"phase": row["phase"], "events": []})
        phases[-1]["events"].append(row)
    return phases


def _mark(rows: list[dict]) -> str:
    """What the live timeline's client has seen, as an event id: how many rows, and a digest
    of them, so a reconnection that finds the rows before it changed (an opening shows
    events that were hidden) tells the page to reload instead of adding rows out of place.
    It counts only the rows this officer sees: never a version (法 §22)."""
    digest = hashlib.sha256(orjson.dumps([(r["type"], r["time"]) for r in rows])).hexdigest()
    return f"{len(rows)}.{digest[:16]}"


def _reports(request: Request, stream: str, events: list[dict], facts: v.ProjectFacts,
             caller: v.Caller, session: Session, state: ProjectState | None) -> list[dict]:
    """The project's reports this officer may download, each saying whether the officer
    signed it off already."""
    project = stream.split(":", 1)[1]
    listed = reports_listed(request, stream, events, facts, caller, state)
    for report in listed:
        report["issued"] = china_time(report["issued_at"])
        report["mine"] = any(s["officer"] == session.actor for s in report["signed_off_by"])
        report["download"] = (f"/portal/witness/{project}/reports/"
                              f"{report['report_id']}.pdf")
    return listed


def _warnings(request: Request, stream: str, events: list[dict], caller: v.Caller,
              lang: str) -> list[dict]:
    recorder = request.app.state.ledger.recorder
    shown = warnings_seen(recorder, stream, warnings_now(request, stream.split(":", 1)[1])
                           .get(stream, []), caller, events)
    for warning in shown:
        names = INDICATORS.get(warning["indicator"])
        warning["name"] = names[0 if lang == "zh" else 1] if names else warning["indicator"]
    return shown


def _refusals(request: Request, stream: str, caller: v.Caller, facts: v.ProjectFacts,
              lang: str) -> list[dict]:
    """The refused actions recorded on the project that the officer may see (GET /v1/
    projects/{project}/refusals), as rows: when, what was refused, by which rule."""
    shown = []
    for record in project_events(request.app.state.ledger.recorder, refusal_stream(stream)):
        view = v.refusal_view(record, caller, facts)
        if view is None:
            continue
        payload = view["payload"]
        action = payload.get("action", {})
        names = REFUSED_RULES.get(payload.get("rule", ""))
        shown.append({"time": china_time(view["ledger_time"]), "actor": action.get("actor"),
                      "type": action.get("type", ""), "rule": payload.get("rule"),
                      "rule_name": names[0 if lang == "zh" else 1] if names else None,
                      "article": payload.get("article"), "message": payload.get("message")})
    return shown


@router.get("/portal/witness/{project}/reports/{report_id}.pdf")
async def report_download(request: Request, project: str, report_id: str) -> Response:
    """An issued report's PDF for the officer, as GET /v1/projects/{project}/reports/
    {report_id}.pdf gives it to a signed request of theirs."""
    found = await run_in_threadpool(_assigned, request, project)
    if isinstance(found, Response):
        return found
    try:
        name, pdf = await run_in_threadpool(report_file, request, project, report_id, found[1])
    except LedgerError as error:
        return JSONResponse({"error": getattr(error, "message", str(error))}, status_code=404)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/portal/witness/{project}/version")
async def signing_version(request: Request, project: str) -> JSONResponse:
    """The version the officer signs the next action on the project at (GET /v1/projects/
    {project}/version for a signed request of theirs); the stream it is on."""
    found = await run_in_threadpool(_assigned, request, project)
    if isinstance(found, Response):
        return JSONResponse({"error": "not-witnessed"}, status_code=404)
    _, caller, stream, _, _ = found
    _, now = await visible_now(request, project, caller)
    if not v.may_learn_version(caller, now.facts):
        return JSONResponse({"error": "sealed", "detail": word("version_sealed", "en")},
                            status_code=403)
    return JSONResponse({"stream": stream, "version": now.version},
                        headers={"Cache-Control": "no-store"})


@router.get("/portal/witness/{project}/live")
async def live_timeline(request: Request, project: str) -> Response:
    """The timeline's new rows as server-sent events, for the officer assigned: each row
    rendered as the page renders it (`event: row`), the stage when it moves (`event: stage`),
    `event: reload` when rows before those seen changed. The connection ends after a minute,
    at once when the server stops, and the browser reconnects (Last-Event-ID: the mark of
    what it has seen): so a revoked key or an assignment withdrawn ends the stream too."""
    found = await run_in_threadpool(_assigned, request, project)
    if isinstance(found, Response):
        return JSONResponse({"error": "not-witnessed"}, status_code=404)
    session, caller, stream, events, facts = found
    lang = language(request)
    seen_mark = request.headers.get("last-event-id") or request.query_params.get("seen", "")

    def rows_now() -> tuple[list[dict], str]:
        events = project_events(request.app.state.ledger.recorder, stream)
        current = request.app.state.projects_now.get(stream)
        return timeline_rows(events, caller, v.facts_of(events)), current.state.stage

    async def messages():
        yield "retry: 1000\n\n"
        rows, stage = timeline_rows(events, caller, facts), None
        count, _, _ = seen_mark.partition(".")
        seen = int(count) if count.isdigit() else len(rows)
        if seen > len(rows) or _mark(rows[:seen]) != seen_mark and seen_mark:
            yield "event: reload\ndata: {}\n\n"
            return
        stopping = request.app.state.stopping
        ends, quiet_since = time.monotonic() + LIVE_SECONDS, time.monotonic()
        head = await request.app.state.loop_reads.stream_head(stream_uuid(stream))
        while time.monotonic() < ends and not stopping():
            if seen < len(rows):
                new = rows[seen:]
                seen = len(rows)
                for i, row in enumerate(new):
                    mark = _mark(rows[:seen - len(new) + i + 1])
                    yield _message("row", mark, {"phase": row["phase"],
                                                 "phase_name": phase_name(row["phase"], lang),
                                                 "html": _row_html(row, lang, facts.listing)})
                quiet_since = time.monotonic()
            if stage is not None:
                yield _message("stage", None, {"stage": stage,
                                               "name": stage_name(stage, lang, facts.listing)})
                stage = None
            if await request.is_disconnected():
                return
            if time.monotonic() - quiet_since > KEEP_ALIVE:
                yield ": still here\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(LIVE_POLL)
            now_head = await request.app.state.loop_reads.stream_head(stream_uuid(stream))
            if now_head != head:
                head = now_head
                fresh, stage = await run_in_threadpool(rows_now)
                if fresh[:seen] != rows[:seen]:
                    yield "event: reload\ndata: {}\n\n"
                    return
                rows = fresh

    return StreamingResponse(messages(), media_type="text/event-stream", headers={
        "Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _message(kind: str, mark: str | None, data: dict) -> str:
    head = f"event: {kind}\n" + (f"id: {mark}\n" if mark else "")
    return head + f"data: {orjson.dumps(data).decode()}\n\n"


def _row_html(row: dict, lang: str, listing: bool) -> str:
    return TEMPLATES.get_template("_timeline_row.html").render(
        e=row, w=lambda key: word(key, lang), sold_by_listing=listing,
        event=lambda t, listing=False: event_name(t, lang, listing))
