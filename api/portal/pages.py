"""The portal's pages. This part: the public's (社会公众): the projects announced and their
results, a project as the public may see it (a lot sold by listing or online auction with
its ladder followed live: listing.py, static/ladder.js), the log's checkpoint and verifier
key, and checking a witness report by dropping its PDF on the page (evidence-format §19.2,
the four checks in plain words; a report's QR code leads here).

Each page gathers what it shows through the API's own reads (api/http/projects.py and the
visibility filter), so a page never shows what the same caller could not read there."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any, Callable
from datetime import datetime
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ledger.errors import LedgerError
from ledger.evidence.canonical import is_money, parse_time
from ledger.procedures.calendar import CHINA
from ledger.evidence.untrusted import MAX_REPORT_BYTES
from ledger.log.checkpoints import latest_checkpoint, log_verifier, log_verifier_key
from ledger.log.proofs import cosigned_note, log_identity
from projections import visibility as v
from projections.project_state import project_streams
from projections.projects_now import ProjectListed
from projections.quote_ladder import ladder_of
from witness.model import money
from witness.vocabulary import ASSETS, METHODS, NO_SALE

from ..http.projects import plain, state_answer, visible_now, visible_now_in_thread
from .listing import LotView, at_instant, lot_seen
from .session import Session, current_session

from .words import (
    DEFAULT, LANGUAGES, category_name, word_of, event_name, field_name, phase_name, role_name, stage_name,
    word,
)

HERE = Path(__file__).parent
TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=True, trim_blocks=True, lstrip_blocks=True,
                               auto_reload=False)  # templates change with the code, not while served
static_files = StaticFiles(directory=HERE / "static")
LANGUAGE_COOKIE = "sunledger-lang"
# the pages load nothing from elsewhere and run no inline script
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
PUBLIC = v.Caller()
LEDGER_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")

router = APIRouter(include_in_schema=False)


def language(request: Request) -> str:
    """The page's language: `?lang=` when given, else the visitor's cookie, else Chinese."""
    asked = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return asked if asked in LANGUAGES else DEFAULT


def render(request: Request, template: str, session: Session | None = None,
           **context: Any) -> str:
    """A template in the visitor's language, with the language switch, who is signed in
    (`session`, from current_session) and the helpers that name things in words."""
    lang = language(request)
    other = "en" if lang == "zh" else "zh"
    return TEMPLATES.get_template(template).render(
        lang=lang, w=lambda key: word(key, lang),
        stage=lambda s, listing=False: stage_name(s, lang, listing),
        field=lambda m, listing=False: field_name(m, lang, listing),
        category=lambda c: category_name(c, lang),
        role=lambda r: role_name(r, lang), phase=lambda p: phase_name(p, lang),
        event=lambda t, listing=False: event_name(t, lang, listing),
        method=lambda m: word_of(METHODS, m, lang),
        asset=lambda a: word_of(ASSETS, a, lang), no_sale=lambda r: word_of(NO_SALE, r, lang),
        money=money, china=china_moment, here=request.url.path, switch_to=other,
        switch_href="?" + urlencode({**request.query_params, "lang": other}),  # same step, say
        session=session, **context)


def page(request: Request, template: str, status: int = 200, session: Session | None = None,
         **context: Any) -> HTMLResponse:
    """A page in the visitor's language (render), with the security headers; the language
    asked for by `?lang=` remembered in a cookie."""
    html = render(request, template, session, **context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=303)


@router.get("/portal")
def portal_without_slash() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=308)


@router.get("/portal/")
def home(request: Request) -> HTMLResponse:
    """The projects announced, with their stage (results once published)."""
    return page(request, "home.html", session=current_session(request),
                projects=_public_projects(request))


@router.get("/portal/sign-in")
def sign_in_page(request: Request) -> HTMLResponse:
    """Sign in with the actor's key file (session.py)."""
    next_page = request.query_params.get("next", "/portal/me")
    if not next_page.startswith("/portal/") or next_page.startswith("//"):
        next_page = "/portal/me"  # only a page of this portal
    return page(request, "sign_in.html", session=current_session(request), next=next_page)


def _caller(session: Session) -> v.Caller:
    """The signed-in actor as the visibility table sees a caller."""
    return v.Caller(session.actor, session.roles)


def china_time(ledger_time: str) -> str:
    """A ledger time (UTC) as the centre reads it: China Standard Time, to the second."""
    try:
        return china_moment(parse_time(ledger_time))
    except (TypeError, ValueError):
        return ledger_time


def china_moment(moment: datetime) -> str:
    """An instant as the centre reads it: China Standard Time, to the second."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def to_sign_in(request: Request) -> RedirectResponse:
    """The sign-in page, coming back to this page (path and query) after."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/portal/sign-in?next={quote(here, safe='/')}", status_code=303)


