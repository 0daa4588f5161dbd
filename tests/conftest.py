"""Fixtures: real stores (a SQLite file, a fresh PostgreSQL schema), a ledger with a few
registered actors and a moving clock, and plain-SQL access to the stored rows for tamper tests."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from datetime import datetime, timedelta, timezone

import pytest

# the portal's browser fixtures (browser, page): Debian's Chromium driven by Playwright
pytest_plugins = ["portal_browser"]

from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import LEDGER_ACTOR, actor_stream
from ledger.evidence.keys import SigningKey, encode_public_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger

POSTGRES = os.environ.get("SUNLEDGER_TEST_POSTGRES")
NO_POSTGRES = ("PostgreSQL tests need SUNLEDGER_TEST_POSTGRES, e.g. "
               "postgresql://postgres@127.0.0.1:5432/test (.ci/run sets it)")


class MovableClock:
    """The ledger's clock in tests: starts at a fixed instant and moves only when told."""

    def __init__(self, start: datetime = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)):
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


class RawStore:
    """The stored rows, reached with plain SQL behind the library's back."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:"):
            self.engine = "sqlite"
            self.path = url[len("sqlite:"):]
            self.position = "rowid"
            self.p = "?"
            self.events, self.receipts = "sunledger_events", "sunledger_receipts"
        else:
            self.engine = "postgres"
            self.schema = url.rsplit("schema=", 1)[1]
            self.position = "notification_id"
            self.p = "%s"
            self.events = f'"{self.schema}".sunledger_events'
            self.receipts = f'"{self.schema}".sunledger_receipts'

    def table(self, name: str) -> str:
        """A ledger table's name as plain SQL reaches it."""
        return name if self.engine == "sqlite" else f'"{self.schema}".{name}'

    def _connect(self):
        if self.engine == "sqlite":
            return sqlite3.connect(self.path, isolation_level=None)
        import psycopg

        return psycopg.connect(POSTGRES, autocommit=True)

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        sql = sql.replace("?", self.p)
        with self._connect() as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def oid(self, value) -> str:
        return value.hex if isinstance(value, uuid.UUID) else value

    def rows(self) -> list[tuple[int, str, int, str, bytes]]:
        return [(p, self.oid(o), v, t, bytes(s)) for p, o, v, t, s in self.execute(
            f"SELECT {self.position}, originator_id, originator_version, topic, state "
            f"FROM {self.events} ORDER BY {self.position}")]

    def row_of(self, stream_id: uuid.UUID, version: int) -> tuple:
        return next(r for r in self.rows() if r[1] == stream_id.hex and r[2] == version)

    def _where(self, stream_id: uuid.UUID, version: int) -> tuple[str, tuple]:
        key = stream_id.hex if self.engine == "sqlite" else stream_id
        return "originator_id=? AND originator_version=?", (key, version)

    def set_state(self, stream_id: uuid.UUID, version: int, state: bytes) -> None:
        where, params = self._where(stream_id, version)
        self.execute(f"UPDATE {self.events} SET state=? WHERE {where}", (state, *params))

    def set_topic(self, stream_id: uuid.UUID, version: int, topic: str) -> None:
        where, params = self._where(stream_id, version)
        self.execute(f"UPDATE {self.events} SET topic=? WHERE {where}", (topic, *params))

    def delete(self, stream_id: uuid.UUID, version: int) -> None:
        where, params = self._where(stream_id, version)
        self.execute(f"DELETE FROM {self.events} WHERE {where}", params)

    def insert(self, stream_id: uuid.UUID, version: int, topic: str, state: bytes) -> None:
        key = stream_id.hex if self.engine == "sqlite" else stream_id
        self.execute(f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
                     "VALUES (?,?,?,?)", (key, version, topic, state))

    def count(self, table: str) -> int:
        name = table if self.engine == "sqlite" else f'"{self.schema}".{table}'
        return self.execute(f"SELECT COUNT(*) FROM {name}")[0][0]

    def counts(self) -> tuple[int, int, int]:
        return (self.count("sunledger_events"), self.count("sunledger_receipts"),
                self.count("sunledger_nonces"))


