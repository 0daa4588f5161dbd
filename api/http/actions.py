"""Writes: signed actions (docs/evidence-format.md §6), one or a batch appended atomically.

The server holds no actor's key: it passes what the actor signed to the ledger, which decides.
An action sent again (the same signature: a client that lost the first answer) is answered
with the first receipt (200), never a second event; the same nonce with other content is a
conflict (409 nonce-reused), as is a version another append reached first (409 stale-version,
with the stream's current version)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.errors import MalformedAction, NonceReused, StaleVersion
from ledger.evidence.envelope import SignedAction, signed_action_from_json
from ledger.ledger import MAX_BATCH, Ledger

router = APIRouter(prefix="/v1", tags=["actions"])


class ActionBody(BaseModel):
    """The 8 members an actor signs (evidence-format §6)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{
        "actor": "bidder-hengtai", "expected_version": 11, "key_id": "5f0c6ad1b0e3c2a4d9e8f7a6b5c4d3e2",
        "nonce": "9d4c1f0e8b7a69584736251403f2e1d0", "payload": {
            "bidder": "bidder-hengtai", "bid_hash": "3f1a" * 16},
        "signed_at": "2025-04-08T01:12:00.000000Z", "stream": "project:LILING-2025-SZ02",
        "type": "project.bid-submitted/v1"}]})

    actor: str = Field(description="the actor id (or `ledger`)")
    expected_version: int = Field(ge=0, description="the stream's version the actor saw")
    key_id: str = Field(description="32 lowercase hex digits: which registered key signs")
    nonce: str = Field(description="16 to 32 random bytes in lowercase hex, never reused")
    payload: dict[str, Any] = Field(description="the event type's fields, ledger JSON")
    signed_at: str = Field(description="RFC 3339 UTC time with microseconds, the actor's claim")
    stream: str = Field(description="project:<id>, actor:<id>, register:<id> or ledger")
    type: str = Field(description="the event type, e.g. project.bid-submitted/v1")


class SignedActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    action: ActionBody
    signature: str = Field(description="Ed25519 over JCS(action), standard base64 (88 characters)")


class ReceiptBody(BaseModel):
    """The ledger's receipt (evidence-format §9): its signed word that it recorded the event."""

    event_hash: str
    ledger_time: str
    position: int
    receipt: str = Field(description="always sunledger/receipt/v1")
    stream: str
    version: int
    signature: str = Field(description="Ed25519 by the ledger key over JCS(the other six members)")


class Recorded(BaseModel):
    receipt: ReceiptBody
    leaf_index: int = Field(description="the event's leaf in the Merkle log (0-based)")


class RecordedBatch(BaseModel):
    receipts: list[Recorded]


def _signed(body: SignedActionBody) -> SignedAction:
    try:
        return signed_action_from_json(body.model_dump())
    except ValueError as error:
        raise MalformedAction(str(error)) from None


def _append(ledger: Ledger, signed: list[SignedAction]) -> tuple[int, list[dict]]:
    """(status, recorded): 201 and the new receipts, or 200 and the first receipts of actions
    the ledger recorded already."""
    try:
        receipts = ledger.submit(*signed)
        status = 201
    except (NonceReused, StaleVersion):
        first = [ledger.recorded_receipt(s) for s in signed]
        if any(r is None for r in first):
            raise
        receipts, status = first, 200
    leaves = _leaf_indexes(ledger, receipts)
    return status, [{"receipt": r.to_json(), "leaf_index": leaf} for r, leaf in zip(receipts, leaves)]


def _leaf_indexes(ledger: Ledger, receipts: list) -> list[int]:
    """One append's leaves are consecutive (one transaction, in submission order)."""
    first = ledger.leaf_index_of(receipts[0])
    return [first + i for i in range(len(receipts))]


ERRORS = {
    403: {"description": "unknown actor or key, revoked or invalid key, bad signature, or an "
                         "actor without the right to this action (problem+json)"},
    409: {"description": "refused by a trading rule (rule, article, and where the refusal was "
                         "recorded), a stale version (the current version), or a reused nonce"},
    413: {"description": "a payload over 65,536 canonical bytes, or a body over the limit"},
    422: {"description": "not a signed action as evidence-format §6 defines it"},
}


@router.post("/actions", status_code=201, response_model=Recorded, summary="Append one signed action",
             responses={200: {"model": Recorded, "description": "this very action was recorded "
                                                                "before: its first receipt"}, **ERRORS})
def post_action(body: SignedActionBody, request: Request) -> JSONResponse:
    status, recorded = _append(request.app.state.ledger, [_signed(body)])
    return JSONResponse(recorded[0], status_code=status)


@router.post("/actions/batch", status_code=201, response_model=RecordedBatch,
             summary=f"Append 1 to {MAX_BATCH} signed actions atomically (all or none)",
             responses={200: {"model": RecordedBatch, "description": "the whole batch was "
                                                                     "recorded before"}, **ERRORS})
def post_batch(body: list[SignedActionBody], request: Request) -> JSONResponse:
    if not 0 < len(body) <= MAX_BATCH:
        raise MalformedAction(f"a batch holds 1 to {MAX_BATCH} actions, not {len(body)}")
    status, recorded = _append(request.app.state.ledger, [_signed(b) for b in body])
    return JSONResponse({"receipts": recorded}, status_code=status)


