"""The client side of the write path: an actor signs an action with its own key.

Simulations, tests and the API's clients all build actions here and submit them through
`Ledger.submit`, the same path a real bidder's client takes."""

from __future__ import annotations

import os
import random
from datetime import datetime

from .canonical import check_ledger_json, format_time
from .envelope import SEALED_STAGE_TYPES, Action, SignedAction
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

    def sign(self, stream: str, type: str, payload: dict, *,  # noqa: A002
             expected_version: int | None, signed_at: datetime) -> SignedAction:
        """Sign an action at the stream version the actor saw. A bidder's sealed-stage
        action names no version (evidence-format §6): for those types the version is not
        signed, whatever is given, and None is enough."""
        check_ledger_json(payload, "payload")  # NotLedgerJSON says where, before signing
        if type in SEALED_STAGE_TYPES:
            expected_version = None
        elif expected_version is None:
            raise ValueError(f"{type} names the stream version it was signed at")
        action = Action(stream=stream, type=type, payload=payload, actor=self.actor,
                        key_id=self.key.key_id, expected_version=expected_version,
                        nonce=self.nonce(), signed_at=format_time(signed_at))
        return SignedAction(action, self.key.sign(action.signing_bytes()))
