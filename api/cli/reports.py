"""Witness reports (数字见证报告): render and record one, issue every report that is due
(once or following the log), verify a report PDF (and say who signed it off); and the
witness officer's own signed events: an observation (见证记录) and a report's sign-off."""

from __future__ import annotations

import functools
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

import click

from ledger.errors import LedgerError, NotInLog, RuleRefused, UntrustedFileError
from ledger.evidence.catalogue import REPORT_KINDS
from .options import (
    STORE_HELP, beijing, checkpoint_after_appends, fail, key_option, open_ledger,
    project_stream, read_store, store_option,
)

ISSUED = "project.report-issued/v1"
SIGNED_OFF = "project.report-signed-off/v1"


@click.command()
@store_option
@key_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--kind", type=click.Choice(REPORT_KINDS),
              help="开标 / 评标 / 全过程 witness report of a tender, 交易 of a listing or online "
                   "auction [default: the project's whole-process report: full, or transaction]")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the PDF to write")
@click.option("--signed-edition-of", "signed_edition_of", metavar="PDF|REPORT_NUMBER",
              help="render the signed edition (签发版) of this issued report (its PDF, or its "
                   "number), once witness officers signed it off; its kind and language are "
                   "that report's")
def report(store, ledger_key, project, kind, lang, out, signed_edition_of) -> None:
    """Render a digital witness report (数字见证报告) as a verifiable PDF under the centre's
    next report number, and record its issue; or its signed edition after sign-off."""
    from witness.reports import issue_report

    try:
        if signed_edition_of is not None and Path(signed_edition_of).is_file():
            signed_edition_of = _report_id_of(Path(signed_edition_of))
        pdf, issued = issue_report(open_ledger(store, ledger_key), project_stream(project),
                                   kind, lang, write_to=lambda _: out,
                                   signed_edition_of=signed_edition_of)
    except LedgerError as error:
        fail(error)
    click.echo(f"wrote {out}: {issued['report_id']} ({len(pdf):,} bytes), SHA-256 "
               f"{issued['pdf_hash']}, recorded on the ledger")


def _report_id_of(pdf: Path) -> str:
    """The id of the report a PDF is, from the evidence it carries."""
    from ledger.errors import BadNote
    from ledger.evidence.untrusted import MAX_REPORT_BYTES, read_file
    from witness.model import report_id
    from witness.reports import embedded_evidence

    _quiet_pypdf()
    evidence = embedded_evidence(read_file(pdf, MAX_REPORT_BYTES, "the report"))
    try:
        return report_id(evidence)
    except (LookupError, TypeError, ValueError, AttributeError):
        raise BadNote(f"{pdf}: its evidence does not name a report (§19.1): not a "
                      "Sunledger witness report") from None


@click.command()
@store_option
@key_option
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="where the PDFs go")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--follow", is_flag=True, help="keep following the log and issue each report "
              "as its milestone is reached (stop with Ctrl-C)")
@click.option("--every", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="with --follow: seconds between looks at the log")
def reports(store, ledger_key, out, lang, follow, every) -> None:
    """Issue every witness report that is due: each tender that reached a milestone (the
    opening, the evaluation, the end), each listing whose result is published, and has no
    report of that kind yet. Once, or with --follow as the centre's reporter that keeps
    following the log."""
    from witness.reports import Reporter

    try:
        reporter = Reporter(open_ledger(store, ledger_key), out, lang)
        while True:
            written = reporter.run()
            for path in written:
                click.echo(f"wrote {path}")
            if not follow:
                if not written:
                    click.echo("no report is due")
                return
            time.sleep(every)
    except LedgerError as error:
        fail(error)
    except KeyboardInterrupt:
        click.echo("stopped: every report due so far is issued")


@click.command("verify-report")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store", default=None, help=STORE_HELP)
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an evidence bundle instead of a store")
@click.option("--log-key", help="the log's verifier key as published (default: the one the "
              "store or bundle states)")
