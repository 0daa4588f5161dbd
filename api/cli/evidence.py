"""Evidence and verification: check every event, link, signature and receipt of a store or a
bundle, and export a bundle that is checked offline."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ledger.errors import LedgerError
from .options import fail, progress_bar, store_option, tty


@click.command()
@store_option
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="verify an exported evidence bundle instead of a store (no database needed)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="processes that check signatures (default: one per core, one for "
                   "logs under 5,000 events)")
@click.option("--ledger-key-id", help="the ledger key id you expect (as published); "
              "a different key is a finding")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path),
              help="your verifier state: verify only what came after the checkpoint it "
                   "remembers, and after an intact run remember the latest one (created if "
                   "missing; evidence-format §14.7)")
@click.option("--full", is_flag=True, help="with --state: verify from the first event all the "
              "same (the same verdict), then remember the latest checkpoint")
@click.option("--all-receipts", is_flag=True,
              help="verify the signature of every receipt, also of those a verified "
                   "checkpoint covers (it vouches for them: evidence-format §14.3)")
@click.option("--record", is_flag=True,
              help="record this run (when, how long, events, root, verdict, findings) in the "
                   "store verified, for the supervision pages; an operational note, not "
                   "evidence. Without it the store is only read; a run over a --bundle is "
                   "never recorded. If the store refuses the write (read-only), a warning says "
                   "so; the result and exit code stay as they are")
def verify(store: str, bundle: Path | None, as_json: bool, workers: int | None,
           ledger_key_id: str | None, state_file: Path | None, full: bool,
           all_receipts: bool, record: bool) -> None:
    """Verify every event, link, signature and receipt. Exit 0 intact, 1 findings, 2 cannot run.

    With --record, the run is kept in the store it verified (a table outside the hashed log)
    so that the supervision pages show when the store was last verified and what was found."""
    from ledger.audit.trusted import TrustedCheckpoint
    from ledger.audit.verify import StoreSource, verify as run_verify

    started = time.perf_counter()
    try:
        if bundle is not None:
            from ledger.audit.bundle import BundleSource

            source = BundleSource(bundle)
            where = str(bundle)
        else:
            source = StoreSource(store)
            where = source.url.display()
        since = None
        if state_file is not None and state_file.exists() and not full:
            since = TrustedCheckpoint.load(state_file)
        report = run_verify(source, workers=workers, progress=tty() and not as_json,
                            all_receipts=all_receipts, since=since)
        if state_file is not None and report.trusted is not None:
            report.trusted.save(state_file)
    except LedgerError as error:
        fail(error)
    if ledger_key_id and report.ledger_key_id != ledger_key_id:
        from ledger.audit.verify import NO_LEDGER_KEY, Finding

        report.add(Finding(NO_LEDGER_KEY, "ledger", 1, None,
                           f"the ledger key id is {report.ledger_key_id}, not the expected {ledger_key_id}"))
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps({"source": where, "seconds": round(elapsed, 3), **report.to_json()},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(f"source:      {where}")
        click.echo(f"origin:      {report.origin}   ledger key id: {report.ledger_key_id}")
        after = (f" after the trusted checkpoint of size {report.since}"
                 if report.since is not None else "")
        click.echo(f"checked:     {report.events} events{after} in {report.streams} streams, "
                   f"{report.receipts} receipts, in {elapsed:.1f} s")
        if report.covered_by:
            click.echo(f"receipts:    all compared with their events; the signatures of "
                       f"{report.receipts_covered} vouched for by the checkpoint of size "
                       f"{report.covered_by} (--all-receipts verifies them too)")
        click.echo(f"merkle log:  {report.events} leaves, root {report.tree_root}")
        if report.latest_checkpoint is None:
            click.echo("checkpoints: none kept yet")
        else:
            witnesses = ", ".join(w.split("+", 1)[0] for w in report.cosigned_by) or "no witness"
            click.echo(f"checkpoints: {report.checkpoints} checked; the latest (size "
                       f"{report.latest_checkpoint}) cosigned by {witnesses}")
        if state_file is not None:
            click.echo(f"state:       {state_file} remembers the checkpoint of size "
                       f"{report.trusted.size}" if report.trusted is not None else
                       f"state:       {state_file} unchanged (no newer checkpoint verified)")
        if report.intact:
            click.echo("result:      INTACT — no event altered, removed, reordered or inserted")
        else:
            click.echo(f"result:      {report.findings_total} FINDINGS")
            for finding in report.findings:
                click.echo(f"  {finding}")
            if report.findings_total > len(report.findings):
                click.echo(f"  … and {report.findings_total - len(report.findings)} more")
    if record:  # after the result: a store that refuses the write changes none of it
        record_verification(source if bundle is None else None, report, elapsed)
    sys.exit(0 if report.intact else 1)


def record_verification(source, report, seconds: float) -> None:
    """Keep the run in the store it verified (ledger/audit/runs.py), or say on stderr, in one
    line, why it was not kept: a bundle's run never is, and a store may refuse the write (a
    read-only replica). The verification's output and exit code do not change either way."""
    from ledger.audit.runs import record_run

    if source is None:
        click.echo("sunledger: warning: a run over a bundle is not recorded (--record records "
                   "runs over a store)", err=True)
        return
    try:
        record_run(source.recorder, report, seconds, VERIFY_COMMAND)
    except LedgerError as error:
        click.echo(f"sunledger: warning: {error.message}", err=True)


VERIFY_COMMAND = "sunledger verify"  # who ran a run that the command line recorded


@click.command()
@store_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the bundle file to write (a ZIP)")
def export(store: str, out: Path) -> None:
    """Write a self-contained evidence bundle that `verify --bundle` checks offline."""
    from ledger.audit.bundle import export_bundle
    from ledger.stores.url import open_recorder, parse_store_url

    try:
        url = parse_store_url(store)
        bar = progress_bar(open_recorder(url).counts()[0], "exporting")
        manifest = export_bundle(url, out, on_progress=bar.update if bar else None)
        if bar:
            bar.close()
    except LedgerError as error:
        fail(error)
    click.echo(f"wrote {out}: {manifest['events']} events, {manifest['receipts']} receipts, "
               f"ledger key id {manifest['ledger_key_id']}")


COMMANDS = [verify, export]
