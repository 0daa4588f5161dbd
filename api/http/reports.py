"""A project's files and history, each through the visibility table (projections/visibility.py,
docs/visibility.md): its issued witness reports (数字见证报告) and their PDFs, its dispute
dossier (争议卷宗), and its replay step by step.

A report or a dossier carries events whole and signed: it is given only to a caller who may
see every event in it whole (and every refused action it carries); any other caller is told
why (403), or, if it may not see the project at all, nothing (404). The PDFs are the ones the
centre's reporter wrote (`sunledger reports --out DIR`, witness/reports.py `InFolder`), served
from that folder (`sunledger serve --reports DIR`) only if their bytes are the ones the ledger
recorded as issued. A witness officer signs a report off with a signed action
(`project.report-signed-off/v1` through POST /v1/actions): no route here writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Iterator, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, TypedDict

from ledger.errors import NotInLog
from ledger.procedures.refusals import refusal_stream
from ledger.procedures.tender import ProjectState
from projections import visibility as v
from projections.dossier import dossier_bytes
from projections.project_state import project_events, replay
from witness.model import SIGNED_SUFFIX
from witness.reports import ReportNotKept, issued_file, read_issued

from .problems import problem_responses
from .projects import AT, EXAMPLE, PAGE, PROJECT, NotVisible, moment_of, visible_project, viewer
from .signed_requests import Caller, UNAUTHENTICATED, caller_or_public

router = APIRouter(prefix="/v1", tags=["reports"])

ISSUED, SIGNED_OFF = "project.report-issued/v1", "project.report-signed-off/v1"
PDF, ZIP = "application/pdf", "application/zip"
NOT_VISIBLE = (404, "no such project (or report) visible to the caller")
NOT_WHOLE = (403, "the caller may not see every event the file carries whole: the detail "
                  "says why")


# --- the answers (examples: the demo's project, `sunledger demo`, read by its witness officer) --

def _pdf_url(report_id: str) -> str:
    return f"/v1/projects/{EXAMPLE}/reports/{quote(report_id)}.pdf"


class SignOff(TypedDict):
    """A witness officer's sign-off of a report's PDF (project.report-signed-off/v1)."""

    officer: Annotated[str, Field(description="the witness officer who signed it off")]
    at: Annotated[str, Field(description="the ledger time of the sign-off")]


class ReportEntry(TypedDict):
    """One issued witness report (project.report-issued/v1)."""

    report_id: Annotated[str, Field(description="the report's id: its number, with 签发版 "
                                                "after it for the signed edition")]
    number: Annotated[str, Field(description="its number in the centre's register")]
    edition: Annotated[Literal["draft", "signed"], Field(
        description="draft, or signed: the edition that carries its officers' sign-offs")]
    kind: Annotated[str, Field(description="opening, evaluation or full (a tender's); "
                                           "transaction (a listing's or online auction's)")]
    lang: Annotated[str, Field(description="the language it is written in (zh, en)")]
    pdf_hash: Annotated[str, Field(description="the SHA-256 of its PDF, as the ledger recorded")]
    evidence_hash: Annotated[str, Field(description="the SHA-256 of the evidence it embeds")]
    last_version: Annotated[int, Field(description="the last version of the project it covers")]
    issued_at: Annotated[str, Field(description="the ledger time of its issue")]
    signed_off_by: Annotated[list[SignOff], Field(description="the sign-offs of this PDF that "
                                                             "the caller may see")]
    superseded_by: Annotated[str | None, Field(description="the report that superseded it "
                                                           "(its signed edition), if any")]
    pdf: Annotated[str, Field(description="where its PDF is (GET)")]


REPORT_EXAMPLE = {  # a draft its signed edition superseded
    "report_id": "株交见〔2025〕第0003号", "number": "株交见〔2025〕第0003号", "edition": "draft",
    "kind": "full", "lang": "zh",
    "pdf_hash": "9cb3711d8fb7ab72731c80e46cce33075ad5d314eee35d4c308275172127994f",
    "evidence_hash": "0e026c9d5f1a07d19f7c4ab75a0ba096992e4f9011a90f222ba979359d15cedb",
    "last_version": 108, "issued_at": "2025-04-11T02:00:00.000000Z",
    "signed_off_by": [{"officer": "witness-zz", "at": "2025-04-11T02:00:00.000000Z"},
                      {"officer": "witness-zz2", "at": "2025-04-11T02:00:00.000000Z"}],
    "superseded_by": "株交见〔2025〕第0003号（签发版）", "pdf": _pdf_url("株交见〔2025〕第0003号")}


@with_config(ConfigDict(json_schema_extra={"examples": [{"project": EXAMPLE, "reports": [
    REPORT_EXAMPLE]}]}))  # only: a current report's superseded_by is null, which FastAPI
# drops from an example
class ReportList(TypedDict):
    """The project's issued witness reports the caller may download, in the order issued."""

    project: str
    reports: list[ReportEntry]


