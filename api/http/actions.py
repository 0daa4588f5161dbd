"""Writes: signed actions (docs/evidence-format.md §6), one or a batch appended atomically.

The server holds no actor's key: it passes what the actor signed to the ledger, which decides.
An action sent again (the same signature: a client that lost the first answer) is answered
with the first receipt (200), never a second event; the same nonce with other content is a
conflict (409 nonce-reused), as is a version another append reached first (409 stale-version,
with the stream's current version). A bidder's sealed-stage action names no version and is
answered with a sealed receipt, without the version (evidence-format §6, §9.1; 法 §22)."""

from __future__ import annotations

from typing import Any

import json

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema

from ledger.errors import LedgerError, MalformedAction, NonceReused, StaleVersion
from ledger.evidence.catalogue import EVENT_TYPES
from ledger.evidence.envelope import SEALED_STAGE_TYPES, SignedAction, signed_action_from_json
from ledger.evidence.receipts import Receipt
from ledger.ledger import MAX_BATCH, Ledger

from .problems import problem_responses
from .signed_requests import request_body

router = APIRouter(prefix="/v1", tags=["actions"])


# the examples of the reference (/openapi.json): the action is signed by the example key of
# docs/api-signing.md §5 (public on purpose), the receipt by SHA-256("sunledger example ledger")
EXAMPLE_ACTION = {
    "actor": "bidder-hengtai", "expected_version": None, "key_id": "f8bd904d2ddd2b5946eef1b6209b68ab",
    "nonce": "9d4c1f0e8b7a69584736251403f2e1d0",
    "payload": {"bidder": "bidder-hengtai", "bid_hash": "3f1a" * 16},
    "signed_at": "2025-04-08T01:12:00.000000Z", "stream": "project:LILING-2025-SZ02",
    "type": "project.bid-submitted/v1"}
EXAMPLE_SIGNED = {"action": EXAMPLE_ACTION, "signature": "4CORZdRGYeK93vsCv91zRmixs4QX6CICY8be3CO+o"
                  "cxaN6nSIZuJ0eKvASZVx9M3C4wLyhQ/z5rSsS6zUfjrDA=="}
EXAMPLE_SEALED_RECORDED = {"receipt": {  # the example bid's: sealed, without its version
    "event_hash": "e4588208a74b11589bee8208765fda64818079c1a2f436440f882dfb14b45da3",
    "ledger_time": "2025-04-08T01:12:00.402117Z", "position": 1204,
    "receipt": "sunledger/sealed-receipt/v1", "stream": "project:LILING-2025-SZ02",
    "signature": "oABtGvFeIS0X4pJO8xerfjktRGjCYLBpLJ8OZVFcLl2jWPpUlAAFZzwAqXDSUQk4pPjxa3eigOEAwRvW"
                 "MvPOBg=="},
    "leaf_index": 1203}
EXAMPLE_RECORDED = {"receipt": {  # an action at the opening, which names its version
    "event_hash": "5b0c6a2f1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b",
    "ledger_time": "2025-04-08T01:31:05.118230Z", "position": 1290,
    "receipt": "sunledger/receipt/v1", "stream": "project:LILING-2025-SZ02", "version": 19,
    "signature": "MbiDbOJe8opcDSjIJFfNJ+vtzaRGW3CLEnNprA2CwRNYEws3bT74Sj/IktQuxoYSrIeLKSNnr4pumEZ+"
                 "u5KNDA=="},
    "leaf_index": 1289}


def _form(pattern: str) -> dict:
    """A format the ledger checks (check_form: malformed-action, each problem named), shown in
    the schema only: FastAPI's own check would answer with its messages instead."""
    return {"pattern": pattern}


class ActionBody(BaseModel):
    """The 8 members an actor signs (evidence-format §6)."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [EXAMPLE_ACTION]})

    actor: str = Field(description="the actor id (or `ledger`)")
    expected_version: int | None = Field(ge=0, description="the stream's version the actor "
                                         "saw; null for a bidder's sealed-stage action "
                                         "(evidence-format §6), which names no version")
    key_id: str = Field(description="32 lowercase hex digits: which registered key signs",
                        json_schema_extra=_form("^[0-9a-f]{32}$"))
    nonce: str = Field(description="16 to 32 random bytes in lowercase hex, never reused",
                       json_schema_extra=_form("^([0-9a-f]{2}){16,32}$"))
    payload: dict[str, Any] = Field(description="the event type's fields, ledger JSON "
                                                "(evidence-format §2, the catalogue §8)")
    signed_at: str = Field(description="RFC 3339 UTC time with microseconds, the actor's claim",
                           json_schema_extra=_form(
                               "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                               "\\.[0-9]{6}Z$"))
    stream: str = Field(description="project:<id>, actor:<id>, register:<id> or ledger")
    type: str = Field(description="the event type, e.g. project.bid-submitted/v1",
                      json_schema_extra={"enum": sorted(EVENT_TYPES)})


class SignedActionBody(BaseModel):
    """A signed action (evidence-format §6): the action and the actor's signature of it."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [EXAMPLE_SIGNED]})

    action: ActionBody
    signature: str = Field(description="Ed25519 over JCS(action), standard base64 (88 characters)",
                           json_schema_extra=_form("^[A-Za-z0-9+/]{85}[AQgw]==$"))


