"""Receipts: the ledger's signed word that it accepted an event at a position and time.

    receipt  = {event_hash, ledger_time, position, receipt: "sunledger/receipt/v1", stream, version}
    signature = Ed25519(ledger key, JCS(receipt))
"""

from __future__ import annotations

from dataclasses import dataclass

from .canonical import canonical_json
from .envelope import decode_signature, encode_signature
from .keys import SigningKey, signature_ok

RECEIPT_FORMAT = "sunledger/receipt/v1"


@dataclass(frozen=True)
class Receipt:
    event_hash: str
    stream: str
    version: int
    position: int
    ledger_time: str
    signature: str  # base64 Ed25519 signature by the ledger key

    def body(self) -> dict:
        return receipt_body(self.event_hash, self.stream, self.version, self.position,
                            self.ledger_time)

    def to_json(self) -> dict:
        return {**self.body(), "signature": self.signature}

    def verify(self, ledger_public_key: bytes) -> bool:
        return receipt_ok(self.body(), self.signature, ledger_public_key)


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
