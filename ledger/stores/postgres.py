"""The PostgreSQL store: eventsourcing's PostgreSQL recorder with the ledger's own tables
(tables.py), written in the transaction that holds the events table's lock."""

from __future__ import annotations

from typing import Any, Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL

from ledger.errors import StoreUnavailable

from .tables import (
    CHECKPOINTS, COSIGNATURES, EVENTS, HEADS_MAP, LEAVES, MAX_VERSION, NONCES, RECEIPTS,
    REQUEST_NONCES, TREE, VERIFICATION_RUNS, ReceiptRow, VerificationRunRow, Within,
)
from .url import _lock_key


class _PostgresTransaction:
    def __init__(self, cursor: Any, schema: str):
        self.c = cursor
        self.schema = schema

    def stream_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        # asked even for no stream: fetching the answer is what surfaces an earlier failure
        self.c.execute(f'SELECT originator_id, MAX(originator_version) AS v FROM "{self.schema}".'
                       f"{EVENTS} WHERE originator_id = ANY(%s) GROUP BY originator_id",
                       (list(originator_ids),))
        return {row["originator_id"]: row["v"] for row in self.c.fetchall()}

    # one statement per table, whatever the number of rows (the table lock is held meanwhile)
    def add_nonces(self, rows: Sequence[tuple[str, str]]) -> None:
        self.c.execute(f'INSERT INTO "{self.schema}".{NONCES} SELECT * FROM '
                       "unnest(%s::text[], %s::text[])", [list(c) for c in zip(*rows)])

    def add_receipts(self, rows: Sequence[tuple]) -> None:
        self.c.execute(f'INSERT INTO "{self.schema}".{RECEIPTS} SELECT * FROM unnest(%s::bigint[], '
                       "%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[])",
                       [list(c) for c in zip(*rows)])

    def tree_size(self) -> int:
        self.c.execute(f'SELECT MAX(leaf_index) AS m FROM "{self.schema}".{LEAVES}')
        last = self.c.fetchone()["m"]
        return 0 if last is None else last + 1

    def tree_nodes(self, keys: Sequence[int]) -> dict[int, bytes]:
        self.c.execute(f'SELECT node, hash FROM "{self.schema}".{TREE} WHERE node = ANY(%s)',
                       (list(keys),))
        return {row["node"]: bytes(row["hash"]) for row in self.c.fetchall()}

    def add_leaves(self, rows: Sequence[tuple[int, int]]) -> None:
        self.c.execute(f'INSERT INTO "{self.schema}".{LEAVES} SELECT * FROM '
                       "unnest(%s::bigint[], %s::bigint[])", [list(c) for c in zip(*rows)])

    def add_nodes(self, rows: Sequence[tuple[int, bytes]]) -> None:
        self.c.execute(f'INSERT INTO "{self.schema}".{TREE} SELECT * FROM '
                       "unnest(%s::bigint[], %s::bytea[])", [list(c) for c in zip(*rows)])


# --- statements the recorder and the loop's reads share ---------------------------------------

def stream_head(schema: str) -> str:
    """A stream's newest version `v` and its stored bytes `s` (one parameter: the stream)."""
    return (f'SELECT originator_version AS v, state AS s FROM "{schema}".{EVENTS} '
            "WHERE originator_id=%s ORDER BY originator_version DESC LIMIT 1")


def entry_hashes(schema: str) -> str:
    """One row: how many leaves from the first parameter to the second (excluded) are held
    (n), and their events' `hash` members joined in leaf order (h)."""
    return ("SELECT count(*) AS n, string_agg(substring(e.state from position("
            "'\"hash\":\"'::bytea in e.state) + 8 for 64), ''::bytea ORDER BY l.leaf_index) AS h "
            f'FROM "{schema}".{LEAVES} l LEFT JOIN "{schema}".{EVENTS} e '
            "ON e.notification_id=l.position WHERE l.leaf_index>=%s AND l.leaf_index<%s")


def tile_hashes(schema: str) -> str:
    """One row: how many stored nodes have keys from the first parameter to the second
    (excluded) (n), and their hashes joined in key order (h): a hash tile's nodes, whose
    keys are consecutive (merkle.node_key)."""
    return (f"SELECT count(*) AS n, string_agg(hash, ''::bytea ORDER BY node) AS h "
            f'FROM "{schema}".{TREE} WHERE node>=%s AND node<%s')


