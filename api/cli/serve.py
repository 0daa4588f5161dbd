"""`sunledger serve`: the HTTP API (api/http/) on uvicorn."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import click

from ledger.errors import LedgerError, StoreUnavailable
from .options import fail, key_option, store_option


def _free_port(host: str, port: int) -> int:
    """`port` if it can be bound on `host` now (0: a free one, chosen now); a clear error if not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StoreUnavailable(f"cannot listen on {host}:{port}: {error.strerror}; choose "
                                   "another --port or stop what holds it") from None
        return probe.getsockname()[1]


@click.command()
@store_option
@key_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the address to listen on (0.0.0.0: every interface; put TLS in front)")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="the port to listen on (0: a free one, printed)")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="server processes, each listening on the port (the kernel spreads the "
                   "connections over them) and opening the store; appends stay ordered by it")
@click.option("--shutdown-seconds", type=click.IntRange(1, 600), default=30, show_default=True,
              help="on SIGTERM or Ctrl-C, how long requests in flight may take to finish")
@click.option("--witness", "witnesses", nargs=2, multiple=True, metavar="URL KEY",
              help="a witness to send each new checkpoint to (C2SP tlog-witness: POST "
                   "URL/add-checkpoint) and its verifier key (`sunledger witness key`), which "
                   "checks its cosignatures; repeatable. GET /v1/witnesses shows how each is doing")
@click.option("--access-log", is_flag=True,
              help="log every request on stderr (off: the TLS proxy in front logs them; a line "
                   "a request costs the server about a twentieth of its time)")
@click.option("--reports", "reports_folder", type=click.Path(file_okay=False, path_type=Path),
              help="the folder the reporter writes the witness reports' PDFs to (`sunledger "
                   "reports --out DIR`): GET /v1/projects/<id>/reports/<report>.pdf serves them")
def serve(store: str, ledger_key: Path | None, host: str, port: int, workers: int,
          shutdown_seconds: int, witnesses: tuple[tuple[str, str], ...], access_log: bool,
          reports_folder: Path | None) -> None:
    """Serve the ledger over HTTP: signed actions in (POST /v1/actions), receipts, proofs and
    the log out; errors as RFC 9457 problem+json. Prints the address and the log's verifier
    key, then serves until SIGTERM or Ctrl-C, after which the requests in flight finish and
    nothing is left half-written. /healthz says the server is up, /readyz that its store
    answers; /docs is the API's reference."""
    import uvicorn

    from api.http.app import (
        KEY_VARIABLE, REPORTS_VARIABLE, STORE_VARIABLE, WITNESSES_VARIABLE, create_app,
    )
    from api.http.witness_push import check_witness
    from ledger.ledger import Ledger
    from ledger.log.checkpoints import log_verifier_key

    try:
        for url, witness_key in witnesses:
            check_witness(url, witness_key)
        ledger = Ledger.open(store, key_path=ledger_key, create=False)
        verifier = log_verifier_key(ledger.origin, ledger.key.public_key)
        ledger.close()
        port = _free_port(host, port)
    except LedgerError as error:
        fail(error)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"sunledger: serving {ledger.url.display()} at http://{shown}:{port}/ "
               f"({workers} process{'es' if workers > 1 else ''})")
    click.echo(f"portal: http://{shown}:{port}/portal/")
    click.echo(f"log verifier key: {verifier}")
    for url, witness_key in witnesses:
        click.echo(f"witness: {url} ({witness_key.split('+', 1)[0]})")
    click.echo("stop with Ctrl-C or SIGTERM: requests in flight finish first", err=True)
    settings = dict(host=host, port=port, timeout_graceful_shutdown=shutdown_seconds,
                    log_level="info", access_log=access_log, server_header=False)
    if workers == 1:
        uvicorn.run(create_app(lambda: Ledger.open(store, key_path=ledger_key, create=False),
                               witnesses, reports_folder=reports_folder), **settings)
    else:
        os.environ[STORE_VARIABLE] = store
        if ledger_key:
            os.environ[KEY_VARIABLE] = str(ledger_key.resolve())
        os.environ[WITNESSES_VARIABLE] = json.dumps([list(w) for w in witnesses])
        if reports_folder:
            os.environ[REPORTS_VARIABLE] = str(reports_folder.resolve())
        from api.http import workers as processes

        processes.run(workers, settings)


COMMANDS = [serve]