class Withheld(TypedDict):
    """A member the caller may not see now, and why (docs/visibility.md)."""

    withheld: str


WITHHELD_POSITION = {"withheld": "the version counts the bidders' events: shown from the "
                                 "opening (法 §22)"}


@with_config(ConfigDict(json_schema_extra={"examples": [
    {"version": 95, "ledger_time": "2025-03-31T01:00:00.000000Z", "type": "project.awarded/v1",
     "actor": "tenderee-liling",
     "hash": "1c5fd1439c0bf9e6ee828b3d41eca202e73c491d984f7ae36d4f53ab83166763",
     "changes": ["stage: publicity → awarded", "winner: None → bidder-02",
                 "award_price: None → 83760800.00"]},
    {"version": WITHHELD_POSITION, "ledger_time": "2025-03-03T01:00:00.000000Z",
     "type": "project.announced/v1", "actor": "agent-zz", "hash": WITHHELD_POSITION,
     "changes": ["stage: accepted → announced", "documents_from: None → 2025-03-03T01:00:00Z",
                 "bid_deadline: None → 2025-03-24T01:30:00Z"], "withheld": ["version", "hash"]}]}))
class ReplayStep(TypedDict):
    """One transition of the project, shown as its event is shown to the caller."""

    version: Annotated[int | Withheld, Field(description="withheld before the opening (法 §22)")]
    ledger_time: str
    type: Annotated[str, Field(description="the event's type")]
    actor: Annotated[str | Withheld, Field(description="withheld while the committee is "
                                                       "secret (条例 §53)")]
    hash: Annotated[str | Withheld, Field(description="the event's hash; withheld before the "
                                                      "opening")]
    changes: Annotated[list[str] | Withheld, Field(
        description="what the step changed, in the members of the state the caller may see "
                    "(`member: before → after`, `member: +added`); withheld whole with the "
                    "event's content")]
    withheld: NotRequired[Annotated[list[str], Field(description="the members withheld")]]


@with_config(ConfigDict(json_schema_extra={"examples": [{"project": EXAMPLE, "steps": [
    {"version": 95, "ledger_time": "2025-03-31T01:00:00.000000Z", "type": "project.awarded/v1",
     "actor": "tenderee-liling",
     "hash": "1c5fd1439c0bf9e6ee828b3d41eca202e73c491d984f7ae36d4f53ab83166763",
     "changes": ["stage: publicity → awarded", "winner: None → bidder-02",
                 "award_price: None → 83760800.00"]},
    {"version": 96, "ledger_time": "2025-03-31T03:00:00.000000Z",
     "type": "project.draw-disclosed/v1", "actor": "operator-zz",
     "hash": "539cde34f3f4c27f038d6fdf566cffa75e410838bc3d2e4a39a4e93e809e0826", "changes": []},
    {"version": 97, "ledger_time": "2025-04-10T02:00:00.000000Z",
     "type": "project.contract-signed/v1", "actor": "tenderee-liling",
     "hash": "29d2ea9f1de76e6224fc6d2f7bc737f3d45401fec862402fe19152c66569b02a",
     "changes": ["stage: awarded → contracted"]}]}]}))
class ProjectReplay(TypedDict):
    """The project's transitions the caller may see, in order."""

    project: str
    steps: list[ReplayStep]


def _refusals(request: Request, stream: str) -> list[dict]:
    return project_events(request.app.state.ledger.recorder, refusal_stream(stream))


def _project_id(stream: str) -> str:
    return stream.split(":", 1)[1]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}


ATTACHMENT = {"required": True, "schema": {"type": "string"}, "description": "attachment; "
              "filename*=UTF-8''<the file's name, percent-encoded> (RFC 6266)"}


# --- witness reports ----------------------------------------------------------------------------

def _evidence_of(issue: dict, events: list[dict], refusals: list[dict]) -> tuple[list, list]:
    """What an issued report carries whole: the project's events up to the last version it
    covers, and at most the refusals recorded before its issue (ledger time never goes back)."""
    last = issue["payload"]["last_version"]
    return ([e for e in events if e["version"] <= last],
            [r for r in refusals if r["ledger_time"] <= issue["ledger_time"]])


def _why_not_given(issue: dict, events: list[dict], refusals: list[dict], who: v.Caller,
                   facts: v.ProjectFacts) -> str | None:
    return v.why_not_whole(*_evidence_of(issue, events, refusals), who, facts)


