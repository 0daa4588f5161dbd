"""The supervision body's pages (行政监督部门): every project with its stage and warnings,
the warnings with their rule, article, figures and linked events, the log's health, and the
statistics with their charts. Only a signed-in actor with the role supervisor opens them:
without a session a page sends to the sign-in page, to anyone else it is not there (404).

Each page reads through the API's own functions: the projects as GET /v1/projects lists
them to this caller, the warnings as GET /v1/warnings gives them (its `warnings_now` and
`warnings_seen`: the same filter), a project's state through the visibility table, the
statistics as GET /v1/statistics computes them. Warnings inform; they decide nothing
(条例 §39–§40): the page says so.

"Verify now" runs the verifier over the store (`sunledger verify`'s run, in a thread of this
server process, one at a time) and records the run (ledger/audit/runs.py), so the log page
shows when the log was last verified, by whom, and what was found."""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup

from ledger.errors import BadNote, LedgerError
from ledger.log.checkpoints import latest_checkpoint, parse_checkpoint
from ledger.log.notes import cosignature_time, parse_verifier_key, split_note
from ledger.procedures.rights import LISTING_METHODS
from ledger.audit.runs import last_run, record_run
from projections import visibility as v
from projections.project_state import concluded_projects, project_streams
from projections.statistics import as_rows, grouped
from witness.vocabulary import INDICATORS

from ..http.supervision import warnings_now, warnings_seen
from . import charts
from .pages import _caller, _projects, china_moment, china_time, language, page, to_sign_in
from .session import Session, csrf_holds, current_session
from .words import WORDS, category_name, word

router = APIRouter(include_in_schema=False)
FINDINGS_SHOWN = 50  # of a verification run's findings, the page lists the first so many


def _supervisor(request: Request) -> Session | Response:
    """The signed-in supervision body; else the answer to give: the sign-in page (303,
    coming back here after) without a session, a page that is not there (404) for an
    actor without the role supervisor."""
    session = current_session(request)
    if session is None:
        return to_sign_in(request)
    if "supervisor" not in session.roles:
        return page(request, "not_found.html", status=404, session=session,
                    project=word("supervision", language(request)), reason="not_supervisor")
    return session


# --- the projects ---------------------------------------------------------------------------

@router.get("/portal/supervision")
def overview_page(request: Request) -> Response:
    """Every project the supervision body may see (GET /v1/projects for it), newest intake
    first, with its stage and the number of warnings it may see; `?warned=1`: only those
    with warnings."""
    session = _supervisor(request)
    if not isinstance(session, Session):
        return session
    caller = _caller(session)
    projects = _projects(request, lambda entry: v.sees_project(caller, entry.facts,
                                                               entry.intake))[::-1]
    counts = warning_counts(request, caller)
    for project in projects:
        project["warnings"] = counts.get(project["id"], 0)
    warned = request.query_params.get("warned") == "1"
    return page(request, "supervision.html", session=session,
                projects=[p for p in projects if p["warnings"]] if warned else projects,
                warned=warned, total=len(projects),
                with_warnings=sum(1 for p in projects if p["warnings"]),
                warnings_total=sum(counts.values()))


def warning_counts(request: Request, caller: v.Caller) -> dict[str, int]:
    """Per project id, the number of warnings the caller may see (as GET /v1/warnings)."""
    recorder = request.app.state.ledger.recorder
    counts = {}
    for stream, warnings in warnings_now(request, None).items():
        shown = warnings_seen(recorder, stream, warnings, caller)
        if shown:
            counts[stream.split(":", 1)[1]] = len(shown)
    return counts


# --- the warnings -----------------------------------------------------------------------------

@router.get("/portal/supervision/warnings")
def warnings_page(request: Request) -> Response:
    """The collusion warnings the supervision body may see (GET /v1/warnings), by project
    (`?project=` one project's): each indicator in words with its article, what it found,
    its figures, the bidders it names, and the events behind it, each linked to the replay
    of its project at its version."""
    session = _supervisor(request)
    if not isinstance(session, Session):
        return session
    caller, lang = _caller(session), language(request)
    asked = request.query_params.get("project") or None
    recorder = request.app.state.ledger.recorder
    found = []
    for stream, warnings in warnings_now(request, asked).items():
        shown = warnings_seen(recorder, stream, warnings, caller)
        if not shown:
            continue
        behind = events_at(recorder, stream, {p for w in shown for p in w["events"]})
        entry = request.app.state.projects_now.listed(stream)
        found.append({
            "id": stream.split(":", 1)[1],
            "title": entry.intake["payload"]["title"] if entry is not None else "",
            "stage": entry.stage if entry is not None else "",
            "listing": entry is not None and entry.facts.listing,
            "warnings": [{**w, "name": indicator_name(w["indicator"], lang),
                          "about": indicator_about(w["indicator"], lang),
                          "behind": [behind[p] for p in w["events"] if p in behind]}
                         for w in shown]})
    return page(request, "supervision_warnings.html", session=session, projects=found,
                asked=asked, warnings_total=sum(len(p["warnings"]) for p in found))


