"""The event types the ledger admits: stable versioned names and the shape of their payloads.

A type name never changes once events of it exist (it is inside every hash); a new shape is
a new version (`/v2`). Field kinds are checked at append time; a payload with a missing,
unknown or ill-formed field is refused as malformed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Callable

from .canonical import is_money, is_time
from .envelope import HASH_HEX, IDENTIFIER, KEY_ID
from .keys import decode_public_key

ROLES = frozenset(
    ("registrar", "operator", "tenderee", "agent", "bidder", "expert", "witness", "supervisor")
)
CATEGORIES = frozenset(("construction", "procurement", "rights"))


def _text(limit: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, str) and 0 < len(v) <= limit


def _base64(limit: int) -> Callable[[object], bool]:
    def check(v: object) -> bool:
        if not isinstance(v, str) or not 0 < len(v) <= limit:
            return False
        try:
            base64.b64decode(v, validate=True)
        except binascii.Error:
            return False
        return True

    return check


def _canonical_key(text: str) -> bool:
    try:
        decode_public_key(text)
    except ValueError:
        return False
    return True


KINDS: dict[str, Callable[[object], bool]] = {
    "id": lambda v: isinstance(v, str) and IDENTIFIER.fullmatch(v) is not None,
    "text": _text(2000),
    "name": _text(200),
    "money": is_money,
    "time": is_time,
    "hash": lambda v: isinstance(v, str) and HASH_HEX.fullmatch(v) is not None,
    "key_id": lambda v: isinstance(v, str) and KEY_ID.fullmatch(v) is not None,
    "public_key": lambda v: isinstance(v, str) and _canonical_key(v),
    "der": _base64(16384),
    "count": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "roles": lambda v: isinstance(v, list) and 0 < len(v) <= len(ROLES)
    and all(r in ROLES for r in v) and len(set(v)) == len(v),
    "category": lambda v: v in CATEGORIES,
    "ids": lambda v: isinstance(v, list) and len(v) <= 1000
    and all(isinstance(i, str) and IDENTIFIER.fullmatch(i) for i in v),
}

REQUIRED, OPTIONAL = True, False


@dataclass(frozen=True)
class EventType:
    name: str
    stream_kind: str  # "ledger", "actor" or "project"
    fields: dict[str, tuple[str, bool]] = field(default_factory=dict)
    starts_stream: bool = False  # the only type allowed as version 1 of its stream

    def __post_init__(self) -> None:
        checks = tuple((name, KINDS[kind], kind, required)
                       for name, (kind, required) in self.fields.items())
        object.__setattr__(self, "_checks", checks)

    def problems(self, payload: dict) -> list[str]:
        """What is wrong with a payload for this type (empty when it is well formed)."""
        found = []
        for name, check, kind, required in self._checks:
            if name not in payload:
                if required:
                    found.append(f"payload.{name} is missing ({kind})")
            elif not check(payload[name]):
                found.append(f"payload.{name} is not a valid {kind}: {payload[name]!r:.80}")
        if not payload.keys() <= self.fields.keys():
            found.extend(f"payload.{name} is not a field of {self.name}"
                         for name in payload if name not in self.fields)
        return found


def _t(type_name: str, stream_kind: str, starts: bool = False, /,
       **fields: tuple[str, bool]) -> EventType:
    return EventType(type_name, stream_kind, fields, starts)


R, O = REQUIRED, OPTIONAL

EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        # --- the ledger itself and its trust anchors
        _t("ledger.started/v1", "ledger", True, origin=("name", R), public_key=("public_key", R)),
        _t("ledger.ca-trusted/v1", "ledger", certificate=("der", R), fingerprint=("hash", R),
           subject=("text", R)),
        # --- the key registry: one stream per actor
        _t("actor.registered/v1", "actor", True, name=("name", R), roles=("roles", R),
           organisation=("name", R)),
        _t("actor.key-added/v1", "actor", key_id=("key_id", R), public_key=("public_key", R),
           not_before=("time", O), not_after=("time", O)),
        _t("actor.certificate-added/v1", "actor", key_id=("key_id", R), certificate=("der", R),
           fingerprint=("hash", R), serial=("text", R), issuer=("text", R)),
        _t("actor.key-revoked/v1", "actor", key_id=("key_id", R), reason=("text", R)),
        _t("actor.key-rotated/v1", "actor", old_key_id=("key_id", R), key_id=("key_id", R),
           public_key=("public_key", R), not_after=("time", O)),
        # --- trading projects (the procedures and their rules come with the trading domain)
        _t("project.intake/v1", "project", True, title=("text", R), category=("category", R),
           tenderee=("id", R), agent=("id", O), control_price=("money", O)),
        _t("project.announced/v1", "project", bid_deadline=("time", R), url=("text", O)),
        _t("project.documents-issued/v1", "project", document_hash=("hash", R),
           edition=("count", R)),
        _t("project.documents-obtained/v1", "project", bidder=("id", R),
           document_hash=("hash", R)),
        _t("project.security-posted/v1", "project", bidder=("id", R), amount=("money", R),
           form=("name", R), account=("id", O)),
        _t("project.bid-submitted/v1", "project", bidder=("id", R), bid_hash=("hash", R)),
        _t("project.opened/v1", "project", bidders=("ids", R)),
        _t("project.bid-decrypted/v1", "project", bidder=("id", R), price=("money", R),
           plaintext_hash=("hash", R)),
        _t("project.experts-drawn/v1", "project", seed_commitment=("hash", R),
           committee_hash=("hash", R), size=("count", R)),
        _t("project.score-submitted/v1", "project", expert=("id", R), bidder=("id", R),
           score=("count", R)),
        _t("project.evaluation-reported/v1", "project", ranking=("ids", R),
           report_hash=("hash", R)),
        _t("project.awarded/v1", "project", winner=("id", R), price=("money", R)),
        _t("project.contract-signed/v1", "project", winner=("id", R), contract_hash=("hash", R)),
        _t("project.security-refunded/v1", "project", bidder=("id", R), amount=("money", R)),
    )
}

REGISTRY_TYPES = frozenset(n for n, t in EVENT_TYPES.items() if t.stream_kind != "project")
