"""A store is named by a URL (a SQLite file or a PostgreSQL database) and opened here: its
eventsourcing recorder (`sqlite.py`, `postgres.py`: imported only when used), its ledger key's
default place, and a clear error when it cannot be reached (never a fallback to memory). A
store is created only when asked (never from something that is not a Sunledger store), under a
lock that concurrent openers wait for, at most lock_timeout() seconds.

    sqlite:///absolute/path/ledger.db      sqlite:relative/path/ledger.db
    postgresql://user[:password]@host[:port]/database[?schema=name]
"""

from __future__ import annotations

import hashlib
import os
import re
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
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
                SQLITE_LOCK_TIMEOUT=str(lock_timeout()),
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
                POSTGRES_LOCK_TIMEOUT=str(lock_timeout()),
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
        if rest.startswith("//"):  # sqlite:////tmp/x.db: one file, whatever its slashes
            rest = "/" + rest.lstrip("/")
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


def lock_timeout() -> int:
    """Seconds an opener or writer waits for another process's lock on the store before it
    gives up: $SUNLEDGER_LOCK_TIMEOUT, else 30."""
    text = os.environ.get("SUNLEDGER_LOCK_TIMEOUT", "").strip() or "30"
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) == 0:
        raise StoreUnavailable(f"SUNLEDGER_LOCK_TIMEOUT={text!r}: give a whole number of "
                               "seconds, at least 1")
    return int(text)


def store_locked(url: StoreURL) -> StoreUnavailable:
    return StoreUnavailable(f"the store {url.display()} is locked by another process (waited "
                            f"{lock_timeout()} s); try again", store=url.display())


def lock_waited_in_vain(error: BaseException) -> bool:
    """Whether the engine gave up waiting for another process's lock (lock_timeout)."""
    cause = error.__cause__ or error
    return getattr(cause, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) \
        or getattr(cause, "sqlstate", None) == "55P03"  # PostgreSQL's lock_not_available


def store_failure(url: StoreURL, error: BaseException) -> StoreUnavailable:
    """The error of a store that failed while being opened: a lock waited for in vain says
    so; anything else is named as the engine gave it."""
    if lock_waited_in_vain(error):
        return store_locked(url)
    return StoreUnavailable(f"cannot open {url.display()}: {str(error).strip()}",
                            store=url.display())


# What a store URL finds: a Sunledger store, nothing (no file, folder or schema), something
# empty (a 0-byte file, a database or schema without tables), or something else entirely.
LEDGER, MISSING, EMPTY, FOREIGN = "ledger", "missing", "empty", "foreign"


def _sqlite_state(url: StoreURL) -> tuple[str, str]:
    """What the path holds, read without changing it (a read-only connection, and none at all
    unless the file is there and not empty)."""
    import sqlite3
    from contextlib import closing
    from urllib.request import pathname2url

    path = url.path
    assert path is not None
    try:
        if path.is_dir():
            return FOREIGN, "a directory"
        if not path.parent.is_dir():
            return MISSING, f"the folder {path.parent} does not exist"
        if not path.exists():
            return MISSING, "the file does not exist"
        if path.stat().st_size == 0:
            return EMPTY, "the file is empty"
    except OSError as error:
        raise StoreUnavailable(f"cannot open {url.display()}: {error.strerror}",
                               store=url.display()) from None
    try:
        with closing(sqlite3.connect(f"file:{pathname2url(str(path))}?mode=ro", uri=True,
                                     timeout=lock_timeout())) as conn:
            tables = [name for name, in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]
    except sqlite3.Error as error:
        if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB":
            return FOREIGN, "not a SQLite database"
        raise store_failure(url, error) from None
    if EVENTS in tables:
        return LEDGER, ""
    if not tables:
        return EMPTY, "the database holds no tables"
    return FOREIGN, f"a SQLite database whose tables ({_some(tables)}) are not a ledger's"


def _schema_state(conn, schema: str) -> tuple[str, str]:
    """What the schema holds (a PostgreSQL connection of the caller's)."""
    found = conn.execute("SELECT oid FROM pg_namespace WHERE nspname=%s", (schema,)).fetchone()
    if found is None:
        return MISSING, f"the schema {schema} does not exist"
    tables = [name for name, in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace=%s AND relkind IN "
        "('r', 'p', 'v', 'm', 'f', 'S') ORDER BY relname", (found[0],))]
    if EVENTS in tables:
        return LEDGER, ""
    if not tables:
        return EMPTY, f"the schema {schema} holds no tables"
    return FOREIGN, f"the schema {schema} holds other tables ({_some(tables)}) and no {EVENTS}"


