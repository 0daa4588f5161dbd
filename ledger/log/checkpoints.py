"""Checkpoints: the log's signed word on its tree (C2SP tlog-checkpoint, signed as a C2SP
signed note by the ledger key under the name of its origin).

    text = origin "\\n" tree size (decimal) "\\n" base64(root) "\\n"

No extension lines: every standard tool and witness takes the checkpoint as it is. Beside
each checkpoint the ledger signs a heads statement, which commits to the newest event of
every stream at that tree size (heads.py) for per-project completeness proofs:

    statement = {format: "sunledger/heads/v1", heads_root, origin, streams, tree_root,
                 tree_size}                       (roots in base64)
    signature = Ed25519(ledger key, JCS(statement))

Issuing is here too. The stored tree is derived data, and the ledger never trusts it alone: a
checkpoint's root is computed from the events themselves (from the last signed checkpoint's
compact range, once that range checks out against its signed root, or from the first event),
and is signed only when the stored tree gives the same root. So the log never signs two
inconsistent checkpoints, nor a root the events do not give.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import BadNote, LedgerError, LogInconsistent
from ledger.evidence.canonical import canonical_json, parse_ledger_json
from ledger.evidence.envelope import hash_and_stored_bytes
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
        outer = parse_ledger_json(signed)
        statement, signature = outer["statement"], base64.b64decode(outer["signature"],
                                                                     validate=True)
        root = base64.b64decode(statement["heads_root"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadNote("the heads statement is not the ledger JSON of a signed statement") from None
    if canonical_json(outer) != signed.encode("utf-8", "surrogatepass"):
        raise BadNote("the heads statement is not in its canonical encoding (JCS of "
                      "{\"signature\", \"statement\"})")
    if not signature_ok(public_key, canonical_json(statement), signature):
        raise BadNote("the heads statement's signature does not verify with the ledger key")
    streams = statement.get("streams")
    if type(streams) is not int or streams < 0:
        raise BadNote("the heads statement's streams is not a count of streams")
    if statement != heads_statement(checkpoint, root, streams):
        raise BadNote(f"the heads statement is not for the checkpoint of size {checkpoint.size}")
    return root


@dataclass
class HeadsFold:
    """The heads map of a tree size, carried forward from receipts in position order."""

    heads: HeadsMap = field(default_factory=HeadsMap)
    position: int = 0  # receipts up to here are folded in
    latest: dict[str, str] = field(default_factory=dict)  # stream -> head event hash (hex)
    kept_size: int = 0  # the tree size of the map the store keeps (0: none)

    def advance(self, recorder: Any, upto: int) -> bytes:
        """Fold in the receipts in (position, upto], a page at a time; return the heads root."""
        while self.position < upto:
            page = recorder.select_receipts(self.position, min(upto, self.position + RECEIPTS_PAGE))
            for receipt in page:
                self.set(receipt.stream, receipt.event_hash)
            self.position = min(upto, self.position + RECEIPTS_PAGE)
        return self.heads.root()

    def set(self, stream: str, head: str) -> None:
        self.heads.set(stream, bytes.fromhex(head))
        self.latest[stream] = head

    def encoded(self) -> bytes:
        """The map as `sunledger_heads_map` keeps it: `<head hex> <stream>` lines, in stream
        order (evidence-format §15.1)."""
        return "".join(f"{head} {stream}\n" for stream, head in sorted(self.latest.items())).encode()

    @classmethod
    def decoded(cls, position: int, encoded: bytes) -> "HeadsFold":
        fold = cls(position=position)
        for line in encoded.decode("utf-8").splitlines():
            head, _, stream = line.partition(" ")
            fold.set(stream, head)
        return fold


RECEIPTS_PAGE = 10_000  # receipts read at a time while heads are folded
HEADS_MAP_EVERY = 100_000  # leaves between kept heads maps: at most this many receipts are
#   folded to resume the map, and writing one (a line per stream) costs little per event


def heads_at(recorder: Any, size: int) -> HeadsFold:
    """The heads map at a tree size: from the kept map of the latest checkpoint not after it
    when that map gives its checkpoint's signed heads root, else from the first receipt."""
    fold = _kept_heads(recorder, size) or HeadsFold()
    if size:
        fold.advance(recorder, StoredLog(recorder).position_of_leaf(size - 1))
    return fold


def _kept_heads(recorder: Any, size: int) -> HeadsFold | None:
    kept = recorder.heads_map(size)
    if kept is None:
        return None
    tree_size, position, encoded = kept
    statement = next((heads for s, _, _, heads in recorder.checkpoints(tree_size, tree_size)),
                     None)
    try:
        if position != StoredLog(recorder).position_of_leaf(tree_size - 1):
            return None  # not the position of its checkpoint's last leaf: receipts would be skipped
        fold = HeadsFold.decoded(position, encoded)
        signed_root = base64.b64decode(parse_ledger_json(statement)["statement"]["heads_root"])
    except (LedgerError, ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error):
        return None  # a changed row: fold from the first receipt
    fold.kept_size = tree_size
    return fold if fold.heads.root() == signed_root else None


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
    kept = recorder.checkpoints(newest=True)
    return kept[0] if kept else None


REBUILD_HINT = ("rebuild the derived tables from the events with `sunledger rebuild-log`, then "
                "run `sunledger verify`")


def latest_signed(recorder: Any, verifier: Verifier) -> tuple[str, Checkpoint] | None:
    """The newest kept checkpoint's note and what it signs (its signature checked)."""
    last = latest_checkpoint(recorder)
    return (last[1], open_checkpoint(last[1], verifier)) if last is not None else None


