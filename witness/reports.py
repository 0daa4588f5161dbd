"""Issuing and verifying witness reports.

Issuing: the evidence is gathered at a checkpoint covering the project, the PDF is rendered in a
worker process (never inside a request or an append), written durably (a temporary file,
flushed to disk, renamed into place), and only then does the ledger record the issue
(`project.report-issued/v1`: kind, report id, last version covered, PDF hash, evidence hash);
if recording fails the file is removed. A report is never recorded without its file.

Verifying a PDF (`verify_report`): its embedded evidence holds under the log key (every event
proved complete under a signed checkpoint); rendering that evidence again gives the same
bytes; and the PDF's hash is recorded on the ledger as an issued report.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from ledger.errors import BadNote, LedgerError, RuleRefused, StaleVersion, UntrustedFileError
from ledger.evidence import durable
from ledger.evidence.canonical import canonical_json
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.signer import ActorSigner
from ledger.evidence.untrusted import (
    MAX_DOCUMENT_BYTES, MAX_REPORT_BYTES, parse_json, read_file,
)
from ledger.evidence.catalogue import REPORT_KINDS
from ledger.ledger import Ledger
from ledger.procedures.rights import LISTING_METHODS
from ledger.stores.url import StoreURL, open_recorder
from ledger.log.notes import Verifier, parse_verifier_key
from ledger.log.proofs import check_completeness
from ledger.procedures.register import REGISTER, Register, parse_number
from witness.evidence import gather_evidence
from witness.model import SIGNED_SUFFIX, report_id, report_reached
from witness.render import ATTACHMENT_NAME, render, render_canonical, software


class ReportNotReached(LedgerError):
    code = "report-not-reached"
    status = 409


class ReportNotWritten(LedgerError):
    code = "report-not-written"
    status = 500


def write_durably(path: Path, data: bytes) -> None:
    """Write a report so that after a crash it is either whole or not there
    (ledger/evidence/durable.py); ReportNotWritten if it cannot be."""
    try:
        durable.write_durably(path, data)
    except OSError as error:
        raise ReportNotWritten(f"cannot write {path}: {error.strerror or error}; nothing was "
                               "recorded", path=str(path)) from None


def render_in_worker(url: StoreURL, project: str, kind: str, lang: str,
                     issue: dict) -> tuple[bytes, bytes, str, int]:
    """Gather the evidence of a report and render it in a process of its own, started from a
    fork server rather than from this process: it shares none of this process's memory (the
    ledger, its caches), this process never holds the evidence, and WeasyPrint's memory goes
    back when the worker ends. Returns (PDF, the evidence's canonical bytes, the report id,
    the last version it covers)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["witness.render"])
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_gather_and_render, url, project, kind, lang, issue).result()


def _gather_and_render(url: StoreURL, project: str, kind: str, lang: str,
                       issue: dict) -> tuple[bytes, bytes, str, int]:
    evidence = gather_evidence(open_recorder(url), project, kind, lang, issue)
    encoded, identifier = canonical_json(evidence), report_id(evidence)
    last = json.loads(evidence["completeness"]["events"][-1])["version"]
    del evidence  # rendered from its bytes, as a re-render from the PDF's attachment is
    return render_canonical(encoded), encoded, identifier, last


def register_of(ledger: Ledger) -> tuple[Register, int]:
    """The centre's register as it stands, and the version it stands at (an empty one at 0
    until the first description or number)."""
    stream = ledger.stream(REGISTER)
    return (stream.register, stream.version) if stream is not None else (Register(), 0)


def ledger_signer(ledger: Ledger, signer: ActorSigner | None = None) -> ActorSigner:
    """Who signs the register's entries and a report's issue: the ledger, with its key; a
    simulation passes its own signer of that key, whose nonces it can reproduce."""
    return signer or ActorSigner(LEDGER_ACTOR, ledger.key)


