"""The application: the routers, the problem handlers, the body limit, and the ledger it
serves. Each server process opens its own ledger when it starts and closes it when it stops
(after the requests in flight have finished: an append is one transaction, so nothing is
ever half-written). Several processes, on one machine or several, may serve one PostgreSQL
store: the store orders their appends (docs/operations.md)."""

from __future__ import annotations

import json
import os
import signal
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable, Sequence

from fastapi import FastAPI

from ledger.group_commit import GroupCommit
from ledger.ledger import Ledger
from projections.projects_now import ProjectsNow

from .. import portal

from . import actions, health, openapi, problems, projects, signed_requests, tiles, witness_push
from . import listings, proofs, registry, reports, store_reads, supervision

TITLE = "Sunledger"
DESCRIPTION = ("The audit ledger of a public resource trading centre (公共资源交易中心): signed "
               "trading actions in, receipts, proofs and the Merkle log out. Writes are signed "
               "actions (docs/evidence-format.md §6); reads that are not public are signed "
               "requests (RFC 9421). docs/api.md and docs/api-signing.md explain how to sign."
               "\n\nEvery error is an RFC 9457 problem (application/problem+json, schema "
               "Problem) with a stable type, urn:sunledger:error:<code>; none carries a stack "
               "trace. Besides the answers each operation lists, a path the API does not have "
               "is answered 404 not-found, and a method a path does not take 405 "
               "method-not-allowed, with Allow naming those it takes.")


def server_stopping() -> Callable[[], bool]:
    """Whether the server has been told to stop: uvicorn's signal handler (installed before
    the app starts) belongs to its Server, whose `should_exit` it sets; a long answer (a
    server-sent event stream) ends when it does, so a graceful stop does not wait for it.
    Under any other runner, never."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    if server is not None and hasattr(server, "should_exit"):
        return lambda: bool(server.should_exit)
    return lambda: False


def create_app(open_ledger: Callable[[], Ledger],
               witnesses: Sequence[tuple[str, str]] = (),
               witness_timing: witness_push.PushTiming | None = None,
               reports_folder: Path | None = None) -> FastAPI:
    """The app over the ledger `open_ledger()` returns when the server starts; it sends
    each newer checkpoint to the `witnesses` ((URL, verifier key) each) in the background,
    and serves the witness reports' PDFs the reporter wrote to `reports_folder`."""
    configured = [witness_push.WitnessConfig(url, key) for url, key in witnesses]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.ledger = open_ledger()
        app.state.projects_now = ProjectsNow(app.state.ledger.recorder)  # projects.py's reads
        app.state.group_commit = GroupCommit(app.state.ledger)  # actions.py's single actions
        app.state.loop_reads = store_reads.loop_reads(app.state.ledger)  # heads, nonces
        await app.state.loop_reads.open()
        app.state.witness_pusher = witness_push.WitnessPusher(app.state.ledger.recorder,
                                                              configured, witness_timing)
        app.state.witness_pusher.start()
        app.state.stopping = server_stopping()  # long answers (the portal's live timeline)
        try:
            yield
        finally:
            app.state.witness_pusher.stop()
            await app.state.loop_reads.close()
            app.state.ledger.close()

    from importlib.metadata import version

    app = FastAPI(title=TITLE, description=DESCRIPTION, version=version("sunledger"),
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # /docs: openapi.install
    app.state.reports = reports_folder  # api/http/reports.py
    app.state.tile_memory = tiles.TileMemory()  # api/http/tiles.py: what never changes
    problems.install(app)
    openapi.install(app)
    app.add_middleware(problems.BodyLimit)
    app.include_router(health.router)
    app.include_router(actions.router)
    app.include_router(projects.router)
    app.include_router(witness_push.router)
    app.include_router(signed_requests.router)
    app.include_router(tiles.router)
    app.include_router(reports.router)
    app.include_router(supervision.router)
    app.include_router(listings.router)
    app.include_router(registry.router)
    app.include_router(proofs.router)
    app.include_router(portal.router)  # the web pages (api/portal/)
    app.mount("/portal/static", portal.static_files, name="portal-static")
    return app


# `sunledger serve --workers N` starts each worker process from this factory, with the store
# and the key in the environment (uvicorn imports the app by name in each worker)
STORE_VARIABLE, KEY_VARIABLE = "SUNLEDGER_SERVE_STORE", "SUNLEDGER_SERVE_LEDGER_KEY"
WITNESSES_VARIABLE = "SUNLEDGER_SERVE_WITNESSES"  # JSON: [[URL, verifier key], ...]
REPORTS_VARIABLE = "SUNLEDGER_SERVE_REPORTS"  # the reports folder, if any


def from_environment() -> FastAPI:
    store = os.environ[STORE_VARIABLE]
    key = os.environ.get(KEY_VARIABLE)
    witnesses = [tuple(w) for w in json.loads(os.environ.get(WITNESSES_VARIABLE) or "[]")]
    reports = os.environ.get(REPORTS_VARIABLE)
    return create_app(lambda: Ledger.open(store, key_path=Path(key) if key else None, create=False),
                      witnesses, reports_folder=Path(reports) if reports else None)