def verify_report_command(pdf: Path, store: str | None, bundle: Path | None,
                          log_key: str | None) -> None:
    """Check a witness report PDF: its embedded evidence, that re-rendering it gives the same
    bytes, and, with --store or --bundle, that the ledger recorded it as issued and who
    signed it off (the sign-offs recorded for this very PDF); without them, it says what it
    could not check. Exit 0 when everything it checked holds, 1 when not, 2 when a file is
    refused unread (beyond the reader's limits)."""
    from ledger.evidence.untrusted import MAX_REPORT_BYTES, read_file
    from ledger.log.notes import parse_verifier_key
    from projections.project_state import project_events
    from witness.evidence import actor_names
    from witness.reports import (
        bundle_project_events, embedded_evidence, recorded_report_hashes, verify_report,
    )

    _quiet_pypdf()
    try:
        data = read_file(pdf, MAX_REPORT_BYTES, "the report")
        project = embedded_evidence(data)["project"]
        pdf_hash = hashlib.sha256(data).hexdigest()
        recorded = signed_off = None  # None: not checked (no store, no bundle)
        if bundle is not None or store is not None:
            # the project's issues and sign-offs, read once
            if bundle is not None:
                events = bundle_project_events(bundle, project, {ISSUED, SIGNED_OFF})
                names = functools.partial(registered_in_bundle, bundle)
            else:
                recorder = read_store(store)
                events = project_events(recorder, project)
                names = functools.partial(actor_names, recorder)
            recorded = recorded_report_hashes(events)
            sign_offs = [e for e in events if _is_sign_off_of(e, project, pdf_hash)]
            signed_off = _sign_off_lines(sign_offs, names({e["actor"] for e in sign_offs}))
        check = verify_report(data, log=parse_verifier_key(log_key) if log_key else None,
                              recorded_hashes=recorded)
    except UntrustedFileError as error:
        fail(error)
    except LedgerError as error:
        click.echo(f"report {pdf}\n  FAILS: {error.message}")
        sys.exit(1)
    click.echo(f"report {check.report_id or '?'} of {check.project or '?'}")
    for line in check.holds:
        click.echo(f"  holds: {line}")
    for line in check.fails:
        click.echo(f"  FAILS: {line}")
    for line in check.unchecked:
        click.echo(f"  not checked: {line}")
    if signed_off is None:
        click.echo("  not checked: who signed it off (give --store or --bundle)")
    elif not signed_off:
        click.echo("  signed off: no sign-off recorded for this PDF yet")
    for line in signed_off or ():
        click.echo(f"  signed off: {line}")
    sys.exit(0 if check.ok else 1)


def _quiet_pypdf() -> None:
    """pypdf logs what it repairs in a damaged file; the command says what matters itself."""
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _sign_off_lines(events: list[dict], names: dict[str, dict]) -> list[str]:
    """One line per sign-off: the officer as registered, and when (Beijing time)."""
    lines = []
    for event in events:
        actor = event["actor"]
        who = names.get(actor)
        person = (f"{who['name']} ({who['organisation']}, {actor})" if who else
                  f"{actor} (no registration found)")
        lines.append(f"{person} at {beijing(event['ledger_time'])}")
    return lines


def _is_sign_off_of(event: Any, project: str, pdf_hash: str) -> bool:
    try:
        return (event["type"] == SIGNED_OFF and event["stream"] == project
                and event["payload"]["pdf_hash"] == pdf_hash
                and isinstance(event["actor"], str) and isinstance(event["ledger_time"], str))
    except (LookupError, TypeError):
        return False  # not an event the ledger recorded: `verify` reports it


def registered_in_bundle(path: Path, actors: set[str]) -> dict[str, dict]:
    """The registered names and organisations of `actors`, as a bundle's registry rows
    state them (the first registration of each)."""
    import orjson

    from ledger.audit.bundle import BundleSource

    names: dict[str, dict] = {}
    if not actors:
        return names
    for row in BundleSource(path).registry_rows():
        if row[3] != "actor.registered/v1":
            continue
        try:
            event = orjson.loads(row[4])
            actor, payload = event["stream"].removeprefix("actor:"), event["payload"]
            if actor in actors and actor not in names and isinstance(payload["name"], str) \
                    and isinstance(payload["organisation"], str):
                names[actor] = payload
        except (orjson.JSONDecodeError, LookupError, TypeError, AttributeError):
            continue  # not an event the ledger recorded: `verify` reports it
    return names


# --- the witness officer's own signed events ---------------------------------------------

officer_options = [
    click.option("--actor", required=True,
                 help="your actor id as the centre registered it (role witness)"),
    click.option("--key", "key_path", required=True,
                 type=click.Path(dir_okay=False, path_type=Path),
                 help="your private key file (from `sunledger keygen`; owner-only)"),
]


def with_officer(command):
    for option in reversed(officer_options):
        command = option(command)
    return command