def take_number(ledger: Ledger, project: str, kind: str, lang: str,
                signer: ActorSigner | None = None) -> tuple[int, int, str]:
    """The next document number of the centre's register (procedures/register.py), taken
    for this report: (year, sequence, number). Two issuers never take the same one: the
    register is appended at the version it was read at, and read again if another came
    first."""
    signer = ledger_signer(ledger, signer)
    for _ in range(20):
        register, version = register_of(ledger)
        # the year is that of the ledger time the number is recorded at (which never goes
        # back: after a simulation it may be ahead of the wall clock)
        year, sequence, number = register.next_number(ledger.next_time())
        try:
            ledger.submit(signer.sign(REGISTER, "register.number-assigned/v1", {
                "year": year, "sequence": sequence, "number": number, "project": project,
                "kind": kind, "lang": lang}, expected_version=version,
                signed_at=ledger.clock.now()))
            return year, sequence, number
        except StaleVersion:
            continue  # another issuer took this number: the next one
        except RuleRefused as refused:
            if refused.details.get("rule") != "report-number":
                raise
            # the year turned (or ledger time moved on) meanwhile: read the register again
    raise ReportNotWritten("could not take a report number: the register kept moving",
                           project=project)


def describe_centre(ledger: Ledger, centre: str, prefix: str, portal: str,
                    signer: ActorSigner | None = None) -> None:
    """Record how the centre's reports name it and number them, and where they are checked
    (the base address of its portal's verification page)."""
    ledger.submit(ledger_signer(ledger, signer).sign(
        REGISTER, "register.centre-described/v1", {"centre": centre, "prefix": prefix,
                                                   "portal": portal},
        expected_version=register_of(ledger)[1], signed_at=ledger.clock.now()))


def centre_of(ledger: Ledger) -> dict:
    """The centre as its reports name it, from its register (empty until described)."""
    register = register_of(ledger)[0]
    return {"name": register.centre, "portal": register.portal}


def file_stem(project: str, kind: str, lang: str, year: int, sequence: int,
              signed: bool = False) -> str:
    """A report's file name without .pdf: the project, the kind and the register number in
    plain characters (the document number itself carries 〔〕 and Chinese)."""
    return (f"{project.split(':', 1)[1]}-{kind}-{year}-{sequence:04d}"
            + ("" if lang == "zh" else f"-{lang}") + ("-signed" if signed else ""))


def _not_reached(project: str, state: Any, kind: str) -> str:
    """Why a report of `kind` cannot be made of the project now."""
    if state is None:
        return f"{project} has not reached the {kind} report: there is no such project in this store"
    listing = state.method in LISTING_METHODS
    if listing != (kind == "transaction"):
        own = "a transaction report" if listing else "opening, evaluation and full reports"
        return (f"{project} has not reached the {kind} report, and never will: sold by "
                f"{state.method}, it has {own}")
    return f"{project} has not reached the {kind} report (stage {state.stage})"


