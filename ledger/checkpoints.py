"""Checkpoints: the log's signed word on its tree (C2SP tlog-checkpoint, signed as a C2SP
signed note by the ledger key under the name of its origin).

    text = origin "\\n" tree size (decimal) "\\n" base64(root) "\\n"

No extension lines: every standard tool and witness takes the checkpoint as it is. Issuing
is here too: a checkpoint is signed only after the stored tree proves consistent with the
last one kept, so the log never signs two inconsistent checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from . import merkle
from .errors import BadNote, LogInconsistent
from .keys import SigningKey
from .log import StoredLog
from .notes import ED25519, Verifier, check_key_name, open_note, sign_note, verifier_key

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


def issue_checkpoint(recorder: Any, key: SigningKey, origin: str, issued_at: str) -> str:
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
    note = sign_note(Checkpoint(origin, size, root).text(), origin, key)
    recorder.add_checkpoint(size, note, issued_at)
    return note
