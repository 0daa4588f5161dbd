"""Witness reports (数字见证报告): render and record one, issue every report that is due
(once or following the log), and verify a report PDF."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ledger.errors import LedgerError, UntrustedFileError
from .options import (
    STORE_HELP, fail, key_option, open_ledger, project_stream, read_store, store_option,
)


@click.command()
@store_option
@key_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--kind", type=click.Choice(["opening", "evaluation", "full"]), default="full",
              show_default=True, help="开标 / 评标 / 全过程 witness report")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the PDF to write")
def report(store, ledger_key, project, kind, lang, out) -> None:
    """Render a digital witness report (数字见证报告) as a verifiable PDF and record its issue."""
    from witness.reports import issue_report

    try:
        pdf, issued = issue_report(open_ledger(store, ledger_key), project_stream(project),
                                   kind, lang, write_to=lambda _: out)
    except LedgerError as error:
        fail(error)
    click.echo(f"wrote {out}: {issued['report_id']} ({len(pdf):,} bytes), SHA-256 "
               f"{issued['pdf_hash']}, recorded on the ledger")


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
    """Issue every witness report that is due: each project that reached a milestone (the
    opening, the evaluation, the end) and has no report of that kind yet. Once, or with
    --follow as the centre's reporter that keeps following the log."""
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
    bytes, and that the ledger recorded it as issued. Exit 0 when all hold, 1 when not, 2
    when a file is refused unread (beyond the reader's limits)."""
    from ledger.evidence.untrusted import MAX_REPORT_BYTES, read_file
    from ledger.log.notes import parse_verifier_key
    from witness.reports import (
        embedded_evidence, recorded_in_bundle, recorded_in_store, verify_report,
    )

    try:
        data = read_file(pdf, MAX_REPORT_BYTES, "the report")
        project = embedded_evidence(data)["project"]
        recorded = None
        if bundle is not None:
            recorded = recorded_in_bundle(bundle, project)
        elif store is not None:
            recorded = recorded_in_store(read_store(store), project)
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
    sys.exit(0 if check.ok else 1)


COMMANDS = [report, reports, verify_report_command]
