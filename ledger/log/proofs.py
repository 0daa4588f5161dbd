"""Proofs a supervision body or a bidder can check with standard tools: inclusion of one
event and consistency of two tree sizes (RFC 9162 audit paths, as JSON), and the C2SP
tlog-proof of one event with its signed, cosigned checkpoint (text, for offline use).

    inclusion   {"leaf_index", "tree_size", "event_hash" (hex), "leaf_hash", "hashes"}
    consistency {"old_size", "new_size", "hashes"}                 (hashes in base64)
    tlog-proof  "c2sp.org/tlog-proof@v1\\n" "index " n "\\n" (base64 hash "\\n")* "\\n" checkpoint
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from ledger.errors import BadNote, BadTreeSize, NotInLog
from ledger.evidence.canonical import parse_ledger_json
from ledger.evidence.envelope import (
    EVENT_FIELDS, LEDGER_STREAM, ZERO_HASH, hash_and_stored_bytes, stream_uuid,
)
from . import heads, merkle
from .checkpoints import (
    Checkpoint, HeadsFold, heads_at, latest_checkpoint, open_checkpoint, open_heads,
)
from .notes import Verifier, add_signature_lines, decode_hash_lines
from .tree import StoredLog

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,18})")


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def log_identity(recorder: Any) -> tuple[str, bytes]:
    """(origin, ledger public key) as the store's ledger.started/v1 event states them."""
    from ledger.evidence.keys import decode_public_key

    events = recorder.select_events(stream_uuid(LEDGER_STREAM), lte=1)
    if not events:
        raise NotInLog("this store has no ledger.started/v1 event")
    payload = orjson.loads(events[0].state)["payload"]
    return payload["origin"], decode_public_key(payload["public_key"])


def event_hash_at(recorder: Any, position: int) -> str:
    rows = recorder.select_rows(position - 1, position)
    if not rows:
        raise NotInLog(f"no event at position {position}")
    return orjson.loads(rows[0][4])["hash"]


def default_size(recorder: Any, least: int) -> int:
    """The newest checkpoint's size: proofs are checked against a signed checkpoint."""
    last = latest_checkpoint(recorder)
    if last is None or last[0] < least:
        raise BadTreeSize(f"no checkpoint covers {least} leaves yet; issue one with "
                          "`sunledger checkpoint --issue`, or give --size", least=least)
    return last[0]


def inclusion_proof(recorder: Any, *, index: int | None = None, stream: str | None = None,
                    version: int | None = None, size: int | None = None) -> dict:
    log = StoredLog(recorder)
    if index is None:
        assert stream is not None and version is not None
        index, position = log.leaf_index(stream, version)
    else:
        position = log.position_of_leaf(index)
    size = default_size(recorder, index + 1) if size is None else size
    event_hash = event_hash_at(recorder, position)
    return {"leaf_index": index, "tree_size": size, "event_hash": event_hash,
            "leaf_hash": _b64(merkle.leaf_hash(bytes.fromhex(event_hash))),
            "hashes": [_b64(h) for h in log.inclusion(index, size)]}


def consistency_proof(recorder: Any, old: int, new: int | None = None) -> dict:
    new = default_size(recorder, old) if new is None else new
    return {"old_size": old, "new_size": new,
            "hashes": [_b64(h) for h in StoredLog(recorder).consistency(old, new)]}


def cosigned_note(recorder: Any, size: int) -> str:
    """The kept checkpoint of `size` with every cosignature kept for it."""
    notes = {s: note for s, note, *_ in recorder.checkpoints(size, size)}
    if size not in notes:
        newest = [s for s, *_ in recorder.checkpoints()][-5:]
        raise NotInLog(f"no checkpoint of size {size} is kept; sizes kept: {newest} (newest)")
    return add_signature_lines(notes[size], [line for s, _, line in recorder.cosignatures()
                                             if s == size])


# --- C2SP tlog-proof ------------------------------------------------------------------------

@dataclass(frozen=True)
class TlogProof:
    index: int
    hashes: list[bytes]
    note: str  # the signed checkpoint, verbatim

    def text(self) -> str:
        lines = [TLOG_PROOF_HEADER, f"index {self.index}"] + [_b64(h) for h in self.hashes]
        return "\n".join(lines) + "\n\n" + self.note


def tlog_proof(recorder: Any, proof: dict) -> str:
    """The tlog-proof of an inclusion proof (whose size must be a kept checkpoint's)."""
    note = cosigned_note(recorder, proof["tree_size"])
    return TlogProof(proof["leaf_index"], [base64.b64decode(h) for h in proof["hashes"]],
                     note).text()


def parse_tlog_proof(text: str) -> TlogProof:
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != TLOG_PROOF_HEADER:
        raise BadNote(f"a tlog-proof starts with {TLOG_PROOF_HEADER!r} and has a blank line "
                      "before its checkpoint")
    rest = lines[1:]
    if rest and rest[0].startswith("extra "):
        rest = rest[1:]  # unauthenticated context: not used here
    match = _INDEX.fullmatch(rest[0]) if rest else None
    if match is None:
        raise BadNote("a tlog-proof names the entry's index on the line 'index <n>'")
    return TlogProof(int(match.group(1)), decode_hash_lines(rest[1:], "tlog-proof hash"), note)


