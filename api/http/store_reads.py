"""Where a route's short read of the store runs: on the event loop when the store is a local
SQLite file, in a worker thread when it is over the network (PostgreSQL), except the
shortest and most frequent reads (a stream's head, a signed request's nonce with its
signer's head, an entry bundle, a hash tile: `LoopReads`), which PostgreSQL answers on the
loop too, over asyncio
connections of their own (PostgresLoopReads).

A SQLite read in WAL mode never waits for a writer: it is page-cache work, as short as the
Python around it, and handing it to a worker thread and back costs more than the read. Seen
under load (8 keep-alive clients, one server process): signed state reads went from 450 to
about 950 a second, public ones from 1,300 to 2,500, once their reads stayed on the loop.
A PostgreSQL read waits for the network: on the loop, it would stall every other request.

Only short reads go this way: a request's signature (the key's lookup, the nonce's record
in the nonce file), a project's kept state at its head, its version, the log's tiles and
checkpoint. Whatever may take long (folding a project anew, replays, reports, appends, which
wait for SQLite's one writer) stays in a worker thread."""

from __future__ import annotations

from typing import Any, Callable, Protocol, TypeVar
from uuid import UUID

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ledger.ledger import Ledger
from ledger.stores.postgres import PostgresLoopReads

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


class LocalLoopReads:
    """SQLite's loop reads: the recorder's own, made on the loop (a local file's read is
    shorter than a thread's hop)."""

    def __init__(self, recorder: Any):
        self.recorder = recorder

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def stream_head(self, originator_id: UUID) -> tuple[int, bytes] | None:
        return self.recorder.stream_head(originator_id)

    async def remember_request_nonce_and_head(
            self, key_id: str, nonce: str, expires_at_unix: int,
            signer: UUID) -> tuple[bool, tuple[int, bytes] | None]:
        return self.recorder.remember_request_nonce_and_head(key_id, nonce, expires_at_unix,
                                                             signer)

    async def entry_hashes(self, first: int, count: int) -> tuple[int, bytes]:
        return self.recorder.entry_hashes(first, count)

    async def tile_hashes(self, first_key: int, count: int) -> tuple[int, bytes]:
        return self.recorder.tile_hashes(first_key, count)


def loop_reads(ledger: Ledger) -> LoopReads:
    """The loop reads of the ledger's store (to be opened and closed on the server's loop)."""
    url = ledger.url
    if url.engine == "sqlite":
        return LocalLoopReads(ledger.recorder)
    return PostgresLoopReads(url.host, url.port, url.database, url.user, url.password,
                             url.schema)
