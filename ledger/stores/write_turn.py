"""One writer at a time across the threads and processes that write one SQLite file.

SQLite lets one writer in at a time. A second writer that finds the file locked does not
queue: SQLite's busy handler sleeps and tries again, 1, 2, 5 ... up to 100 ms at a time, so
under load from two processes (`sunledger serve --workers 2`) every collision cost a stall of
tens of milliseconds, whatever was written (an append, a signed request's nonce, a checkpoint,
a witness's cosignature). And an append reads the log's frontier before its write transaction
(the ledger never trusts the stored nodes alone: ledger.py `_trusted_frontier`): two
processes would each read it, and the second to commit would collide on the leaf indexes and
try again, under load again and again.

So every write takes its turn first: a lock of this process, then an advisory lock (flock) on
`<file>.write-lock`, each for at most lock_timeout() seconds, as for SQLite's own lock. The turn
is re-entrant in a thread: an append takes it for its read of the frontier and its write,
and the write transaction inside takes it again. PostgreSQL needs none: several machines
write to it, its appends lock a table, and its other writes do not wait on each other."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from ledger.errors import StoreUnavailable

from .url import StoreURL, lock_timeout, store_locked

SUFFIX = ".write-lock"


class WriteTurn:
    def __init__(self, url: StoreURL, suffix: str = SUFFIX):
        self.url = url
        self.path = Path(url.path).with_name(Path(url.path).name + suffix)
        self._fd: int | None = None
        self._thread = threading.RLock()  # one thread of this process at a time
        self._depth = 0  # how many times the thread holding it has entered

    def __enter__(self) -> None:
        if not self._thread.acquire(timeout=lock_timeout()):
            raise store_locked(self.url)
        try:
            if self._depth == 0:
                self._take_file()
        except BaseException:
            self._thread.release()
            raise
        self._depth += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                assert self._fd is not None
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def _take_file(self) -> None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as error:
                raise StoreUnavailable(f"cannot open {self.path}, which writers to "
                                       f"{self.url.display()} take turns with: "
                                       f"{error.strerror}", store=self.url.display()) from None
        deadline, pause = time.monotonic() + lock_timeout(), 0.0002
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise store_locked(self.url) from None
                time.sleep(pause)  # another process writes: its turns are short
                pause = min(pause * 2, 0.002)

    def close(self) -> None:
        with self._thread:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
