"""The `sunledger` command line: a thin face over the ledger's operations (no logic of its own)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ledger.errors import LedgerError

STORE_HELP = ("store URL: sqlite:///abs/path.db, sqlite:rel/path.db or "
              "postgresql://user@host:port/db[?schema=s] (default: $SUNLEDGER_STORE, else a "
              "SQLite file in your data directory)")


def _default_store() -> str:
    import os

    from ledger.store import default_store_url

    return os.environ.get("SUNLEDGER_STORE") or default_store_url()


store_option = click.option("--store", "store", default=_default_store, show_default="see help",
                            help=STORE_HELP)
key_option = click.option("--ledger-key", "ledger_key", type=click.Path(path_type=Path),
                          envvar="SUNLEDGER_LEDGER_KEY",
                          help="the ledger's private key file (default: beside a SQLite store, "
                               "or in your data directory for PostgreSQL); created on first use")


def _fail(error: LedgerError) -> None:
    click.echo(f"sunledger: {error.message}", err=True)
    sys.exit(2)


def _open_ledger(store: str, ledger_key: Path | None):
    from ledger.ledger import Ledger

    return Ledger.open(store, key_path=ledger_key)


def _tty() -> bool:
    return sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sunledger")
def cli() -> None:
    """Sunledger: the tamper-evident ledger of a public resource trading centre.

    Every trading action is a signed, hash-chained event; `verify` checks that none was
    altered, removed, reordered or inserted."""


@cli.command()
@store_option
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="verify an exported evidence bundle instead of a store (no database needed)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="processes that check signatures (default: one per core, one for "
                   "logs under 5,000 events)")
@click.option("--ledger-key-id", help="the ledger key id you expect (as published); "
              "a different key is a finding")
def verify(store: str, bundle: Path | None, as_json: bool, workers: int | None,
           ledger_key_id: str | None) -> None:
    """Verify every event, link, signature and receipt. Exit 0 intact, 1 findings, 2 cannot run."""
    from ledger.verify import StoreSource, verify as run_verify

    started = time.perf_counter()
    try:
        if bundle is not None:
            from ledger.bundle import BundleSource

            source = BundleSource(bundle)
            where = str(bundle)
        else:
            source = StoreSource(store)
            where = source.url.display()
        report = run_verify(source, workers=workers, progress=_tty() and not as_json)
    except LedgerError as error:
        _fail(error)
    if ledger_key_id and report.ledger_key_id != ledger_key_id:
        from ledger.verify import NO_LEDGER_KEY, Finding

        report.add(Finding(NO_LEDGER_KEY, "ledger", 1, None,
                           f"the ledger key id is {report.ledger_key_id}, not the expected {ledger_key_id}"))
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps({"source": where, "seconds": round(elapsed, 3), **report.to_json()},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(f"source:      {where}")
        click.echo(f"origin:      {report.origin}   ledger key id: {report.ledger_key_id}")
        click.echo(f"checked:     {report.events} events in {report.streams} streams, "
                   f"{report.receipts} receipts, in {elapsed:.1f} s")
        if report.intact:
            click.echo("result:      INTACT — no event altered, removed, reordered or inserted")
        else:
            click.echo(f"result:      {report.findings_total} FINDINGS")
            for finding in report.findings:
                click.echo(f"  {finding}")
            if report.findings_total > len(report.findings):
                click.echo(f"  … and {report.findings_total - len(report.findings)} more")
    sys.exit(0 if report.intact else 1)


@cli.command()
@store_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the bundle file to write (a ZIP)")
def export(store: str, out: Path) -> None:
    """Write a self-contained evidence bundle that `verify --bundle` checks offline."""
    from ledger.bundle import export_bundle
    from ledger.store import open_recorder, parse_store_url

    try:
        url = parse_store_url(store)
        bar = _bar(open_recorder(url).counts()[0], "exporting")
        manifest = export_bundle(url, out, on_progress=bar.update if bar else None)
        if bar:
            bar.close()
    except LedgerError as error:
        _fail(error)
    click.echo(f"wrote {out}: {manifest['events']} events, {manifest['receipts']} receipts, "
               f"ledger key id {manifest['ledger_key_id']}")


def _bar(total: int, desc: str):
    if not _tty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="event", unit_scale=True, desc=desc, leave=False)


@cli.command()
@store_option
@key_option
@click.option("--projects", type=click.IntRange(1, 1_000_000), required=True,
              help="how many fictional projects to run")
@click.option("--seed", type=int, default=0, show_default=True,
              help="the same seed gives the same actions")
@click.option("--batch", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="actions per atomic append")
def simulate(store: str, ledger_key: Path | None, projects: int, seed: int, batch: int) -> None:
    """Drive realistic project streams through the public append path."""
    from ledger.simulate import simulate as run

    started = time.perf_counter()
    try:
        ledger = _open_ledger(store, ledger_key)
        bar = _bar(0, "simulating")
        result = run(ledger, projects=projects, seed=seed, batch=batch,
                     on_progress=bar.update if bar else None)
        if bar:
            bar.close()
    except LedgerError as error:
        _fail(error)
    elapsed = time.perf_counter() - started
    click.echo(f"simulated {result.projects} projects (seed {seed}): {result.actions} actions "
               f"by {result.actors} actors in {elapsed:.1f} s "
               f"({result.actions / elapsed:.0f} actions/s) into {ledger.url.display()}")


@cli.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the new private key (PEM, owner-only)")
def keygen(out: Path) -> None:
    """Create an actor's Ed25519 key; print its public key and key id (never the private key)."""
    from ledger.keys import SigningKey, encode_public_key, write_private_key

    key = SigningKey.generate()
    try:
        write_private_key(out, key)
    except FileExistsError:
        click.echo(f"sunledger: {out} exists; keys are never overwritten", err=True)
        sys.exit(2)
    click.echo(f"key id:     {key.key_id}\npublic key: {encode_public_key(key.public_key)}")


