"""The application: the routers, the problem handlers, the body limit, and the ledger it
serves. Each server process opens its own ledger when it starts and closes it when it stops
(after the requests in flight have finished: an append is one transaction, so nothing is
ever half-written). Several processes, on one machine or several, may serve one PostgreSQL
store: the store orders their appends (docs/operations.md)."""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable, Sequence

from fastapi import FastAPI

from ledger.ledger import Ledger

from . import actions, health, problems, projects, signed_requests, tiles, witness_push

TITLE = "Sunledger"
DESCRIPTION = ("The audit ledger of a public resource trading centre (公共资源交易中心): signed "
               "trading actions in, receipts, proofs and the Merkle log out. Writes are signed "
               "actions (docs/evidence-format.md §6); errors are RFC 9457 problem+json. "
               "docs/api.md explains how to sign.")


def create_app(open_ledger: Callable[[], Ledger],
               witnesses: Sequence[tuple[str, str]] = (),
               witness_timing: witness_push.PushTiming | None = None) -> FastAPI:
    """The app over the ledger `open_ledger()` returns when the server starts; it sends
    each newer checkpoint to the `witnesses` ((URL, verifier key) each) in the background."""
    configured = [witness_push.WitnessConfig(url, key) for url, key in witnesses]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.ledger = open_ledger()
        app.state.witness_pusher = witness_push.WitnessPusher(app.state.ledger.recorder,
                                                              configured, witness_timing)
        app.state.witness_pusher.start()
        try:
            yield
        finally:
            app.state.witness_pusher.stop()
            app.state.ledger.close()

    from importlib.metadata import version

    app = FastAPI(title=TITLE, description=DESCRIPTION, version=version("sunledger"),
                  lifespan=lifespan)
    problems.install(app)
    app.add_middleware(problems.BodyLimit)
    app.include_router(health.router)
    app.include_router(actions.router)
    app.include_router(projects.router)
    app.include_router(witness_push.router)
    app.include_router(signed_requests.router)
    app.include_router(tiles.router)
    return app


# `sunledger serve --workers N` starts each worker process from this factory, with the store
# and the key in the environment (uvicorn imports the app by name in each worker)
STORE_VARIABLE, KEY_VARIABLE = "SUNLEDGER_SERVE_STORE", "SUNLEDGER_SERVE_LEDGER_KEY"
WITNESSES_VARIABLE = "SUNLEDGER_SERVE_WITNESSES"  # JSON: [[URL, verifier key], ...]


def from_environment() -> FastAPI:
    store = os.environ[STORE_VARIABLE]
    key = os.environ.get(KEY_VARIABLE)
    witnesses = [tuple(w) for w in json.loads(os.environ.get(WITNESSES_VARIABLE) or "[]")]
    return create_app(lambda: Ledger.open(store, key_path=Path(key) if key else None, create=False),
                      witnesses)
