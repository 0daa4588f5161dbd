"""Keys and actors: an actor's own key, and the key registry the ledger signs as registrar
(registering actors, adding and revoking their keys, trusting a CA)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ledger.errors import LedgerError
from .options import (
    checkpoint_after_appends, fail, key_option, open_ledger, store_option,
)


def read_certificate(path: Path) -> bytes:
    from ledger.evidence.untrusted import MAX_CERTIFICATE_BYTES, read_file

    return read_file(path, MAX_CERTIFICATE_BYTES, "the certificate")


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the new private key (PEM, owner-only)")
def keygen(out: Path) -> None:
    """Create an actor's Ed25519 key; print its public key and key id (never the private key)."""
    from ledger.evidence.keys import SigningKey, encode_public_key, write_private_key

    key = SigningKey.generate()
    try:
        write_private_key(out, key)
    except FileExistsError:
        click.echo(f"sunledger: {out} exists; keys are never overwritten", err=True)
        sys.exit(2)
    except OSError as error:
        click.echo(f"sunledger: cannot write the key to {out}: {error.strerror or error}",
                   err=True)
        sys.exit(2)
    click.echo(f"key id:     {key.key_id}\npublic key: {encode_public_key(key.public_key)}")


@click.group()
def actor() -> None:
    """Register actors and manage their keys (signed by the ledger key as registrar)."""


def _registrar_append(store: str, ledger_key: Path | None, stream: str, type_: str,
                      payload: dict) -> None:
    from ledger.evidence.envelope import LEDGER_ACTOR
    from ledger.evidence.signer import ActorSigner

    try:
        ledger = open_ledger(store, ledger_key)
        signer = ActorSigner(LEDGER_ACTOR, ledger.key)
        receipt, = ledger.submit(signer.sign(stream, type_, payload,
                                             expected_version=ledger.stream_version(stream),
                                             signed_at=ledger.clock.now()))
        checkpoint_after_appends(ledger)  # this process ends: its event does not wait for the next one
    except LedgerError as error:
        fail(error)
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

    from ledger.evidence.certificates import certificate_facts, load_der_or_pem
    from ledger.evidence.keys import decode_public_key, key_id

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
            der = load_der_or_pem(read_certificate(certificate))
            facts = certificate_facts(der)
            _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.certificate-added/v1", {
                "key_id": key_id(facts.public_key), "certificate": base64.b64encode(der).decode(),
                "fingerprint": facts.fingerprint, "serial": facts.serial, "issuer": facts.issuer})
    except LedgerError as error:
        fail(error)
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


@click.command("trust-ca")
@store_option
@key_option
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def trust_ca(store, ledger_key, certificate) -> None:
    """Trust a CA (PEM or DER): certificates it issues may identify actors (跨区域互认)."""
    import base64

    from ledger.evidence.certificates import certificate_facts, load_der_or_pem

    try:
        der = load_der_or_pem(read_certificate(certificate))
        facts = certificate_facts(der)
    except LedgerError as error:
        fail(error)
    _registrar_append(store, ledger_key, "ledger", "ledger.ca-trusted/v1", {
        "certificate": base64.b64encode(der).decode(), "fingerprint": facts.fingerprint,
        "subject": facts.subject})


COMMANDS = [keygen, actor, trust_ca]
