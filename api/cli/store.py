"""Creating a store, on purpose: its tables, the ledger key and the ledger's first event. Only
`init` (and the demo and the load generator, in stores of their own) create a store; every
other command refuses a missing one and names this command."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.errors import LedgerError
from .options import checkpoint_after_appends, fail, key_option, store_option


@click.command()
@store_option
@key_option
@click.option("--origin", help="the log's name in its checkpoints, fixed when the store is "
              "created, e.g. ledger.example.gov.cn/2025 (default: sunledger.invalid/ and the "
              "ledger key id)")
def init(store: str, ledger_key: Path | None, origin: str | None) -> None:
    """Create a new store: its tables, the ledger key (owner-only, never printed) and the
    ledger's first event. On an existing Sunledger store, say so and change nothing."""
    from ledger.ledger import Ledger

    try:
        ledger = Ledger.open(store, key_path=ledger_key, origin=origin, create=True)
        if ledger.started_now:
            checkpoint_after_appends(ledger)  # the log's first checkpoint, over its first event
    except LedgerError as error:
        fail(error)
    if ledger.started_now:
        click.echo(f"created the store {ledger.url.display()}")
    else:
        click.echo(f"{ledger.url.display()} is a Sunledger store already; nothing was changed")
    click.echo(f"ledger key id: {ledger.key.key_id}")
    click.echo(f"origin:        {ledger.origin}")
    click.echo(f"ledger key:    {ledger_key or ledger.url.default_key_path()} (owner-only; "
               "back it up offline)")
    ledger.close()


COMMANDS = [init]