@contextmanager
def fresh_store(engine: str, folder: Path) -> Iterator[str]:
    """A fresh, real store: a SQLite file in `folder`, or its own schema on the PostgreSQL
    server (dropped afterwards)."""
    if engine == "sqlite":
        yield f"sqlite:{folder / 'ledger.db'}"
        return
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES}?schema={schema}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    with fresh_store(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:{tmp_path / 'ledger.db'}"


@dataclass
class World:
    """A ledger with registered actors, each with its own key, and a clock tests can move."""

    ledger: Ledger
    clock: MovableClock
    raw: RawStore
    registrar: ActorSigner
    actors: dict[str, ActorSigner] = field(default_factory=dict)

    def register(self, actor: str, roles=("bidder",), organisation: str | None = None,
                 **key_fields) -> ActorSigner:
        """An actor with its own key and, unless told, an organisation of its own."""
        signer = ActorSigner(actor, SigningKey.derived(b"tests", actor))
        stream = actor_stream(actor)
        self.submit(self.registrar, stream, "actor.registered/v1",
                    {"name": f"Fictional {actor}", "roles": list(roles),
                     "organisation": organisation or f"虚构测试单位（{actor}）"})
        self.submit(self.registrar, stream, "actor.key-added/v1",
                    {"key_id": signer.key.key_id,
                     "public_key": encode_public_key(signer.key.public_key), **key_fields})
        self.actors[actor] = signer
        return signer

    def sign(self, signer: ActorSigner, stream: str, type_: str, payload: dict, version=None):
        expected = self.ledger.stream_version(stream) if version is None else version
        return signer.sign(stream, type_, payload, expected_version=expected,
                           signed_at=self.clock.now())

    def submit(self, signer: ActorSigner, stream: str, type_: str, payload: dict):
        self.clock.advance(seconds=1)
        receipt, = self.ledger.submit(self.sign(signer, stream, type_, payload))
        return receipt

    def open_project(self, stream: str, intake: dict | None = None) -> None:
        """A project taken in, accepted, announced (bids due in 25 days) and with its
        documents issued: versions 1–4. Bids may follow."""
        tenderee, operator = self.actors["tenderee-1"], self.actors["operator-1"]
        self.submit(tenderee, stream, "project.intake/v1", intake or INTAKE)
        self.submit(operator, stream, "project.intake-accepted/v1", {})
        now = self.clock.now()
        self.submit(tenderee, stream, "project.announced/v1", {
            "documents_from": format_time(now), "documents_until": format_time(now + timedelta(days=7)),
            "bid_deadline": format_time(now + timedelta(days=25))})
        self.submit(tenderee, stream, "project.documents-issued/v1",
                    {"document_hash": "d" * 64, "edition": 1})


INTAKE = {"title": "虚构市棚户区改造工程", "category": "construction", "tenderee": "tenderee-1",
          "control_price": "167014800.00"}


def bid(bidder: str, n: int = 0) -> dict:
    return {"bidder": bidder, "bid_hash": f"{n:064x}"}


@contextmanager
def opened_world(store_url: str, folder: Path) -> Iterator[World]:
    """A ledger on the store (its key in `folder`) with four actors registered."""
    clock = MovableClock()
    ledger = Ledger.open(store_url, clock=clock, key_path=folder / "ledger.key")
    w = World(ledger, clock, RawStore(store_url), ActorSigner(LEDGER_ACTOR, ledger.key))
    w.register("tenderee-1", roles=("tenderee",))
    w.register("operator-1", roles=("operator",))
    w.register("bidder-1")
    w.register("bidder-2")
    try:
        yield w
    finally:
        ledger.close()


@pytest.fixture
def world(store_url, tmp_path) -> World:
    with opened_world(store_url, tmp_path) as w:
        yield w


@pytest.fixture
def project(world) -> str:
    """An announced project (versions 1–4) and six bids (versions 5–10)."""
    stream = "project:ZZ-2025-001"
    world.open_project(stream)
    for n in range(6):
        bidder = f"bidder-{n % 2 + 1}"
        world.submit(world.actors[bidder], stream, "project.bid-submitted/v1", bid(bidder, n))
    return stream



@dataclass
class DemoRun:
    """`sunledger demo --out <out>` as run once for the whole suite (it takes a while): its
    folder (ledger.db, its key beside it, the reports) and what it printed. Read only: a test
    that writes takes a copy."""

    out: Path
    stdout: str


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    import shutil
    import subprocess
    import sys

    if not shutil.which("fc-list"):
        pytest.skip("fontconfig missing: ./run setup installs the report fonts")
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run([str(Path(sys.executable).parent / "sunledger"), "demo", "--out",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, \
        done.stdout + done.stderr
    return DemoRun(out, done.stdout)