@cli.group()
def actor() -> None:
    """Register actors and manage their keys (signed by the ledger key as registrar)."""


def _registrar_append(store: str, ledger_key: Path | None, stream: str, type_: str,
                      payload: dict) -> None:
    from ledger.client import ActorSigner
    from ledger.envelope import LEDGER_ACTOR

    try:
        ledger = _open_ledger(store, ledger_key)
        signer = ActorSigner(LEDGER_ACTOR, ledger.key)
        receipt, = ledger.submit(signer.sign(stream, type_, payload,
                                             expected_version=ledger.stream_version(stream),
                                             signed_at=ledger.clock.now()))
    except LedgerError as error:
        _fail(error)
    click.echo(json.dumps(receipt.to_json(), ensure_ascii=False, indent=2))


@actor.command("register")
@store_option
@key_option
@click.option("--id", "actor_id", required=True, help="the actor's identifier")
@click.option("--name", required=True)
@click.option("--organisation", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              help="tenderee, agent, bidder, expert, witness, supervisor, operator, registrar")
def register(store, ledger_key, actor_id, name, organisation, roles) -> None:
    """Register an actor with its roles and organisation."""
    _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.registered/v1",
                      {"name": name, "organisation": organisation, "roles": list(roles)})


@actor.command("add-key")
@store_option
@key_option
@click.option("--id", "actor_id", required=True)
@click.option("--public-key", help="base64 Ed25519 public key (from `sunledger keygen`)")
@click.option("--certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an X.509 certificate (PEM or DER) issued by a trusted CA")
@click.option("--not-after", help="last valid instant, e.g. 2027-01-01T00:00:00.000000Z")
def add_key(store, ledger_key, actor_id, public_key, certificate, not_after) -> None:
    """Add a key (or a CA-issued certificate) to an actor."""
    import base64

    from ledger.certificates import certificate_facts, load_der_or_pem
    from ledger.keys import decode_public_key, key_id

    try:
        if bool(public_key) == bool(certificate):
            raise click.UsageError("give exactly one of --public-key and --certificate")
        if public_key:
            raw = decode_public_key(public_key)
            payload = {"key_id": key_id(raw), "public_key": public_key}
            if not_after:
                payload["not_after"] = not_after
            _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.key-added/v1", payload)
        else:
            der = load_der_or_pem(certificate.read_bytes())
            facts = certificate_facts(der)
            _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.certificate-added/v1", {
                "key_id": key_id(facts.public_key), "certificate": base64.b64encode(der).decode(),
                "fingerprint": facts.fingerprint, "serial": facts.serial, "issuer": facts.issuer})
    except LedgerError as error:
        _fail(error)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@actor.command("revoke-key")
@store_option
@key_option
@click.option("--id", "actor_id", required=True)
@click.option("--key-id", required=True)
@click.option("--reason", required=True)
def revoke_key(store, ledger_key, actor_id, key_id, reason) -> None:
    """Revoke an actor's key: no action signed with it is accepted from now on."""
    _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.key-revoked/v1",
                      {"key_id": key_id, "reason": reason})


@cli.command("trust-ca")
@store_option
@key_option
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def trust_ca(store, ledger_key, certificate) -> None:
    """Trust a CA (PEM or DER): certificates it issues may identify actors (跨区域互认)."""
    import base64

    from ledger.certificates import certificate_facts, load_der_or_pem

    try:
        der = load_der_or_pem(certificate.read_bytes())
        facts = certificate_facts(der)
    except LedgerError as error:
        _fail(error)
    _registrar_append(store, ledger_key, "ledger", "ledger.ca-trusted/v1", {
        "certificate": base64.b64encode(der).decode(), "fingerprint": facts.fingerprint,
        "subject": facts.subject})


def main() -> None:
    cli(prog_name="sunledger")
