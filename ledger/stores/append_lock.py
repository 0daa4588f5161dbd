"""One append at a time across the processes that write one SQLite file.

An append reads the log's frontier before its write transaction (the ledger never trusts the
stored nodes alone: ledger.py `_trusted_frontier`). Two processes on one file (`sunledger serve
--workers 2`) would each read it, and the second to commit would collide on the leaf indexes
and try again, under load again and again. SQLite lets one writer in at a time anyway, so
waiting for the turn costs nothing: each append takes an advisory lock (flock) on
`<file>.append-lock` first, for at most lock_timeout() seconds, as for SQLite's own lock.
PostgreSQL needs none: several machines append to it, and its appends lock a table."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from ledger.errors import StoreUnavailable

from .url import StoreURL, lock_timeout, store_locked


class AppendLock:
    def __init__(self, url: StoreURL):
        self.url = url
        self.path = Path(url.path).with_name(Path(url.path).name + ".append-lock")
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as error:
                raise StoreUnavailable(f"cannot open {self.path}, which appends to "
                                       f"{self.url.display()} take turns with: "
                                       f"{error.strerror}", store=self.url.display()) from None
        deadline, pause = time.monotonic() + lock_timeout(), 0.0005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise store_locked(self.url) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.005)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