def trusted_tree(recorder: Any, old: Checkpoint | None, batch: int = 5000, *,
                 strict: bool = True) -> tuple[merkle.CompactTree, int]:
    """The Merkle tree of every stored event, computed from the events' own hashes, and the
    position of the last one. It starts from the last kept checkpoint's (`old`) compact range when
    the stored frontier hashes to that checkpoint's signed root and its last leaf is the
    event the leaves table names; otherwise from the first event, and then the events must
    give the signed root at the checkpoint's size. Strict (to sign a checkpoint), it raises
    LogInconsistent when an event cannot be read or no longer hashes to its stored hash, or
    the events contradict a signed checkpoint. Lenient (to append after an insider changed
    a row), an unreadable event takes the leaf that matches nothing, as the verifier's does,
    and a changed one its stored hash: appends go on, and no checkpoint is signed over them
    until the store is put right."""
    import orjson

    anchor = _anchor(recorder, old) if old is not None else None
    tree, after = anchor if anchor is not None else (merkle.CompactTree(), 0)
    end = recorder.max_position()
    while after < end:
        upto = min(after + batch, end)
        for position, _, _, _, state in recorder.select_rows(after, upto):
            try:
                event = orjson.loads(state)
                digest, _ = hash_and_stored_bytes(event)
                stored_hash = bytes.fromhex(event["hash"])
            except (ValueError, KeyError, TypeError, AttributeError):
                if strict:
                    raise LogInconsistent(f"the event at position {position} cannot be read as "
                                          f"an event; no checkpoint was signed: run `sunledger "
                                          f"verify`", position=position) from None
                tree.append(merkle.UNREADABLE_LEAF)
                after = position
                continue
            if digest != event["hash"] and strict:
                raise LogInconsistent(f"the event at position {position} no longer hashes to its "
                                      f"stored hash; no checkpoint was signed: run `sunledger "
                                      f"verify`", position=position)
            if strict and anchor is None and old is not None and tree.size == old.size \
                    and tree.root() != old.root:
                raise LogInconsistent(f"the events no longer give the root of the signed "
                                      f"checkpoint of size {old.size}; no checkpoint was signed: "
                                      f"run `sunledger verify`", size=old.size)
            tree.append(merkle.leaf_hash(stored_hash))
            after = position
        after = upto
    if strict and old is not None and (tree.size < old.size or (
            anchor is None and tree.size == old.size and tree.root() != old.root)):
        raise LogInconsistent(f"the events give a tree of {tree.size} leaves, not the signed "
                              f"checkpoint's {old.size}; no checkpoint was signed: run "
                              f"`sunledger verify`", size=old.size)
    return tree, after


def _anchor(recorder: Any, old: Checkpoint) -> tuple[merkle.CompactTree, int] | None:
    """The compact range of a signed checkpoint and the position of its last leaf, if the
    stored rows check out against its signed root; None if they do not."""
    if old.size == 0:
        return merkle.CompactTree(), 0
    import orjson

    log = StoredLog(recorder)
    try:
        frontier = merkle.frontier_nodes(old.size)
        stored = recorder.tree_nodes([merkle.node_key(node) for node in frontier])
        tree = merkle.CompactTree(old.size, [stored[merkle.node_key(node)] for node in frontier])
        if tree.root() != old.root:
            return None
        position = log.position_of_leaf(old.size - 1)
        rows = recorder.select_rows(position - 1, position)
        if not rows:
            return None
        digest, _ = hash_and_stored_bytes(orjson.loads(rows[0][4]))
        path = log.inclusion(old.size - 1, old.size)
    except (KeyError, LedgerError, ValueError, TypeError):
        return None
    if not merkle.inclusion_ok(old.size - 1, old.size, merkle.leaf_hash(bytes.fromhex(digest)),
                               path, old.root):
        return None
    return tree, position


def issue_checkpoint(recorder: Any, key: SigningKey, origin: str, issued_at: str,
                     heads: HeadsFold) -> str:
    """Sign and keep a checkpoint of the log as the events give it; return the signed note.
    Signs nothing, and says how to repair it, when the stored tree (which proofs are served
    from) is not the tree the events give: a changed tree table must never make the ledger
    sign, or a witness cosign, what the events do not say."""
    log = StoredLog(recorder)
    last = latest_signed(recorder, log_verifier(origin, key.public_key))
    tree, last_position = trusted_tree(recorder, last[1] if last else None)
    size, root = tree.size, tree.root()
    try:
        stored = log.root(size) if log.size() >= size else None
    except (KeyError, LedgerError):
        stored = None
    if stored != root:
        raise LogInconsistent(f"the stored Merkle tree is not the tree the events give at size "
                              f"{size}; no checkpoint was signed: {REBUILD_HINT}", size=size)
    if last is not None and last[1].size == size:
        return last[0]
    checkpoint = Checkpoint(origin, size, root)
    if heads.position and size and heads.position > last_position:
        raise LogInconsistent("the heads carried forward are past the tree: no checkpoint signed")
    heads_root = heads.advance(recorder, last_position) if size else heads.heads.root()
    note = sign_note(checkpoint.text(), origin, key)
    keep = size - heads.kept_size >= HEADS_MAP_EVERY  # the kept map is far enough behind
    recorder.add_checkpoint(size, note, issued_at,
                            sign_heads(heads_statement(checkpoint, heads_root, len(heads.heads)), key),
                            (heads.position, heads.encoded()) if keep else None)
    if keep:
        heads.kept_size = size
    return note
