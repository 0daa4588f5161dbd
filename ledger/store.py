"""Stores: a URL names one (SQLite file or PostgreSQL database), and the eventsourcing
recorders keep the events. Beside the events each store keeps two tables written in the same
transaction: the receipts (what the ledger signed for each position) and the nonces used.

    sqlite:///absolute/path/ledger.db      sqlite:relative/path/ledger.db
    postgresql://user[:password]@host[:port]/database[?schema=name]
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

import platformdirs
from psycopg.sql import SQL
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from .errors import StoreUnavailable

RECEIPTS = "sunledger_receipts"
NONCES = "sunledger_nonces"
EVENTS = "sunledger_events"  # the eventsourcing events table, same name on both engines
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def default_data_dir() -> Path:
    return Path(os.environ.get("SUNLEDGER_HOME") or platformdirs.user_data_dir("sunledger"))


def default_store_url() -> str:
    return f"sqlite://{default_data_dir() / 'ledger.db'}"


@dataclass(frozen=True)
class StoreURL:
    engine: str  # "sqlite" or "postgresql"
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    database: str = ""
    schema: str = "public"

    def display(self) -> str:
        """The URL without its password, for messages and reports."""
        if self.engine == "sqlite":
            return f"sqlite://{self.path}"
        suffix = "" if self.schema == "public" else f"?schema={self.schema}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}{suffix}"

    def default_key_path(self) -> Path:
        """Where the ledger key of this store lives unless configured otherwise."""
        if self.engine == "sqlite":
            assert self.path is not None
            return self.path.with_name(self.path.name + ".ledger-key")
        tag = hashlib.sha256(self.display().encode()).hexdigest()[:16]
        return default_data_dir() / "keys" / f"{self.host}-{self.port}-{self.database}-{self.schema}-{tag}.ledger-key"

    def eventsourcing_env(self) -> dict[str, str]:
        env = {"ORIGINATOR_ID_TYPE": "uuid"}
        if self.engine == "sqlite":
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=str(self.path),
                SQLITE_LOCK_TIMEOUT="30",
                APPLICATION_RECORDER_TOPIC="ledger.store:SQLiteLedgerRecorder",
            )
        else:
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=self.database,
                POSTGRES_HOST=self.host,
                POSTGRES_PORT=str(self.port),
                POSTGRES_USER=self.user,
                POSTGRES_PASSWORD=self.password,
                POSTGRES_SCHEMA=self.schema,
                POSTGRES_CONNECT_TIMEOUT="5",
                POSTGRES_POOL_SIZE="2",
                POSTGRES_LOCK_TIMEOUT="30",
                APPLICATION_RECORDER_TOPIC="ledger.store:PostgresLedgerRecorder",
            )
        return env


def parse_store_url(text: str) -> StoreURL:
    """Parse a store URL; refuse anything that is not a persistent store."""
    hint = ("use sqlite:///absolute/path.db, sqlite:relative/path.db or "
            "postgresql://user@host:port/database")
    if text.startswith("sqlite:"):
        rest = text[len("sqlite:"):]
        if rest.startswith("//"):
            rest = rest[2:]
            if not rest.startswith("/"):
                raise StoreUnavailable(f"{text}: a sqlite URL with // needs an absolute path; {hint}")
        if not rest or ":memory:" in rest or "mode=memory" in rest:
            raise StoreUnavailable(f"{text}: the ledger needs a file, never an in-memory store; {hint}")
        return StoreURL("sqlite", path=Path(rest).expanduser().absolute())
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        database = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not database:
            raise StoreUnavailable(f"{text}: needs a host and a database name; {hint}")
        schema = parse_qs(parts.query).get("schema", ["public"])[0]
        if not _SCHEMA_NAME.fullmatch(schema):
            raise StoreUnavailable(f"{text}: schema {schema!r} is not a plain lower-case name")
        return StoreURL(
            "postgresql",
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or os.environ.get("PGUSER", "postgres")),
            password=unquote(parts.password or os.environ.get("PGPASSWORD", "")),
            database=database,
            schema=schema,
        )
    raise StoreUnavailable(f"{text!r} is not a store URL; {hint}")


def check_reachable(url: StoreURL, *, create: bool) -> None:
    """Fail early and clearly when a store cannot be opened (never fall back to memory)."""
    if url.engine == "sqlite":
        assert url.path is not None
        if not url.path.parent.is_dir():
            if not create:
                raise StoreUnavailable(f"no ledger at {url.display()}: {url.path.parent} does not exist")
            url.path.parent.mkdir(parents=True, exist_ok=True)
        if not create and not url.path.exists():
            raise StoreUnavailable(f"no ledger at {url.display()}: the file does not exist")
        return
    import psycopg

    try:
        with psycopg.connect(host=url.host, port=url.port, user=url.user,
                             password=url.password, dbname=url.database,
                             connect_timeout=5, autocommit=True) as conn:
            if create:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
            else:
                found = conn.execute("SELECT to_regclass(%s)", (f"{url.schema}.{EVENTS}",)).fetchone()
                if found is None or found[0] is None:
                    raise StoreUnavailable(f"no ledger at {url.display()}: no {EVENTS} table")
    except psycopg.Error as error:
        raise StoreUnavailable(f"cannot open {url.display()}: {str(error).strip()}") from None


# --- what the ledger writes inside the event transaction ------------------------------------

class Transaction(Protocol):
    """The writes and reads the ledger makes inside the transaction that stores its events."""

    def stream_version(self, originator_id: UUID) -> int: ...
    def add_nonces(self, rows: Sequence[tuple[str, str]]) -> None: ...
    def add_receipts(self, rows: Sequence[tuple[int, str, int, str, str, str]]) -> None: ...


Within = Callable[[Transaction, Sequence[int]], None]


@dataclass(frozen=True)
class ReceiptRow:
    position: int
    stream: str
    version: int
    event_hash: str
    ledger_time: str
    signature: str


class _SQLiteTransaction:
    def __init__(self, cursor: Any):
        self.c = cursor

    def stream_version(self, originator_id: UUID) -> int:
        self.c.execute(f"SELECT MAX(originator_version) FROM {EVENTS} WHERE originator_id=?",
                       (originator_id.hex,))
        return self.c.fetchone()[0] or 0

    def add_nonces(self, rows: Sequence[tuple[str, str]]) -> None:
        self.c.executemany(f"INSERT INTO {NONCES} VALUES (?,?)", rows)

    def add_receipts(self, rows: Sequence[tuple]) -> None:
        self.c.executemany(f"INSERT INTO {RECEIPTS} VALUES (?,?,?,?,?,?)", rows)


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, with positions that are never reused: the events
    table declares its rowid with AUTOINCREMENT, so neither deleting the newest event nor
    VACUUM can hand an old position (and its receipt) to a new event."""

    def __init__(self, datastore: Any, events_table_name: str = EVENTS):
        super().__init__(datastore, events_table_name)
        self.insert_events_statement = (
            f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state) "
            "VALUES (?,?,?,?)")

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {EVENTS} (rowid INTEGER PRIMARY KEY AUTOINCREMENT, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, topic TEXT, "
            "state BLOB, UNIQUE (originator_id, originator_version))",
            f"CREATE TABLE IF NOT EXISTS {RECEIPTS} (position INTEGER PRIMARY KEY, "
            "stream TEXT NOT NULL, version INTEGER NOT NULL, event_hash TEXT NOT NULL, "
            "ledger_time TEXT NOT NULL, signature TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {NONCES} (actor TEXT NOT NULL, nonce TEXT NOT NULL, "
            "PRIMARY KEY (actor, nonce)) WITHOUT ROWID",
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any):
        positions = super()._insert_events(c, stored_events)
        within: Within | None = kwargs.get("within")
        if within is not None:
            within(_SQLiteTransaction(c), positions)
        return positions

    def nonce_used(self, actor: str, nonce: str) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT 1 FROM {NONCES} WHERE actor=? AND nonce=?", (actor, nonce))
            return c.fetchone() is not None

    def select_receipts(self, gt: int, lte: int | None) -> list[ReceiptRow]:
        statement = f"SELECT * FROM {RECEIPTS} WHERE position>?"
        params: list[int] = [gt]
        if lte is not None:
            statement += " AND position<=?"
            params.append(lte)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement + " ORDER BY position", params)
            return [ReceiptRow(*tuple(row)) for row in c.fetchall()]

    def counts(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT (SELECT COUNT(*) FROM {EVENTS}), (SELECT COUNT(*) FROM {RECEIPTS})")
            return tuple(c.fetchone())


class _PostgresTransaction:
    def __init__(self, cursor: Any, schema: str):
        self.c = cursor
        self.schema = schema

    def stream_version(self, originator_id: UUID) -> int:
        self.c.execute(f'SELECT MAX(originator_version) AS v FROM "{self.schema}".{EVENTS} '
                       "WHERE originator_id=%s", (originator_id,))
        return self.c.fetchone()["v"] or 0

    def add_nonces(self, rows: Sequence[tuple[str, str]]) -> None:
        self.c.executemany(f'INSERT INTO "{self.schema}".{NONCES} VALUES (%s,%s)', rows)

    def add_receipts(self, rows: Sequence[tuple]) -> None:
        self.c.executemany(f'INSERT INTO "{self.schema}".{RECEIPTS} VALUES (%s,%s,%s,%s,%s,%s)',
                           rows)


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        schema = self.datastore.schema
        self.sql_create_statements.extend([
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{RECEIPTS} (position BIGINT PRIMARY KEY, '
                "stream TEXT NOT NULL, version BIGINT NOT NULL, event_hash TEXT NOT NULL, "
                "ledger_time TEXT NOT NULL, signature TEXT NOT NULL)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{NONCES} (actor TEXT NOT NULL, '
                "nonce TEXT NOT NULL, PRIMARY KEY (actor, nonce))"),
        ])

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any):
        """One transaction: lock (commit order = position order), events, then `within`."""
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        within: Within | None = kwargs.get("within")
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(self.insert_events_statement + SQL(", originator_id, originator_version"),
                         (rows,))
            # RETURNING order is not promised by SQL: match positions to events by key
            issued = {(r["originator_id"], r["originator_version"]): r["notification_id"]
                      for r in curs.fetchall()}
            positions = [issued[(e.originator_id, e.originator_version)] for e in stored_events]
            if within is not None:
                within(_PostgresTransaction(curs, self.datastore.schema), positions)
        return positions

    def _query(self, statement: str, params: Sequence[Any]) -> list[dict]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return curs.fetchall()

    def nonce_used(self, actor: str, nonce: str) -> bool:
        return bool(self._query(f'SELECT 1 FROM "{self.datastore.schema}".{NONCES} '
                                "WHERE actor=%s AND nonce=%s", (actor, nonce)))

    def select_receipts(self, gt: int, lte: int | None) -> list[ReceiptRow]:
        statement = f'SELECT * FROM "{self.datastore.schema}".{RECEIPTS} WHERE position>%s'
        params: list[int] = [gt]
        if lte is not None:
            statement += " AND position<=%s"
            params.append(lte)
        return [ReceiptRow(**row) for row in self._query(statement + " ORDER BY position", params)]

    def counts(self) -> tuple[int, int]:
        s = self.datastore.schema
        row = self._query(f'SELECT (SELECT COUNT(*) FROM "{s}".{EVENTS}) AS e, '
                          f'(SELECT COUNT(*) FROM "{s}".{RECEIPTS}) AS r', ())[0]
        return row["e"], row["r"]


def iter_rows(recorder: Any, *, batch: int = 2000, start: int = 0) -> Iterator[tuple[list, list[ReceiptRow]]]:
    """The stored events in global order, in batches, each with the receipts of its position
    range (receipts whose event is gone included: they are how a deletion shows)."""
    last = start
    while True:
        notifications = recorder.select_notifications(start=last, limit=batch,
                                                      inclusive_of_start=False)
        if not notifications:
            tail = recorder.select_receipts(last, None)
            if tail:
                yield [], tail
            return
        upper = notifications[-1].id
        yield list(notifications), recorder.select_receipts(last, upper)
        last = upper


def open_recorder(url: StoreURL):
    """The recorder of an existing ledger store, for reading (verify, export)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    check_reachable(url, create=False)
    env = Environment("sunledger", {**url.eventsourcing_env(), "CREATE_TABLE": "n"})
    try:
        recorder = InfrastructureFactory.construct(env).application_recorder()
        recorder.counts()
    except Exception as error:  # the store exists but is not a ledger
        raise StoreUnavailable(f"cannot read a ledger at {url.display()}: {error}") from None
    return recorder
