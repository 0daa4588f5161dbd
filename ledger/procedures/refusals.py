"""Refused actions are evidence: an action the trading rules refuse is recorded, signed by the
ledger, in the project's refusal stream (`refusal:<project id>`), with the actor's signed
action, the rule, its article and the message the actor was given.

The refusal stream is apart from the project so that a refused action never moves the
project's version. Only actions that are well formed and correctly signed by a registered key
get this far, and each (actor, project, China Standard Time day) has at most `refusal-records`
of them recorded: nobody can fill the ledger with refusals. A listing's quotes have a bound of
their own, `quote-refusal-records`: in a timed round a quote that lost its race (under the new
highest plus the increment, or after the countdown ran out) is the evidence of who was first,
and a registered bidder, who paid a deposit to quote, races many times in the last minutes.
"""

from __future__ import annotations

import hashlib

from ledger.errors import RuleRefused
from ledger.evidence.envelope import LEDGER_ACTOR, Action, SignedAction, encode_signature
from ledger.evidence.keys import SigningKey
from .calendar import local_date


QUOTE_TYPE = "project.quote-submitted/v1"


def refusal_bound(action_type: str) -> str:
    """The rule bounding how many refusals of an action of this type are recorded per actor,
    project and day."""
    return "quote-refusal-records" if action_type == QUOTE_TYPE else "refusal-records"


def refusal_stream(project_stream: str) -> str:
    return "refusal:" + project_stream.split(":", 1)[1]


def refusal_nonce(action: Action) -> str:
    """The ledger's nonce for recording a refusal: derived from the refused action, so the
    same refused action resubmitted is recorded once."""
    return hashlib.sha256(f"refusal\x00{action.actor}\x00{action.nonce}".encode()).hexdigest()[:32]


def refusal_action(key: SigningKey, refused: SignedAction, error: RuleRefused,
                   expected_version: int, signed_at: str) -> SignedAction:
    action = Action(refusal_stream(refused.action.stream), "refusal.recorded/v1", {
        "action": refused.action.to_json(), "signature": encode_signature(refused.signature),
        "rule": str(error.details["rule"]), "article": str(error.details["article"]),
        "message": error.message[:2000]},
        LEDGER_ACTOR, key.key_id, expected_version, refusal_nonce(refused.action), signed_at)
    return SignedAction(action, key.sign(action.signing_bytes()))


def day_key(actor: str, now) -> tuple[str, str]:
    return actor, local_date(now).isoformat()
