"""A store is named by a URL (a SQLite file or a PostgreSQL database) and opened here: its
eventsourcing recorder (`sqlite.py`, `postgres.py`: imported only when used), its ledger key's
default place, and a clear error when it cannot be reached (never a fallback to memory).

    sqlite:///absolute/path/ledger.db      sqlite:relative/path/ledger.db
    postgresql://user[:password]@host[:port]/database[?schema=name]
"""

from __future__ import annotations

import hashlib
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import platformdirs

from ledger.errors import StoreUnavailable
from .tables import EVENTS

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
                APPLICATION_RECORDER_TOPIC="ledger.stores.sqlite:SQLiteLedgerRecorder",
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
                APPLICATION_RECORDER_TOPIC="ledger.stores.postgres:PostgresLedgerRecorder",
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
        shown = _without_password(text)
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as error:  # a port out of range or not a number, a broken IPv6 host
            raise StoreUnavailable(f"{shown}: {error}; {hint}") from None
        database = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not database:
            raise StoreUnavailable(f"{shown}: needs a host and a database name; {hint}")
        if port == 0:
            raise StoreUnavailable(f"{shown}: port 0 is no server's port; {hint}")
        schema = parse_qs(parts.query).get("schema", ["public"])[0]
        if not _SCHEMA_NAME.fullmatch(schema):
            raise StoreUnavailable(f"{shown}: schema {schema!r} is not a plain lower-case name")
        return StoreURL(
            "postgresql",
            host=parts.hostname,
            port=port or 5432,
            user=unquote(parts.username or os.environ.get("PGUSER", "postgres")),
            password=unquote(parts.password or os.environ.get("PGPASSWORD", "")),
            database=database,
            schema=schema,
        )
    raise StoreUnavailable(f"{_without_password(text)!r} is not a store URL; {hint}")


def _without_password(text: str) -> str:
    """A URL as it may be shown: any password replaced by ***."""
    return re.sub(r"^([a-z]+://[^/@:]*):[^/@]*@", r"\1:***@", text)


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


def open_recorder(url: StoreURL, *, create: bool = False):
    """The recorder of an existing ledger store, for reading (verify, export); with `create`,
    of a store whose tables are made if missing (benchmarks of the tree alone)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    check_reachable(url, create=create)
    env = Environment("sunledger", {**url.eventsourcing_env(),
                                    "CREATE_TABLE": "y" if create else "n"})
    factory = InfrastructureFactory.construct(env)
    # close the connections with the recorder (at the latest at exit, before the interpreter
    # tears down what the driver's own finaliser needs)
    try:
        recorder = factory.application_recorder()
        weakref.finalize(recorder, factory.close)
        recorder.counts()
    except Exception as error:  # the store exists but is not a ledger
        factory.close()
        raise StoreUnavailable(f"cannot read a ledger at {url.display()}: {error}") from None
    return recorder