def _issues_seen(events: list[dict], who: v.Caller, facts: v.ProjectFacts) -> list[dict]:
    """The report issues recorded on the project that the caller sees."""
    return [e for e in events if e["type"] == ISSUED and v.project_view(e, who, facts) is not None]


def _report_entry(stream: str, issue: dict, events: list[dict], state: ProjectState,
                  who: v.Caller, facts: v.ProjectFacts) -> dict:
    """One issued report as the list shows it, with the sign-offs of its PDF."""
    payload = issue["payload"]
    rid = payload["report_id"]
    signed_off = [{"officer": e["actor"], "at": e["ledger_time"]} for e in events
                  if e["type"] == SIGNED_OFF and e["payload"]["report_id"] == rid
                  and e["payload"]["pdf_hash"] == payload["pdf_hash"]
                  and v.project_view(e, who, facts) is not None]
    return {"report_id": rid, "number": rid.removesuffix(SIGNED_SUFFIX),
            "edition": "signed" if rid.endswith(SIGNED_SUFFIX) else "draft",
            "kind": payload["kind"], "lang": payload.get("lang", "zh"),
            "pdf_hash": payload["pdf_hash"], "evidence_hash": payload["evidence_hash"],
            "last_version": payload["last_version"], "issued_at": issue["ledger_time"],
            "signed_off_by": signed_off,
            "superseded_by": state.reports.get(rid, {}).get("superseded_by"),
            "pdf": f"/v1/projects/{quote(_project_id(stream))}/reports/{quote(rid)}.pdf"}


@router.get("/projects/{project}/reports",
            summary="The project's witness reports the caller may download",
            response_description="the reports the caller may download, in the order issued",
            responses={**UNAUTHENTICATED, **problem_responses(NOT_VISIBLE)})
def list_reports(request: Request, project: str = PROJECT,
                 caller: Caller | None = Depends(caller_or_public)) -> ReportList:
    """Each issued witness report (数字见证报告) the caller may download, in the order issued:
    its id and number, edition, kind, language, the SHA-256 of its PDF, when it was issued,
    who signed it off and when, the report that superseded it, and where its PDF is. A report
    is listed to a caller who may see every event it carries whole (docs/visibility.md)."""
    return reports_seen(request, project, viewer(caller))


def reports_seen(request: Request, project: str, who: v.Caller) -> dict:
    """The project's issued reports `who` may download (GET /v1/projects/{project}/reports,
    and the witness officer's portal page)."""
    stream, events, facts = visible_project(request, project, who)
    return {"project": _project_id(stream),
            "reports": reports_listed(request, stream, events, facts, who)}


def reports_listed(request: Request, stream: str, events: list[dict], facts: v.ProjectFacts,
                   who: v.Caller, state: ProjectState | None = None) -> list[dict]:
    """The reports of the project's `events` (read through visible_project) `who` may
    download, in the order issued (`state`: the project's state at those events, when the
    caller has it already)."""
    refusals = _refusals(request, stream)
    if state is None:
        state, _ = replay(events, steps=False)
    return [_report_entry(stream, issue, events, state, who, facts)
            for issue in _issues_seen(events, who, facts)
            if _why_not_given(issue, events, refusals, who, facts) is None]


def _reports_folder(request: Request) -> Path:
    folder = getattr(request.app.state, "reports", None)
    if folder is None:
        raise ReportNotKept("this server keeps no report files: the centre's operator starts it "
                            "with `sunledger serve --reports DIR`, the folder its reporter writes "
                            "to (`sunledger reports --out DIR`)")
    return folder


def download_answer(media_type: str, description: str) -> dict:
    """The documented 200 answer of a file the caller downloads (a PDF, a ZIP)."""
    return {"content": {media_type: {"schema": {"type": "string", "contentMediaType": media_type}}},
            "description": description, "headers": {"Content-Disposition": ATTACHMENT}}


@router.get("/projects/{project}/reports/{report_id}.pdf", summary="A witness report's PDF",
            response_class=Response,
            responses={200: download_answer(PDF, "the PDF, exactly as issued (its SHA-256 is the "
                                                "one the ledger recorded)"),
                       **UNAUTHENTICATED, **problem_responses(NOT_WHOLE, NOT_VISIBLE, 500)})
def report_pdf(request: Request, report_id: str, project: str = PROJECT,
               caller: Caller | None = Depends(caller_or_public)) -> Response:
    """The PDF of an issued report, with its evidence embedded (check it with `sunledger
    verify-report`), to a caller who may see every event it carries whole; 403 saying why to
    a caller who sees the report was issued but may not have it yet."""
    name, pdf = report_file(request, project, report_id, viewer(caller))
    return Response(pdf, media_type=PDF, headers=_attachment(name))


