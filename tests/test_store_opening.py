"""Opening a store is safe under concurrency and typos: processes that open one new store at
once all succeed with one ledger key and one ledger.started/v1 event; a store is created only on
purpose (`sunledger init`, the demo, the load generator); nothing that is not a Sunledger store
becomes one; a lock held too long ends in a clear message; the files are owner-only."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from conftest import NO_POSTGRES, POSTGRES, RawStore
from ledger.errors import StoreUnavailable
from ledger.evidence.keys import encode_public_key, read_private_key
from ledger.ledger import Ledger
from ledger.stores.url import parse_store_url, store_lock

SUNLEDGER = [sys.executable, "-c", "from api.cli import main; main()"]
READERS = [
    ["verify"], ["export", "--out", "{out}/x.zip"], ["checkpoint"], ["log-key"],
    ["prove", "inclusion", "--index", "0"], ["prove", "consistency", "--old", "0"],
    ["prove", "completeness", "--project", "P-1"], ["replay", "--project", "P-1"], ["stats"],
    ["warnings"], ["dossier", "--project", "P-1", "--out", "{out}/d.zip"],
]
WRITERS = [
    ["checkpoint", "--issue"], ["react"], ["rebuild-log"],
    ["actor", "register", "--id", "bidder-1", "--name", "虚构投标人", "--organisation",
     "虚构建设有限公司", "--role", "bidder"],
    ["actor", "revoke-key", "--id", "bidder-1", "--key-id", "0" * 32, "--reason", "lost"],
    ["report", "--project", "P-1", "--out", "{out}/r.pdf"], ["reports", "--out", "{out}/reports"],
]
CREATORS = [["init"], ["simulate", "--projects", "1"], ["demo", "--out", "{out}/demo"]]
command_id = "-".join


def run(args: list[str], **env: str) -> tuple[int, str]:
    """A command in this process (an exception that escapes it fails the test)."""
    result = CliRunner(env=env or None).invoke(cli, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: an exception escaped: {result.exception!r}")
    return result.exit_code, result.output


def sunledger(*args: str, **env: str) -> subprocess.CompletedProcess:
    """A command in a process of its own."""
    return subprocess.run([*SUNLEDGER, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def with_store(command: list[str], url: str, out: Path) -> list[str]:
    return [a.replace("{out}", str(out)) for a in command] + ["--store", url]


def started_rows(url: str) -> list[dict]:
    """The ledger.started/v1 events as stored, read with plain SQL."""
    raw = RawStore(url)
    return [json.loads(bytes(state)) for state, in raw.execute(
        f"SELECT state FROM {raw.events} WHERE topic='ledger.started/v1'")]


def display(url: str) -> str:
    return parse_store_url(url).display()


def schema_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname=%s",
                            (RawStore(url).schema,)).fetchone() is not None


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- many processes opening one new store ----------------------------------------------------

def _open_at_once(url: str, key_file: str, ready, results) -> None:
    """One process of several: open the store when all are ready, report the key it has."""
    from ledger.ledger import Ledger

    ready.wait(120)
    try:
        ledger = Ledger.open(url, key_path=Path(key_file))
        results.put(("opened", ledger.key.key_id, ledger.started_now))
        ledger.close()
    except Exception as error:  # reported, so that the test names it
        results.put(("failed", f"{type(error).__name__}: {error}", False))


def test_eight_processes_opening_one_new_store_all_succeed_with_one_key(store_url, tmp_path):
    key_file = tmp_path / "keys" / "ledger.key"
    spawn = multiprocessing.get_context("spawn")
    ready, results = spawn.Barrier(9), spawn.Queue()
    processes = [spawn.Process(target=_open_at_once, args=(store_url, str(key_file), ready, results))
                 for _ in range(8)]
    for process in processes:
        process.start()
    ready.wait(120)  # every process has imported the ledger: they open at once
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(60)
    assert [o[0] for o in outcomes] == ["opened"] * 8, outcomes
    assert len({o[1] for o in outcomes}) == 1  # one ledger key
    assert sum(o[2] for o in outcomes) == 1  # one process started the ledger
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["ledger.key"]  # no leftovers
    assert (mode(key_file.parent), mode(key_file)) == (0o700, 0o600)
    key = read_private_key(key_file)
    started, = started_rows(store_url)
    assert started["payload"]["public_key"] == encode_public_key(key.public_key)
    assert outcomes[0][1] == key.key_id
    if store_url.startswith("sqlite:"):
        db = Path(store_url[len("sqlite:"):])
        ledger = Ledger.open(store_url, key_path=key_file, create=False)  # -wal, -shm while open
        made = sorted(db.parent.glob("ledger.db*"))
        assert [(p.name, mode(p)) for p in made] == [
            ("ledger.db", 0o600), ("ledger.db-shm", 0o600), ("ledger.db-wal", 0o600),
            ("ledger.db.write-lock", 0o600)]  # writers' turns (stores/write_turn.py)
        ledger.close()


def test_eight_inits_at_once_create_one_store(store_url, tmp_path):
    key = str(tmp_path / "ledger.key")
    processes = [subprocess.Popen([*SUNLEDGER, "init", "--store", store_url, "--ledger-key", key],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(8)]
    done = [(*p.communicate(timeout=300), p.returncode) for p in processes]
    assert [code for _, _, code in done] == [0] * 8, done
    outputs = [out for out, _, _ in done]
    assert sum(out.startswith("created the store") for out in outputs) == 1
    assert sum("is a Sunledger store already; nothing was changed" in out for out in outputs) == 7
    assert len({out.split("ledger key id: ")[1].split()[0] for out in outputs}) == 1
    assert len(started_rows(store_url)) == 1


# --- creating a store on purpose -------------------------------------------------------------

def test_init_creates_a_store_and_changes_nothing_the_second_time(store_url, tmp_path):
    key_file = tmp_path / "ledger.key"
    code, out = run(["init", "--store", store_url, "--ledger-key", str(key_file),
                     "--origin", "ledger.example.gov.cn/2025"])
    assert code == 0, out
    key = read_private_key(key_file)
    assert out == (f"created the store {display(store_url)}\n"
                   f"ledger key id: {key.key_id}\n"
                   "origin:        ledger.example.gov.cn/2025\n"
                   f"ledger key:    {key_file} (owner-only; back it up offline)\n")
    raw = RawStore(store_url)
    before = [raw.rows(), raw.execute(f"SELECT * FROM {raw.table('sunledger_checkpoints')}")]
    code, again = run(["init", "--store", store_url, "--ledger-key", str(key_file)])
    assert code == 0 and again.startswith(
        f"{display(store_url)} is a Sunledger store already; nothing was changed\n"
        f"ledger key id: {key.key_id}\n"), again
    code, other = run(["init", "--store", store_url, "--ledger-key", str(key_file),
                       "--origin", "other.example/2025"])
    assert code == 2
    assert other == ("sunledger: this store's origin is 'ledger.example.gov.cn/2025', "
                     "not 'other.example/2025'\n")
    code, keyless = run(["init", "--store", store_url, "--ledger-key", str(tmp_path / "none.key")])
    assert code == 2 and keyless == (f"sunledger: there is no ledger key at {tmp_path / 'none.key'}:"
                                     f" this store was started with key id {key.key_id}; give its"
                                     " key with --ledger-key\n")
    assert not (tmp_path / "none.key").exists()
    assert [raw.rows(), raw.execute(f"SELECT * FROM {raw.table('sunledger_checkpoints')}")] == before
    assert "INTACT" in run(["verify", "--store", store_url])[1]


@pytest.mark.parametrize("slashes", ["sqlite:///", "sqlite:////", "sqlite://///"])
def test_one_sqlite_file_is_one_store_whatever_its_slashes(tmp_path, slashes):
    """The library once opened sqlite:////path as /path while the readers took // for a URI
    authority and refused it: every command must read the file the writer wrote."""
    path = tmp_path / "l.db"
    url = slashes + str(path).lstrip("/")
    code, out = run(["init", "--store", url, "--ledger-key", str(tmp_path / "k")])
    assert code == 0 and path.exists(), out
    assert parse_store_url(url).path == path
    for command in (["verify"], ["stats"], ["log-key"]):
        code, out = run(with_store(command, url, tmp_path))
        assert code == 0, (command, out)


def test_init_makes_owner_only_files_in_a_new_folder(tmp_path):
    db = tmp_path / "centre" / "ledger.db"
    code, out = run(["init", "--store", f"sqlite:{db}"])
    assert code == 0 and out.startswith(f"created the store sqlite://{db}\n"), out
    assert (mode(db.parent), mode(db), mode(db.with_name("ledger.db.ledger-key"))) == \
        (0o700, 0o600, 0o600)
    assert sorted(p.name for p in db.parent.iterdir()) == [
        "ledger.db", "ledger.db.ledger-key", "ledger.db.write-lock"]
    assert mode(db.with_name("ledger.db.write-lock")) == 0o600


def test_an_empty_file_or_schema_becomes_a_store_only_by_init(store_url, tmp_path):
    """A 0-byte file (what `touch` makes, or a creation cut short) or a schema without tables
    holds nothing to lose: commands refuse it as no store; `init` makes it one."""
    if store_url.startswith("sqlite:"):
        Path(store_url[len("sqlite:"):]).touch()
        why = "the file is empty"
    else:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{RawStore(store_url).schema}"')
        why = f"the schema {RawStore(store_url).schema} holds no tables"
    code, out = run(["react", "--store", store_url])
    assert code == 2 and out == (f"sunledger: no Sunledger store at {display(store_url)}: {why}; "
                                 f"create one with: sunledger init --store {display(store_url)}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        (["ledger.db"] if store_url.startswith("sqlite:") else [])
    code, out = run(["init", "--store", store_url, "--ledger-key", str(tmp_path / "k")])
    assert code == 0 and out.startswith("created the store"), out
    assert len(started_rows(store_url)) == 1


def test_the_library_creates_a_store_unless_told_not_to(store_url, tmp_path):
    with pytest.raises(StoreUnavailable) as refused:
        Ledger.open(store_url, key_path=tmp_path / "k", create=False)
    assert refused.value.message.endswith(
        f"; create one with: sunledger init --store {display(store_url)}")
    assert not (tmp_path / "k").exists()
    ledger = Ledger.open(store_url, key_path=tmp_path / "k")  # create=True: library callers
    assert ledger.started_now
    ledger.close()
    reopened = Ledger.open(store_url, key_path=tmp_path / "k", create=False)
    assert not reopened.started_now and reopened.key.key_id == ledger.key.key_id
    reopened.close()


# --- no command creates a store by accident --------------------------------------------------

@pytest.mark.parametrize("command", READERS + WRITERS, ids=command_id)
def test_a_command_on_a_missing_store_creates_nothing(store_url, tmp_path, command):
    out = tmp_path / "out"
    out.mkdir()
    if store_url.startswith("sqlite:"):
        missing = [(store_url, "the file does not exist"),
                   (f"sqlite:{tmp_path / 'no-such-folder' / 'ledger.db'}",
                    f"the folder {tmp_path / 'no-such-folder'} does not exist")]
    else:  # with a password, which is never echoed
        missing = [(store_url.replace("postgres@", "postgres:hunter2@", 1),
                    f"the schema {RawStore(store_url).schema} does not exist")]
    for url, why in missing:
        code, said = run(with_store(command, url, out))
        assert code == 2
        assert said == (f"sunledger: no Sunledger store at {display(url)}: {why}; "
                        f"create one with: sunledger init --store {display(url)}\n")
        assert "hunter2" not in said
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and not any(out.iterdir())
    if not store_url.startswith("sqlite:"):
        assert not schema_exists(store_url)


@pytest.fixture
def not_stores(tmp_path) -> dict[str, Path]:
    """Things a store URL may name by mistake: another program's SQLite database, a text
    file, a folder."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    other = folder / "tenders.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE tenders (id TEXT PRIMARY KEY, title TEXT)")
        conn.execute("INSERT INTO tenders VALUES ('ZB-2025-001', '虚构市道路工程')")
    conn.close()
    text = folder / "notes.txt"
    text.write_text("交易中心值班记录\n")
    (folder / "a-folder").mkdir()
    return {"database": other, "text": text, "folder": folder / "a-folder"}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("command", READERS + WRITERS + CREATORS, ids=command_id)