def _public_projects(request: Request) -> list[dict]:
    """Every project the public may see, newest intake first, as GET /v1/projects lists it."""
    return _projects(request, lambda entry: v.sees_project(PUBLIC, entry.facts, entry.intake))[::-1]


def _projects(request: Request, keep: Callable[[ProjectListed], bool]) -> list[dict]:
    """The projects whose listing entry `keep` takes, in intake order: id, title, category,
    stage."""
    state, found = request.app.state, []
    for stream in project_streams(state.ledger.recorder):
        entry = state.projects_now.listed(stream)
        if entry is not None and keep(entry):
            payload = entry.intake["payload"]
            found.append({"id": stream.split(":", 1)[1], "title": payload["title"],
                          "category": payload["category"], "stage": entry.stage,
                          "listing": entry.facts.listing})
    return found


@router.get("/portal/projects/{project}")
async def project_page(request: Request, project: str) -> HTMLResponse:
    """A project as the public may see it now (the API's GET /v1/projects/{project})."""
    session = await run_in_threadpool(current_session, request)
    try:
        stream, now = await visible_now(request, project, PUBLIC)
    except LedgerError:
        return page(request, "not_found.html", status=404, session=session, project=project)
    answer = state_answer(stream, now.state, now.facts, now.version, PUBLIC)
    lot = await run_in_threadpool(lot_of, request, project, PUBLIC) \
        if now.facts.listing else None
    return page(request, "project.html", session=session, project=answer["project"],
                title=now.intake["payload"]["title"], kind=now.intake["payload"]["category"],
                stage_now=now.state.stage, **state_table(answer, now.facts.listing),
                reached=answer["reached"], lot=lot,
                lot_poll=f"/portal/projects/{quote(answer['project'], safe='')}/ladder",
                now_ms=server_ms(request))


def lot_of(request: Request, project: str, caller: v.Caller) -> LotView | None:
    """A lot sold by listing or online auction as the caller may see it now (listing.py),
    from the fold the server keeps of the project at its head (projects_now: a poll reads the
    head and, when no event came since, nothing else), who quoted only as
    `v.sees_field("quotes", ...)` judges it, as the ladder API does. What the caller may see
    is made once a fold and caller (kept with the fold, as the API's answers are); only what
    counts down is worked out at each read. None for a project sold otherwise; LedgerError
    for one the caller may not see."""
    _, now = visible_now_in_thread(request, project, caller)
    if not now.facts.listing:
        return None
    seen = now.answers.get(("lot", caller))
    if seen is None:
        shown, _ = v.state_view(now.state, caller, now.facts)
        seen = now.answers[("lot", caller)] = lot_seen(
            ladder_of(now.state), shown, v.sees_field("quotes", caller, now.facts))
    return at_instant(seen, request.app.state.ledger.clock.now())


def server_ms(request: Request) -> int:
    """The server's instant (the ledger's clock) in milliseconds since the epoch: what a
    page's countdown is counted against."""
    return round(request.app.state.ledger.clock.now().timestamp() * 1000)


def lot_answer(request: Request, lot: LotView | None, session: Session | None = None) -> Response:
    """A lot's ladder section now, for the page's script (static/ladder.js): the section's
    HTML as the page renders it (left out when the script's `?mark=` says it holds it: the
    section of a lot with thousands of quotes is hundreds of kilobytes, asked for every 1.5 s
    by each open page), its mark (the script replaces the section when it changes),
    the stage, whether bidding goes on (the script polls while it does) and the server's
    instant, which the countdown is counted against (never the browser's clock)."""
    if lot is None:
        return JSONResponse({"error": "no lot sold by listing or online auction visible to "
                                      "you here"}, status_code=404)
    lang = language(request)
    made = lot.made.get((lang, lot.clock))  # made once a fold, caller, language and clock
    if made is None:
        made = lot.made[(lang, lot.clock)] = (
            lot.mark, render(request, "_ladder.html", session, lot=lot, inner=True))
    mark, html = made
    unchanged = request.query_params.get("mark") == mark  # the page holds this section
    return JSONResponse({
        "now_ms": server_ms(request),
        "mark": mark, "stage": lot.stage, "stage_name": stage_name(lot.stage, lang, listing=True),
        "bidding": lot.bidding, **({} if unchanged else {"html": html})},
        headers={"Cache-Control": "no-store", **SECURITY_HEADERS})


@router.get("/portal/projects/{project}/ladder")
def public_lot(request: Request, project: str) -> Response:
    """A listed lot's ladder section as the public may see it now (lot_answer): prices and
    times, never who quoted."""
    try:
        lot = lot_of(request, project, PUBLIC)
    except LedgerError:
        lot = None
    return lot_answer(request, lot)


