"""What the verifier checks of the Merkle log: it rebuilds the tree from the events in global
order (leaf i = the i-th event), and the heads map beside it, and judges every kept
checkpoint, heads statement and cosignature against them.

A checkpoint whose root differs from the rebuilt tree at its size means an event it covered
was altered, removed, inserted or moved; one larger than the log means events were cut from
the end. All checkpoints that match one rebuilt tree are consistent with each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ledger.errors import BadNote
from ledger.log import merkle
from ledger.log.checkpoints import Checkpoint, log_verifier, open_checkpoint, open_heads
from ledger.log.heads import HeadsMap
from ledger.log.notes import COSIGNATURE_V1, cosignature_time, parse_verifier_key

# a leaf for an event whose hash cannot be read: the rebuilt tree then differs from every
# checkpoint covering it, which is what such a row deserves
UNREADABLE_LEAF = hashlib.sha256(b"sunledger: unreadable event").digest()


@dataclass
class TreeRebuild:
    """The tree and the heads map rebuilt event by event, with both roots noted at each
    checkpoint's size."""

    sizes: list[int]
    tree: merkle.CompactTree = field(default_factory=merkle.CompactTree)
    heads: HeadsMap = field(default_factory=HeadsMap)
    roots: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)  # (tree, heads)

    def __post_init__(self) -> None:
        self.sizes = sorted(set(self.sizes), reverse=True)  # popped from the end: smallest first
        self._note_roots()

    def add(self, stream: str | None, event_hash: str | None) -> None:
        try:
            digest = bytes.fromhex(event_hash) if event_hash else None
        except ValueError:
            digest = None
        self.tree.append(merkle.leaf_hash(digest) if digest else UNREADABLE_LEAF)
        if digest and stream:
            self.heads.set(stream, digest)
        if self.sizes and self.sizes[-1] == self.tree.size:
            self._note_roots()

    def _note_roots(self) -> None:
        while self.sizes and self.sizes[-1] <= self.tree.size:
            size = self.sizes.pop()
            if size == self.tree.size:
                self.roots[size] = (self.tree.root(), self.heads.root())


@dataclass(frozen=True)
class LogFinding:
    kind: str
    tree_size: int
    detail: str


CHECKPOINT_INVALID = "checkpoint_invalid"
CHECKPOINT_MISMATCH = "checkpoint_mismatch"
LOG_TRUNCATED = "log_truncated"
COSIGNATURE_INVALID = "cosignature_invalid"
HEADS_INVALID = "heads_invalid"
HEADS_MISMATCH = "heads_mismatch"


def check_log(rebuild: TreeRebuild, checkpoints: list[tuple[int, str, str]],
              cosignatures: list[tuple[int, str, str]], origin: str | None,
              ledger_key: bytes | None) -> tuple[list[LogFinding], dict[int, set[str]]]:
    """Findings about the kept checkpoints and cosignatures, and for each checkpoint size the
    witnesses (verifier keys) whose cosignatures verify."""
    findings: list[LogFinding] = []
    valid: dict[int, Checkpoint] = {}
    if ledger_key is None or origin is None:
        return findings, {}  # no ledger key: the verifier reports that already
    verifier = log_verifier(origin, ledger_key)
    size_now = rebuild.tree.size
    for size, note, heads in checkpoints:
        try:
            checkpoint = open_checkpoint(note, verifier)
        except BadNote as error:
            findings.append(LogFinding(CHECKPOINT_INVALID, size, error.message))
            continue
        if checkpoint.size != size:
            findings.append(LogFinding(CHECKPOINT_INVALID, size, f"kept as size {size} but "
                                       f"signed for size {checkpoint.size}"))
            continue
        valid[size] = checkpoint
        if size > size_now:
            findings.append(LogFinding(LOG_TRUNCATED, size, (
                f"the checkpoint signed for {size} events, but the log holds {size_now}: "
                f"{size - size_now} of the events it covered are gone (cut from the end of "
                "the log, or of streams)")))
            continue
        tree_root, heads_root = rebuild.roots[size]
        if tree_root != checkpoint.root:
            findings.append(LogFinding(CHECKPOINT_MISMATCH, size, (
                "the events no longer hash to the root this checkpoint signed: an event it "
                "covered was altered, removed, inserted or moved")))
            continue
        try:
            signed_heads = open_heads(heads, ledger_key, checkpoint)
        except BadNote as error:
            findings.append(LogFinding(HEADS_INVALID, size, error.message))
            continue
        if signed_heads != heads_root:
            findings.append(LogFinding(HEADS_MISMATCH, size, (
                "the heads statement does not commit to the newest event of every stream at "
                "this size: completeness proofs under it would mislead")))
    cosigned: dict[int, set[str]] = {}
    for size, witness, line in cosignatures:
        checkpoint = valid.get(size)
        try:
            if checkpoint is None:
                raise BadNote(f"no valid checkpoint of size {size} is kept for it")
            key = parse_verifier_key(witness)
            if key.key_type != COSIGNATURE_V1:
                raise BadNote(f"{witness} is not a cosignature/v1 key")
            cosignature_time(checkpoint.text(), line, key)
        except BadNote as error:
            findings.append(LogFinding(COSIGNATURE_INVALID, size, f"{witness}: {error.message}"))
            continue
        cosigned.setdefault(size, set()).add(witness)
    return findings, cosigned
