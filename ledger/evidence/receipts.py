"""Receipts: the ledger's signed word that it accepted an event at a position and time.

    receipt  = {event_hash, ledger_time, position, receipt: "sunledger/receipt/v1", stream, version}
    signature = Ed25519(ledger key, JCS(receipt))

A bidder's sealed-stage action is answered with a sealed receipt: the same word without the
version, which counts the project's events before the opening (法 §22):

    sealed receipt = {event_hash, ledger_time, position, receipt: "sunledger/sealed-receipt/v1",
                      stream}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .canonical import canonical_json
from .envelope import decode_signature, encode_signature
from .keys import SigningKey, signature_ok

RECEIPT_FORMAT = "sunledger/receipt/v1"
SEALED_RECEIPT_FORMAT = "sunledger/sealed-receipt/v1"


@dataclass(frozen=True)
class Receipt:
    event_hash: str
    stream: str
    version: int
    position: int
    ledger_time: str
    signature: str  # base64 Ed25519 signature by the ledger key

    @classmethod
    def of_row(cls, row: Any) -> "Receipt":
        """The receipt a `sunledger_receipts` row holds (stores/tables.py ReceiptRow)."""
        return cls(row.event_hash, row.stream, row.version, row.position, row.ledger_time,
                   row.signature)

    def body(self) -> dict:
        return receipt_body(self.event_hash, self.stream, self.version, self.position,
                            self.ledger_time)

    def to_json(self) -> dict:
        return {**self.body(), "signature": self.signature}

    def verify(self, ledger_public_key: bytes) -> bool:
        return receipt_ok(self.body(), self.signature, ledger_public_key)

    def sealed(self, key: SigningKey) -> dict:
        """This receipt without its version, signed by the ledger key (the sealed receipt a
        bidder gets for an action before the opening)."""
        body = sealed_receipt_body(self.event_hash, self.stream, self.position, self.ledger_time)
        return {**body, "signature": encode_signature(key.sign(canonical_json(body)))}


def receipt_body(event_hash: str, stream: str, version: int, position: int,
                 ledger_time: str) -> dict:
    return {
        "event_hash": event_hash,
        "ledger_time": ledger_time,
        "position": position,
        "receipt": RECEIPT_FORMAT,
        "stream": stream,
        "version": version,
    }


def sealed_receipt_body(event_hash: str, stream: str, position: int, ledger_time: str) -> dict:
    return {
        "event_hash": event_hash,
        "ledger_time": ledger_time,
        "position": position,
        "receipt": SEALED_RECEIPT_FORMAT,
        "stream": stream,
    }


def sign_receipt(key: SigningKey, event: dict, position: int) -> Receipt:
    body = receipt_body(event["hash"], event["stream"], event["version"], position,
                        event["ledger_time"])
    return Receipt(event["hash"], event["stream"], event["version"], position,
                   event["ledger_time"], encode_signature(key.sign(canonical_json(body))))


def receipt_ok(body: dict, signature: str, ledger_public_key: bytes) -> bool:
    try:
        raw = decode_signature(signature)
    except ValueError:
        return False
    return signature_ok(ledger_public_key, canonical_json(body), raw)