def report_file(request: Request, project: str, report_id: str,
                who: v.Caller) -> tuple[str, bytes]:
    """An issued report's file name and PDF, for `who` if it may have it (NotInLog: no such
    report visible; NotVisible: it may not have it yet, saying why; ReportNotKept: the
    server keeps no file, or not the one issued)."""
    stream, events, facts = visible_project(request, project, who)
    issue = next((e for e in _issues_seen(events, who, facts)
                  if e["payload"]["report_id"] == report_id), None)
    if issue is None:
        raise NotInLog(f"no report {report_id!r} of {project!r} is visible to this caller",
                       project=project)
    why = _why_not_given(issue, events, _refusals(request, stream), who, facts)
    if why is not None:
        raise NotVisible(f"report {report_id} is given only to a caller who may see every event "
                         f"it carries whole, and {why}", project=project)
    path = issued_file(_reports_folder(request), stream, report_id, issue["payload"])
    return path.name, read_issued(path, report_id, issue["payload"]["pdf_hash"])


# --- the dispute dossier ------------------------------------------------------------------------

@router.get("/projects/{project}/dossier", summary="The project's dispute dossier (ZIP)",
            response_class=Response,
            responses={200: download_answer(ZIP, "the dossier: check it offline with `sunledger "
                                                "check-dossier`"),
                       **UNAUTHENTICATED, **problem_responses(NOT_WHOLE, NOT_VISIBLE)})
def dossier(request: Request, project: str = PROJECT,
            about: list[int] = Query([], description="a version the dispute is about "
                                     "(repeatable): its tlog-proof is added"),
            caller: Caller | None = Depends(caller_or_public)) -> Response:
    """The dispute dossier (争议卷宗) at the latest checkpoint, as `sunledger dossier` writes
    it: every event of the project proved complete, its refusals, its signers' keys, proofs of
    the events in dispute and the replay; to a caller who may see all of it whole."""
    who = viewer(caller)
    stream, events, facts = visible_project(request, project, who)
    why = v.why_not_whole(events, _refusals(request, stream), who, facts)
    if why is not None:
        raise NotVisible("a dispute dossier is given only to a caller who may see every event "
                         f"of the project whole, and {why}", project=project)
    strange = [n for n in about if not 0 < n <= len(events)]
    if strange:
        raise NotInLog(f"{stream} has no version {strange[0]} (it holds {len(events)})",
                       stream=stream)
    data, manifest = dossier_bytes(request.app.state.ledger.recorder, stream, about)
    return Response(data, media_type=ZIP, headers=_attachment(
        f"{_project_id(stream)}-dossier-{manifest['tree_size']}.zip"))


# --- the replay ---------------------------------------------------------------------------------

@router.get("/projects/{project}/replay", summary="How the project got here, step by step",
            response_description="the steps the caller may see, in order, from after_version on",
            responses={**UNAUTHENTICATED, **problem_responses(NOT_VISIBLE)})
def project_replay(request: Request, project: str = PROJECT,
                   after_version: int = Query(0, ge=0, description="the steps after this "
                                              "version (from the opening on)"),
                   limit: int = Query(PAGE, ge=1, le=PAGE, description="this many at most"),
                   at: str | None = AT,
                   caller: Caller | None = Depends(caller_or_public)) -> ProjectReplay:
    """Each transition of the project (version, ledger time, type, actor, hash, and what it
    changed) whose event the caller may see, shown as that event is shown: its version and
    hash withheld before the opening, its actor while the committee is secret, and then its
    changes too; the changes listed are those of the state's members the caller may see.
    With `at`, the steps up to that ledger time (`sunledger replay --at`). Before the opening
    the paging is over what is shown, as for the events."""
    who = viewer(caller)
    stream, events, facts = visible_project(request, project, who)
    state, transitions = replay(events, at_time=moment_of(at))
    sealed = v.sealed_positions(facts)
    shown = []
    for _, transition, view in steps_shown(state, transitions, events, who, facts):
        if sealed or transition.version > after_version:
            shown.append(view)
            if len(shown) == limit:
                break
    return {"project": _project_id(stream), "steps": shown}


def steps_shown(state: ProjectState, transitions: list, events: list[dict], who: v.Caller,
                facts: v.ProjectFacts) -> Iterator[tuple[int, Any, dict]]:
    """(the event's place among the project's events, its transition, the step as `who` may
    see it) of each step `who` sees, in order, from `replay(events)` (`state`, `transitions`):
    each shown as its event is shown (`v.step_view`), its changes listed in the state's
    members `who` may see (the replay's final state's view). The API's replay and the
    portal's (api/portal/replay.py) alike."""
    fields = v.state_view(state, who, facts)[0]
    for position, (transition, event) in enumerate(zip(transitions, events)):
        view = v.step_view(transition.__dict__, event, who, facts, fields)
        if view is not None:
            yield position, transition, view