def issue_report(ledger: Ledger, project: str, kind: str | None, lang: str = "zh", *,
                 record: bool = True, write_to: Callable[[str], Path] | None = None,
                 signed_edition_of: str | None = None,
                 signer: ActorSigner | None = None) -> tuple[bytes, dict]:
    """Render the report of `project` under the next document number of the centre, write
    it to `write_to(file stem)` durably, then record its issue (the file is removed if
    recording fails); return (PDF, the issue payload). `signer`: see `ledger_signer`.

    `signed_edition_of`: the id of an issued report that witness officers signed off; the
    new rendering (签发版) keeps its number and kind, carries the sign-offs as part of its
    evidence, and is issued as that number's signed edition. `kind` None: the project's
    whole-process report (a tender's `full`, a listing's `transaction`)."""
    current = ledger.stream(project)
    state = current.state if current else None
    if kind is None:
        kind = "transaction" if state is not None and state.method in LISTING_METHODS else "full"
    if signed_edition_of is not None:
        draft = state.reports.get(signed_edition_of) if state else None
        if draft is None or not draft.get("signed_off_by"):
            raise ReportNotReached(f"{signed_edition_of} is not a report of {project} that a "
                                   "witness officer signed off", project=project)
        kind, lang = draft["kind"], draft.get("lang", "zh")
        number = signed_edition_of
        year, sequence = parse_number(number)
        issue = {"number": number, "edition": "signed",
                 "draft": {"report_id": signed_edition_of, "pdf_hash": draft["pdf_hash"]}}
    else:
        if state is None or not report_reached(state, kind):
            raise ReportNotReached(_not_reached(project, state, kind), project=project)
        year, sequence, number = take_number(ledger, project, kind, lang, signer)
        issue = {"number": number, "edition": "draft"}
    issue["centre"] = centre_of(ledger)
    ledger.checkpoint()  # the evidence is proved under a checkpoint covering every event
    pdf, encoded, identifier, last = render_in_worker(ledger.url, project, kind, lang, issue)
    payload = {"kind": kind, "report_id": identifier, "last_version": last,
               "pdf_hash": hashlib.sha256(pdf).hexdigest(),
               "evidence_hash": hashlib.sha256(encoded).hexdigest(), "lang": lang}
    path = write_to(file_stem(project, kind, lang, year, sequence, signed_edition_of is not None)) \
        if write_to is not None else None
    if path is not None:
        write_durably(path, pdf)
    if record:
        try:
            ledger.submit(ledger_signer(ledger, signer).sign(
                project, "project.report-issued/v1", payload,
                expected_version=ledger.stream_version(project), signed_at=ledger.clock.now()))
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)  # not recorded: no file that claims to be issued
            raise
    return pdf, payload


def embedded_evidence(pdf: bytes) -> dict:
    """The evidence a report carries (§19.1). pypdf decompresses no stream beyond
    MAX_DOCUMENT_BYTES (its other filters stop at its own 75 MB): an attachment beyond it is
    refused unread (UntrustedFileError); a PDF that does not carry the evidence as ledger JSON
    is a BadNote."""
    from pypdf import PdfReader, apply_configuration  # pypdf ≥ 7.1 (pyproject.toml)
    from pypdf.errors import LimitReachedError

    limit = MAX_DOCUMENT_BYTES
    try:
        with apply_configuration(
                zlib_maximum_output_length=limit, lzw_maximum_output_length=limit,
                run_length_maximum_output_length=limit,
                array_based_stream_maximum_output_length=limit):
            attachments = PdfReader(io.BytesIO(pdf)).attachments
            embedded = attachments[ATTACHMENT_NAME][0] if ATTACHMENT_NAME in attachments else None
    except LimitReachedError as error:
        raise UntrustedFileError(f"the report's embedded data expands beyond {limit:,} bytes "
                                 f"({error}): it is not read") from None
    except Exception as error:  # pypdf raises many kinds on a damaged file
        raise BadNote(f"not a readable PDF: {error}") from None
    if embedded is None:
        raise BadNote(f"the PDF carries no {ATTACHMENT_NAME}: not a Sunledger report")
    try:
        evidence = parse_json(embedded, ATTACHMENT_NAME)
    except ValueError as error:
        raise BadNote(f"the embedded evidence is not ledger JSON: {error}") from None
    if type(evidence) is not dict or type(evidence.get("project")) is not str:
        raise BadNote("the embedded evidence is not a report's evidence: no project (§19.1)")
    return evidence


@dataclass
class ReportCheck:
    report_id: str = ""
    project: str = ""
    events: int = 0
    holds: list[str] = field(default_factory=list)
    fails: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # what could not be checked, and why
    # the four steps of evidence-format §19.2, in order, each "holds", "fails" or "unchecked"
    steps: dict[str, str] = field(default_factory=lambda: dict.fromkeys(STEPS, "unchecked"))

    @property
    def ok(self) -> bool:
        return not self.fails


STEPS = ("evidence", "completeness", "issued", "rendering")  # §19.2 steps 1 to 4


