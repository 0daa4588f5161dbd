"""What the command groups share: the --store and --ledger-key options, opening a store or the
ledger, progress on a terminal, and the one way a command fails (a message, exit 2)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from ledger.errors import LedgerError


STORE_HELP = ("store URL: sqlite:///abs/path.db, sqlite:rel/path.db or "
              "postgresql://user@host:port/db[?schema=s] (default: $SUNLEDGER_STORE, else a "
              "SQLite file in your data directory)")


def _default_store() -> str:
    import os

    from ledger.stores.url import default_store_url

    return os.environ.get("SUNLEDGER_STORE") or default_store_url()


# A tree size, leaf index or version is at most the largest integer ledger JSON holds: a
# number beyond it names nothing, and is refused before any store is asked about it.
MAX_NUMBER = 2**53 - 1


def number(minimum: int = 0) -> click.IntRange:
    return click.IntRange(minimum, MAX_NUMBER)


store_option = click.option("--store", "store", default=_default_store, show_default="see help",
                            help=STORE_HELP)
key_option = click.option("--ledger-key", "ledger_key", type=click.Path(path_type=Path),
                          envvar="SUNLEDGER_LEDGER_KEY",
                          help="the ledger's private key file (default: beside a SQLite store, "
                               "or in your data directory for PostgreSQL); made with the store "
                               "by `sunledger init`")


def fail(error: LedgerError) -> None:
    click.echo(f"sunledger: {error.message}", err=True)
    sys.exit(2)


def open_ledger(store: str, ledger_key: Path | None):
    """The ledger of an existing store, to write to: a missing store is refused with the
    `sunledger init` that creates one (only init, demo and simulate create a store)."""
    from ledger.ledger import Ledger

    return Ledger.open(store, key_path=ledger_key, create=False)


def read_store(store: str):
    """The recorder of an existing store, to read (nothing is created)."""
    from ledger.stores.url import open_recorder, parse_store_url

    return open_recorder(parse_store_url(store))


def tty() -> bool:
    return sys.stderr.isatty()


def progress_bar(total: int, desc: str):
    if not tty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="event", unit_scale=True, desc=desc, leave=False)


def project_stream(project: str) -> str:
    return project if project.startswith("project:") else f"project:{project}"


CST = timezone(timedelta(hours=8))  # China Standard Time (北京时间), UTC+8 all year


def beijing(ledger_time: str | datetime) -> str:
    """A ledger time in Beijing time, as a report writes it: 2025年4月11日 10时00分."""
    from ledger.evidence.canonical import parse_time

    moment = (parse_time(ledger_time) if isinstance(ledger_time, str) else ledger_time)
    local = moment.astimezone(CST)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}时{local.minute:02d}分"


def checkpoint_after_appends(ledger) -> None:
    """Before a command that appended exits, sign a checkpoint over its events. If the ledger
    refuses to sign one (its stored tree is not what the events give), the events stay
    recorded: say so on stderr, and how to repair, without failing the command."""
    from ledger.errors import LogInconsistent

    try:
        ledger.checkpoint()
    except LogInconsistent as error:
        click.echo(f"sunledger: recorded, but {error.message}", err=True)
