"""Witnessing: an outside witness (a supervision body's own key and state) that cosigns the
log's checkpoints only while the log stays append-only."""

from __future__ import annotations

import signal
import sys
import time
from contextlib import ExitStack, contextmanager
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


@contextmanager
def _held(state: Path):
    """The witness's state held for one read-judge-write, against a server or another
    command writing it at the same time (api/http/witness_server.py)."""
    from api.http.witness_server import locked_state

    with locked_state(state):
        yield


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


@witness.command("logs")
@state_option
def witness_logs(state: Path) -> None:
    """Print each log this witness follows: its origin, the size it cosigned last (a
    consistency proof for the next cosignature starts there) and the log's key."""
    try:
        logs = _witness(state).logs
    except LedgerError as error:
        fail(error)
    for origin, log in sorted(logs.items()):
        click.echo(f"{origin}  cosigned up to size {log['size']}  log key {log['vkey']}")
    if not logs:
        click.echo("no log followed yet: add one with `sunledger witness add-log`")


@witness.command("add-log")
@state_option
@click.option("--log-key", required=True, help="the log's verifier key (`sunledger log-key`)")
def witness_add_log(state: Path, log_key: str) -> None:
    """Follow a log: its checkpoints will be checked with this key."""
    try:
        _witness(state)
        with _held(state):
            _witness(state).add_log(log_key)
    except LedgerError as error:
        fail(error)


@witness.command("add-checkpoint")
@state_option
@click.argument("request", type=click.File("r"), required=False)
@click.option("--checkpoint", "checkpoint_file", type=click.File("r"), metavar="FILE",
              help="instead of a REQUEST: the log's signed checkpoint, as `sunledger "
                   "checkpoint` prints it (its cosignatures may follow)")
@click.option("--proof", "proof_file", type=click.File("rb"), metavar="FILE",
              help="with --checkpoint: the consistency proof, as `sunledger prove consistency "
                   "--old N --new SIZE` prints it (JSON), from the size N this witness "
                   "cosigned last (0 the first time) to the checkpoint's SIZE")
def witness_add_checkpoint(state: Path, request, checkpoint_file, proof_file) -> None:
    """Cosign a checkpoint: from an add-checkpoint REQUEST (tlog-witness form; - or nothing
    for stdin), or from the checkpoint and the consistency proof the log published
    (--checkpoint FILE --proof FILE): no access to the log's store is needed. Prints the
    cosignature line for the log to record; exit 1 when refused, saying why."""
    from ledger.log.cosigning import parse_add_checkpoint

    if checkpoint_file is not None or proof_file is not None:
        if request is not None:
            raise click.UsageError("give a REQUEST or --checkpoint and --proof, not both")
        if checkpoint_file is None or proof_file is None:
            raise click.UsageError("--checkpoint FILE and --proof FILE go together")
    with ExitStack() as held:
        try:
            _witness(state)
            if checkpoint_file is not None:
                added = _published_request(_read_text(checkpoint_file, "the checkpoint"),
                                           proof_file)
            else:
                body = _read_text(request if request is not None else click.open_file("-"),
                                  "the request")
                added = parse_add_checkpoint(body)
            held.enter_context(_held(state))  # read, judge, write as one: a server may share it
            signer = _witness(state)
        except LedgerError as error:  # no witness here, or not a request: bad input
            fail(error)
        try:
            line = signer.add_checkpoint(added, int(time.time()))
        except LedgerError as error:
            click.echo(f"sunledger: refused ({error.code}): {error.message}", err=True)
            sys.exit(1)
    click.echo(line, nl=False)


def _read_text(handle, what: str) -> str:
    from ledger.evidence.untrusted import MAX_DOCUMENT_BYTES

    try:
        body = handle.read(MAX_DOCUMENT_BYTES + 1)
    except UnicodeDecodeError:
        raise click.UsageError(f"{what} is not UTF-8 text") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise click.UsageError(f"{what} is over {MAX_DOCUMENT_BYTES:,} characters")
    return body


