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
METHODS = frozenset(("lowest-price", "comprehensive", "highest-price", "listing", "auction"))
# what a rights transaction sells: its periods differ (procedures/rules.py)
ASSETS = frozenset(("land", "mining", "state-property", "concession"))
# a witness report's kind: a tender's three, a listing's or online auction's one (witness/)
REPORT_KINDS = ("opening", "evaluation", "full", "transaction")
ACTION_MEMBERS = frozenset(("actor", "expected_version", "key_id", "nonce", "payload",
                            "signed_at", "stream", "type"))


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
    "method": lambda v: v in METHODS,
    "asset": lambda v: v in ASSETS,
    "no_sale": lambda v: v in ("below-reserve", "no-quote"),
    "bool": lambda v: isinstance(v, bool),
    "security_form": lambda v: v in ("deposit", "guarantee"),
    "cause": lambda v: v in ("bidder", "others"),
    "complaint_matter": lambda v: v in ("documents", "opening", "result", "other"),
    "challenge_matter": lambda v: v in ("documents", "process", "result"),
    "decision": lambda v: v in ("upheld", "dismissed", "withdrawn"),
    "report_kind": lambda v: v in REPORT_KINDS,
    "report_lang": lambda v: v in ("zh", "en"),
    "refused_action": lambda v: isinstance(v, dict) and v.keys() == ACTION_MEMBERS,
    "quotas": lambda v: isinstance(v, dict) and 0 < len(v) <= 10 and all(
        isinstance(k, str) and 0 < len(k) <= 200 and type(n) is int and 0 < n <= 100
        for k, n in v.items()),
    "expert_pool": lambda v: isinstance(v, list) and 0 < len(v) <= 10000 and all(
        isinstance(e, dict) and e.keys() == {"id", "category"} and isinstance(e["id"], str)
        and IDENTIFIER.fullmatch(e["id"]) is not None and isinstance(e["category"], str)
        and 0 < len(e["category"]) <= 200 for e in v),
    "ids": lambda v: isinstance(v, list) and len(v) <= 1000
    and all(isinstance(i, str) and IDENTIFIER.fullmatch(i) for i in v),
}

REQUIRED, OPTIONAL = True, False


@dataclass(frozen=True)
class EventType:
    name: str
    stream_kind: str  # "ledger", "actor", "project", "refusal" or "register"
    fields: dict[str, tuple[str, bool]] = field(default_factory=dict)
    starts_stream: bool | None = False  # True: only as version 1; None: at any version

    def __post_init__(self) -> None:
        checks = tuple((name, KINDS[kind], kind, required)
                       for name, (kind, required) in self.fields.items())
        object.__setattr__(self, "_checks", checks)

    @property
    def actor_members(self) -> tuple[str, ...]:
        """The payload members that name actors (formats `id` and `ids`)."""
        return tuple(name for name, (kind, _) in self.fields.items() if kind in ("id", "ids"))

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