def _keep_nonce(schema: str) -> str:
    """Insert a request nonce (key id, nonce, expiry) unless kept already, in a transaction
    of its own whose commit does not wait for the WAL's flush."""
    return ("WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true)) "
            f'INSERT INTO "{schema}".{REQUEST_NONCES} SELECT %s, %s, %s FROM unflushed '
            "ON CONFLICT DO NOTHING")


def nonce_and_head(schema: str) -> str:
    """One row: whether the nonce was kept now, and the signer stream's head (v, s), after
    the nonce's three parameters and the stream's."""
    return (f"WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true)), "
            f'kept AS (INSERT INTO "{schema}".{REQUEST_NONCES} SELECT %s, %s, %s FROM unflushed '
            f"ON CONFLICT DO NOTHING RETURNING 1), head AS ({stream_head(schema)}) "
            "SELECT EXISTS (SELECT 1 FROM kept) AS kept, (SELECT v FROM head) AS v, "
            "(SELECT s FROM head) AS s")


def create_verification_runs(schema: str) -> str:
    """The verifier's recorded runs (ledger/audit/runs.py): an operational note, not
    evidence; made with the other tables when a ledger opens the store, or at the first run
    recorded in a store only ever opened for reading (`sunledger verify --record`)."""
    return (f'CREATE TABLE IF NOT EXISTS "{schema}".{VERIFICATION_RUNS} (run BIGINT GENERATED '
            "ALWAYS AS IDENTITY PRIMARY KEY, finished_at TEXT NOT NULL, run_by TEXT NOT NULL, "
            "seconds DOUBLE PRECISION NOT NULL, events BIGINT NOT NULL, tree_root TEXT, "
            "latest_checkpoint BIGINT, intact BOOLEAN NOT NULL, findings_total BIGINT NOT NULL, "
            "findings TEXT NOT NULL)")


def _nonce_and_head_of(row: tuple) -> tuple[bool, tuple[int, bytes] | None]:
    kept, version, state = row
    return bool(kept), (version, bytes(state)) if version is not None else None


