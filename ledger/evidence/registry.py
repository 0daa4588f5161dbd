"""Who may sign: actors, their keys and certificates, and the trust anchors, as a pure fold
over the registry events. The ledger consults it before every append; the verifier rebuilds it
in global order, so that each signature is judged against the key valid at that point."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import datetime

from ledger.errors import (
    BadCertificate, KeyNotValid, KeyRevoked, MalformedAction, NotPermitted, UnknownActor,
    UnknownKey,
)
from .canonical import parse_time
from .certificates import CertificateFacts, certificate_facts, issued_by
from .envelope import LEDGER_ACTOR
from .keys import key_id


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    public_key: bytes
    not_before: datetime | None = None
    not_after: datetime | None = None
    certificate: CertificateFacts | None = None
    certificate_der: bytes | None = None
    revoked_at: str | None = None  # ledger time of the revocation
    added_position: int | None = None  # global positions, known when the verifier replays
    revoked_position: int | None = None


@dataclass
class ActorRecord:
    actor_id: str
    name: str
    roles: frozenset[str]
    organisation: str
    keys: dict[str, KeyRecord] = field(default_factory=dict)


@dataclass
class TrustAnchors:
    """The ledger's own key and origin (from `ledger.started/v1`) and the trusted CAs."""

    origin: str | None = None
    public_key: bytes | None = None
    cas: dict[str, bytes] = field(default_factory=dict)  # fingerprint → DER


def ledger_actor(anchors: TrustAnchors) -> ActorRecord:
    """The ledger signs its own start and may register actors: it is the first registrar."""
    record = ActorRecord(LEDGER_ACTOR, "ledger", frozenset({"registrar"}), anchors.origin or "")
    if anchors.public_key is not None:
        kid = key_id(anchors.public_key)
        record.keys[kid] = KeyRecord(kid, anchors.public_key)
    return record


def start_problem(event: dict) -> str | None:
    """What, apart from its signature, keeps a `ledger.started/v1` event (of the shape its
    type requires) from being the ledger's self-signed start (evidence-format §11.2)."""
    announced = key_id(base64.b64decode(event["payload"]["public_key"]))
    if event["actor"] != LEDGER_ACTOR:
        return f"its actor is {event['actor']!r}, not {LEDGER_ACTOR!r}"
    if event["key_id"] != announced:
        return "its key_id is not the key id of payload.public_key"
    if event["nonce"] != announced:
        return "its nonce is not the key id of payload.public_key"
    return None


# --- folding registry events ---------------------------------------------------------------

def apply_ledger_event(anchors: TrustAnchors, event: dict) -> None:
    payload = event["payload"]
    if event["type"] == "ledger.started/v1":
        anchors.origin = payload["origin"]
        anchors.public_key = base64.b64decode(payload["public_key"])
    elif event["type"] == "ledger.ca-trusted/v1":
        anchors.cas[payload["fingerprint"]] = base64.b64decode(payload["certificate"])


def new_actor(event: dict) -> ActorRecord:
    payload = event["payload"]
    return ActorRecord(
        actor_id=event["stream"].split(":", 1)[1],
        name=payload["name"],
        roles=frozenset(payload["roles"]),
        organisation=payload["organisation"],
    )


def apply_actor_event(record: ActorRecord, event: dict, position: int | None = None) -> None:
    payload, kind = event["payload"], event["type"]
    if kind == "actor.key-added/v1":
        record.keys[payload["key_id"]] = _raw_key(payload, position)
    elif kind == "actor.certificate-added/v1":
        der = base64.b64decode(payload["certificate"])
        facts = certificate_facts(der)
        record.keys[payload["key_id"]] = KeyRecord(
            payload["key_id"], facts.public_key, facts.not_before, facts.not_after, facts, der,
            added_position=position,
        )
    elif kind == "actor.key-revoked/v1":
        _revoke(record, payload["key_id"], event["ledger_time"], position)
    elif kind == "actor.key-rotated/v1":
        _revoke(record, payload["old_key_id"], event["ledger_time"], position)
        record.keys[payload["key_id"]] = _raw_key(payload, position)


def _raw_key(payload: dict, position: int | None) -> KeyRecord:
    return KeyRecord(
        payload["key_id"],
        base64.b64decode(payload["public_key"]),
        parse_time(payload["not_before"]) if "not_before" in payload else None,
        parse_time(payload["not_after"]) if "not_after" in payload else None,
        added_position=position,
    )


def _revoke(record: ActorRecord, kid: str, ledger_time: str, position: int | None) -> None:
    if kid in record.keys and record.keys[kid].revoked_at is None:
        record.keys[kid] = replace(record.keys[kid], revoked_at=ledger_time,
                                   revoked_position=position)


# --- judging a signer -----------------------------------------------------------------------

def usable_key(record: ActorRecord | None, actor: str, kid: str, at: datetime,
               position: int | None = None) -> KeyRecord:
    """The key `kid` of `actor` if it may sign at ledger time `at`; a typed refusal otherwise.

    With `position` (the verifier), the registry is judged as it stood just before that
    global position; without it (the ledger), as it stands now. A certificate's issuer was
    checked against the trusted CAs when it was added; its validity period is checked here,
    at every use."""
    if record is None:
        raise UnknownActor(f"actor {actor!r} is not registered on this ledger", actor=actor)
    key = record.keys.get(kid)
    if key is None or (position is not None and key.added_position is not None
                       and key.added_position >= position):
        raise UnknownKey(f"actor {actor!r} has no registered key {kid}", actor=actor, key_id=kid)
    if key.revoked_at is not None and (position is None or key.revoked_position is None
                                       or key.revoked_position < position):
        raise KeyRevoked(f"key {kid} of actor {actor!r} was revoked at {key.revoked_at}",
                         actor=actor, key_id=kid, revoked_at=key.revoked_at)
    if key.not_before is not None and at < key.not_before:
        raise KeyNotValid(f"key {kid} of actor {actor!r} is valid only from {key.not_before:%Y-%m-%dT%H:%M:%SZ}",
                          actor=actor, key_id=kid)
    if key.not_after is not None and at > key.not_after:
        raise KeyNotValid(f"key {kid} of actor {actor!r} expired at {key.not_after:%Y-%m-%dT%H:%M:%SZ}",
                          actor=actor, key_id=kid)
    return key


