"""The SQLite store: eventsourcing's SQLite recorder with the ledger's own tables (tables.py)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator, Sequence
from uuid import UUID

import orjson
from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.errors import StoreUnavailable

from .tables import (
    CHECKPOINTS, COSIGNATURES, EVENTS, HEADS_MAP, LEAVES, MAX_VERSION, NONCES, RECEIPTS,
    TREE, VERIFICATION_RUNS, ReceiptRow, VerificationRunRow, Within,
)


class _SQLiteTransaction:
    def __init__(self, cursor: Any):
        self.c = cursor

    def stream_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        found = {}
        for originator_id in originator_ids:
            self.c.execute(f"SELECT MAX(originator_version) FROM {EVENTS} WHERE originator_id=?",
                           (originator_id.hex,))
            found[originator_id] = self.c.fetchone()[0] or 0
        return found

    def add_nonces(self, rows: Sequence[tuple[str, str]]) -> None:
        self.c.executemany(f"INSERT INTO {NONCES} VALUES (?,?)", rows)

    def add_receipts(self, rows: Sequence[tuple]) -> None:
        self.c.executemany(f"INSERT INTO {RECEIPTS} VALUES (?,?,?,?,?,?)", rows)

    def tree_size(self) -> int:
        return _tree_size(self.c) if _has_table(self.c, LEAVES) else 0

    def tree_nodes(self, keys: Sequence[int]) -> dict[int, bytes]:
        return _tree_nodes(self.c, keys)

    def add_leaves(self, rows: Sequence[tuple[int, int]]) -> None:
        self.c.executemany(f"INSERT INTO {LEAVES} VALUES (?,?)", rows)

    def add_nodes(self, rows: Sequence[tuple[int, bytes]]) -> None:
        self.c.executemany(f"INSERT INTO {TREE} VALUES (?,?)", rows)


def _has_table(c: Any, name: str) -> bool:
    """Whether a ledger table exists (a store written before the Merkle log lacks some)."""
    c.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return c.fetchone() is not None


def _tree_size(c: Any) -> int:
    """The Merkle log's size, from a leaves table the caller knows exists."""
    c.execute(f"SELECT MAX(leaf_index) FROM {LEAVES}")
    last = c.fetchone()[0]
    return 0 if last is None else last + 1


def _tree_nodes(c: Any, keys: Sequence[int]) -> dict[int, bytes]:
    if not keys:
        return {}
    c.execute(f"SELECT json_group_array(json_array(node, hex(hash))) FROM {TREE} "
              f"WHERE node IN ({','.join('?' * len(keys))})", list(keys))
    return {node: bytes.fromhex(digest) for node, digest in _rows_at_once(c)}


def _rows_at_once(c: Any) -> list:
    """The rows of a query that gathered them as one JSON array (json_group_array). Python's
    sqlite3 lets go of the GIL at every row it steps; a server's thread reading 256 rows
    while others ran waited for it again 256 times (measured: a tile read's p99 with 8
    clients at once went from 65 ms to 22 ms read as one row)."""
    return orjson.loads(c.fetchone()[0])


def _stream_head(c: Any, originator_id: UUID) -> tuple[int, bytes] | None:
    c.execute(f"SELECT originator_version, state FROM {EVENTS} WHERE originator_id=? "
              "ORDER BY originator_version DESC LIMIT 1", (originator_id.hex,))
    row = c.fetchone()
    return (row[0], bytes(row[1])) if row else None


def _entry_hashes(c: Any, first: int, count: int) -> tuple[int, bytes]:
    c.execute(f"SELECT json_group_array(json_array(l.leaf_index, "
              f"hex(substr(e.state, instr(e.state, '\"hash\":\"') + 8, 64)))) "
              f"FROM {LEAVES} l LEFT JOIN {EVENTS} e ON e.rowid=l.position "
              "WHERE l.leaf_index>=? AND l.leaf_index<?", (first, first + count))
    rows = sorted(_rows_at_once(c))
    return len(rows), bytes.fromhex("".join(h for _, h in rows if h is not None))


def _tile_hashes(c: Any, first_key: int, count: int) -> tuple[int, bytes]:
    c.execute(f"SELECT json_group_array(json_array(node, hex(hash))) FROM {TREE} "
              "WHERE node>=? AND node<?", (first_key, first_key + count))
    rows = sorted(_rows_at_once(c))
    return len(rows), bytes.fromhex("".join(h for _, h in rows))