def test_no_command_turns_a_file_that_is_not_a_store_into_one(not_stores, tmp_path, command):
    out = tmp_path / "out"
    out.mkdir()
    folder = not_stores["text"].parent
    before = snapshot(folder)
    for kind, what in [("database", "a SQLite database whose tables (tenders) are not a "
                                    "ledger's"),
                       ("text", "not a SQLite database"), ("folder", "a directory")]:
        url = f"sqlite:{not_stores[kind]}"
        code, said = run(with_store(command, url, out))
        assert code == 2
        assert said == (f"sunledger: sqlite://{not_stores[kind]} is not a Sunledger store "
                        f"({what}); give the path of a Sunledger store, or a new path to create "
                        "one with sunledger init\n")
    assert snapshot(folder) == before  # byte for byte, and nothing beside them


@pytest.mark.parametrize("command", READERS + WRITERS + CREATORS, ids=command_id)
def test_no_command_turns_a_schema_of_other_tables_into_a_store(tmp_path, command):
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    catalogue = ("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON "
                 "n.oid=c.relnamespace WHERE n.nspname=%s UNION ALL SELECT t.typname, 't' FROM "
                 "pg_type t JOIN pg_namespace n ON n.oid=t.typnamespace WHERE n.nspname=%s "
                 "ORDER BY 1, 2")
    (tmp_path / "out").mkdir()
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".tenders (id TEXT PRIMARY KEY, title TEXT)')
        conn.execute(f"INSERT INTO \"{schema}\".tenders VALUES ('ZB-2025-001', '虚构市道路工程')")
        before = conn.execute(catalogue, (schema, schema)).fetchall()
        try:
            url = f"{POSTGRES}?schema={schema}"
            code, said = run(with_store(command, url, tmp_path / "out"))
            assert code == 2
            assert said == (f"sunledger: {display(url)} is not a Sunledger store (the schema "
                            f"{schema} holds other tables (tenders) and no sunledger_events); "
                            "give the URL of a Sunledger store, or a new schema (?schema=name) "
                            "to create one with sunledger init\n")
            assert conn.execute(catalogue, (schema, schema)).fetchall() == before
            assert conn.execute(f'SELECT * FROM "{schema}".tenders').fetchall() == \
                [("ZB-2025-001", "虚构市道路工程")]
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# --- locks -----------------------------------------------------------------------------------

