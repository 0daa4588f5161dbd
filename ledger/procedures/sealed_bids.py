"""Sealed bids as commit–reveal (电子办法: encrypted bids, decrypted online at the opening).

Before the deadline the ledger holds only the commitment, SHA-256 of the encrypted bid file
(which stays with the platform's document store). At the opening the bidder releases its key;
the bid is decrypted, and what the ledger records must match: the ciphertext hashes to the
commitment, and the plaintext to the recorded plaintext hash.

    encrypted = XSalsa20-Poly1305 (PyNaCl SecretBox) of JCS(bid), nonce included
    commitment = SHA-256(encrypted)

A decryption that fails is attributed: caused by the bidder (a wrong or missing key) it counts
as the bidder revoking its bid (撤销, its security may be kept); caused by others (the platform)
it counts as a withdrawal (撤回, the security is refunded). Pure code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import nacl.exceptions
import nacl.secret

from ledger.evidence.canonical import canonical_json, parse_ledger_json

Cause = Literal["bidder", "others"]


def seal(bid: dict, key: bytes, nonce: bytes) -> tuple[bytes, str]:
    """The encrypted bid and its commitment (the nonce is the client's: 24 random bytes)."""
    encrypted = bytes(nacl.secret.SecretBox(key).encrypt(canonical_json(bid), nonce))
    return encrypted, hashlib.sha256(encrypted).hexdigest()


@dataclass(frozen=True)
class Opened:
    bid: dict
    plaintext_hash: str


class DecryptionFailed(Exception):
    def __init__(self, cause: Cause, reason: str):
        super().__init__(reason)
        self.cause = cause
        self.reason = reason


def open_sealed(encrypted: bytes | None, key: bytes | None, commitment: str) -> Opened:
    """Decrypt a sealed bid at the opening, or say whose failure it is."""
    if encrypted is None or hashlib.sha256(encrypted).hexdigest() != commitment:
        raise DecryptionFailed("others", "the platform's copy of the encrypted bid does not "
                                         "match the commitment recorded before the deadline")
    if key is None or len(key) != nacl.secret.SecretBox.KEY_SIZE:
        raise DecryptionFailed("bidder", "the bidder released no valid key")
    try:
        plaintext = nacl.secret.SecretBox(key).decrypt(encrypted)
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed("bidder", "the key the bidder released does not open its bid") from None
    try:
        bid = parse_ledger_json(plaintext)
    except ValueError:
        raise DecryptionFailed("bidder", "the decrypted bid is not a bid document") from None
    if not isinstance(bid, dict):
        raise DecryptionFailed("bidder", "the decrypted bid is not a bid document")
    return Opened(bid, hashlib.sha256(plaintext).hexdigest())
