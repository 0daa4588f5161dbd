"""A SQLite store's signed-request nonces, in a file of their own beside it:
`<file>.request-nonces`.

They are a replay guard every server process of the store shares (api/http/signed_requests.py),
not evidence. In the store's own file each signed read committed a write there, with a flush
to disk, queued behind appends for SQLite's one writer: with 8 clients the reads stalled. Here
they are written without waiting for the disk (WAL, synchronous=NORMAL: a commit costs about
10 µs instead of 150 to 230, measured): an application crash loses nothing, a power cut can
lose the last moments' nonces, whose requests are refused anyway once their window of a few
minutes is over. Writers of this file take their own turn (write_turn.py: an flock on the
file itself), never the store's."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ledger.errors import StoreUnavailable

from .url import StoreURL, lock_timeout
from .write_turn import WriteTurn

SUFFIX = ".request-nonces"
TABLE = "request_nonces"
FORGET_AT_ONCE = 1000  # expired nonces dropped in one transaction


class RequestNonceFile:
    def __init__(self, store: StoreURL):
        assert store.path is not None
        self.store = store
        self.path = Path(store.path).with_name(Path(store.path).name + SUFFIX)
        self.turn = WriteTurn(store, suffix=SUFFIX)  # flock on the file (SQLite's are fcntl locks)
        self._db: sqlite3.Connection | None = None

    def remember(self, key_id: str, nonce: str, expires_at_unix: int) -> bool:
        """Keep (key id, nonce) until it expires; False if it is kept already."""
        with self.turn:
            cursor = self._connection().execute(
                f"INSERT OR IGNORE INTO {TABLE} VALUES (?,?,?)", (key_id, nonce, expires_at_unix))
            return cursor.rowcount == 1

    def forget(self, expired_before_unix: int) -> int:
        """Drop the nonces of requests that expired before this instant; return how many.
        About a thousand at a time (those of the oldest seconds), each in a turn of its own: a
        signed request waits for one of those (8 ms), not for them all (60,000: 180 ms)."""
        forgotten = 0
        while True:
            with self.turn:
                db = self._connection()
                # the expiry of the thousandth oldest: that and all before it go at once
                found = db.execute(f"SELECT expires FROM {TABLE} WHERE expires<? ORDER BY "
                                   f"expires LIMIT 1 OFFSET {FORGET_AT_ONCE - 1}",
                                   (expired_before_unix,)).fetchone()
                done = db.execute(f"DELETE FROM {TABLE} WHERE expires<?", (
                    expired_before_unix if found is None else found[0] + 1,)).rowcount
            forgotten += done
            if found is None:
                return forgotten

    def _connection(self) -> sqlite3.Connection:
        """The file, opened at its first use in this process (in the turn), owner-only."""
        if self._db is None:
            try:
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                     timeout=lock_timeout())
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key_id TEXT NOT NULL, "
                           "nonce TEXT NOT NULL, expires INTEGER NOT NULL, "
                           "PRIMARY KEY (key_id, nonce)) WITHOUT ROWID")
                db.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_expires ON {TABLE} (expires)")
            except (OSError, sqlite3.Error) as error:
                raise StoreUnavailable(f"cannot open {self.path}, where the signed requests to "
                                       f"{self.store.display()} are remembered: {error}",
                                       store=self.store.display()) from None
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:  # never used in this process: nothing made, nothing to close
            with self.turn:
                self._db.close()
                self._db = None
        self.turn.close()