def state_table(answer: dict, listing: bool) -> dict:
    """The context of _state.html for a state answer (api/http/projects.py state_answer):
    its members as rows and those withheld, each of the project's own procedure only (a
    listing lists no tender's committee among what is withheld, nor a tender a listing's
    quotes)."""
    own = v.procedure_fields(listing)
    return {"rows": _rows({name: x for name, x in answer["state"].items() if name in own}),
            "withheld": [name for name in answer["withheld"] if name in own],
            "sold_by_listing": listing}


# the members that are amounts, or keyed amounts (by bidder): shown as money, 1,234,567.00
MONEY_MEMBERS = frozenset(("estimated_price", "starting_price", "deposit_required", "increment",
                           "highest_quote", "reserve", "award_price", "prices", "registered",
                           "security"))


def _rows(state: dict) -> list[tuple[str, dict]]:
    """The state's members as (name, cell) rows for _state.html, empty ones left out. A cell
    is {"text": ...} for a value, {"pairs": [(key, text)...]} for a member keyed by bidder
    (or version, or expert), or {"records": [text...]} for a list of records; times in China
    time, so a witness reads them as the centre does; amounts as money."""
    rows = []
    for name, value in state.items():
        if name == "stage" or value in (None, "", [], {}, False):
            continue  # the stage is shown above
        rows.append((name, _cell(plain(value), name in MONEY_MEMBERS)))
    return rows


def _cell(value: Any, amounts: bool = False) -> dict:
    text = (lambda x: money(x) if isinstance(x, str) and is_money(x) else _text(x)) if amounts else _text
    if isinstance(value, dict):
        return {"pairs": [(str(k), text(x)) for k, x in value.items()]}
    if isinstance(value, list) and any(isinstance(x, (list, dict)) for x in value):
        return {"records": [_text(x) for x in value]}
    return {"text": text(value)}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_text(x) for x in value)
    if isinstance(value, dict):
        return "；".join(f"{k}: {_text(x)}" for k, x in value.items())
    if isinstance(value, str) and LEDGER_TIME.fullmatch(value):
        return china_time(value)
    return str(value)


@router.get("/portal/log")
def log_page(request: Request) -> HTMLResponse:
    """The latest checkpoint with its cosignatures, and the verifier key that checks it."""
    origin, key, note, size = _log_now(request.app.state.ledger.recorder)
    return page(request, "log.html", session=current_session(request), origin=origin,
                verifier_key=key, note=note, size=size)


def _log_now(recorder: Any) -> tuple[str, str, str | None, int | None]:
    origin, public_key = log_identity(recorder)
    last = latest_checkpoint(recorder)
    note = cosigned_note(recorder, last[0]) if last else None
    return origin, log_verifier_key(origin, public_key), note, last[0] if last else None


@router.get("/portal/verify")
def verify_page(request: Request) -> HTMLResponse:
    """Drop a report to check it; a report's QR code opens this page with its number."""
    return page(request, "verify.html", session=current_session(request),
                scanned=request.query_params.get("report", "")[:40])


@router.post("/portal/verify")
async def verify_report_posted(request: Request) -> Response:
    """The four checks of a report PDF sent as the body, as JSON for the page's script: each
    step holds, fails or was not checked, with the technical lines."""
    data = await request.body()
    if len(data) > MAX_REPORT_BYTES:
        return JSONResponse({"error": f"a report is at most {MAX_REPORT_BYTES} bytes"},
                            status_code=413)
    checked = await run_in_threadpool(_check_report, request.app.state.ledger, data)
    return JSONResponse(checked, status_code=422 if "error" in checked else 200)


def _check_report(ledger: Any, data: bytes) -> dict:
    from witness.reports import (
        STEPS, embedded_evidence, recorded_in_store, verify_report,
    )

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it logs what it repairs
    try:
        project = embedded_evidence(data)["project"]
        recorded = recorded_in_store(ledger.recorder, project) \
            if project.startswith("project:") else []
    except (LedgerError, LookupError, TypeError, ValueError):
        recorded = []  # verify_report says what is wrong with the evidence
    try:
        check = verify_report(data, log=log_verifier(*log_identity(ledger.recorder)),
                              recorded_hashes=recorded)
    except LedgerError as error:  # a file refused unread (UntrustedFileError), say
        return {"error": getattr(error, "message", str(error))}
    return {"report": check.report_id, "project": check.project.split(":", 1)[-1],
            "events": check.events, "genuine": check.ok and all(
                check.steps[s] == "holds" for s in STEPS),
            "steps": [{"step": s, "result": check.steps[s]} for s in STEPS],
            "holds": check.holds, "fails": check.fails, "unchecked": check.unchecked,
            "sha256": hashlib.sha256(data).hexdigest()}