def events_at(recorder: Any, stream: str, positions: set[int]) -> dict[int, dict]:
    """The project's events at these global positions (a warning's `events`), each with its
    version in the project (where the replay shows it), type, time (China) and the bidder
    it names: one read of the row at each position. A position that holds no event of this
    project is left out."""
    found = {}
    for position in sorted(positions):
        rows = recorder.select_rows(position - 1, position)
        if not rows:
            continue
        event = orjson.loads(rows[0][4])
        if event.get("stream") != stream:
            continue
        found[position] = {"position": position, "version": event["version"],
                           "type": event["type"], "time": china_time(event["ledger_time"]),
                           "bidder": event["payload"].get("bidder", "")}
    return found


def indicator_name(indicator: str, lang: str) -> str:
    """A collusion indicator (projections/warnings.py) named as the witness reports name it
    (witness/vocabulary.py); its id if it has no name."""
    zh, en = INDICATORS.get(indicator, (indicator, indicator))
    return en if lang == "en" else zh


def indicator_about(indicator: str, lang: str) -> str:
    """What the indicator looks for, in words ("" if not said)."""
    key = f"indicator_about.{indicator}"
    return word(key, lang) if key in WORDS else ""


# --- the log's health -----------------------------------------------------------------------

@router.get("/portal/supervision/log")
def log_health_page(request: Request) -> Response:
    """The log's health: the latest checkpoint (size, time, root), each witness with the
    largest size it cosigned and how far behind it is (and, for the witnesses this server
    pushes to, its last error), and the last verification run with its findings."""
    session = _supervisor(request)
    if not isinstance(session, Session):
        return session
    state = request.app.state
    recorder = state.ledger.recorder
    checkpoint = checkpoint_now(recorder)
    pusher = getattr(state, "witness_pusher", None)
    pushed = pusher.status() if pusher is not None else []
    run = last_verification(recorder)
    job = verifications.status()
    return page(request, "supervision_log.html", session=session, checkpoint=checkpoint,
                log_size=recorder.tree_size(),
                witnesses=witness_health(recorder, checkpoint, pushed), run=run,
                findings=run.get("findings", [])[:FINDINGS_SHOWN] if run else [], job=job)


def checkpoint_now(recorder: Any) -> dict | None:
    """The latest checkpoint: its size, when it was issued (China time), its root."""
    last = latest_checkpoint(recorder)
    if last is None:
        return None
    size, note, issued = last[0], last[1], last[2]
    try:
        root_text = base64.b64encode(parse_checkpoint(split_note(note)[0]).root).decode()
    except (BadNote, LedgerError):
        root_text = None
    return {"size": size, "issued": china_time(issued), "root": root_text}


def witness_health(recorder: Any, checkpoint: dict | None, pushed: list[dict]) -> list[dict]:
    """Each witness, by the cosignatures the store keeps and by this server's workers (those
    it pushes checkpoints to): its name and key, the largest size it cosigned, when (the
    cosignature's own time, if it verifies), how many events that is behind the latest
    checkpoint, and the worker's last error."""
    largest: dict[str, tuple[int, str]] = {}
    for size, witness, line in recorder.cosignatures():  # by size: the last is the largest
        largest[witness] = (size, line)
    keys = [status["key"] for status in pushed] + sorted(k for k in largest
                                                         if k not in {s["key"] for s in pushed})
    statuses = {status["key"]: status for status in pushed}
    found = []
    for key in keys:
        size, line = largest.get(key, (None, None))
        status = statuses.get(key)
        if status is not None and status.get("cosigned_size") and (size is None or
                                                                   status["cosigned_size"] > size):
            size = status["cosigned_size"]  # it said so (a 409) though no line is kept here
        found.append({
            "name": key.split("+", 1)[0], "key": key, "cosigned": size,
            "cosigned_at": _cosigned_at(recorder, key, size, line) if line else None,
            "behind": checkpoint["size"] - size if checkpoint and size is not None else None,
            "pushed": status is not None, "url": status["url"] if status else None,
            "last_error": status["last_error"] if status else None,
            "last_error_at": china_time(status["last_error_at"])
            if status and status.get("last_error_at") else None,
            "failures": status["consecutive_failures"] if status else 0,
            "next_attempt": china_time(status["next_attempt"])
            if status and status.get("next_attempt") else None})
    return found


