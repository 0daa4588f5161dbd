"""What the verifier checks of the Merkle log: it rebuilds the tree from the events in global
order (leaf i = the i-th event), and the heads map beside it, and judges every kept
checkpoint, heads statement and cosignature against them.

A checkpoint whose root differs from the rebuilt tree at its size means an event it covered
was altered, removed, inserted or moved; one larger than the log means events were cut from
the end. All checkpoints that match one rebuilt tree are consistent with each other.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import BadNote
from ledger.log import merkle
from ledger.log.checkpoints import Checkpoint, log_verifier, open_checkpoint, open_heads
from ledger.log.heads import HeadsMap
from ledger.log.notes import COSIGNATURE_V1, cosignature_time, parse_verifier_key

UNREADABLE_LEAF = merkle.UNREADABLE_LEAF  # (ledger/log/merkle.py)


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

    def add(self, stream: str | None, event_hash: str | None) -> list[tuple[merkle.Node, bytes]]:
        """Add the next event's leaf; return the nodes it completed (the leaf first)."""
        try:
            digest = bytes.fromhex(event_hash) if event_hash else None
        except ValueError:
            digest = None
        created = self.tree.append(merkle.leaf_hash(digest) if digest else UNREADABLE_LEAF)
        if digest and stream:
            self.heads.set(stream, digest)
        if self.sizes and self.sizes[-1] == self.tree.size:
            self._note_roots()
        return created

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
LEAF_ROW_ALTERED = "leaf_row_altered"
TREE_ROW_ALTERED = "tree_row_altered"


class StoredTreeCheck:
    """The stored Merkle tables (derived data) against the tree the events give, a batch of
    leaves at a time: every leaf row must name its event's position, every node row must hold
    the hash of its subtree. The first differing rows of each table are named, the rest
    counted, so that one removed event does not bury its own finding under a row per leaf
    after it. A store from before the log (no leaf and no checkpoint kept) is not compared:
    its events get their leaves when a ledger opens it."""

    NAMED = 5  # rows named per table; the rest are counted
    IN_FLIGHT = 4  # batches of rows queued for comparison at most

    def __init__(self, recorder: Any, checkpoints: int):
        self.recorder = recorder
        self.active = checkpoints > 0 or recorder.tree_size() > 0
        self.leaves: list[tuple[int, int]] = []  # (leaf index, position) expected
        self.nodes: dict[int, tuple[merkle.Node, bytes]] = {}  # node key -> expected
        self.differ: dict[str, list[str]] = {LEAF_ROW_ALTERED: [], TREE_ROW_ALTERED: []}
        self.counts = {LEAF_ROW_ALTERED: 0, TREE_ROW_ALTERED: 0}
        self.first: dict[str, tuple[int | None, int | None]] = {}  # kind -> (leaf, position)
        self.last_position = 0  # of the last event the run verified
        self._reader: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    def expect(self, index: int, position: int, created: list[tuple[merkle.Node, bytes]]) -> None:
        if not self.active:
            return
        self.last_position = position
        self.leaves.append((index, position))
        for node, digest in created:
            self.nodes[merkle.node_key(node)] = (node, digest)

    def _differs(self, kind: str, text: str, index: int | None, position: int | None) -> None:
        self.counts[kind] += 1
        self.first.setdefault(kind, (index, position))
        if len(self.differ[kind]) < self.NAMED:
            self.differ[kind].append(text)

    def flush(self) -> None:
        """Compare the rows expected so far, in a thread of this check's own: the reads wait
        on the store while the verifier goes on (at most IN_FLIGHT batches queued)."""
        if not (self.leaves or self.nodes):
            return
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tree-rows")
        self._pending.append(self._reader.submit(self._compare, self.leaves, self.nodes))
        self.leaves, self.nodes = [], {}
        while len(self._pending) > self.IN_FLIGHT:
            self._pending.popleft().result()

    def _wait(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()  # a store's failure is raised here
        finally:
            if self._reader is not None:
                self._reader.shutdown(wait=True, cancel_futures=True)
                self._reader = None

    def _compare(self, leaves: list[tuple[int, int]],
                 nodes: dict[int, tuple[merkle.Node, bytes]]) -> None:
        if leaves:
            stored = dict(self.recorder.leaf_positions(leaves[0][0] - 1, leaves[-1][0]))
            for index, position in leaves:
                kept = stored.get(index)
                if kept != position:
                    self._differs(LEAF_ROW_ALTERED, f"leaf {index} (the event at position "
                                  f"{position}): " + ("missing" if kept is None else
                                                      f"names position {kept}"), index, position)
        if nodes:
            stored = self.recorder.tree_nodes(list(nodes))
            for key, ((level, index), digest) in sorted(nodes.items()):
                kept = stored.get(key)
                if kept is None or bytes(kept) != digest:
                    self._differs(TREE_ROW_ALTERED, f"node (level {level}, index {index}): "
                                  + ("missing" if kept is None else "not the hash of its subtree"),
                                  None, None)

    def finish(self, size: int) -> list[tuple[str, int | None, int | None, str]]:
        """(kind, first leaf index, its position, detail) per table whose rows differ."""
        if not self.active:
            return []
        self.flush()
        self._wait()
        # leaf rows beyond the events verified: extra rows, unless a ledger appended them
        # after the run began (their events come after the last position it read, and are
        # in the store now)
        newest = self.recorder.max_position()
        extra = [index for index, position in self.recorder.leaf_positions(size - 1, 2**62)
                 if not self.last_position < position <= newest] \
            if self.recorder.tree_size() > size else []
        if extra:
            self._differs(LEAF_ROW_ALTERED, f"{len(extra)} leaf rows beyond the {size} events",
                          size, None)
        found = []
        for kind, named in self.differ.items():
            if self.counts[kind]:
                more = self.counts[kind] - len(named)
                table = "leaf" if kind == LEAF_ROW_ALTERED else "node"
                found.append((kind, *self.first[kind], (
                    f"{self.counts[kind]} stored {table} rows differ from the tree the events "
                    f"give: {'; '.join(named)}" + (f"; and {more} more" if more > 0 else ""))))
        return found


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
        # the heads statement is judged all the same: it is evidence of its own
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