def test_a_sqlite_store_locked_too_long_is_refused_clearly(tmp_path):
    url = f"sqlite:{tmp_path / 'ledger.db'}"
    assert run(["init", "--store", url])[0] == 0
    holder = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the database's write lock
    try:
        for command in (["init"], ["react"]):
            started = time.monotonic()
            done = sunledger(*command, "--store", url, SUNLEDGER_LOCK_TIMEOUT="1")
            waited = time.monotonic() - started
            assert done.returncode == 2 and done.stderr == (
                f"sunledger: the store {display(url)} is locked by another process (waited 1 s); "
                "try again\n"), done.stderr
            assert 1 <= waited < 15
    finally:
        holder.rollback()
        holder.close()
    assert sunledger("react", "--store", url).returncode == 0  # the lock is gone: it opens


def test_a_postgres_store_locked_too_long_is_refused_clearly(tmp_path):
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES}?schema={schema}"
    try:
        with store_lock(parse_store_url(url), create=True):
            started = time.monotonic()  # another process holds the store's lock while it opens
            done = sunledger("init", "--store", url, "--ledger-key", str(tmp_path / "k"),
                             SUNLEDGER_LOCK_TIMEOUT="1")
            waited = time.monotonic() - started
        assert done.returncode == 2 and done.stderr == (
            f"sunledger: the store {display(url)} is locked by another process (waited 1 s); "
            "try again\n"), done.stderr
        assert 1 <= waited < 15 and not (tmp_path / "k").exists()
        assert sunledger("init", "--store", url, "--ledger-key", str(tmp_path / "k")).returncode == 0
        import psycopg

        with psycopg.connect(POSTGRES) as appender:  # an append's lock, held too long
            appender.execute(f'LOCK TABLE "{schema}".sunledger_events IN EXCLUSIVE MODE')
            done = sunledger("react", "--store", url, "--ledger-key", str(tmp_path / "k"),
                             SUNLEDGER_LOCK_TIMEOUT="1")
            appender.rollback()
        assert done.returncode == 2 and done.stderr == (
            f"sunledger: the store {display(url)} is locked by another process (waited 1 s); "
            "try again\n"), done.stderr
    finally:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize("value", ["soon", "0", "-1", "1.5"])