class ReceiptBody(BaseModel):
    """The ledger's receipt (evidence-format §9): its signed word that it recorded the event."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_RECORDED["receipt"]]})

    event_hash: str
    ledger_time: str
    position: int
    receipt: str = Field(description="always sunledger/receipt/v1")
    stream: str
    version: int
    signature: str = Field(description="Ed25519 by the ledger key over JCS(the other six members)")


class SealedReceiptBody(BaseModel):
    """The receipt of a bidder's sealed-stage action (evidence-format §9.1): the ledger's
    signed word without the version, which would count the project's events before the
    opening (法 §22). The event's full receipt is served with the project's events from the
    opening on."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_SEALED_RECORDED["receipt"]]})

    event_hash: str
    ledger_time: str
    position: int
    receipt: str = Field(description="always sunledger/sealed-receipt/v1")
    stream: str
    signature: str = Field(description="Ed25519 by the ledger key over JCS(the other five members)")


class Recorded(BaseModel):
    """A recorded action: the ledger's receipt, and the event's leaf (keep the receipt)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_RECORDED,
                                                              EXAMPLE_SEALED_RECORDED]})

    receipt: ReceiptBody | SealedReceiptBody
    leaf_index: int = Field(description="the event's leaf in the Merkle log (0-based)")


class RecordedBatch(BaseModel):
    """A batch's receipts, in the order sent (their leaves are consecutive)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"receipts": [EXAMPLE_SEALED_RECORDED]}]})

    receipts: list[Recorded]


ONE = TypeAdapter(SignedActionBody)
BATCH = TypeAdapter(list[SignedActionBody])


def body_schemas() -> dict[str, Any]:
    """The request bodies' schemas for the reference's components (openapi.py): the routes
    read their bodies themselves, so FastAPI does not put them there."""
    _, top = models_json_schema([(SignedActionBody, "validation")],
                                ref_template="#/components/schemas/{model}")
    return top["$defs"]


def _request_body(schema: dict, example: object) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": schema, "examples": {"signed": {"value": example}}}}}}


def _read(raw: bytes, content_type: str | None, adapter: TypeAdapter) -> Any:
    """The body as JSON, judged against the body's model straight from the bytes (one pass in
    pydantic's own parser, not JSON to Python objects and those through the model: a batch
    of 100 costs a fifth of the server's time that way). A body that does not fit answers
    what FastAPI's own check would: 422 malformed-request, each thing wrong listed."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise RequestValidationError([{"loc": ("body",), "msg": f"a signed action is sent as "
                                       f"application/json, not {media}", "type": "json_type"}])
    try:
        adapter.validate_json(raw, strict=True)
    except ValidationError as error:
        raise RequestValidationError([_located(e, raw) for e in error.errors(include_url=False)]
                                     ) from None
    # the shape is sound; the values as Python's JSON reads them (as FastAPI's check did),
    # for the ledger to judge their form (check_form: a float or a huge number is refused)
    return json.loads(raw)


def _located(error: dict, raw: bytes) -> dict:
    """A pydantic error as FastAPI's check names it: under `body`; unreadable JSON said once."""
    if error["type"] != "json_invalid":
        return {**error, "loc": ("body", *error["loc"])}
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"loc": ("body",), "msg": "not UTF-8; send JSON in UTF-8", "type": "json_type"}
    return {"loc": ("body",), "msg": "Invalid JSON", "type": "json_invalid", "ctx": error["ctx"]}


def _signed(submitted: dict) -> SignedAction:
    try:
        return signed_action_from_json(submitted)
    except ValueError as error:
        raise MalformedAction(str(error)) from None


def _append(ledger: Ledger, signed: list[SignedAction]) -> tuple[int, list[dict]]:
    """(status, recorded): 201 and the new receipts, or 200 and the first receipts of actions
    the ledger recorded already."""
    try:
        receipts, first_leaf = ledger.submit_at_leaves(*signed)
        status = 201
    except (NonceReused, StaleVersion) as error:
        (receipts, first_leaf), status = _recorded_before(ledger, signed, error), 200
    return status, [{"receipt": _receipt_for(ledger, s, r), "leaf_index": first_leaf + i}
                    for i, (s, r) in enumerate(zip(signed, receipts, strict=True))]


