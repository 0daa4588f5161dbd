"""Whether the server is up (`/healthz`: the process answers) and ready (`/readyz`: its store
answers a query now)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ledger.errors import LedgerError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The server process answers")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="The server's store answers",
            responses={503: {"description": "the store does not answer (problem+json)"}})
def readyz(request: Request) -> JSONResponse:
    from .problems import problem

    ledger = request.app.state.ledger
    try:
        size = ledger.recorder.tree_size()
    except LedgerError as error:
        return problem(503, "store-unavailable", error.message)
    except Exception as error:  # the driver's own error: the store is down
        return problem(503, "store-unavailable", f"the store does not answer: {error}")
    return JSONResponse({"status": "ready", "tree_size": size})
