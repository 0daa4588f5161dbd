"""Witnessing: an outside witness (a supervision body's own key and state) that cosigns the
log's checkpoints only while the log stays append-only."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ledger.errors import LedgerError
from ledger.errors import NotInLog as NotInLogError
from .options import fail, read_store, store_option


state_option = click.option("--state", required=True, type=click.Path(dir_okay=False, path_type=Path),
                            help="the witness's state file (its key is STATE.key beside it)")


def _witness(state: Path):
    from ledger.evidence.keys import read_private_key
    from ledger.log.cosigning import Witness

    if not state.exists():
        raise click.UsageError(f"no witness state at {state}; create one with `sunledger witness init`")
    return Witness(state, read_private_key(state.with_name(state.name + ".key")))


@click.group()
def witness() -> None:
    """Cosign a log's checkpoints as an outside witness (C2SP tlog-witness, cosignature/v1).

    The witness keeps its own key and state; it cosigns a checkpoint only with a valid
    consistency proof from the last one it cosigned, and refuses one that contradicts it."""


@witness.command("init")
@state_option
@click.option("--name", required=True, help="the witness's key name, e.g. jgj.example.gov.cn/witness")
def witness_init(state: Path, name: str) -> None:
    """Create a witness: its state file and its key (owner-only). Prints its verifier key."""
    from ledger.evidence.keys import SigningKey, write_private_key
    from ledger.log.cosigning import Witness

    try:
        Witness.create(state, name)
        write_private_key(state.with_name(state.name + ".key"), SigningKey.generate())
        click.echo(_witness(state).verifier_key)
    except FileExistsError as error:
        raise click.UsageError(f"{error.filename} exists already; a witness is created once")
    except LedgerError as error:
        fail(error)


@witness.command("key")
@state_option
def witness_key(state: Path) -> None:
    """Print the witness's verifier key (type 0x04, cosignature/v1)."""
    try:
        click.echo(_witness(state).verifier_key)
    except LedgerError as error:
        fail(error)


@witness.command("add-log")
@state_option
@click.option("--log-key", required=True, help="the log's verifier key (`sunledger log-key`)")
def witness_add_log(state: Path, log_key: str) -> None:
    """Follow a log: its checkpoints will be checked with this key."""
    try:
        _witness(state).add_log(log_key)
    except LedgerError as error:
        fail(error)


@witness.command("add-checkpoint")
@state_option
@click.argument("request", type=click.File("r"), default="-")
def witness_add_checkpoint(state: Path, request) -> None:
    """Cosign the checkpoint of an add-checkpoint REQUEST (tlog-witness form; - for stdin).
    Prints the cosignature line; exit 1 when refused, saying why."""
    from ledger.evidence.untrusted import MAX_DOCUMENT_BYTES
    from ledger.log.cosigning import parse_add_checkpoint

    try:
        signer = _witness(state)
        body = request.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise click.UsageError(f"the request is over {MAX_DOCUMENT_BYTES:,} characters: "
                                   "not an add-checkpoint request")
        added = parse_add_checkpoint(body)
    except LedgerError as error:  # no witness here, or not a request: bad input
        fail(error)
    except UnicodeDecodeError:
        raise click.UsageError("the request is not UTF-8 text: not an add-checkpoint request")
    try:
        line = signer.add_checkpoint(added, int(time.time()))
    except LedgerError as error:
        click.echo(f"sunledger: refused ({error.code}): {error.message}", err=True)
        sys.exit(1)
    click.echo(line, nl=False)


@witness.command("cosign")
@state_option
@store_option
def witness_cosign(state: Path, store: str) -> None:
    """Fetch the store's latest checkpoint and a consistency proof from the last one this
    witness cosigned, cosign it, and leave the cosignature in the store."""
    from ledger.log.checkpoints import latest_checkpoint
    from ledger.log.cosigning import AddCheckpoint
    from ledger.log.notes import parse_verifier_key
    from ledger.log.tree import StoredLog

    try:
        signer = _witness(state)
    except LedgerError as error:
        fail(error)
    try:
        recorder = read_store(store)
        last = latest_checkpoint(recorder)
        if last is None:
            raise NotInLogError("the log has issued no checkpoint yet")
        origin = last[1].split("\n", 1)[0]
        known = signer.logs.get(origin, {}).get("size", 0)
        proof = StoredLog(recorder).consistency(known, last[0]) if known <= last[0] else []
        line = signer.add_checkpoint(AddCheckpoint(known, proof, last[1]), int(time.time()))
        recorder.add_cosignature(last[0], str(parse_verifier_key(signer.verifier_key)), line)
    except LedgerError as error:
        click.echo(f"sunledger: refused ({error.code}): {error.message}", err=True)
        sys.exit(1)
    click.echo(f"cosigned {origin} at size {last[0]}")
    click.echo(line, nl=False)


COMMANDS = [witness]
