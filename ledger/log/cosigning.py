"""A witness (C2SP tlog-witness): an outside party, such as a supervision body, that cosigns
a log's checkpoints only while the log stays append-only.

The witness keeps its own state (per log: the log's verifier key and the last size and root it
cosigned) in a file of its own, and its own key. It accepts a checkpoint only with a valid
consistency proof from the last one it cosigned; it refuses a checkpoint that contradicts
one it has seen, and says so. Requests are in the add-checkpoint form of tlog-witness:

    "old " size "\\n" (base64 hash "\\n")*  "\\n"  signed checkpoint note
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import (
    BadNote, InconsistentCheckpoint, OldSizeMismatch, UnknownLog, WitnessRefusal,
)
from ledger.evidence.durable import write_durably
from ledger.evidence.keys import SigningKey
from ledger.evidence.untrusted import MAX_DOCUMENT_BYTES, parse_json, read_file
from . import merkle
from .checkpoints import open_checkpoint
from .notes import (
    COSIGNATURE_V1, cosign, decode_hash_lines, parse_verifier_key, verifier_key,
)

MAX_PROOF_LINES = 63
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    note: str

    def text(self) -> str:
        lines = [f"old {self.old_size}"] + [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.note


def parse_add_checkpoint(body: str) -> AddCheckpoint:
    head, sep, note = body.partition("\n\n")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if not sep or match is None:
        raise BadNote("an add-checkpoint request starts with 'old <size>', proof lines, then "
                      "a blank line and the checkpoint")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise BadNote(f"at most {MAX_PROOF_LINES} consistency proof lines")
    return AddCheckpoint(int(match.group(1)), decode_hash_lines(lines[1:], "consistency proof"),
                         note)


def _is_followed_log(log: object) -> bool:
    """A followed log's state: its verifier key, and the size and root it last cosigned."""
    try:
        return (type(log["vkey"]) is str and type(log["size"]) is int and log["size"] >= 0
                and len(base64.b64decode(log["root"], validate=True)) == 32)
    except (KeyError, TypeError, ValueError):
        return False


class Witness:
    """A witness with its key and its state file (read within the bounds of
    ledger/evidence/untrusted.py)."""

    def __init__(self, state_path: Path, key: SigningKey):
        self.state_path = state_path
        self.key = key
        try:
            state = parse_json(read_file(state_path, MAX_DOCUMENT_BYTES, "the witness state"),
                               state_path.name)
            self.name: str = state["name"]
            self.logs: dict[str, dict] = state["logs"]
            if not isinstance(self.name, str) or not isinstance(self.logs, dict) \
                    or not all(map(_is_followed_log, self.logs.values())):
                raise TypeError("members of the wrong types")
        except (ValueError, KeyError, TypeError) as error:
            raise BadNote(f"{state_path} is not a witness's state file ({error}); create one "
                          "with `sunledger witness init`") from None

    @staticmethod
    def create(state_path: Path, name: str) -> None:
        """A new, empty state for a witness named `name` (no logs known yet)."""
        parse_verifier_key(verifier_key(name, bytes(32), COSIGNATURE_V1))  # a valid key name
        fd = os.open(state_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"name": name, "logs": {}}, handle, indent=1)

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.name, self.key.public_key, COSIGNATURE_V1)

    def add_log(self, log_vkey: str) -> None:
        verifier = parse_verifier_key(log_vkey)
        if verifier.name in self.logs and self.logs[verifier.name]["vkey"] != log_vkey:
            raise WitnessRefusal(f"this witness already follows {verifier.name} with another key")
        self.logs.setdefault(verifier.name, {"vkey": log_vkey, "size": 0,
                                             "root": base64.b64encode(merkle.EMPTY_ROOT).decode()})
        self._save()

    def add_checkpoint(self, request: AddCheckpoint, now: int) -> str:
        """Cosign the request's checkpoint at POSIX time `now`, or refuse and say why."""
        origin = request.note.split("\n", 1)[0]
        log = self.logs.get(origin)
        if log is None:
            raise UnknownLog(f"this witness does not follow the log {origin!r}")
        checkpoint = open_checkpoint(request.note, parse_verifier_key(log["vkey"]))
        known_size, known_root = log["size"], base64.b64decode(log["root"])
        if request.old_size != known_size:
            raise OldSizeMismatch(f"this witness last cosigned size {known_size} of {origin}, "
                                  f"not {request.old_size}; prove consistency from {known_size}",
                                  known_size=known_size)
        if checkpoint.size < known_size:
            raise InconsistentCheckpoint(
                f"the log {origin} shows size {checkpoint.size}, smaller than size {known_size} "
                "already cosigned: a log never shrinks", known_size=known_size)
        if not merkle.consistency_ok(known_size, checkpoint.size, known_root, checkpoint.root,
                                     request.proof):
            raise InconsistentCheckpoint(
                f"the checkpoint of {origin} at size {checkpoint.size} is not consistent with "
                f"size {known_size} already cosigned (root {log['root']}): the log forked or "
                "was rewritten; refused", known_size=known_size)
        log["size"], log["root"] = checkpoint.size, base64.b64encode(checkpoint.root).decode()
        self._save()
        return cosign(checkpoint.text(), self.name, self.key, now)

    def _save(self) -> None:
        write_durably(self.state_path, json.dumps({"name": self.name, "logs": self.logs},
                                                  indent=1).encode(), mode=0o600)
