"""Checkpoints: the log's signed word on its tree (C2SP tlog-checkpoint, signed as a C2SP
signed note by the ledger key under the name of its origin).

    text = origin "\\n" tree size (decimal) "\\n" base64(root) "\\n"

No extension lines: every standard tool and witness takes the checkpoint as it is. Beside
each checkpoint the ledger signs a heads statement, which commits to the newest event of
every stream at that tree size (heads.py) for per-project completeness proofs:

    statement = {format: "sunledger/heads/v1", heads_root, origin, streams, tree_root,
                 tree_size}                       (roots in base64)
    signature = Ed25519(ledger key, JCS(statement))

Issuing is here too: a checkpoint is signed only after the stored tree proves consistent with
the last one kept, so the log never signs two inconsistent checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import BadNote, LogInconsistent
from ledger.evidence.canonical import canonical_json
from ledger.evidence.keys import SigningKey, signature_ok
from . import merkle
from .heads import HeadsMap
from .notes import ED25519, Verifier, check_key_name, open_note, sign_note, verifier_key
from .tree import StoredLog

_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint's text, strictly: three lines, a canonical size, a 32-byte root."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise BadNote("a checkpoint is three lines (origin, size, root), each ending in a "
                      "newline; this ledger signs no extension lines")
    origin, size, root = lines[:3]
    if not origin:
        raise BadNote("a checkpoint's origin is not empty")
    if not _SIZE.fullmatch(size) or int(size) >= 2**63:
        raise BadNote(f"tree size {size!r} is not a decimal without leading zeros")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise BadNote(f"root {root!r} is not base64") from None
    if len(digest) != 32 or base64.b64encode(digest).decode() != root:
        raise BadNote(f"root {root!r} is not the base64 of 32 bytes")
    return Checkpoint(origin, int(size), digest)


def log_verifier(origin: str, public_key: bytes) -> Verifier:
    """The ledger's note verifier: its key under the name of its origin."""
    return Verifier(origin, ED25519, public_key)


def log_verifier_key(origin: str, public_key: bytes) -> str:
    return verifier_key(origin, public_key, ED25519)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint of a signed note, if `verifier` signed it and its origin is the key's."""
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise BadNote(f"checkpoint origin {checkpoint.origin!r} is not {verifier.name!r}")
    return checkpoint


def check_origin(origin: str) -> None:
    """An origin is also the checkpoint key's name: no spaces, no '+'."""
    check_key_name(origin)


HEADS_FORMAT = "sunledger/heads/v1"


def heads_statement(checkpoint: Checkpoint, heads_root: bytes, streams: int) -> dict:
    return {"format": HEADS_FORMAT, "heads_root": base64.b64encode(heads_root).decode(),
            "origin": checkpoint.origin, "streams": streams,
            "tree_root": base64.b64encode(checkpoint.root).decode(),
            "tree_size": checkpoint.size}


def sign_heads(statement: dict, key: SigningKey) -> str:
    """The signed statement as stored and shipped: JSON with the statement and signature."""
    signature = base64.b64encode(key.sign(canonical_json(statement))).decode()
    return canonical_json({"signature": signature, "statement": statement}).decode()


def open_heads(signed: str, public_key: bytes, checkpoint: Checkpoint) -> bytes:
    """The heads root of a signed heads statement, if the ledger key signed it for exactly
    this checkpoint."""
    try:
        outer = json.loads(signed)
        statement, signature = outer["statement"], base64.b64decode(outer["signature"],
                                                                     validate=True)
        root = base64.b64decode(statement["heads_root"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadNote("the heads statement is not the JSON of a signed statement") from None
    if not signature_ok(public_key, canonical_json(statement), signature):
        raise BadNote("the heads statement's signature does not verify with the ledger key")
    if statement != heads_statement(checkpoint, root, statement.get("streams")):
        raise BadNote(f"the heads statement is not for the checkpoint of size {checkpoint.size}")
    return root


@dataclass
class HeadsFold:
    """The heads map of a tree size, carried forward from receipts in position order."""

    heads: HeadsMap = field(default_factory=HeadsMap)
    position: int = 0  # receipts up to here are folded in

    def advance(self, recorder: Any, upto: int) -> bytes:
        """Fold in the receipts in (position, upto]; return the heads root."""
        for receipt in recorder.select_receipts(self.position, upto):
            self.heads.set(receipt.stream, bytes.fromhex(receipt.event_hash))
        self.position = max(self.position, upto)
        return self.heads.root()


def heads_at(recorder: Any, size: int) -> HeadsFold:
    fold = HeadsFold()
    if size:
        fold.advance(recorder, StoredLog(recorder).position_of_leaf(size - 1))
    return fold


# --- issuing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointPolicy:
    """When a checkpoint is issued automatically: after `every_events` new leaves, or when
    `every_seconds` have passed since the last one and there are new leaves."""

    every_events: int = 1000
    every_seconds: float = 60.0

    def due(self, size: int, last_size: int, seconds_since_last: float) -> bool:
        new = size - last_size
        return new >= self.every_events or (new > 0 and seconds_since_last >= self.every_seconds)


def latest_checkpoint(recorder: Any) -> tuple[int, str, str] | None:
    """(tree size, signed note, ledger time issued) of the newest kept checkpoint."""
    kept = recorder.checkpoints()
    return kept[-1] if kept else None


def issue_checkpoint(recorder: Any, key: SigningKey, origin: str, issued_at: str,
                     heads: HeadsFold) -> str:
    """Sign and keep a checkpoint of the stored tree as it stands; return the signed note.
    Refuses (and signs nothing) if the stored tree is not consistent with the last kept
    checkpoint: a changed tree table must never make the ledger contradict itself."""
    log = StoredLog(recorder)
    verifier = log_verifier(origin, key.public_key)
    size = log.size()
    root = log.root(size)
    last = latest_checkpoint(recorder)
    if last is not None:
        old = open_checkpoint(last[1], verifier)
        if size < old.size or not merkle.consistency_ok(
                old.size, size, old.root, root, log.consistency(old.size, size)):
            raise LogInconsistent(
                f"the stored tree (size {size}) is not consistent with the last checkpoint "
                f"(size {old.size}); no checkpoint was signed. Run `sunledger verify`.",
                size=size, checkpoint_size=old.size)
        if old.size == size:
            return last[1]
    checkpoint = Checkpoint(origin, size, root)
    if heads.position and size and heads.position > log.position_of_leaf(size - 1):
        raise LogInconsistent("the heads carried forward are past the tree: no checkpoint signed")
    heads_root = heads.advance(recorder, log.position_of_leaf(size - 1)) if size else heads.heads.root()
    note = sign_note(checkpoint.text(), origin, key)
    recorder.add_checkpoint(size, note, issued_at,
                            sign_heads(heads_statement(checkpoint, heads_root, len(heads.heads)), key))
    return note
