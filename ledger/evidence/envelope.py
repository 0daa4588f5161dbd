"""The event envelope: what an actor signs, what the ledger seals, and how both are hashed.

Pure functions only. docs/evidence-format.md states every byte of this module.

    action   = {actor, expected_version, key_id, nonce, payload, signed_at, stream, type}
    signature = Ed25519(actor key, JCS(action))
    event    = action − expected_version + {version, ledger_time, prev, signature}
               (version = expected_version + 1; a bidder's sealed-stage action names no
               version, expected_version null, and goes to the stream's head)
    hash     = SHA-256(JCS(event))            (the event without its own hash)
    stored   = JCS(event + {hash})
"""

from __future__ import annotations

import base64
import functools
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass

from .canonical import canonical_json
from .keys import signature_ok

ZERO_HASH = "00" * 32  # `prev` of the first event of a stream: 32 zero bytes, in hex
# Formats, matched whole (fullmatch): no trailing newline slips through.
HASH_HEX = re.compile(r"[0-9a-f]{64}")
KEY_ID = re.compile(r"[0-9a-f]{32}")
NONCE = re.compile(r"(?:[0-9a-f]{2}){16,32}")  # 16 to 32 bytes, in hex
IDENTIFIER = re.compile(r"\w[\w.\-/]{0,127}")
STREAM = re.compile(r"ledger|(?:actor|project|refusal|register):\w[\w.\-/]{0,127}")

ACTION_FIELDS = frozenset(
    ("actor", "expected_version", "key_id", "nonce", "payload", "signed_at", "stream", "type")
)
EVENT_FIELDS = frozenset(
    ("actor", "hash", "key_id", "ledger_time", "nonce", "payload", "prev", "signature",
     "signed_at", "stream", "type", "version")
)

_STREAM_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sunledger:stream")


@functools.lru_cache(maxsize=65536)
def stream_uuid(stream: str) -> uuid.UUID:
    """The stored originator id of a stream: UUIDv5 of its name (docs: 'Stream ids')."""
    return uuid.uuid5(_STREAM_NAMESPACE, stream)


@functools.lru_cache(maxsize=65536)
def stream_id_hex(stream: str) -> str:
    """The stored originator id of a stream as SQLite keeps it: 32 lowercase hex digits."""
    return stream_uuid(stream).hex


def project_stream(project_id: str) -> str:
    return f"project:{project_id}"


def actor_stream(actor_id: str) -> str:
    return f"actor:{actor_id}"


LEDGER_STREAM = "ledger"
LEDGER_ACTOR = "ledger"

# A bidder's actions that may come before the opening name no version (`expected_version`
# null, §6): the project's version counts every event before it, so signing at a version
# would tell the bidder how many others obtained documents or bid (法 §22). The ledger places
# them at the stream's head, whenever they come; every other action names the version it saw.
SEALED_STAGE_TYPES = frozenset((
    "project.documents-obtained/v1",
    "project.objection-raised/v1",
    "project.security-posted/v1",
    "project.bid-submitted/v1",
    "project.bid-withdrawn/v1",
    "project.challenge-raised/v1",
    "project.complaint-filed/v1",
    # a rights transaction's bidders: who registered and who quoted stays secret until the
    # listing closes, and quotes race each other (many a second in a timed round): none can
    # sign the version it will have
    "project.bidder-registered/v1",
    "project.quote-submitted/v1",
    "project.continuation-requested/v1",
))


def signed_version(type_: str, version: int) -> int | None:
    """The `expected_version` an action of this type signs when its stream is at `version`:
    that version, or None (null) for a bidder's sealed-stage action."""
    return None if type_ in SEALED_STAGE_TYPES else version


@dataclass(frozen=True)
class Action:
    """A trading action as its actor submits and signs it."""

    stream: str
    type: str
    payload: dict
    actor: str
    key_id: str
    expected_version: int | None  # None (null) for exactly the SEALED_STAGE_TYPES
    nonce: str
    signed_at: str

    def to_json(self) -> dict:
        return {
            "actor": self.actor,
            "expected_version": self.expected_version,
            "key_id": self.key_id,
            "nonce": self.nonce,
            "payload": self.payload,
            "signed_at": self.signed_at,
            "stream": self.stream,
            "type": self.type,
        }

    def signing_bytes(self) -> bytes:
        """The bytes the actor's Ed25519 signature covers: JCS(action)."""
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class SignedAction:
    action: Action
    signature: bytes  # 64 bytes of Ed25519 signature

    def to_json(self) -> dict:
        return {"action": self.action.to_json(), "signature": encode_signature(self.signature)}

    def verifies_with(self, public_key: bytes) -> bool:
        """Whether the signature verifies with `public_key` over JCS(action) (Ed25519,
        libsodium). The answer is kept on this signed action (a pure function of it and the
        key): a server checks it before the append takes the write turn (Ledger.
        check_signatures), and the append, judging the key again, does not check it twice."""
        known = self.__dict__.setdefault("_verified_with", {})  # frozen: not a field
        if public_key not in known:
            known[public_key] = signature_ok(public_key, self.action.signing_bytes(),
                                             self.signature)
        return known[public_key]