def _officer_append(store: str, ledger_key: Path | None, actor: str, key_path: Path,
                    stream: str, type_: str, payload: dict):
    """Sign an action with the officer's own key and submit it; the ledger's receipt. A
    refusal (by the rules, the registry or the form) is the message and exit 2; a refusal
    the rules record is in the project's refusal stream, under a checkpoint."""
    from ledger.evidence.keys import read_private_key
    from ledger.evidence.signer import ActorSigner
    from ledger.procedures.refusals import refusal_stream

    ledger = None
    try:
        signer = ActorSigner(actor, read_private_key(key_path))
        ledger = open_ledger(store, ledger_key)
        if ledger.stream_version(stream) == 0:
            raise NotInLog(f"{stream} has no events in this store: no such project")
        receipt, = ledger.submit(signer.sign(stream, type_, payload,
                                             expected_version=ledger.stream_version(stream),
                                             signed_at=ledger.clock.now()))
    except RuleRefused as error:
        click.echo(f"sunledger: {error.message}", err=True)
        if error.details.get("recorded"):
            checkpoint_after_appends(ledger)
            click.echo(f"sunledger: the refused action is recorded, signed by the ledger, in "
                       f"{refusal_stream(stream)}", err=True)
        sys.exit(2)
    except LedgerError as error:
        fail(error)
    checkpoint_after_appends(ledger)  # this process ends: its event does not wait for the next one
    return ledger, receipt


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, read a MiB at a time (a recording may be gigabytes)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise click.BadParameter(f"cannot read {path}: {error.strerror or error}",
                                 param_hint="--media") from None
    return digest.hexdigest()


def _show_receipt(receipt) -> None:
    click.echo(f"  version (序号): {receipt.version}")
    click.echo(f"  event hash:     {receipt.event_hash}")
    click.echo(f"  ledger time:    {beijing(receipt.ledger_time)} 北京时间 ({receipt.ledger_time})")


@click.command("assign-witness")
@store_option
@key_option
@click.option("--project", required=True, help="the project's id (or its stream name project:ID)")
@click.option("--officer", required=True, help="the witness officer's actor id (role witness)")
def assign_witness(store, ledger_key, project, officer) -> None:
    """Assign a witness officer to a project (project.witness-assigned/v1, signed by the
    ledger key for the centre). Only an assigned officer records observations, referrals and
    sign-offs on the project, and sees what the law lets witness officers see of it."""
    from ledger.evidence.envelope import LEDGER_ACTOR
    from ledger.evidence.signer import ActorSigner

    stream = project_stream(project)
    try:
        ledger = open_ledger(store, ledger_key)
        if ledger.stream_version(stream) == 0:
            raise NotInLog(f"{stream} has no events in this store: no such project")
        receipt, = ledger.submit(ActorSigner(LEDGER_ACTOR, ledger.key).sign(
            stream, "project.witness-assigned/v1", {"officer": officer},
            expected_version=ledger.stream_version(stream), signed_at=ledger.clock.now()))
    except RuleRefused as error:
        click.echo(f"sunledger: {error.message}", err=True)
        sys.exit(2)
    except LedgerError as error:
        fail(error)
    checkpoint_after_appends(ledger)
    ledger.close()
    click.echo(f"assigned the witness officer {officer} to {stream}")
    _show_receipt(receipt)