def _some(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


def no_store(url: StoreURL, why: str) -> StoreUnavailable:
    """There is no Sunledger store at the URL: say why, and how to create one on purpose."""
    return StoreUnavailable(f"no Sunledger store at {url.display()}: {why}; create one with: "
                            f"sunledger init --store {url.display()}", store=url.display())


def _judge(url: StoreURL, state: str, why: str, *, create: bool) -> None:
    """Refuse what is not a Sunledger store, whatever `create` says; without `create`, refuse
    a missing or empty one too."""
    if state == FOREIGN:
        place, new = ("path", "path") if url.engine == "sqlite" else \
            ("URL", "schema (?schema=name)")
        raise StoreUnavailable(
            f"{url.display()} is not a Sunledger store ({why}); give the {place} of a Sunledger "
            f"store, or a new {new} to create one with sunledger init", store=url.display())
    if state != LEDGER and not create:
        raise no_store(url, why)


def check_reachable(url: StoreURL) -> None:
    """For a reader: fail early and clearly unless the URL names a Sunledger store (never fall
    back to memory), creating and changing nothing."""
    if url.engine == "sqlite":
        _judge(url, *_sqlite_state(url), create=False)
        return
    import psycopg

    try:
        with _connect(url) as conn:
            _judge(url, *_schema_state(conn, url.schema), create=False)
    except psycopg.Error as error:
        raise store_failure(url, error) from None


def _connect(url: StoreURL):
    import psycopg

    return psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                           dbname=url.database, connect_timeout=5, autocommit=True)


@contextmanager
def store_lock(url: StoreURL, *, create: bool) -> Iterator[None]:
    """For a writer: the URL must name a Sunledger store, or with `create` a missing or empty
    one that becomes one (never something else). Inside, the caller makes the store's tables
    (if missing) while other openers of the same store wait, at most lock_timeout() seconds:
    on PostgreSQL for an advisory lock of the schema's, held here around creating the schema
    and the tables (concurrent CREATE … IF NOT EXISTS can fail on the catalogue's unique
    keys); on SQLite for the database's write lock, which the recorder takes to make the
    tables. A new SQLite file is created here, owner-only (its -wal and -shm files take its
    mode), in a new folder that is owner-only too."""
    seconds = lock_timeout()  # a wrong setting is refused before anything is made
    if url.engine == "sqlite":
        state, why = _sqlite_state(url)
        _judge(url, state, why, create=create)
        if state == MISSING:
            _create_sqlite_file(url)
        yield
        return
    import psycopg

    try:
        conn = _connect(url)
    except psycopg.Error as error:
        raise store_failure(url, error) from None
    with conn:
        try:
            conn.execute(f"SET lock_timeout = '{seconds}s'")
            conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(url.schema),))
            state, why = _schema_state(conn, url.schema)
            _judge(url, state, why, create=create)
            if state == MISSING:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
        except psycopg.Error as error:
            raise store_failure(url, error) from None
        yield  # the session's advisory lock ends with the connection


def _lock_key(schema: str) -> int:
    """The advisory lock key of a schema's store (advisory locks are per database)."""
    digest = hashlib.sha256(f"sunledger store {schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _create_sqlite_file(url: StoreURL) -> None:
    assert url.path is not None
    try:
        url.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(url.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another process creates the same store at once: theirs is ours
    except OSError as error:
        raise StoreUnavailable(f"cannot create {url.display()}: {error.strerror}",
                               store=url.display()) from None


def open_recorder(url: StoreURL, *, create: bool = False, judged: bool = False):
    """The recorder of an existing ledger store, for reading (verify, export); with `create`,
    of a store whose tables are made if missing (benchmarks of the tree alone). `judged`: a
    process that opened it has judged it a ledger store already (a verifier's workers skip
    that look, about a tenth of a second each)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    env = Environment("sunledger", {**url.eventsourcing_env(),
                                    "CREATE_TABLE": "y" if create else "n"})
    if create:
        with store_lock(url, create=True):
            factory = InfrastructureFactory.construct(env)
            recorder = _first_read(url, factory)
    else:
        if not judged:
            check_reachable(url)
        factory = InfrastructureFactory.construct(env)
        recorder = _first_read(url, factory)
    # close the connections with the recorder (at the latest at exit, before the interpreter
    # tears down what the driver's own finaliser needs)
    weakref.finalize(recorder, factory.close)
    return recorder


def _first_read(url: StoreURL, factory):
    try:
        recorder = factory.application_recorder()
        recorder.max_position()  # both tables, from their indexes (a count would scan them)
    except Exception as error:  # the store went away, or is locked, or its tables are broken
        factory.close()
        raise store_failure(url, error) from None
    return recorder