def _t(type_name: str, stream_kind: str, starts: bool | None = False, /,
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
        # --- trading projects: one type per step of the procedure (procedures/tender.py)
        _t("project.intake/v1", "project", True, title=("text", R), category=("category", R),
           tenderee=("id", R), agent=("id", O), control_price=("money", O), method=("method", O),
           section=("name", O), supervisor=("name", O), state_funded=("bool", O)),
        _t("project.intake-accepted/v1", "project"),
        _t("project.intake-refused/v1", "project", reason=("text", R)),
        _t("project.announced/v1", "project", documents_from=("time", R),
           documents_until=("time", R), bid_deadline=("time", R), url=("text", O)),
        _t("project.documents-issued/v1", "project", document_hash=("hash", R),
           edition=("count", R)),
        _t("project.documents-obtained/v1", "project", bidder=("id", R),
           document_hash=("hash", R), ip=("name", O), machine=("name", O)),
        _t("project.clarification-issued/v1", "project", document_hash=("hash", R),
           affects_bids=("bool", R), bid_deadline=("time", O)),
        _t("project.objection-raised/v1", "project", bidder=("id", R), text_hash=("hash", R)),
        _t("project.objection-answered/v1", "project", objection_version=("count", R),
           answer_hash=("hash", R)),
        _t("project.security-posted/v1", "project", bidder=("id", R), amount=("money", R),
           form=("security_form", R), account=("name", O), basic_account=("bool", O),
           guarantee_no=("name", O)),
        _t("project.bid-submitted/v1", "project", bidder=("id", R), bid_hash=("hash", R),
           ip=("name", O), machine=("name", O)),
        _t("project.bid-withdrawn/v1", "project", bidder=("id", R)),
        _t("project.submission-closed/v1", "project"),
        _t("project.checked-in/v1", "project", bidder=("id", R)),
        _t("project.key-released/v1", "project", bidder=("id", R), key_hash=("hash", R),
           ip=("name", O), machine=("name", O)),
        _t("project.bid-decrypted/v1", "project", bidder=("id", R), ciphertext_hash=("hash", R),
           plaintext_hash=("hash", R), price=("money", R)),
        _t("project.decryption-failed/v1", "project", bidder=("id", R), cause=("cause", R),
           reason=("text", R)),
        _t("project.opening-convened/v1", "project", host=("id", R), recorder=("id", R),
           venue=("text", O)),
        _t("project.opening-objection-raised/v1", "project", bidder=("id", R),
           text_hash=("hash", R)),
        _t("project.draw-prepared/v1", "project", secret_commitment=("hash", R),
           pool_hash=("hash", R), exclusions_hash=("hash", R), quotas=("quotas", R),
           representatives=("count", O)),
        _t("project.experts-drawn/v1", "project", committee=("ids", R), head_hash=("hash", R),
           committee_hash=("hash", R), representatives=("ids", O)),
        _t("project.draw-disclosed/v1", "project", secret=("hash", R), pool=("expert_pool", R),
           exclusions=("ids", R)),
        _t("project.expert-replaced/v1", "project", recused=("id", R), replacement=("id", R),
           ground=("text", R)),
        _t("project.score-submitted/v1", "project", bidder=("id", R), score=("count", R)),
        _t("project.bid-rejected/v1", "project", bidder=("id", R), ground=("name", R)),
        _t("project.bid-clarified/v1", "project", bidder=("id", R), question_hash=("hash", R),
           answer_hash=("hash", O)),
        _t("project.evaluation-reported/v1", "project", ranking=("ids", R),
           report_hash=("hash", R), dissent=("text", O)),
        _t("project.evaluation-report-signed/v1", "project", report_hash=("hash", R),
           dissent=("text", O)),
        _t("project.evaluation-report-refused/v1", "project", report_hash=("hash", R),
           reasons=("text", O)),
        _t("project.candidates-published/v1", "project", until=("time", R)),
        _t("project.publicity-objection-raised/v1", "project", bidder=("id", R),
           text_hash=("hash", R)),
        _t("project.challenge-raised/v1", "project", bidder=("id", R),
           matter=("challenge_matter", R), text_hash=("hash", R)),
        _t("project.challenge-answered/v1", "project", challenge_version=("count", R),
           answer_hash=("hash", R)),
        _t("project.complaint-filed/v1", "project", complainant=("id", R),
           text_hash=("hash", R), matter=("complaint_matter", O), known_at=("time", O)),
        _t("project.complaint-accepted/v1", "project", complaint_version=("count", R)),
        _t("project.complaint-decided/v1", "project", complaint_version=("count", R),
           decision=("decision", R), text_hash=("hash", R)),
        _t("project.re-evaluation-ordered/v1", "project", text_hash=("hash", R),
           complaint_version=("count", O)),
        _t("project.candidate-declined/v1", "project", bidder=("id", R), text_hash=("hash", O)),
        _t("project.candidate-disqualified/v1", "project", bidder=("id", R), ground=("text", R),
           text_hash=("hash", O)),
        _t("project.awarded/v1", "project", winner=("id", R), price=("money", R)),
        _t("project.contract-signed/v1", "project", winner=("id", R), contract_hash=("hash", R),
           price=("money", O), price_reason=("text", O), performance_security=("money", O)),
        _t("project.supervision-report-filed/v1", "project", report_hash=("hash", R)),
        _t("project.security-refunded/v1", "project", bidder=("id", R), amount=("money", R),
           interest=("money", O)),
        _t("project.witness-assigned/v1", "project", officer=("id", R)),
        _t("project.witness-observation/v1", "project", note=("text", R), media_hash=("hash", O)),
        _t("project.warning-referred/v1", "project", indicator=("name", R), bidders=("ids", R),
           supervisor=("name", R)),
        _t("project.report-issued/v1", "project", kind=("report_kind", R), report_id=("name", R),
           last_version=("count", R), pdf_hash=("hash", R), evidence_hash=("hash", R),
           lang=("report_lang", O)),
        _t("project.report-signed-off/v1", "project", report_id=("name", R), pdf_hash=("hash", R)),
        # --- rights transactions by listing (挂牌) or online auction (网上竞价): 39号令
        #     (procedures/rights.py; the pure rules in procedures/listing.py)
        _t("project.listing-announced/v1", "project", listing_from=("time", R),
           listing_until=("time", R), registration_until=("time", R),
           starting_price=("money", R), increment=("money", R), deposit=("money", R),
           countdown_seconds=("count", R), asset=("asset", R), url=("text", O)),
        _t("project.reserve-committed/v1", "project", reserve_commitment=("hash", R),
           decision_hash=("hash", R)),
        _t("project.bidder-registered/v1", "project", bidder=("id", R), deposit=("money", R),
           qualification_hash=("hash", O)),
        _t("project.quote-submitted/v1", "project", bidder=("id", R), price=("money", R)),
        _t("project.increment-adjusted/v1", "project", increment=("money", R)),
        _t("project.continuation-requested/v1", "project", bidder=("id", R)),
        _t("project.listing-closed/v1", "project"),
        _t("project.round-ended/v1", "project"),
        _t("project.reserve-revealed/v1", "project", reserve=("money", R), salt=("hash", R)),
        _t("project.no-sale/v1", "project", reason=("no_sale", R)),
        _t("project.deal-confirmed/v1", "project", winner=("id", R), confirmation_hash=("hash", R)),
        _t("project.result-published/v1", "project", url=("text", O)),
        _t("project.terminated/v1", "project", reason=("text", R)),
        _t("project.archived/v1", "project", retain_until=("time", O)),
        # --- the centre's register of witness reports (procedures/register.py)
        _t("register.centre-described/v1", "register", None, centre=("name", R),
           prefix=("name", R), portal=("text", R)),
        _t("register.number-assigned/v1", "register", None, year=("count", R), sequence=("count", R),
           number=("name", R), project=("name", R), kind=("report_kind", R),
           lang=("report_lang", O)),
        # --- refusals: what the rules refused, recorded by the ledger (ledger/procedures/refusals.py)
        _t("refusal.recorded/v1", "refusal", None, action=("refused_action", R),
           signature=("der", R), rule=("name", R), article=("text", R), message=("text", R)),
    )
}

REGISTRY_TYPES = frozenset(n for n, t in EVENT_TYPES.items()
                           if t.stream_kind in ("ledger", "actor"))