@click.command()
@store_option
@key_option
@click.option("--project", required=True, help="the project's id (or its stream name project:ID)")
@with_officer
@click.option("--note", required=True, help="what you witnessed (见证记录), in your words")
@click.option("--media", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the audio or video recording: its SHA-256 is recorded (the file itself "
                   "stays in the centre's media store)")
@click.option("--media-hash", metavar="HEX",
              help="the recording's SHA-256 (64 hex digits) instead of --media")
def observe(store, ledger_key, project, actor, key_path, note, media, media_hash) -> None:
    """Record a witness observation (见证记录) on a project, signed with your own key
    (project.witness-observation/v1; only a witness officer may). It appears in the 见证记录
    section of every witness report issued after it."""
    from ledger.evidence.envelope import HASH_HEX

    if media is not None and media_hash is not None:
        raise click.UsageError("give at most one of --media and --media-hash")
    payload = {"note": note}
    if media_hash is not None:
        if not HASH_HEX.fullmatch(media_hash.lower()):
            raise click.BadParameter("a SHA-256 is 64 hex digits", param_hint="--media-hash")
        payload["media_hash"] = media_hash.lower()
    elif media is not None:
        payload["media_hash"] = _file_sha256(media)
    stream = project_stream(project)
    ledger, receipt = _officer_append(store, ledger_key, actor, key_path, stream,
                                      "project.witness-observation/v1", payload)
    ledger.close()
    click.echo(f"recorded the observation of {actor} on {stream}")
    if "media_hash" in payload:
        click.echo(f"  media SHA-256:  {payload['media_hash']}")
    _show_receipt(receipt)


@click.command("sign-off")
@store_option
@key_option
@with_officer
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def sign_off(store, ledger_key, actor, key_path, pdf) -> None:
    """Sign off an issued witness report PDF with your own key
    (project.report-signed-off/v1: the report id and the PDF's SHA-256). The ledger refuses
    a PDF it did not issue, and a second sign-off by the same officer. Check the report with
    `sunledger verify-report` first."""
    from ledger.errors import BadNote
    from ledger.evidence.untrusted import MAX_REPORT_BYTES, read_file
    from witness.evidence import actor_names
    from witness.reports import embedded_evidence

    _quiet_pypdf()
    try:
        data = read_file(pdf, MAX_REPORT_BYTES, "the report")
        evidence = embedded_evidence(data)
        rid = _report_id_of(pdf)
    except LedgerError as error:
        fail(error)
    pdf_hash = hashlib.sha256(data).hexdigest()
    stream = evidence["project"]
    if not stream.startswith("project:"):
        fail(BadNote(f"{pdf}: its evidence is about {stream[:80]!r}, not a project"))
    ledger, receipt = _officer_append(store, ledger_key, actor, key_path, stream, SIGNED_OFF,
                                      {"report_id": rid, "pdf_hash": pdf_hash})
    who = actor_names(ledger.recorder, {actor}).get(actor)
    ledger.close()
    person = f"{who['name']} ({who['organisation']}, {actor})" if who else actor
    click.echo(f"{person} signed off report {rid} of {stream}")
    click.echo(f"  PDF SHA-256:    {pdf_hash}")
    _show_receipt(receipt)


@click.command()
@store_option
@key_option
@click.option("--project", required=True, help="the project's id (or its stream name project:ID)")
@with_officer
@click.option("--indicator", required=True, metavar="INDICATOR",
              help="the warning's indicator as `sunledger warnings --project ID` names it, "
                   "e.g. price-series")
@click.option("--bidders", required=True, metavar="ID,ID,…",
              help="the bidders the warning names, comma-separated")
@click.option("--supervisor", required=True,
              help="the supervision body it was passed to, e.g. 醴陵市住房和城乡建设局")
def refer(store, ledger_key, project, actor, key_path, indicator, bidders, supervisor) -> None:
    """Record that you passed a collusion warning on to the supervision body
    (project.warning-referred/v1, signed with your own key). The reports' witness statement
    says, for each warning, whether and when it was passed on."""
    from projections.warnings import ARTICLES

    if indicator not in ARTICLES:
        raise click.BadParameter(f"not an indicator; one of {', '.join(sorted(ARTICLES))}",
                                 param_hint="--indicator")
    named = [b.strip() for b in bidders.split(",") if b.strip()]
    if not named:
        raise click.BadParameter("name the warning's bidders", param_hint="--bidders")
    stream = project_stream(project)
    ledger, receipt = _officer_append(store, ledger_key, actor, key_path, stream,
                                      "project.warning-referred/v1",
                                      {"indicator": indicator, "bidders": named,
                                       "supervisor": supervisor})
    ledger.close()
    click.echo(f"recorded that {actor} passed the {indicator} warning on {stream} "
               f"({', '.join(named)}) to {supervisor}")
    _show_receipt(receipt)


@click.command()
@store_option
@key_option
@click.option("--name", help="the centre's name as its reports print it, e.g. 株洲市公共资源交易中心")
@click.option("--prefix", help="its report numbers' prefix, e.g. 株交见 (numbers read 株交见〔2025〕第0012号)")
@click.option("--portal", help="the address of its report verification page, e.g. "
              "https://ggzy.example.gov.cn/verify (the reports' QR codes point there)")
def centre(store, ledger_key, name, prefix, portal) -> None:
    """Say how the centre's witness reports name it, number them and where they are checked
    (recorded on the ledger; reports issued afterwards use it). Without options: print it."""
    from witness.reports import describe_centre, register_of

    try:
        ledger = open_ledger(store, ledger_key)
        now = register_of(ledger)[0]
        if name or prefix or portal:
            describe_centre(ledger, name or now.centre, prefix or now.prefix, portal or now.portal)
            checkpoint_after_appends(ledger)
            now = register_of(ledger)[0]
        ledger.close()
    except LedgerError as error:
        fail(error)
    numbers = ", ".join(f"{year}: {sequence}" for year, sequence in sorted(now.assigned.items()))
    click.echo(f"centre:  {now.centre or '(not described)'}\nprefix:  {now.prefix}\n"
               f"portal:  {now.portal or '(none: reports point to https://sunledger.invalid/verify)'}\n"
               f"numbers given: {numbers or 'none yet'}")


COMMANDS = [report, reports, verify_report_command, assign_witness, observe, refer, sign_off, centre]