class SQLiteLoopReads:
    """A server's shortest reads of a SQLite store, made on its event loop through a
    connection of their own that only reads (a stream's head, an entry bundle, a hash tile:
    7 µs for a head, against 45 through the recorder's pooled transactions), and a signed
    request's nonce kept by the recorder (its own file). The loop is one thread: one
    connection serves it. In WAL mode a read never waits for a writer."""

    def __init__(self, path: Any, recorder: Any):
        self.path, self.recorder = path, recorder
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=ON")
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _reader(self) -> sqlite3.Cursor:
        if self._db is None:
            raise StoreUnavailable(f"{self.path} is not open for reading (the server is stopping)")
        return self._db.cursor()

    async def stream_head(self, originator_id: UUID) -> tuple[int, bytes] | None:
        return _stream_head(self._reader(), originator_id)

    async def remember_request_nonce_and_head(
            self, key_id: str, nonce: str, expires_at_unix: int,
            signer: UUID) -> tuple[bool, tuple[int, bytes] | None]:
        kept = self.recorder.remember_request_nonce(key_id, nonce, expires_at_unix)
        return kept, _stream_head(self._reader(), signer)

    async def entry_hashes(self, first: int, count: int) -> tuple[int, bytes]:
        return _entry_hashes(self._reader(), first, count)

    async def tile_hashes(self, first_key: int, count: int) -> tuple[int, bytes]:
        return _tile_hashes(self._reader(), first_key, count)


# the verifier's recorded runs (ledger/audit/runs.py): an operational note, not evidence; made
# with the other tables when a ledger opens the store, or at the first run recorded in a store
# only ever opened for reading (`sunledger verify --record`)
CREATE_VERIFICATION_RUNS = (
    f"CREATE TABLE IF NOT EXISTS {VERIFICATION_RUNS} (run INTEGER PRIMARY KEY AUTOINCREMENT, "
    "finished_at TEXT NOT NULL, run_by TEXT NOT NULL, seconds REAL NOT NULL, "
    "events INTEGER NOT NULL, tree_root TEXT, latest_checkpoint INTEGER, "
    "intact INTEGER NOT NULL, findings_total INTEGER NOT NULL, findings TEXT NOT NULL)")