def _recorded_before(ledger: Ledger, signed: list[SignedAction],
                     error: LedgerError) -> tuple[list[Receipt], int]:
    """The first receipts and first leaf of actions refused as `error` because the ledger
    recorded these very actions before (a client sending them again); `error` is raised if
    that is not why."""
    if isinstance(error, (NonceReused, StaleVersion)):
        first = [ledger.recorded_receipt(s) for s in signed]
        if all(r is not None for r in first):
            return first, ledger.leaf_index_of(first[0])
    raise error


def _receipt_for(ledger: Ledger, signed: SignedAction, receipt: Receipt) -> dict:
    """The receipt as the signer may have it: a bidder's sealed-stage action gets the sealed
    receipt, without the version that counts the project's events (法 §22)."""
    if signed.action.type in SEALED_STAGE_TYPES:
        return receipt.sealed(ledger.key)
    return receipt.to_json()


ERRORS = problem_responses(
    (403, "unknown actor or key, revoked or invalid key, bad signature, or an actor without "
          "the right to this action"),
    (409, "refused by a trading rule (rule, article, and where the refusal was recorded), a "
          "stale version (the current version), or a reused nonce", {
              "type": "urn:sunledger:error:rule-refused", "title": "rule refused", "status": 409,
              "detail": "the bid came at 2025-04-08 01:31:02 UTC, the deadline was 2025-04-08 "
                        "01:30:00 UTC; rule late-bid (法 §28; 条例 §36): a bid received after "
                        "the deadline is refused",
              "rule": "late-bid", "article": "法 §28; 条例 §36", "recorded": True,
              "recorded_in": {"stream": "refusal:project:LILING-2025-SZ02", "position": 1206}}),
    (413, "a payload over 65,536 canonical bytes (oversized-payload), or a body over the "
          "limit (body-too-large)"),
    (422, "not a signed action as evidence-format §6 defines it (malformed-request, "
          "malformed-action: `problems` lists each thing wrong)"))


@router.post("/actions", status_code=201, response_model=Recorded, summary="Append one signed action",
             response_description="recorded: the receipt and the leaf",
             responses={200: {"model": Recorded, "description": "this very action was recorded "
                                                                "before: its first receipt"}, **ERRORS},
             openapi_extra=_request_body({"$ref": "#/components/schemas/SignedActionBody"},
                                         EXAMPLE_SIGNED))
def post_action(request: Request, raw: bytes = Depends(request_body)) -> Response:
    """The ledger checks the signer, its key and signature, the action's form and the trading
    rules, then appends the event in one transaction (201, with the ledger's signed receipt).
    The very same signed action sent again is answered 200 with its first receipt and no
    second event. A refusal by a trading rule is recorded as evidence and answered 409."""
    body = _read(raw, request.headers.get("content-type"), ONE)
    signed = _signed(body)
    ledger = request.app.state.ledger
    ledger.check_signatures([signed])  # here, not in the write turn the appends share
    # appended with the other single actions that arrive meanwhile (group commit), each
    # judged on its own merits, answered as if it had been sent alone
    outcome = request.app.state.group_commit.submit(signed)
    if isinstance(outcome, LedgerError):
        before = _recorded_before(ledger, [signed], outcome)
        (receipt,), leaf, status = *before, 200
    else:
        (receipt, leaf), status = outcome, 201
    return _answer({"receipt": _receipt_for(ledger, signed, receipt), "leaf_index": leaf}, status)


@router.post("/actions/batch", status_code=201, response_model=RecordedBatch,
             summary=f"Append 1 to {MAX_BATCH} signed actions atomically (all or none)",
             description=f"1 to {MAX_BATCH} signed actions, appended in one transaction, all "
                         "or none, in consecutive leaves; each is judged as POST /v1/actions "
                         "judges one, and the first refusal refuses the batch (a rule's refusal "
                         "is recorded all the same).",
             response_description="recorded: the receipts, in the order sent",
             responses={200: {"model": RecordedBatch, "description": "the whole batch was "
                                                                     "recorded before"}, **ERRORS},
             openapi_extra=_request_body({"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                                          "items": {"$ref": "#/components/schemas/SignedActionBody"}},
                                         [EXAMPLE_SIGNED]))
def post_batch(request: Request, raw: bytes = Depends(request_body)) -> Response:
    body = _read(raw, request.headers.get("content-type"), BATCH)
    if not 0 < len(body) <= MAX_BATCH:
        raise MalformedAction(f"a batch holds 1 to {MAX_BATCH} actions, not {len(body)}")
    ledger, signed = request.app.state.ledger, [_signed(b) for b in body]
    ledger.check_signatures(signed)  # here, not in the write turn the appends share
    status, recorded = _append(ledger, signed)
    return _answer({"receipts": recorded}, status)


def _answer(recorded: dict, status: int) -> Response:
    """The receipts as JSON, encoded by orjson (strings and integers only: the same JSON as
    the stdlib's, in a fifth of the time; a batch's answer was 3% of the server's work)."""
    return Response(orjson.dumps(recorded), status_code=status, media_type="application/json")


