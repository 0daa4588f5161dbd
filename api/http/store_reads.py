"""Where a route's short read of the store runs: on the event loop when the store is a local
SQLite file, in a worker thread when it is over the network (PostgreSQL).

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

from typing import Any, Callable, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

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