def verify_report(pdf: bytes, *, log: Verifier | None = None,
                  recorded_hashes: Iterable[str] | None = None) -> ReportCheck:
    """Check a report PDF: its evidence, its bytes, and that it was recorded as issued."""
    check = ReportCheck()
    try:
        evidence = embedded_evidence(pdf)
        check.report_id, check.project = report_id(evidence), evidence["project"]
        check.steps["evidence"] = "holds"
        key = log or parse_verifier_key(evidence["log_key"])
        if str(key) != evidence["log_key"]:
            check.fails.append("the evidence names another log key than the one given")
            check.steps["completeness"] = "fails"
        events = check_completeness(evidence["completeness"], key)
        check.events = len(events)
        check.holds.append(f"the {len(events)} events are every event of {check.project} up "
                           f"to the checkpoint of size {evidence['completeness']['tree_size']}, "
                           "each hashed, linked and proved in the log")
        if check.steps["completeness"] == "unchecked":
            check.steps["completeness"] = "holds"
    except (BadNote, LookupError, TypeError, ValueError) as error:
        check.fails.append(f"the embedded evidence does not hold: {error}")
        step = "completeness" if check.steps["evidence"] == "holds" else "evidence"
        check.steps[step] = "fails"
        return check
    try:
        rendered = render(evidence)
    except (LedgerError, LookupError, TypeError, ValueError, AttributeError) as error:
        check.fails.append(f"the evidence cannot be rendered again: {error}")
        rendered = None
    check.steps["rendering"] = "holds" if rendered == pdf else "fails"
    if rendered == pdf:
        check.holds.append("rendering the evidence again gives these exact bytes")
    elif rendered is not None:
        check.fails.append("rendering the evidence again gives other bytes: the PDF was changed, "
                           "or this machine renders with other software than the report names "
                           f"(here: {software()})")
    digest = hashlib.sha256(pdf).hexdigest()
    if recorded_hashes is None:
        check.unchecked.append("whether the ledger issued this PDF (give --store or --bundle)")
    elif digest in set(recorded_hashes):
        check.holds.append(f"the ledger records this PDF (SHA-256 {digest}) as issued")
        check.steps["issued"] = "holds"
    else:
        check.fails.append(f"the ledger records no report with this PDF's hash {digest}")
        check.steps["issued"] = "fails"
    return check


def recorded_report_hashes(events: Iterable[dict]) -> list[str]:
    """The PDF hashes of the issues among `events` (an event of another shape, as a bundle
    may hold, is left to `verify`)."""
    found = []
    for e in events:
        try:
            if e["type"] == "project.report-issued/v1":
                found.append(e["payload"]["pdf_hash"])
        except (LookupError, TypeError):
            continue
    return found


def recorded_in_store(recorder: Any, project: str) -> list[str]:
    from projections.project_state import project_events

    return recorded_report_hashes(project_events(recorder, project))


def bundle_project_events(path: Path, project: str, types: set[str]) -> list[dict]:
    """The events of `types` in one project of an evidence bundle, in one pass over its rows
    (a row that is no event the ledger recorded is left to `verify`, which reports it)."""
    from ledger.audit.bundle import BundleSource

    found = []
    for rows, _ in BundleSource(path).jobs():
        for row in rows:
            if row[3] in types:
                try:
                    event = orjson.loads(row[4])
                    if event["stream"] == project:
                        found.append(event)
                except (orjson.JSONDecodeError, LookupError, TypeError):
                    continue
    return found


class ReportNotKept(LedgerError):
    code = "report-not-kept"
    status = 404


class ReportFileAltered(LedgerError):
    code = "report-file-altered"
    status = 500


def issued_file(folder: Path, project: str, report_id: str, issue: dict) -> Path:
    """Where `InFolder(folder)` wrote the PDF of an issued report (`issue`: its
    project.report-issued/v1 payload): its file stem is its register number's."""
    number = report_id.removesuffix(SIGNED_SUFFIX)
    year, sequence = parse_number(number)
    if not sequence:
        raise ReportNotKept(f"report {report_id} has no register number, and so no file name "
                            "a reports folder keeps it under", report_id=report_id)
    return folder / (file_stem(project, issue["kind"], issue.get("lang", "zh"), year, sequence,
                               signed=number != report_id) + ".pdf")