def signed_action_from_json(submitted: object) -> SignedAction:
    """A signed action as a client submits it (§6): `{"action": {the 8 members}, "signature":
    "<base64>"}`, nothing more or less. The members' formats are judged when the ledger
    decides (check_form); here only the shape. ValueError says what is wrong."""
    if not isinstance(submitted, dict) or set(submitted) != {"action", "signature"}:
        raise ValueError('a signed action is {"action": {...}, "signature": "<base64>"}, '
                         "with no other member")
    action = submitted["action"]
    if not isinstance(action, dict) or set(action) != ACTION_FIELDS:
        have = set(action) if isinstance(action, dict) else set()
        raise ValueError("the action must have exactly the members "
                         + ", ".join(sorted(ACTION_FIELDS))
                         + (f"; missing {', '.join(sorted(ACTION_FIELDS - have))}" if ACTION_FIELDS - have else "")
                         + (f"; unknown {', '.join(sorted(have - ACTION_FIELDS))}" if have - ACTION_FIELDS else ""))
    if not isinstance(submitted["signature"], str):
        raise ValueError("signature must be a base64 string")
    return SignedAction(Action(**action), decode_signature(submitted["signature"]))


def encode_signature(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text: str) -> bytes:
    """Standard base64 with padding, exactly 64 bytes; ValueError otherwise."""
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, TypeError, ValueError) as error:
        raise ValueError(f"signature is not base64: {error}") from None
    if len(raw) != 64 or binascii.b2a_base64(raw, newline=False) != text.encode("ascii"):
        raise ValueError("signature must be 64 bytes in canonical standard base64")
    return raw


def seal(signed: SignedAction, *, ledger_time: str, prev: str, version: int) -> dict:
    """The stored event for an accepted action: the action sealed with time, link, its
    version in the stream (expected_version + 1, or the head's next for a sealed-stage
    action) and hash."""
    action = signed.action
    event = {
        "actor": action.actor,
        "key_id": action.key_id,
        "ledger_time": ledger_time,
        "nonce": action.nonce,
        "payload": action.payload,
        "prev": prev,
        "signature": encode_signature(signed.signature),
        "signed_at": action.signed_at,
        "stream": action.stream,
        "type": action.type,
        "version": version,
    }
    event["hash"] = event_hash(event)
    return event


def event_hash(event: dict) -> str:
    """SHA-256 over JCS of the event without its `hash` member, as lowercase hex."""
    return hash_and_stored_bytes(event)[0]


_HASH_MEMBER = len(b'"hash":"') + 64 + len(b'",')


def hash_and_stored_bytes(event: dict) -> tuple[str, bytes]:
    """The hash of an event (with or without its `hash` member) and the bytes the store keeps
    for it, from one canonical encoding: in JCS order `hash` is the second member, after
    `actor`, so the hashed bytes are the stored bytes without `"hash":"<64 hex>",`."""
    split = len(b'{"actor":') + len(canonical_json(event["actor"])) + 1
    stored_hash = event.get("hash")
    if type(stored_hash) is str and HASH_HEX.fullmatch(stored_hash):
        whole = canonical_json(event)
        hashed = whole[:split] + whole[split + _HASH_MEMBER:]
        digest = hashlib.sha256(hashed).hexdigest()
        if digest == stored_hash:  # the usual case: the event as given is what is stored
            return digest, whole
    else:
        hashed = canonical_json({k: v for k, v in event.items() if k != "hash"})
        digest = hashlib.sha256(hashed).hexdigest()
    return digest, hashed[:split] + b'"hash":"' + digest.encode() + b'",' + hashed[split:]


def action_bytes(event: dict) -> bytes:
    """What the actor's signature of a stored event covers: JCS of its action."""
    return canonical_json({
        "actor": event["actor"],
        "expected_version": signed_version(event["type"], event["version"] - 1),
        "key_id": event["key_id"],
        "nonce": event["nonce"],
        "payload": event["payload"],
        "signed_at": event["signed_at"],
        "stream": event["stream"],
        "type": event["type"],
    })


def stored_bytes(event: dict) -> bytes:
    """What the store keeps for an event: JCS of the whole event, hash included."""
    return canonical_json(event)