def test_a_lock_timeout_that_is_no_number_of_seconds_is_refused(tmp_path, value):
    code, said = run(["init", "--store", f"sqlite:{tmp_path / 'ledger.db'}"],
                     SUNLEDGER_LOCK_TIMEOUT=value)
    assert code == 2 and said == (f"sunledger: SUNLEDGER_LOCK_TIMEOUT={value!r}: give a whole "
                                  "number of seconds, at least 1\n")
    assert not any(tmp_path.iterdir())


def test_an_append_that_waits_in_vain_for_a_lock_says_so_and_records_nothing(
        sqlite_url, tmp_path, monkeypatch):
    """Another process holds the SQLite store's write lock longer than the timeout while an
    open ledger appends: the append fails with the lock's message, and nothing is recorded."""
    from ledger.evidence.envelope import LEDGER_ACTOR
    from ledger.evidence.signer import ActorSigner

    monkeypatch.setenv("SUNLEDGER_LOCK_TIMEOUT", "1")
    ledger = Ledger.open(sqlite_url, key_path=tmp_path / "k")
    registrar = ActorSigner(LEDGER_ACTOR, ledger.key)
    action = registrar.sign("actor:waiting-1", "actor.registered/v1", {
        "name": "Fictional waiting", "roles": ["bidder"], "organisation": "虚构单位"},
        expected_version=0, signed_at=datetime.now(timezone.utc))
    holder = sqlite3.connect(sqlite_url[len("sqlite:"):], isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailable, match=r"is locked by another process \(waited 1 s\); "
                                                   "try again; the append was not recorded"):
            ledger.submit(action)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ledger.stream_version("actor:waiting-1") == 0
    ledger.submit(action)  # the lock released, the same action goes in
    assert ledger.stream_version("actor:waiting-1") == 1
    ledger.close()