def read_issued(path: Path, report_id: str, pdf_hash: str) -> bytes:
    """The PDF kept at `path`, if its bytes are the ones the ledger recorded as issued (a file
    changed on disk is never handed out as the report)."""
    try:
        pdf = read_file(path, MAX_REPORT_BYTES, "the report")
    except UntrustedFileError:
        raise ReportNotKept(f"report {report_id} is recorded as issued, but its PDF "
                            f"({path.name}) is not in the reports folder: ask the centre's "
                            "operator to issue it again", report_id=report_id) from None
    if hashlib.sha256(pdf).hexdigest() != pdf_hash:
        raise ReportFileAltered(f"the file kept for report {report_id} ({path.name}) is not "
                                f"the PDF the ledger recorded (SHA-256 {pdf_hash}): it was "
                                "changed or replaced, and is not served; tell the centre's "
                                "operator", report_id=report_id)
    return pdf


SIGNED = "signed:"  # a due signed edition, as Reporter.due names it: signed:<report id>


class InFolder:
    """Where `issue_report` writes: `<folder>/<file stem>.pdf`, each path noted in
    `written`."""

    def __init__(self, folder: Path):
        self.folder, self.written = folder, []

    def __call__(self, stem: str) -> Path:
        path = self.folder / f"{stem}.pdf"
        self.written.append(path)
        return path


class Reporter:
    """A follower of the log that issues each report when its project reaches the milestone
    (开标 after the opening, 评标 after the evaluation, 全过程 at the end) and none of that
    kind was issued; the PDFs are rendered in a worker process and written to `out`."""

    def __init__(self, ledger: Ledger, out: Path, lang: str = "zh"):
        from projections.follower import ChangedProjects, Follower

        self.ledger, self.out, self.lang = ledger, out, lang
        self.changed = ChangedProjects()
        self.follower = Follower(ledger.recorder, self.changed)
        self.unsettled: set[str] = set()  # projects a report may still be due of

    def due(self) -> list[tuple[str, str]]:
        """(project, kind) of every report due (kind `signed:<report id>`: the signed edition
        of a report officers signed off). Only the projects that changed since the last
        look (or had a report due then) are looked at, each through the ledger's bounded
        cache: the reporter holds names, never every project's state."""
        self.follower.follow()
        self.unsettled |= self.changed.take()
        found = []
        for stream in sorted(self.unsettled):
            current = self.ledger.stream(stream)
            if current is None:
                continue
            state = current.state
            issued = {(r["kind"], r["lang"]) for r in state.reports.values()}
            for kind in REPORT_KINDS:
                if report_reached(state, kind) and (kind, self.lang) not in issued:
                    found.append((stream, kind))
            for rid, issue in state.reports.items():  # signed off: its signed edition is due
                if issue.get("signed_off_by") and not rid.endswith(SIGNED_SUFFIX) \
                        and rid + SIGNED_SUFFIX not in state.reports and issue.get("lang", "zh") == self.lang:
                    found.append((stream, SIGNED + rid))
        # a project with nothing due is looked at again only when its stream changes
        self.unsettled = {stream for stream, _ in found}
        return found

    def run(self) -> list[Path]:
        into = InFolder(self.out)
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ReportNotWritten(f"cannot write reports to {self.out}: "
                                   f"{error.strerror or error}", path=str(self.out)) from None
        for stream, kind in self.due():  # a report whose issue was never recorded is due again
            signed = kind.removeprefix(SIGNED) if kind.startswith(SIGNED) else None
            issue_report(self.ledger, stream, "full" if signed else kind, self.lang,
                         write_to=into, signed_edition_of=signed)
        return into.written
