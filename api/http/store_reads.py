"""Where a server's reads of the store run.

The shortest and most frequent (a stream's head, a signed request's nonce with its signer's
head, an entry bundle, a hash tile: `LoopReads`, app.state.loop_reads) run on the event loop
on both engines: SQLite through a reading connection of its own (SQLiteLoopReads),
PostgreSQL over asyncio connections of its own (PostgresLoopReads), which await the network
without holding up other requests. Other short reads (`short_read`: the latest checkpoint, a
tile's first read) run on the loop for SQLite and in a worker thread for PostgreSQL, whose
blocking driver would stall the loop.

A SQLite read in WAL mode never waits for a writer: it is page-cache work, as short as the
Python around it, and handing it to a worker thread and back costs more than the read. Seen
under load (8 keep-alive clients, one server process): signed state reads went from 450 to
about 950 a second, public ones from 1,300 to 2,500, once their reads stayed on the loop.
Whatever may take long (folding a project anew, replays, reports, appends, which wait for
SQLite's one writer) stays in a worker thread."""

from __future__ import annotations

from typing import Any, Callable, Protocol, TypeVar
from uuid import UUID

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ledger.ledger import Ledger
from ledger.stores.postgres import PostgresLoopReads
from ledger.stores.sqlite import SQLiteLoopReads

T = TypeVar("T")


def reads_on_loop(request: Request) -> bool:
    """Whether the app's store is read on the event loop (a local SQLite file)."""
    return getattr(request.app.state.ledger.recorder, "reads_are_local", False)


async def short_read(request: Request, read: Callable[..., T], *args: Any) -> T:
    """`read(*args)`, a short read of the store: on the event loop for SQLite, in a worker
    thread for PostgreSQL."""
    if reads_on_loop(request):
        return read(*args)
    return await run_in_threadpool(read, *args)


class LoopReads(Protocol):
    """The reads a server makes on its event loop on either engine (app.state.loop_reads)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def stream_head(self, originator_id: UUID) -> tuple[int, bytes] | None: ...

    async def remember_request_nonce_and_head(
            self, key_id: str, nonce: str, expires_at_unix: int,
            signer: UUID) -> tuple[bool, tuple[int, bytes] | None]: ...

    async def entry_hashes(self, first: int, count: int) -> tuple[int, bytes]: ...

    async def tile_hashes(self, first_key: int, count: int) -> tuple[int, bytes]: ...


def loop_reads(ledger: Ledger) -> LoopReads:
    """The loop reads of the ledger's store (to be opened and closed on the server's loop)."""
    url = ledger.url
    if url.engine == "sqlite":
        return SQLiteLoopReads(url.path, ledger.recorder)
    return PostgresLoopReads(url.host, url.port, url.database, url.user, url.password,
                             url.schema)