def _cosigned_at(recorder: Any, key: str, size: int, line: str) -> str | None:
    """When the witness cosigned the checkpoint of `size` (China time), by the time its
    cosignature states and signs; None when the line does not verify over that checkpoint."""
    kept = recorder.checkpoints(size, size)
    if not kept:
        return None
    try:
        seconds = cosignature_time(split_note(kept[0][1])[0], line, parse_verifier_key(key))
    except (BadNote, LedgerError, ValueError):
        return None
    return china_moment(datetime.fromtimestamp(seconds, timezone.utc))


def last_verification(recorder: Any) -> dict | None:
    """The last verification run recorded in the store, for the page (times in China time);
    None when none is recorded; {"unreadable": why} when the store's record of runs cannot
    be read."""
    try:
        run = last_run(recorder)
    except LedgerError as error:
        return {"unreadable": error.message}
    if run is None:
        return None
    return {"finished": china_time(run.finished_at), "by": run.by, "seconds": run.seconds,
            "events": run.events, "tree_root": run.tree_root,
            "latest_checkpoint": run.latest_checkpoint, "intact": run.intact,
            "findings_total": run.findings_total, "findings": list(run.findings)}


# --- verify now ---------------------------------------------------------------------------------

@dataclass
class VerificationJob:
    """One verification this server process runs: who asked, when, and how it ended."""

    by: str
    started: float  # time.time()
    events: int  # the store's last position when it started: about the rows to check
    finished: float | None = None
    intact: bool | None = None
    findings_total: int | None = None
    error: str | None = None

    def view(self) -> dict:
        now = self.finished or time.time()
        return {"running": self.finished is None, "by": self.by,
                "started": china_moment(datetime.fromtimestamp(self.started, timezone.utc)), "seconds": round(now - self.started, 1),
                "events": self.events, "intact": self.intact,
                "findings_total": self.findings_total, "error": self.error}


