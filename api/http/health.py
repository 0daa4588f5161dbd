"""Whether the server is up (`/healthz`: the process answers) and ready (`/readyz`: its store
answers a query now)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from ledger.errors import LedgerError

from .problems import problem, problem_responses

router = APIRouter(tags=["health"])


@with_config(ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]}))
class Health(TypedDict):
    status: Literal["ok"]


@with_config(ConfigDict(json_schema_extra={"examples": [{"status": "ready", "tree_size": 11}]}))
class Ready(TypedDict):
    """The store answered: the number of leaves in its Merkle log."""

    status: Literal["ready"]
    tree_size: int


@router.get("/healthz", summary="The server process answers",
            response_description="the process answers")
def healthz() -> Health:
    """200 whenever the process answers, whatever its store does (a liveness probe)."""
    return {"status": "ok"}


@router.get("/readyz", summary="The server's store answers", response_model=Ready,
            response_description="the store answered: the size of its log",
            responses=problem_responses(503))
def readyz(request: Request) -> Ready | JSONResponse:
    """200 with the log's size when the store answers a query now, else 503 (a readiness
    probe: take the process out of the load balancer until it answers again)."""
    ledger = request.app.state.ledger
    try:
        size = ledger.recorder.tree_size()
    except LedgerError as error:
        return problem(503, "store-unavailable", error.message)
    except Exception as error:  # the driver's own error: the store is down
        return problem(503, "store-unavailable", f"the store does not answer: {error}")
    return {"status": "ready", "tree_size": size}