class PostgresLoopReads:
    """A server's shortest reads of the store, made on its event loop over asyncio
    connections of their own (psycopg's AsyncConnectionPool): a stream's head, a signed
    request's nonce with its signer's head, an entry bundle's hashes and a hash tile's.
    Handing such a read to a worker thread and back cost the server more than the read
    itself (two hops made a signed read of a project's state cost 1.8 ms of the server's
    CPU, against 1.2 on SQLite, whose reads stay on the loop); awaiting the database on the
    loop holds up no other request. Whatever reads more stays with the recorder, in worker
    threads."""

    CONNECTIONS = 8  # at most, per server process
    WAIT = 5.0  # seconds for a connection before the store is said not to answer

    def __init__(self, host: str, port: int, database: str, user: str, password: str,
                 schema: str, wait: float = WAIT):
        from psycopg_pool import AsyncConnectionPool

        self.schema = schema
        self.pool = AsyncConnectionPool(
            kwargs={"host": host, "port": port, "dbname": database, "user": user,
                    "password": password, "autocommit": True, "connect_timeout": 5},
            min_size=1, max_size=self.CONNECTIONS, open=False, timeout=wait)
        self._head, self._nonce = stream_head(schema), nonce_and_head(schema)
        self._entries, self._tile = entry_hashes(schema), tile_hashes(schema)

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def stream_head(self, originator_id: UUID) -> tuple[int, bytes] | None:
        row = await self._one(self._head, (originator_id,))
        return (row[0], bytes(row[1])) if row is not None else None

    async def remember_request_nonce_and_head(
            self, key_id: str, nonce: str, expires_at_unix: int,
            signer: UUID) -> tuple[bool, tuple[int, bytes] | None]:
        row = await self._one(self._nonce, (key_id, nonce, expires_at_unix, signer))
        assert row is not None
        return _nonce_and_head_of(row)

    async def entry_hashes(self, first: int, count: int) -> tuple[int, bytes]:
        row = await self._one(self._entries, (first, first + count))
        assert row is not None
        return row[0], bytes(row[1] or b"")

    async def tile_hashes(self, first_key: int, count: int) -> tuple[int, bytes]:
        row = await self._one(self._tile, (first_key, first_key + count))
        assert row is not None
        return row[0], bytes(row[1] or b"")

    async def _one(self, statement: str, params: tuple) -> tuple | None:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(statement, params)
                return await cursor.fetchone()
        except (psycopg.Error, PoolTimeout) as error:
            raise StoreUnavailable(f"the store does not answer: {error}") from None


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self._tables: set[str] = set()  # ledger tables seen to exist: they stay
        schema = self.datastore.schema
        self.sql_create_statements.extend([
            # the verifier's first pass reads the registry events by type
            SQL(f'CREATE INDEX IF NOT EXISTS {EVENTS}_topic ON "{schema}".{EVENTS} '
                "(topic, notification_id)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{RECEIPTS} (position BIGINT PRIMARY KEY, '
                "stream TEXT NOT NULL, version BIGINT NOT NULL, event_hash TEXT NOT NULL, "
                "ledger_time TEXT NOT NULL, signature TEXT NOT NULL)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{NONCES} (actor TEXT NOT NULL, '
                "nonce TEXT NOT NULL, PRIMARY KEY (actor, nonce))"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{LEAVES} (leaf_index BIGINT PRIMARY KEY, '
                "position BIGINT NOT NULL UNIQUE)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{TREE} (node BIGINT PRIMARY KEY, '
                "hash BYTEA NOT NULL)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{CHECKPOINTS} (tree_size BIGINT '
                "PRIMARY KEY, note TEXT NOT NULL, issued_at TEXT NOT NULL, heads TEXT NOT NULL)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{COSIGNATURES} (tree_size BIGINT NOT '
                "NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (tree_size, witness))"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{HEADS_MAP} (tree_size BIGINT PRIMARY KEY, '
                "position BIGINT NOT NULL, heads BYTEA NOT NULL)"),
            SQL(f'CREATE TABLE IF NOT EXISTS "{schema}".{REQUEST_NONCES} (key_id TEXT NOT NULL, '
                "nonce TEXT NOT NULL, expires BIGINT NOT NULL, PRIMARY KEY (key_id, nonce))"),
            SQL(f'CREATE INDEX IF NOT EXISTS {REQUEST_NONCES}_expires ON "{schema}".'
                f"{REQUEST_NONCES} (expires)"),
            SQL(create_verification_runs(schema)),
        ])

    def _create_table(self, curs: Any) -> None:
        """The missing tables (the opener holds the store's advisory lock, url.store_lock).
        CREATE INDEX … IF NOT EXISTS locks its table even when the index is there: it waits for
        an append's lock at most as long as an append would."""
        curs.execute(SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout))
        super()._create_table(curs)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any):
        """One transaction: lock (commit order = position order), events, then `within`."""
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        within: Within | None = kwargs.get("within")
        # Pipelined: the statements go out without waiting, and each fetch waits for what
        # was sent before it; an append makes three round trips (events, the rest, commit).
        with self.datastore.get_connection() as conn, conn.pipeline(), conn.transaction(), \
                conn.cursor() as curs:
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

    # --- signed HTTP requests (not evidence: a replay guard every server of the store shares) --

    def remember_request_nonce(self, key_id: str, nonce: str, expires_at_unix: int) -> bool:
        """Keep a signed request's (key id, nonce) until it expires; False if it is kept
        already (the request is a replay), in whichever process it was first seen. Its
        commit does not wait for the WAL's flush to disk (a replay guard, not evidence: a
        crash of the database server can lose only the last moments' nonces, whose requests
        are refused anyway once their few minutes are over)."""
        # one statement, so one round trip (a transaction of its own, with the setting local
        # to it), not four (BEGIN, SET LOCAL, INSERT, COMMIT)
        return bool(self._query(_keep_nonce(self.datastore.schema) + " RETURNING 1 AS kept",
                                (key_id, nonce, expires_at_unix)))

    def remember_request_nonce_and_head(self, key_id: str, nonce: str, expires_at_unix: int,
                                        signer: UUID) -> tuple[bool, tuple[int, bytes] | None]:
        """`remember_request_nonce`, and the signer's actor stream's head as `stream_head`
        reads it, in one statement (one round trip): a signed request's last read of the
        store, to judge its key as the ledger stands."""
        row, = self._query(nonce_and_head(self.datastore.schema),
                           (key_id, nonce, expires_at_unix, signer))
        return _nonce_and_head_of(tuple(row.values()))

    def forget_request_nonces(self, expired_before_unix: int) -> int:
        """Drop the nonces of requests that expired before this instant; return how many."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(f'DELETE FROM "{self.datastore.schema}".{REQUEST_NONCES} '
                         "WHERE expires<%s", (expired_before_unix,))
            return curs.rowcount

    def select_receipts(self, gt: int, lte: int | None) -> list[ReceiptRow]:
        statement = f'SELECT * FROM "{self.datastore.schema}".{RECEIPTS} WHERE position>%s'
        params: list[int] = [gt]
        if lte is not None:
            statement += " AND position<=%s"
            params.append(lte)
        return [ReceiptRow(**row) for row in self._query(statement + " ORDER BY position", params)]

    def select_rows(self, after: int, upto: int) -> list[tuple]:
        """Stored rows in (after, upto] as plain tuples (position, originator id in hex,
        version, topic, state): the verifier's bulk read, without per-row objects."""
        return self._rows("notification_id>%s AND notification_id<=%s ORDER BY notification_id",
                          (after, upto))

    def stored_hashes(self, after: int, upto: int) -> list[tuple[int, bytes]]:
        """(position, the stored event's `hash` member) in (after, upto]: read in SQL from the
        stored bytes, where JCS puts `hash` second, after `actor`, whose identifier holds no
        quote (evidence-format §7); the tiles' entry bundles, without decoding each event."""
        rows = self._query(
            "SELECT notification_id AS p, substring(state from position("
            "'\"hash\":\"'::bytea in state) + 8 for 64) AS h "
            f'FROM "{self.datastore.schema}".{EVENTS} '
            "WHERE notification_id>%s AND notification_id<=%s ORDER BY notification_id",
            (after, upto))
        return [(r["p"], bytes(r["h"]) if r["h"] is not None else b"") for r in rows]

    def entry_hashes(self, first: int, count: int) -> tuple[int, bytes]:
        """An entry bundle's reading in one query and one row: (how many of the leaves
        first..first+count-1 the leaves table holds, the `hash` members of their stored events
        joined in leaf order), read as `stored_hashes` reads them; a leaf whose event is
        missing adds nothing."""
        row, = self._query(entry_hashes(self.datastore.schema), (first, first + count))
        return row["n"], bytes(row["h"] or b"")

    def select_topic_rows(self, topic: str, after: int, limit: int) -> list[tuple]:
        """The first `limit` rows of one event type after a position, as `select_rows` gives
        them: read along the (topic, position) index, however large the log."""
        return self._rows("topic=%s AND notification_id>%s ORDER BY notification_id LIMIT %s",
                          (topic, after, limit))

    def _rows(self, where: str, params: tuple) -> list[tuple]:
        rows = self._query(
            "SELECT notification_id AS p, replace(originator_id::text, '-', '') AS o, "
            f'originator_version AS v, topic AS t, state AS s FROM "{self.datastore.schema}".'
            f"{EVENTS} WHERE {where}", params)
        return [(r["p"], r["o"], r["v"], r["t"], bytes(r["s"])) for r in rows]

    def max_position(self) -> int:
        s = self.datastore.schema
        row = self._query(f'SELECT GREATEST((SELECT MAX(notification_id) FROM "{s}".{EVENTS}), '
                          f'(SELECT MAX(position) FROM "{s}".{RECEIPTS})) AS p', ())[0]
        return row["p"] or 0

    def stream_head(self, originator_id: UUID) -> tuple[int, bytes] | None:
        """A stream's newest version and its stored bytes: one read of the primary key."""
        rows = self._query(stream_head(self.datastore.schema), (originator_id,))
        return (rows[0]["v"], bytes(rows[0]["s"])) if rows else None

    def stream_states(self, originator_id: UUID, after: int, upto: int | None = None) -> list[bytes]:
        """The stored bytes of a stream's versions after `after` (up to `upto`), in order."""
        rows = self._query(f'SELECT state AS s FROM "{self.datastore.schema}".{EVENTS} '
                           "WHERE originator_id=%s AND originator_version>%s "
                           "AND originator_version<=%s ORDER BY originator_version",
                           (originator_id, after, MAX_VERSION if upto is None else upto))
        return [bytes(r["s"]) for r in rows]

    def last_ledger_time(self) -> str | None:
        """The ledger time of the newest receipt, as stored."""
        rows = self._query(f'SELECT ledger_time FROM "{self.datastore.schema}".{RECEIPTS} '
                           "ORDER BY position DESC LIMIT 1", ())
        return rows[0]["ledger_time"] if rows else None

    # --- the Merkle log ----------------------------------------------------------------------

    def _has_table(self, name: str) -> bool:
        """Whether a ledger table exists, asked of the store until it does (a store written
        before the Merkle log lacks some; a table, once made, is never dropped by the ledger)."""
        if name not in self._tables:
            row = self._query("SELECT to_regclass(%s) AS t", (f"{self.datastore.schema}.{name}",))[0]
            if row["t"] is not None:
                self._tables.add(name)
        return name in self._tables

    def tree_size(self) -> int:
        if not self._has_table(LEAVES):
            return 0
        row = self._query(f'SELECT MAX(leaf_index) AS m FROM "{self.datastore.schema}".{LEAVES}',
                          ())[0]
        return 0 if row["m"] is None else row["m"] + 1

    def tree_nodes(self, keys: Sequence[int]) -> dict[int, bytes]:
        rows = self._query(f'SELECT node, hash FROM "{self.datastore.schema}".{TREE} '
                           "WHERE node = ANY(%s)", (list(keys),))
        return {row["node"]: bytes(row["hash"]) for row in rows}

    def tile_hashes(self, first_key: int, count: int) -> tuple[int, bytes]:
        """(how many stored nodes have keys first_key..first_key+count-1, their hashes joined
        in key order): a hash tile in one query and one row."""
        row, = self._query(tile_hashes(self.datastore.schema), (first_key, first_key + count))
        return row["n"], bytes(row["h"] or b"")

    def leaf_positions(self, after: int, upto: int) -> list[tuple[int, int]]:
        """(leaf index, position) for leaf indexes in (after, upto]."""
        rows = self._query(f'SELECT leaf_index, position FROM "{self.datastore.schema}".{LEAVES} '
                           "WHERE leaf_index>%s AND leaf_index<=%s ORDER BY leaf_index",
                           (after, upto))
        return [(row["leaf_index"], row["position"]) for row in rows]

    def leaf_of(self, originator_id: UUID, version: int) -> tuple[int, int] | None:
        """(leaf index, position) of a stream's version, if stored."""
        s = self.datastore.schema
        rows = self._query(f'SELECT l.leaf_index, l.position FROM "{s}".{EVENTS} e JOIN '
                           f'"{s}".{LEAVES} l ON l.position=e.notification_id WHERE '
                           "e.originator_id=%s AND e.originator_version=%s",
                           (originator_id, version))
        return (rows[0]["leaf_index"], rows[0]["position"]) if rows else None

    def _write(self, statement: str, params: Sequence[Any]) -> None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(statement, params)

    def clear_tree(self) -> None:
        """Remove the Merkle log's derived rows (leaves and nodes), to rebuild them, under the
        events table's lock."""
        schema = self.datastore.schema
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            curs.execute(SQL(f'DELETE FROM "{schema}".{LEAVES}'))
            curs.execute(SQL(f'DELETE FROM "{schema}".{TREE}'))
            curs.execute(SQL(f'DELETE FROM "{schema}".{HEADS_MAP}'))

    def add_to_tree(self, leaves: Sequence[tuple[int, int]], nodes: Sequence[tuple[int, bytes]]) -> bool:
        """Leaves and nodes outside an append (events stored before the log existed), under
        the events table's lock so that no append interleaves."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            tx = _PostgresTransaction(curs, self.datastore.schema)
            if tx.tree_size() != leaves[0][0]:
                return False  # another process did it meanwhile
            tx.add_leaves(leaves)
            tx.add_nodes(nodes)
            return True

    def add_checkpoint(self, tree_size: int, note: str, issued_at: str, heads: str,
                       heads_map: tuple[int, bytes] | None = None) -> None:
        """Keep a checkpoint, and with it (replacing the one before) its heads map as
        (receipt position folded to, encoded map)."""
        schema = self.datastore.schema
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(f'INSERT INTO "{schema}".{CHECKPOINTS} VALUES (%s,%s,%s,%s) '
                         "ON CONFLICT DO NOTHING", (tree_size, note, issued_at, heads))
            if heads_map is not None:
                curs.execute(f'DELETE FROM "{schema}".{HEADS_MAP}')
                curs.execute(f'INSERT INTO "{schema}".{HEADS_MAP} VALUES (%s,%s,%s)',
                             (tree_size, *heads_map))

    def heads_map(self, most: int) -> tuple[int, int, bytes] | None:
        """(tree size, position, encoded map) of the kept heads map of the largest tree size
        not over `most`, if any."""
        if not self._has_table(HEADS_MAP):
            return None
        rows = self._query(f'SELECT tree_size AS t, position AS p, heads AS h FROM '
                           f'"{self.datastore.schema}".{HEADS_MAP} WHERE tree_size<=%s '
                           "ORDER BY tree_size DESC LIMIT 1", (most,))
        return (rows[0]["t"], rows[0]["p"], bytes(rows[0]["h"])) if rows else None

    def checkpoints(self, least: int = 0, most: int | None = None,
                    newest: bool = False) -> list[tuple[int, str, str, str]]:
        """(tree size, signed note, ledger time issued, signed heads statement) of the kept
        checkpoints of sizes in [least, most], oldest first; with `newest`, only the newest
        of them. A year keeps over a thousand: read what is asked for, not all."""
        if not self._has_table(CHECKPOINTS):
            return []
        rows = self._query(
            f'SELECT tree_size, note, issued_at, heads FROM "{self.datastore.schema}".'
            f"{CHECKPOINTS} WHERE tree_size >= %s AND tree_size <= %s ORDER BY tree_size"
            + (" DESC LIMIT 1" if newest else ""), (least, MAX_VERSION if most is None else most))
        return [(row["tree_size"], row["note"], row["issued_at"], row["heads"]) for row in rows]

    def add_cosignature(self, tree_size: int, witness: str, line: str) -> None:
        self._write(f'INSERT INTO "{self.datastore.schema}".{COSIGNATURES} VALUES (%s,%s,%s) '
                    "ON CONFLICT DO NOTHING", (tree_size, witness, line))

    def cosignatures(self) -> list[tuple[int, str, str]]:
        if not self._has_table(COSIGNATURES):
            return []
        rows = self._query(f'SELECT tree_size, witness, line FROM "{self.datastore.schema}".'
                           f"{COSIGNATURES} ORDER BY tree_size, witness", ())
        return [(row["tree_size"], row["witness"], row["line"]) for row in rows]

    # --- the verifier's recorded runs (not evidence: an operational note beside the log) ----

    def add_verification_run(self, row: VerificationRunRow) -> None:
        """Keep one run of the verifier, making its table first in a store that lacks it (one
        opened only for reading until now) under the store's advisory lock, which openers
        hold while they make tables (concurrent CREATE … IF NOT EXISTS can fail)."""
        schema = self.datastore.schema
        missing = not self._has_table(VERIFICATION_RUNS)  # asked before taking a connection
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            if missing:
                curs.execute(SQL("SET LOCAL lock_timeout = '{0}s'").format(
                    self.datastore.lock_timeout))
                curs.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(schema),))
                curs.execute(create_verification_runs(schema))
            curs.execute(f'INSERT INTO "{schema}".{VERIFICATION_RUNS} (finished_at, run_by, '
                         "seconds, events, tree_root, latest_checkpoint, intact, "
                         "findings_total, findings) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)", row)

    def verification_runs(self, limit: int) -> list[VerificationRunRow]:
        """The newest `limit` recorded runs, newest first (in the order they were recorded,
        whatever clock each verifier read); none in a store that has no such table yet."""
        if not self._has_table(VERIFICATION_RUNS):
            return []
        rows = self._query(f"SELECT finished_at, run_by, seconds, events, tree_root, "
                           f"latest_checkpoint, intact, findings_total, findings FROM "
                           f'"{self.datastore.schema}".{VERIFICATION_RUNS} ORDER BY run DESC '
                           "LIMIT %s", (limit,))
        return [VerificationRunRow(**row) for row in rows]

    def counts(self) -> tuple[int, int]:
        s = self.datastore.schema
        row = self._query(f'SELECT (SELECT COUNT(*) FROM "{s}".{EVENTS}) AS e, '
                          f'(SELECT COUNT(*) FROM "{s}".{RECEIPTS}) AS r', ())[0]
        return row["e"], row["r"]