@dataclass
class Verifications:
    """The verifications of this process: one at a time, and the last one's outcome."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    job: VerificationJob | None = None

    def start(self, ledger: Any, by: str) -> bool:
        """Start verifying the ledger's store in a thread, recorded as run `by`; False when
        one is running already (it goes on; none is started)."""
        with self.lock:
            if self.job is not None and self.job.finished is None:
                return False
            self.job = VerificationJob(by, time.time(), ledger.recorder.max_position())
            job = self.job
        threading.Thread(target=self._run, args=(job, ledger), daemon=True,
                         name="portal verify").start()
        return True

    def status(self) -> dict | None:
        with self.lock:
            return self.job.view() if self.job is not None else None

    @staticmethod
    def _run(job: VerificationJob, ledger: Any) -> None:
        """`sunledger verify` over the store (half this machine's processors, so the server
        keeps answering), then the run recorded; any failure kept as the job's error."""
        from ledger.audit.verify import StoreSource, verify

        started = time.perf_counter()
        try:
            report = verify(StoreSource(ledger.url), workers=max(1, (os.cpu_count() or 2) // 2))
            seconds = time.perf_counter() - started
            job.intact, job.findings_total = report.intact, report.findings_total
            record_run(ledger.recorder, report, seconds, job.by)
        except LedgerError as error:
            job.error = error.message
        except Exception as error:  # a thread's failure is told on the page, not lost
            job.error = f"{type(error).__name__}: {error}"
        finally:
            job.finished = time.time()


verifications = Verifications()  # this process's: one verification at a time


@router.post("/portal/supervision/verify")
def verify_now(request: Request) -> JSONResponse:
    """Start a verification of the whole log (one at a time per server process), for a
    supervision body, with the portal's CSRF token; JSON: whether it started, and the run
    in progress."""
    session = current_session(request)
    if session is None or "supervisor" not in session.roles:
        return JSONResponse({"error": "not-found", "detail": "no such page for this caller"},
                            status_code=404)
    if not csrf_holds(request):
        return JSONResponse({"error": "csrf", "detail": "a change made through the portal "
                             "carries its CSRF token"}, status_code=403)
    started = verifications.start(request.app.state.ledger, session.actor)
    return JSONResponse({"started": started, "job": verifications.status()},
                        status_code=202 if started else 200,
                        headers={"Cache-Control": "no-store"})


@router.get("/portal/supervision/verify")
def verify_progress(request: Request) -> JSONResponse:
    """Whether a verification is running in this server process, since when and for how
    long, over about how many events (the verifier tells no finer progress), and how the
    last one ended."""
    session = current_session(request)
    if session is None or "supervisor" not in session.roles:
        return JSONResponse({"error": "not-found", "detail": "no such page for this caller"},
                            status_code=404)
    job = verifications.status()
    return JSONResponse({"running": bool(job and job["running"]), "job": job},
                        headers={"Cache-Control": "no-store"})


# --- the statistics -------------------------------------------------------------------------

@router.get("/portal/supervision/statistics")
def statistics_page(request: Request) -> Response:
    """The statistics (GET /v1/statistics) as a table and charts: the savings rate by month
    and category; the bids of each project whose bids the supervision body may see (from
    its opening); and the failed tenders (流标) by the month they closed and category."""
    session = _supervisor(request)
    if not isinstance(session, Session):
        return session
    caller, lang = _caller(session), language(request)
    rows = as_rows(grouped(concluded_projects(request.app.state.ledger.recorder)))
    seen = visible_states(request, caller)
    bids = bids_per_project(seen)
    failed = failed_by_month(rows)
    return page(request, "supervision_statistics.html", session=session, rows=rows,
                bids=bids, failed=failed, sealed=sum(1 for s in seen if "bids" not in s[1]),
                savings_chart=Markup(savings_chart(rows, lang)),
                bids_chart=Markup(bids_chart(bids, lang)),
                failed_chart=Markup(failed_chart(failed, lang)))


def visible_states(request: Request, caller: v.Caller) -> list[tuple[str, dict]]:
    """(project id, the members of its state the caller may see now) of every project it
    may see, in intake order: the state view GET /v1/projects/{id} gives it."""
    projects_now, found = request.app.state.projects_now, []
    for stream in project_streams(request.app.state.ledger.recorder):
        now = projects_now.get(stream)
        if now is None or not v.sees_project(caller, now.facts, now.intake):
            continue
        shown, _ = v.state_view(now.state, caller, now.facts)
        found.append((stream.split(":", 1)[1], shown))
    return found


def bids_per_project(seen: list[tuple[str, dict]]) -> list[tuple[str, int]]:
    """(project, its live bids) of each tender whose bids the caller may see (a listing has
    quotes, not sealed bids: it is not drawn)."""
    return [(project, len(state["bids"])) for project, state in seen
            if "bids" in state and state.get("method") not in LISTING_METHODS]


def failed_by_month(rows: list[dict]) -> dict[tuple[str, str], int]:
    """The failed tenders (流标) of the statistics' rows (GET /v1/statistics: counted by the
    month they closed), by (category, month), the groups without one left out."""
    return {(r["category"], r["month"]): r["failed"] for r in rows if r["failed"]}


def _by_month(cells: dict[tuple[str, str], float | None]) -> tuple[list[str], list[charts.Series]]:
    """Months (the x axis) and one series per category, from {(category, month): value}."""
    months = sorted({m for _, m in cells})
    categories = sorted({c for c, _ in cells})
    return months, [(c, [cells.get((c, m)) for m in months]) for c in categories]


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _percent_tick(value: float) -> str:
    return f"{value * 100:g}%"


def _count(value: float) -> str:
    return f"{value:.0f}"


def savings_chart(rows: list[dict], lang: str) -> str:
    """The savings rate of each (category, month) that has one, grouped by month."""
    months, series = _by_month({(r["category"], r["month"]): float(Decimal(r["savings_rate"]))
                                for r in rows if r["savings_rate"] is not None})
    return charts.grouped_bar_chart(
        months, [charts.Series(category_name(c, lang), tuple(values)) for c, values in series],
        title=word("sup_chart_savings", lang), x_label=word("sup_month", lang),
        y_label=word("sup_savings_rate", lang), show=_percent, show_tick=_percent_tick,
        chart_id="savings-chart")


def bids_chart(bids: list[tuple[str, int]], lang: str) -> str:
    return charts.bar_chart([p for p, _ in bids], [n for _, n in bids],
                            title=word("sup_chart_bids", lang), x_label=word("project", lang),
                            y_label=word("sup_bids_count", lang), show=_count, counts=True,
                            chart_id="bids-chart")


def failed_chart(failed: dict[tuple[str, str], int], lang: str) -> str:
    months, series = _by_month({k: float(n) for k, n in failed.items()})
    return charts.grouped_bar_chart(
        months, [charts.Series(category_name(c, lang), tuple(values)) for c, values in series],
        title=word("sup_chart_failed", lang), x_label=word("sup_month", lang),
        y_label=word("sup_failed_count", lang), show=_count, counts=True, chart_id="failed-chart")