KEPT_CONNECTIONS = 16  # open SQLite connections kept for reuse (each its own page cache)
MORE_CONNECTIONS = 26  # and opened beyond those at once, closed after use: 42 in all, for the
                       # HTTP server's 40 worker threads and its event loop's reads


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, with positions that are never reused: the events
    table declares its rowid with AUTOINCREMENT, so neither deleting the newest event nor
    VACUUM can hand an old position (and its receipt) to a new event."""

    # reads are local page-cache work that never wait for a writer (WAL): the HTTP server
    # makes its short ones on its event loop (api/http/store_reads.py)
    reads_are_local = True

    def __init__(self, datastore: Any, events_table_name: str = EVENTS):
        super().__init__(datastore, events_table_name)
        # a connection per thread that reads at once, kept: eventsourcing keeps 5 and closes
        # the others after each use, so a server's sixth concurrent reader connected anew
        # every time (sqlite3.connect and its pragmas: seen in profiles of `serve` under load)
        pool = datastore.pool
        pool.pool_size, pool.max_overflow = max(pool.pool_size, KEPT_CONNECTIONS), \
            max(pool.max_overflow, MORE_CONNECTIONS)
        self._tables: set[str] = set()  # ledger tables seen to exist: they stay
        self.insert_events_statement = (
            f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state) "
            "VALUES (?,?,?,?)")

    def take_turns(self, turn: Any) -> None:
        """Make every write transaction of this recorder (eventsourcing's own included) take
        `turn` first (write_turn.py: one writer at a time across processes, never SQLite's
        sleeping busy handler); reads go straight in (WAL: they never wait for a writer)."""
        transaction = self.datastore.transaction

        @contextmanager
        def in_turn(*, commit: bool) -> Iterator[Any]:
            if not commit:
                with transaction(commit=False) as c:
                    yield c
                return
            with turn, transaction(commit=True) as c:
                yield c

        self.datastore.transaction = in_turn

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {EVENTS} (rowid INTEGER PRIMARY KEY AUTOINCREMENT, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, topic TEXT, "
            "state BLOB, UNIQUE (originator_id, originator_version))",
            # the verifier's first pass reads the registry events by type
            f"CREATE INDEX IF NOT EXISTS {EVENTS}_topic ON {EVENTS} (topic, rowid)",
            f"CREATE TABLE IF NOT EXISTS {RECEIPTS} (position INTEGER PRIMARY KEY, "
            "stream TEXT NOT NULL, version INTEGER NOT NULL, event_hash TEXT NOT NULL, "
            "ledger_time TEXT NOT NULL, signature TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {NONCES} (actor TEXT NOT NULL, nonce TEXT NOT NULL, "
            "PRIMARY KEY (actor, nonce)) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {LEAVES} (leaf_index INTEGER PRIMARY KEY, "
            "position INTEGER NOT NULL UNIQUE)",
            f"CREATE TABLE IF NOT EXISTS {TREE} (node INTEGER PRIMARY KEY, hash BLOB NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (tree_size INTEGER PRIMARY KEY, "
            "note TEXT NOT NULL, issued_at TEXT NOT NULL, heads TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {COSIGNATURES} (tree_size INTEGER NOT NULL, "
            "witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (tree_size, witness))",
            f"CREATE TABLE IF NOT EXISTS {HEADS_MAP} (tree_size INTEGER PRIMARY KEY, "
            "position INTEGER NOT NULL, heads BLOB NOT NULL)",
            CREATE_VERIFICATION_RUNS,
        ]

    def create_table(self) -> None:
        """Make the missing tables under the database's write lock (BEGIN IMMEDIATE): openers
        of one store take turns, each waiting at most the busy timeout for the lock."""
        try:
            with self.datastore.get_connection(commit=True) as conn, conn.cursor() as c:
                c.execute("BEGIN IMMEDIATE")
                try:
                    self._create_table(c)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
        except sqlite3.Error as error:  # connecting sets WAL mode, which may wait for it too
            raise OperationalError(error) from error

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

    # --- signed HTTP requests (not evidence: a replay guard every server of the store shares) --

    def keep_request_nonces_in(self, nonces: Any) -> None:
        """Where signed requests' nonces are kept: a file of their own (request_nonces.py)."""
        self._request_nonces = nonces

    def remember_request_nonce(self, key_id: str, nonce: str, expires_at_unix: int) -> bool:
        """Keep a signed request's (key id, nonce) until it expires; False if it is kept
        already (the request is a replay), in whichever process it was first seen."""
        return self._request_nonces.remember(key_id, nonce, expires_at_unix)

    def remember_request_nonce_and_head(self, key_id: str, nonce: str, expires_at_unix: int,
                                        signer: UUID) -> tuple[bool, tuple[int, bytes] | None]:
        """`remember_request_nonce`, and the signer's actor stream's head as `stream_head`
        reads it (here two short reads: the nonces have a file of their own)."""
        kept = self.remember_request_nonce(key_id, nonce, expires_at_unix)
        return kept, self.stream_head(signer)

    def forget_request_nonces(self, expired_before_unix: int) -> int:
        """Drop the nonces of requests that expired before this instant; return how many."""
        return self._request_nonces.forget(expired_before_unix)

    def select_receipts(self, gt: int, lte: int | None) -> list[ReceiptRow]:
        statement = f"SELECT * FROM {RECEIPTS} WHERE position>?"
        params: list[int] = [gt]
        if lte is not None:
            statement += " AND position<=?"
            params.append(lte)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement + " ORDER BY position", params)
            return [ReceiptRow._make(row) for row in c.fetchall()]

    def select_rows(self, after: int, upto: int) -> list[tuple]:
        """Stored rows in (after, upto] as plain tuples (position, originator id in hex,
        version, topic, state): the verifier's bulk read, without per-row objects."""
        return self._rows("rowid>? AND rowid<=? ORDER BY rowid", (after, upto))

    def stored_hashes(self, after: int, upto: int) -> list[tuple[int, bytes]]:
        """(position, the stored event's `hash` member) in (after, upto]: read in SQL from the
        stored bytes, where JCS puts `hash` second, after `actor`, whose identifier holds no
        quote (evidence-format §7); the tiles' entry bundles, without decoding each event."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT json_group_array(json_array(p, h)) FROM (SELECT rowid AS p, "
                      f"hex(substr(state, instr(state, '\"hash\":\"') + 8, 64)) AS h "
                      f"FROM {EVENTS} WHERE rowid>? AND rowid<=?)", (after, upto))
            return sorted((p, bytes.fromhex(h)) for p, h in _rows_at_once(c))

    def entry_hashes(self, first: int, count: int) -> tuple[int, bytes]:
        """An entry bundle's reading in one query: (how many of the leaves first..first+count-1
        the leaves table holds, the `hash` members of their stored events joined in leaf
        order), read as `stored_hashes` reads them; a leaf whose event is missing adds nothing."""
        with self.datastore.transaction(commit=False) as c:
            return _entry_hashes(c, first, count)

    def select_topic_rows(self, topic: str, after: int, limit: int) -> list[tuple]:
        """The first `limit` rows of one event type after a position, as `select_rows` gives
        them: read along the (topic, rowid) index, however large the log."""
        return self._rows("topic=? AND rowid>? ORDER BY rowid LIMIT ?", (topic, after, limit))

    def _rows(self, where: str, params: tuple) -> list[tuple]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {EVENTS} "
                      f"WHERE {where}", params)
            return [tuple(row) for row in c.fetchall()]

    def max_position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(p) FROM (SELECT MAX(rowid) AS p FROM {EVENTS} "
                      f"UNION ALL SELECT MAX(position) FROM {RECEIPTS})")
            return c.fetchone()[0] or 0

    def stream_head(self, originator_id: UUID) -> tuple[int, bytes] | None:
        """A stream's newest version and its stored bytes: one read of the primary key."""
        with self.datastore.transaction(commit=False) as c:
            return _stream_head(c, originator_id)

    def stream_states(self, originator_id: UUID, after: int, upto: int | None = None) -> list[bytes]:
        """The stored bytes of a stream's versions after `after` (up to `upto`), in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT state FROM {EVENTS} WHERE originator_id=? AND originator_version>? "
                      "AND originator_version<=? ORDER BY originator_version",
                      (originator_id.hex, after, MAX_VERSION if upto is None else upto))
            return [bytes(row[0]) for row in c.fetchall()]

    def last_ledger_time(self) -> str | None:
        """The ledger time of the newest receipt, as stored."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT ledger_time FROM {RECEIPTS} ORDER BY position DESC LIMIT 1")
            row = c.fetchone()
            return row[0] if row is not None else None

    # --- the Merkle log ----------------------------------------------------------------------

    def _has(self, c: Any, name: str) -> bool:
        """Whether a ledger table exists, asked of the store until it does (a store written
        before the Merkle log lacks some; a table, once made, is never dropped by the ledger)."""
        if name not in self._tables and _has_table(c, name):
            self._tables.add(name)
        return name in self._tables

    def tree_size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return _tree_size(c) if self._has(c, LEAVES) else 0

    def tree_nodes(self, keys: Sequence[int]) -> dict[int, bytes]:
        with self.datastore.transaction(commit=False) as c:
            return _tree_nodes(c, keys)

    def tile_hashes(self, first_key: int, count: int) -> tuple[int, bytes]:
        """(how many stored nodes have keys first_key..first_key+count-1, their hashes joined
        in key order): a hash tile in one query."""
        with self.datastore.transaction(commit=False) as c:
            return _tile_hashes(c, first_key, count)

    def leaf_positions(self, after: int, upto: int) -> list[tuple[int, int]]:
        """(leaf index, position) for leaf indexes in (after, upto]."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT json_group_array(json_array(leaf_index, position)) FROM {LEAVES} "
                      "WHERE leaf_index>? AND leaf_index<=?", (after, upto))
            return sorted((leaf, position) for leaf, position in _rows_at_once(c))

    def leaf_of(self, originator_id: UUID, version: int) -> tuple[int, int] | None:
        """(leaf index, position) of a stream's version, if stored."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT l.leaf_index, l.position FROM {EVENTS} e JOIN {LEAVES} l ON "
                      "l.position=e.rowid WHERE e.originator_id=? AND e.originator_version=?",
                      (originator_id.hex, version))
            row = c.fetchone()
            return tuple(row) if row else None

    def add_to_tree(self, leaves: Sequence[tuple[int, int]], nodes: Sequence[tuple[int, bytes]]) -> bool:
        """Leaves and nodes outside an append (events stored before the log existed), in a
        write transaction (its turn taken: no append interleaves), and only if the log is
        still the size they extend: another process opening the store at the same moment
        may have added them, or appended (its leaf then taken), between the reads that
        made these and this transaction."""
        with self.datastore.transaction(commit=True) as c:
            tx = _SQLiteTransaction(c)
            if tx.tree_size() != leaves[0][0]:
                return False  # another process did it meanwhile
            tx.add_leaves(leaves)
            tx.add_nodes(nodes)
            return True

    def clear_tree(self) -> None:
        """Remove the Merkle log's derived rows (leaves and nodes), to rebuild them."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"DELETE FROM {LEAVES}")
            c.execute(f"DELETE FROM {TREE}")
            c.execute(f"DELETE FROM {HEADS_MAP}")

    def add_checkpoint(self, tree_size: int, note: str, issued_at: str, heads: str,
                       heads_map: tuple[int, bytes] | None = None) -> None:
        """Keep a checkpoint, and with it (replacing the one before) its heads map as
        (receipt position folded to, encoded map)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {CHECKPOINTS} VALUES (?,?,?,?)",
                      (tree_size, note, issued_at, heads))
            if heads_map is not None:
                c.execute(f"DELETE FROM {HEADS_MAP}")
                c.execute(f"INSERT INTO {HEADS_MAP} VALUES (?,?,?)", (tree_size, *heads_map))

    def heads_map(self, most: int) -> tuple[int, int, bytes] | None:
        """(tree size, position, encoded map) of the kept heads map of the largest tree size
        not over `most`, if any."""
        with self.datastore.transaction(commit=False) as c:
            if not self._has(c, HEADS_MAP):
                return None
            c.execute(f"SELECT tree_size, position, heads FROM {HEADS_MAP} WHERE tree_size<=? "
                      "ORDER BY tree_size DESC LIMIT 1", (most,))
            row = c.fetchone()
            return (row[0], row[1], bytes(row[2])) if row else None

    def checkpoints(self, least: int = 0, most: int | None = None,
                    newest: bool = False) -> list[tuple[int, str, str, str]]:
        """(tree size, signed note, ledger time issued, signed heads statement) of the kept
        checkpoints of sizes in [least, most], oldest first; with `newest`, only the newest
        of them. A year keeps over a thousand: read what is asked for, not all."""
        with self.datastore.transaction(commit=False) as c:
            if not self._has(c, CHECKPOINTS):
                return []
            c.execute(f"SELECT tree_size, note, issued_at, heads FROM {CHECKPOINTS} "
                      "WHERE tree_size >= ? AND tree_size <= ? ORDER BY tree_size"
                      + (" DESC LIMIT 1" if newest else ""),
                      (least, MAX_VERSION if most is None else most))
            return [tuple(row) for row in c.fetchall()]

    def add_cosignature(self, tree_size: int, witness: str, line: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {COSIGNATURES} VALUES (?,?,?)",
                      (tree_size, witness, line))

    def cosignatures(self) -> list[tuple[int, str, str]]:
        with self.datastore.transaction(commit=False) as c:
            if not self._has(c, COSIGNATURES):
                return []
            c.execute(f"SELECT tree_size, witness, line FROM {COSIGNATURES} "
                      "ORDER BY tree_size, witness")
            return [tuple(row) for row in c.fetchall()]

    # --- the verifier's recorded runs (not evidence: an operational note beside the log) ----

    def add_verification_run(self, row: VerificationRunRow) -> None:
        """Keep one run of the verifier, making its table first in a store that lacks it (one
        opened only for reading until now): in the write transaction, so openers and
        recorders of the store take turns."""
        with self.datastore.transaction(commit=True) as c:
            if not self._has(c, VERIFICATION_RUNS):
                c.execute(CREATE_VERIFICATION_RUNS)
            c.execute(f"INSERT INTO {VERIFICATION_RUNS} (finished_at, run_by, seconds, events, "
                      "tree_root, latest_checkpoint, intact, findings_total, findings) "
                      "VALUES (?,?,?,?,?,?,?,?,?)", (*row[:6], int(row.intact), *row[7:]))

    def verification_runs(self, limit: int) -> list[VerificationRunRow]:
        """The newest `limit` recorded runs, newest first (in the order they were recorded,
        whatever clock each verifier read); none in a store that has no such table yet."""
        with self.datastore.transaction(commit=False) as c:
            if not self._has(c, VERIFICATION_RUNS):
                return []
            c.execute(f"SELECT finished_at, run_by, seconds, events, tree_root, "
                      f"latest_checkpoint, intact, findings_total, findings FROM "
                      f"{VERIFICATION_RUNS} ORDER BY run DESC LIMIT ?", (limit,))
            return [VerificationRunRow(*row[:6], bool(row[6]), *row[7:])
                    for row in c.fetchall()]

    def counts(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT (SELECT COUNT(*) FROM {EVENTS}), (SELECT COUNT(*) FROM {RECEIPTS})")
            return tuple(c.fetchone())
