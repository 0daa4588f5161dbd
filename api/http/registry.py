"""The registry and the log's key, both public (docs/visibility.md): who an actor is as the
centre registered it (its `actor:<id>` stream: name, organisation, roles, each key with when
it was added and revoked, the certificates behind them), and the verifier key that checks
the log's checkpoints. A verifier needs both to check a signature without our code."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, TypedDict

from ledger.errors import NotInLog
from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.registry import KeyRecord, apply_actor_event, new_actor
from ledger.log.checkpoints import log_verifier_key
from ledger.log.proofs import log_identity
from projections.project_state import project_events

from .problems import problem_responses

router = APIRouter(prefix="/v1", tags=["registry"])
ADDING = ("actor.key-added/v1", "actor.certificate-added/v1", "actor.key-rotated/v1")


# --- the answers (examples: the demo's ledger, `sunledger demo`) --------------------------------

class Certificate(TypedDict):
    """The X.509 certificate a key was added with (actor.certificate-added/v1)."""

    serial: Annotated[str, Field(description="its serial number, in hex")]
    issuer: Annotated[str, Field(description="the CA that issued it (a CA the ledger trusts)")]
    subject: str
    fingerprint: Annotated[str, Field(description="the SHA-256 of its DER")]


class ActorKey(TypedDict):
    """A key the actor was given: when (ledger times), its validity, the certificate behind it."""

    key_id: Annotated[str, Field(description="32 lowercase hex digits")]
    public_key: Annotated[str, Field(description="the Ed25519 public key, base64")]
    added_at: str | None
    revoked_at: Annotated[str | None, Field(description="null while it is not revoked")]
    not_before: Annotated[str | None, Field(description="its certificate's validity, if any")]
    not_after: str | None
    certificate: Certificate | None


VERIFIER_KEY_EXAMPLE = ("sunledger.example/liling-demo+f42072cb+"
                        "ASyYgKwsjrqRgLSaMAED9OWBmS9wjPZO+1UhAOll6vtJ")


@with_config(ConfigDict(json_schema_extra={"examples": [  # no null: FastAPI drops them
    {"actor": "bidder-02", "name": "虚构第2建筑工程有限公司", "organisation": "虚构第2建筑工程有限公司",
     "roles": ["bidder"], "registered_at": "2025-03-01T01:00:00.000000Z",
     "keys": [{"key_id": "57525f8ac7f89ca8a9fc66e682d416ae",
               "public_key": "FsnfflOGZDcvUcMaVwbnpYkNkAHsBv6kUDgt1FgXSG4=",
               "added_at": "2025-03-01T01:00:00.000000Z",
               "revoked_at": "2025-04-15T02:00:00.000000Z",
               "not_before": "2025-01-12T03:00:00.000000Z",
               "not_after": "2027-01-12T03:00:00.000000Z",
               "certificate": {"serial": "736e3508c589f536",
                               "issuer": "CN=湖南虚构数字证书认证中心（演示）",
                               "subject": "CN=虚构第2建筑工程有限公司",
                               "fingerprint": "881794fa7963fd2b44d37ff8e0a2132827e35d09610949"
                                              "8893fc7a10473856b6"}}]},
    {"actor": "ledger", "name": "ledger", "organisation": "sunledger.example/liling-demo",
     "roles": ["registrar"], "log_key": VERIFIER_KEY_EXAMPLE}]}))
class Actor(TypedDict):
    """An actor as registered (its actor:<id> stream), or the ledger itself (`ledger`: its
    key is the log's)."""

    actor: str
    name: str
    organisation: Annotated[str, Field(description="for the ledger itself, the log's origin")]
    roles: list[str]
    registered_at: NotRequired[Annotated[str, Field(description="the ledger time of its "
                                                                "registration")]]
    keys: NotRequired[Annotated[list[ActorKey], Field(description="every key it was given, "
                                                                  "revoked ones too")]]
    log_key: NotRequired[Annotated[str, Field(description="the ledger itself only: the log's "
                                                          "verifier key")]]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "origin": "sunledger.example/liling-demo", "verifier_key": VERIFIER_KEY_EXAMPLE,
    "public_key": "LJiArCyOupGAtJowAQP05YGZL3CM9k77VSEA6WXq+0k="}]}))
class LogKey(TypedDict):
    """The key that checks the log's checkpoints."""

    origin: Annotated[str, Field(description="the log's origin (its checkpoints' first line)")]
    verifier_key: Annotated[str, Field(description="C2SP signed-note verifier key: "
                                                   "<origin>+<key hash>+<base64 key>")]
    public_key: Annotated[str, Field(description="the Ed25519 public key, base64")]


def _time(moment) -> str | None:
    return format_time(moment) if moment is not None else None


def _key_json(key: KeyRecord, added_at: str | None) -> dict:
    certificate = key.certificate
    return {"key_id": key.key_id, "public_key": base64.b64encode(key.public_key).decode(),
            "added_at": added_at, "revoked_at": key.revoked_at,
            "not_before": _time(key.not_before), "not_after": _time(key.not_after),
            "certificate": None if certificate is None else {
                "serial": certificate.serial, "issuer": certificate.issuer,
                "subject": certificate.subject, "fingerprint": certificate.fingerprint}}


def _ledger_itself(request: Request) -> dict:
    """The ledger's own actor: its key is the log's (ledger.started/v1)."""
    origin, public_key = log_identity(request.app.state.ledger.recorder)
    return {"actor": LEDGER_ACTOR, "name": "ledger", "organisation": origin,
            "roles": ["registrar"], "log_key": log_verifier_key(origin, public_key)}


@router.get("/actors/{actor}", summary="An actor as registered, with its keys",
            response_description="the actor's registration and keys",
            responses=problem_responses((404, "no such actor registered")))
def actor(request: Request, actor: str = Path(description="the actor's id",
                                               examples=["bidder-hengtai"])) -> Actor:
    """The actor's registration (name, organisation, roles) and every key it was given, with
    the ledger times it was added and revoked, its validity, and the certificate behind it
    (serial, issuer, subject). Public: verifiers judge signatures by it."""
    if actor == LEDGER_ACTOR:
        return _ledger_itself(request)
    events = project_events(request.app.state.ledger.recorder, f"actor:{actor}")
    if not events:
        raise NotInLog(f"no actor {actor!r} is registered on this ledger", actor=actor)
    record = new_actor(events[0])
    added = {}
    for event in events[1:]:
        apply_actor_event(record, event)
        if event["type"] in ADDING:
            added[event["payload"]["key_id"]] = event["ledger_time"]
    return {"actor": actor, "name": record.name, "organisation": record.organisation,
            "roles": sorted(record.roles), "registered_at": events[0]["ledger_time"],
            "keys": [_key_json(key, added.get(kid)) for kid, key in record.keys.items()]}


@router.get("/log-key", summary="The log's verifier key",
            response_description="the verifier key, its origin and public key",
            responses=problem_responses((404, "the store has no ledger.started/v1 event")))
def log_key(request: Request) -> LogKey:
    """The verifier key (C2SP signed-note: `<origin>+<key hash>+<base64 key>`) that checks the
    log's checkpoints, with the origin and the Ed25519 public key it names, as
    `sunledger log-key` prints it. Public: compare it with the one the centre publishes."""
    origin, public_key = log_identity(request.app.state.ledger.recorder)
    return {"origin": origin, "verifier_key": log_verifier_key(origin, public_key),
            "public_key": base64.b64encode(public_key).decode()}
