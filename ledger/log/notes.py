"""Signed notes (C2SP signed-note) and their keys: how checkpoints are signed and cosigned.

    note      = text (UTF-8, ends with a newline) ‖ "\\n" ‖ signature lines
    line      = "— " ‖ key name ‖ " " ‖ base64(key hash ‖ signature) ‖ "\\n"
    key hash  = SHA-256(key name ‖ "\\n" ‖ type ‖ public key)[:4]
    verifier key = key name ‖ "+" ‖ hex(key hash) ‖ "+" ‖ base64(type ‖ public key)

Type 0x01 is an Ed25519 note signature over the text; type 0x04 is a C2SP tlog-cosignature
(cosignature/v1), whose signature covers a timestamped header and the checkpoint body and
carries the timestamp before the signature. Pure functions; docs/evidence-format.md has the
bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from ledger.errors import BadNote
from ledger.evidence.keys import SigningKey, signature_ok

ED25519 = 0x01  # a note signature (the log's checkpoints)
COSIGNATURE_V1 = 0x04  # a witness's timestamped cosignature (C2SP tlog-cosignature)
DASH = "\u2014"  # the em dash that opens a signature line


def check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise BadNote(f"key name {name!r} must be non-empty, printable, with no space and no '+'")


def key_hash(name: str, key_type: int, public_key: bytes) -> bytes:
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes, key_type: int = ED25519) -> str:
    return (f"{name}+{key_hash(name, key_type, public_key).hex()}+"
            f"{base64.b64encode(bytes([key_type]) + public_key).decode()}")


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier key."""

    name: str
    key_type: int
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.key_type, self.public_key)

    def __str__(self) -> str:
        return verifier_key(self.name, self.public_key, self.key_type)


def parse_verifier_key(text: str) -> Verifier:
    parts = text.strip().split("+", 2)  # the base64 key may hold '+', the name may not
    if len(parts) != 3:
        raise BadNote(f"a verifier key is name+hash+key, not {text!r}")
    name, hash_hex, encoded = parts
    check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError):
        raise BadNote(f"verifier key {text!r}: the key is not base64 or the hash not hex") from None
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1) or len(hash_hex) != 8:
        raise BadNote(f"verifier key {text!r} is not an Ed25519 or cosignature/v1 key")
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_hash != claimed:
        raise BadNote(f"verifier key {text!r}: its hash does not match its name and key")
    return verifier


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes
    payload: bytes  # what follows the key hash: a signature, or a timestamp and a signature

    def line(self) -> str:
        return f"{DASH} {self.name} {base64.b64encode(self.key_hash + self.payload).decode()}\n"


def check_text(text: str) -> None:
    if not text.endswith("\n") or any(c < " " and c != "\n" for c in text):
        raise BadNote("a note's text ends with a newline and has no control characters")


def sign_note(text: str, name: str, key: SigningKey) -> str:
    check_text(text)
    signature = NoteSignature(name, key_hash(name, ED25519, key.public_key), key.sign(text.encode()))
    return text + "\n" + signature.line()


MAX_SIGNATURES = 100  # C2SP: at least 16 must be accepted; Go's reference accepts 100


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """A note's text and its signature lines (not yet verified). The text ends at the last
    blank line; every line after it is a signature line."""
    if any(c < " " and c != "\n" for c in note):
        raise BadNote("a signed note has no control characters other than newlines")
    text, sep, block = note.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise BadNote("a signed note has its text, a blank line, then signature lines, "
                      "each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise BadNote(f"a signed note has at most {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(DASH + " "):
            raise BadNote("each signature line starts with an em dash and a space")
        name, _, encoded = line[2:].partition(" ")
        check_key_name(name)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:  # binascii.Error, or a character beyond ASCII
            raise BadNote(f"the signature line of {name!r} is not base64") from None
        if len(raw) < 5:
            raise BadNote(f"the signature line of {name!r} is too short")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text + "\n", signatures


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a note, if `verifier` signed it (C2SP: other signatures are ignored)."""
    text, signatures = split_note(note)
    for signature in signatures:
        if signature.name == verifier.name and signature.key_hash == verifier.key_hash:
            if signature_ok(verifier.public_key, text.encode(), signature.payload):
                return text
            raise BadNote(f"the signature of {verifier.name} on this note does not verify")
    raise BadNote(f"this note has no signature by {verifier.name}")


def cosign(text: str, name: str, key: SigningKey, timestamp: int) -> str:
    """A C2SP cosignature/v1 line over a checkpoint's text, at POSIX time `timestamp`."""
    check_text(text)
    stamp = timestamp.to_bytes(8, "big")
    signature = key.sign(cosigned_message(text, timestamp))
    return NoteSignature(name, key_hash(name, COSIGNATURE_V1, key.public_key),
                         stamp + signature).line()


def cosigned_message(text: str, timestamp: int) -> bytes:
    if not 0 <= timestamp < 2**63:
        raise BadNote(f"cosignature time {timestamp} is outside 0..2^63-1")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosignature_time(text: str, line: str, verifier: Verifier) -> int:
    """The time of a cosignature/v1 line by `verifier` over `text`, if it verifies."""
    _, signatures = split_note("x\n\n" + line)
    signature = signatures[0]
    if verifier.key_type != COSIGNATURE_V1:
        raise BadNote(f"{verifier.name}'s key is not a cosignature/v1 key (type 0x04)")
    if signature.name != verifier.name or signature.key_hash != verifier.key_hash:
        raise BadNote(f"this cosignature is not by {verifier}")
    if len(signature.payload) != 72:
        raise BadNote("a cosignature/v1 holds an 8-byte time and a 64-byte signature")
    timestamp = int.from_bytes(signature.payload[:8], "big")
    if not signature_ok(verifier.public_key, cosigned_message(text, timestamp),
                        signature.payload[8:]):
        raise BadNote(f"the cosignature of {verifier.name} does not verify")
    return timestamp


def add_signature_lines(note: str, lines: list[str]) -> str:
    """A note with more signature lines (cosignatures) after its own, each once."""
    present = set(note.split("\n"))
    return note + "".join(line for line in lines if line.rstrip("\n") not in present)


def decode_hash_lines(lines: list[str], what: str) -> list[bytes]:
    """Hashes written one per line in base64, as tlog-proof and tlog-witness write them."""
    try:
        hashes = [base64.b64decode(line, validate=True) for line in lines]
    except ValueError:  # binascii.Error, or a character beyond ASCII
        raise BadNote(f"a {what} line is not base64") from None
    if any(len(h) != 32 for h in hashes):
        raise BadNote(f"each {what} line is a 32-byte hash in base64")
    return hashes