def _published_request(note: str, proof_file):
    """The add-checkpoint request of a published checkpoint and a published consistency
    proof (the JSON of `sunledger prove consistency`), checked to be about the same size."""
    from ledger.errors import BadNote
    from ledger.evidence.untrusted import MAX_DOCUMENT_BYTES, parse_json
    from ledger.log.cosigning import MAX_PROOF_LINES, AddCheckpoint
    from ledger.log.notes import decode_hash_lines

    lines = note.split("\n")
    if len(lines) < 3 or not lines[1].isascii() or not lines[1].isdigit():
        raise BadNote("the checkpoint is the log's signed note: origin, size and root lines, "
                      "a blank line and the signatures, as `sunledger checkpoint` prints it")
    size = int(lines[1])
    data = proof_file.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise BadNote(f"the proof is over {MAX_DOCUMENT_BYTES:,} bytes: not a consistency proof")
    try:
        proof = parse_json(data, "the consistency proof")
    except ValueError as error:
        raise BadNote(f"not a consistency proof: {error}") from None
    if type(proof) is not dict or type(proof.get("old_size")) is not int \
            or type(proof.get("new_size")) is not int or type(proof.get("hashes")) is not list \
            or not all(type(h) is str for h in proof["hashes"]) or proof["old_size"] < 0:
        raise BadNote("not a consistency proof: it is JSON with old_size, new_size and hashes, "
                      "as `sunledger prove consistency` prints it")
    if len(proof["hashes"]) > MAX_PROOF_LINES:
        raise BadNote(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    if proof["new_size"] != size:
        raise BadNote(f"the proof is to size {proof['new_size']}, the checkpoint is of size "
                      f"{size}: ask for `sunledger prove consistency --old "
                      f"{proof['old_size']} --new {size}`")
    return AddCheckpoint(proof["old_size"], decode_hash_lines(proof["hashes"],
                                                              "consistency proof"), note)


@witness.command("cosign")
@state_option
@store_option
def witness_cosign(state: Path, store: str) -> None:
    """Fetch the store's latest checkpoint and a consistency proof from the last one this
    witness cosigned, cosign it, and leave the cosignature in the store. Without write access
    to the store, the line is printed all the same (exit 2, saying so), for the log's
    operator to record; or cosign from published files with `witness add-checkpoint`."""
    from eventsourcing.persistence import PersistenceError

    from ledger.log.checkpoints import latest_checkpoint
    from ledger.log.cosigning import AddCheckpoint
    from ledger.log.notes import parse_verifier_key
    from ledger.log.tree import StoredLog

    with ExitStack() as held:
        try:
            _witness(state)
            held.enter_context(_held(state))  # read, judge, write as one: a server may share it
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
        except LedgerError as error:
            click.echo(f"sunledger: refused ({error.code}): {error.message}", err=True)
            sys.exit(1)
    click.echo(f"cosigned {origin} at size {last[0]}")
    click.echo(line, nl=False)
    try:  # a copy of the store, or one this witness may only read: the line is printed above
        recorder.add_cosignature(last[0], str(parse_verifier_key(signer.verifier_key)), line)
    except (LedgerError, PersistenceError) as error:
        click.echo(f"sunledger: cosigned, but the cosignature could not be left in the store "
                   f"({getattr(error, 'message', error)}); send the line above to the log's "
                   "operator, who records it with `sunledger checkpoint --store URL "
                   f"--add-cosignature FILE --witness-key '{signer.verifier_key}'`", err=True)
        sys.exit(2)


@witness.command("serve")
@state_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the address to listen on (0.0.0.0: every interface; put TLS in front)")
@click.option("--port", type=click.IntRange(0, 65535), default=8090, show_default=True,
              help="the port to listen on (0: a free one, printed)")
def witness_serve(state: Path, host: str, port: int) -> None:
    """Serve this witness over HTTP (C2SP tlog-witness): logs POST add-checkpoint requests
    to <address>/add-checkpoint and get the cosignature line back. Prints the address and
    the witness's verifier key, then serves until SIGTERM or Ctrl-C (a request in flight
    finishes first: its state is written before it is answered). Logs are followed with
    `witness add-log`, also while it runs."""
    import uvicorn

    from api.http.witness_server import HttpWitness, create_witness_app

    try:
        signer = _witness(state)
        served = HttpWitness(state, signer.key)
    except LedgerError as error:
        fail(error)
    listener = _listen(host, port)
    port = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"sunledger: witness {signer.name} at http://{shown}:{port}/ "
               f"(POST /add-checkpoint; {len(signer.logs)} log{'' if len(signer.logs) == 1 else 's'} "
               "followed)")
    click.echo(f"witness verifier key: {served.verifier_key}")
    click.echo("stop with Ctrl-C or SIGTERM: a request in flight finishes first", err=True)
    config = uvicorn.Config(create_witness_app(served), host=host, port=port,
                            timeout_graceful_shutdown=10, log_level="info", server_header=False,
                            lifespan="off")
    # uvicorn stops gracefully on SIGTERM and SIGINT, then raises the signal again: end
    # here, quietly, with exit 0, rather than die of it
    signal.signal(signal.SIGTERM, _stop)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        listener.close()
    click.echo("sunledger: witness stopped", err=True)


class _Stopped(Exception):
    pass


def _stop(signum, frame) -> None:
    raise _Stopped()


def _listen(host: str, port: int):
    """A socket listening on host:port, bound now (so the address printed is the one served);
    a clear error and exit 2 when it cannot be."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        click.echo(f"sunledger: cannot listen on {host}:{port}: {error.strerror or error}",
                   err=True)
        sys.exit(2)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as error:
        listener.close()
        click.echo(f"sunledger: cannot listen on {host}:{port}: {error.strerror or error}; "
                   "choose another --port or stop what holds it", err=True)
        sys.exit(2)
    return listener


COMMANDS = [witness]