# Who may record each registry event (evidence-format §11.3, whose table the tests hold to
# this one): the ledger itself (its self-signed start, §11.2), a registrar (the ledger is
# one), or also the actor whose stream it is. Project steps and refusals: AUTHORITY
# (procedures/authority.py). Both sides, the write path and the verifier, judge by these.
LEDGER, REGISTRAR, OWN_ACTOR = "ledger", "registrar", "own actor"
REGISTRY_SIGNERS: dict[str, tuple[str, ...]] = {
    "ledger.started/v1": (LEDGER,),
    "ledger.ca-trusted/v1": (REGISTRAR,),
    "actor.registered/v1": (REGISTRAR,),
    "actor.key-added/v1": (REGISTRAR,),
    "actor.certificate-added/v1": (REGISTRAR,),
    "actor.key-revoked/v1": (REGISTRAR, OWN_ACTOR),
    "actor.key-rotated/v1": (REGISTRAR, OWN_ACTOR),
}


def check_registry_change(signer: ActorRecord, event_type: str, stream: str,
                          payload: dict, current: ActorRecord | None,
                          anchors: TrustAnchors, at: datetime) -> None:
    """Who may change the registry, and what a change must hold (refusals are typed)."""
    if stream == f"actor:{LEDGER_ACTOR}":
        raise NotPermitted(f"{LEDGER_ACTOR!r} is the ledger's own actor and cannot be registered")
    signers = REGISTRY_SIGNERS[event_type]
    if not ((REGISTRAR in signers and "registrar" in signer.roles)
            or (OWN_ACTOR in signers and stream == f"actor:{signer.actor_id}")
            or (LEDGER in signers and signer.actor_id == LEDGER_ACTOR)):
        said = {(REGISTRAR,): f"only a registrar may record {event_type}",
                (LEDGER,): f"only the ledger itself records {event_type}",
                (REGISTRAR, OWN_ACTOR): "a key may be revoked or rotated by its actor or a "
                                        "registrar"}[signers]
        raise NotPermitted(said, actor=signer.actor_id)

    if event_type == "actor.registered/v1" and current is not None:
        raise MalformedAction(f"{stream} is already registered", stream=stream)
    if event_type.startswith("actor.") and event_type != "actor.registered/v1" and current is None:
        raise UnknownActor(f"{stream} is not registered", stream=stream)
    if event_type in ("actor.key-added/v1", "actor.key-rotated/v1"):
        public_key = base64.b64decode(payload["public_key"])
        if key_id(public_key) != payload["key_id"]:
            raise MalformedAction("payload.key_id is not the key id of payload.public_key",
                                  expected=key_id(public_key))
        if current is not None and payload["key_id"] in current.keys:
            raise MalformedAction(f"key {payload['key_id']} is already registered", stream=stream)
    if event_type in ("actor.key-revoked/v1",) and (
        current is None or payload["key_id"] not in current.keys
        or current.keys[payload["key_id"]].revoked_at is not None
    ):
        raise UnknownKey(f"{stream} has no active key {payload['key_id']}", stream=stream)
    if event_type == "actor.key-rotated/v1" and (
        current is None or payload["old_key_id"] not in current.keys
        or current.keys[payload["old_key_id"]].revoked_at is not None
    ):
        raise UnknownKey(f"{stream} has no active key {payload['old_key_id']}", stream=stream)
    if event_type == "actor.certificate-added/v1":
        _check_certificate(payload, current, anchors, at)
    if event_type == "ledger.ca-trusted/v1":
        der = base64.b64decode(payload["certificate"])
        facts = certificate_facts(der)
        if not facts.is_ca:
            raise BadCertificate(f"{facts.subject} is not a CA certificate (basicConstraints ca)")
        if facts.fingerprint != payload["fingerprint"] or facts.subject != payload["subject"]:
            raise MalformedAction("payload.fingerprint and payload.subject must be the "
                                  "certificate's", fingerprint=facts.fingerprint,
                                  subject=facts.subject)


def _check_certificate(payload: dict, current: ActorRecord | None, anchors: TrustAnchors,
                       at: datetime) -> None:
    der = base64.b64decode(payload["certificate"])
    facts = certificate_facts(der)
    expected = {"fingerprint": facts.fingerprint, "serial": facts.serial,
                "issuer": facts.issuer, "key_id": key_id(facts.public_key)}
    wrong = {k: v for k, v in expected.items() if payload[k] != v}
    if wrong:
        raise MalformedAction("the payload must record the certificate's own "
                              + ", ".join(wrong), **wrong)
    if not any(issued_by(der, ca) for ca in anchors.cas.values()):
        raise BadCertificate(f"certificate {facts.serial} ({facts.issuer}) was not issued by a "
                             "CA this ledger trusts; trust the CA first", issuer=facts.issuer)
    if not facts.not_before <= at <= facts.not_after:
        raise KeyNotValid(f"certificate {facts.serial} is valid from {facts.not_before} to "
                          f"{facts.not_after}, not at {at}", serial=facts.serial)
    if current is not None and payload["key_id"] in current.keys:
        raise MalformedAction(f"key {payload['key_id']} is already registered")
