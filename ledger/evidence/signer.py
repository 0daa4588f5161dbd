"""The client side of the write path: an actor signs an action with its own key.

Simulations, tests and the API's clients all build actions here and submit them through
`Ledger.submit`, the same path a real bidder's client takes."""

from __future__ import annotations

import os
import random
from datetime import datetime

from .canonical import check_ledger_json, format_time
from .envelope import Action, SignedAction
from .keys import SigningKey


class ActorSigner:
    """Signs actions as one actor. `rng` makes nonces reproducible (simulations only)."""

    def __init__(self, actor: str, key: SigningKey, rng: random.Random | None = None):
        self.actor = actor
        self.key = key
        self._rng = rng

    def nonce(self) -> str:
        raw = self._rng.getrandbits(128).to_bytes(16, "big") if self._rng else os.urandom(16)
        return raw.hex()

    def sign(self, stream: str, type: str, payload: dict, *, expected_version: int,  # noqa: A002
             signed_at: datetime) -> SignedAction:
        check_ledger_json(payload, "payload")  # NotLedgerJSON says where, before signing
        action = Action(stream=stream, type=type, payload=payload, actor=self.actor,
                        key_id=self.key.key_id, expected_version=expected_version,
                        nonce=self.nonce(), signed_at=format_time(signed_at))
        return SignedAction(action, self.key.sign(action.signing_bytes()))