def check_tlog_proof(text: str, event_hash: str, log: Verifier) -> Checkpoint:
    """The checkpoint under which the event with `event_hash` is proved included; raises
    BadNote if the proof, the checkpoint or its signature fails."""
    proof = parse_tlog_proof(text)
    checkpoint = open_checkpoint(proof.note, log)
    leaf = merkle.leaf_hash(bytes.fromhex(event_hash))
    if not merkle.inclusion_ok(proof.index, checkpoint.size, leaf, proof.hashes, checkpoint.root):
        raise BadNote(f"the event {event_hash} is not proved at index {proof.index} of the "
                      f"checkpoint of size {checkpoint.size}")
    return checkpoint


# --- per-project completeness ---------------------------------------------------------------

COMPLETENESS_FORMAT = "sunledger/completeness/v1"


def completeness_proof(recorder: Any, stream: str, size: int | None = None,
                       heads: HeadsFold | None = None) -> dict:
    """Every event of `stream` in the tree of `size` leaves (a kept checkpoint's size), with
    what proves none is missing: the stream's head in the signed heads map, and that head's
    inclusion in the checkpointed tree. `heads`, the map at that size (`heads_at`), may be
    given once for many proofs at one size."""
    size = default_size(recorder, 1) if size is None else size
    kept = {s: (note, heads) for s, note, _, heads in recorder.checkpoints(size, size)}
    if size not in kept:
        raise NotInLog(f"no checkpoint of size {size} is kept")
    log = StoredLog(recorder)
    last_position = log.position_of_leaf(size - 1)
    events = [e for e in recorder.select_events(stream_uuid(stream))
              if _position_of(log, stream, e.originator_version) <= last_position]
    if not events:
        raise NotInLog(f"{stream} has no event in the tree of size {size}", stream=stream)
    head = orjson.loads(events[-1].state)
    heads = heads if heads is not None else heads_at(recorder, size)
    index, _ = log.leaf_index(stream, head["version"])
    return {
        "format": COMPLETENESS_FORMAT, "stream": stream, "tree_size": size,
        "checkpoint": cosigned_note(recorder, size), "heads": kept[size][1],
        "events": [e.state.decode("utf-8") for e in events],
        "head_siblings": [_b64(h) for h in heads.heads.proof(stream)],
        "head_inclusion": {"leaf_index": index,
                           "hashes": [_b64(h) for h in log.inclusion(index, size)]},
    }


def _position_of(log: StoredLog, stream: str, version: int) -> int:
    return log.leaf_index(stream, version)[1]


def check_completeness(proof: dict, log: Verifier) -> list[dict]:
    """The events a completeness proof proves to be all of its stream's events up to its
    checkpoint; raises BadNote naming the first thing that fails."""
    try:
        if proof["format"] != COMPLETENESS_FORMAT:
            raise BadNote(f"not a {COMPLETENESS_FORMAT} proof")
        stream, events = proof["stream"], [parse_ledger_json(text) for text in proof["events"]]
        siblings = [base64.b64decode(h, validate=True) for h in proof["head_siblings"]]
        index = proof["head_inclusion"]["leaf_index"]
        path = [base64.b64decode(h, validate=True) for h in proof["head_inclusion"]["hashes"]]
        if type(index) is not int or not type(proof["checkpoint"]) is type(proof["heads"]) is str:
            raise TypeError("leaf_index, checkpoint or heads of the wrong type")
        checkpoint = open_checkpoint(proof["checkpoint"], log)
        heads_root = open_heads(proof["heads"], log.public_key, checkpoint)
        tree_size = proof["tree_size"]
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BadNote("the completeness proof is missing a member or has a malformed one") from None
    if checkpoint.size != tree_size:
        raise BadNote("the proof's tree size is not its checkpoint's")
    previous = ZERO_HASH
    for number, event in enumerate(events, start=1):
        if type(event) is not dict or event.keys() != EVENT_FIELDS or event["stream"] != stream:
            raise BadNote(f"event {number} is not an event of {stream}")
        digest, _ = hash_and_stored_bytes(event)
        if digest != event.get("hash"):
            raise BadNote(f"{stream} v{event.get('version')}: its content does not hash to its hash")
        if event.get("version") != number or event.get("prev") != previous:
            raise BadNote(f"{stream}: version {number} is missing or out of place: the events "
                          "given are not the stream's chain from its first event")
        previous = digest
    if not events:
        raise BadNote("a completeness proof holds at least one event")
    head = bytes.fromhex(previous)
    if heads.root_from_proof(stream, head, siblings) != heads_root:
        raise BadNote(f"v{len(events)} is not the newest event of {stream} at tree size "
                      f"{checkpoint.size}: the signed heads map names another")
    if not merkle.inclusion_ok(index, checkpoint.size, merkle.leaf_hash(head), path,
                               checkpoint.root):
        raise BadNote(f"the head of {stream} is not proved in the checkpointed tree")
    return events
