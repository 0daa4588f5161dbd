"""The Merkle log as stored: each append adds its events' leaves, in global order, inside the
transaction that stores the events; roots and proofs are read from the stored nodes (O(log n)
of them each). The math is in merkle.py; the tables are described in ledger/stores/tables.py."""

from __future__ import annotations

from typing import Any, Sequence

from ledger.errors import BadTreeSize, NotInLog
from ledger.evidence.envelope import stream_uuid
from ledger.stores.tables import Transaction
from . import merkle


def add_leaves(tx: Transaction, positions: Sequence[int], event_hashes: Sequence[str],
               tree: merkle.CompactTree | None) -> merkle.CompactTree:
    """Inside the append's transaction: give the events the next leaf indexes and store the
    nodes they complete. `tree` is the caller's frontier from its last append, taken as the
    store's without a read (if it is behind, the new leaf indexes collide with stored ones
    and the transaction fails); None reads it. Returns the new frontier, for the caller to
    keep once the transaction commits."""
    if tree is None:
        size = tx.tree_size()
        frontier = merkle.frontier_nodes(size)
        stored = tx.tree_nodes([merkle.node_key(node) for node in frontier])
        tree = merkle.CompactTree(size, [stored[merkle.node_key(node)] for node in frontier])
    else:
        tree = merkle.CompactTree(tree.size, tree.frontier)
    first = tree.size
    nodes = []
    for event_hash in event_hashes:
        nodes.extend(tree.append(merkle.leaf_hash(bytes.fromhex(event_hash))))
    tx.add_leaves([(first + i, position) for i, position in enumerate(positions)])
    tx.add_nodes([(merkle.node_key(node), digest) for node, digest in nodes])
    return tree


def integrate_earlier_events(recorder: Any, batch: int = 5000) -> int:
    """Give leaves to events stored before this store had a Merkle log (a store written by an
    earlier version, which has no leaf at all), in global order; return how many. Run when a
    ledger opens. A store with some leaves but not all has had derived rows removed: that is
    damage for `rebuild_log`, never repaired silently here."""
    if recorder.tree_size():
        return 0
    return _add_leaves_from(recorder, batch)


def rebuild_log(recorder: Any, batch: int = 5000) -> int:
    """Rebuild the derived tables of the Merkle log (leaves and nodes) from the events, in
    global order, after removing what is stored; return how many leaves. The writers must be
    stopped while it runs. `sunledger verify` then checks the rebuilt tree against every kept
    checkpoint."""
    recorder.clear_tree()
    return _add_leaves_from(recorder, batch)


def _add_leaves_from(recorder: Any, batch: int) -> int:
    import orjson

    size = recorder.tree_size()
    after = StoredLog(recorder).position_of_leaf(size - 1) if size else 0
    end = recorder.max_position()
    if after >= end:
        return 0
    frontier = merkle.frontier_nodes(size)
    stored = recorder.tree_nodes([merkle.node_key(node) for node in frontier])
    tree = merkle.CompactTree(size, [stored[merkle.node_key(node)] for node in frontier])
    added = 0
    while after < end:
        rows = recorder.select_rows(after, min(after + batch, end))
        after = min(after + batch, end)
        if not rows:
            continue
        first, nodes = tree.size, []
        for row in rows:
            nodes.extend(tree.append(merkle.leaf_hash(bytes.fromhex(orjson.loads(row[4])["hash"]))))
        if not recorder.add_to_tree([(first + i, row[0]) for i, row in enumerate(rows)],
                                    [(merkle.node_key(node), digest) for node, digest in nodes]):
            break  # another process opening the store gave these events their leaves
        added += len(rows)
    return added


class StoredLog:
    """Reads of the Merkle log from a store's recorder."""

    def __init__(self, recorder: Any):
        self.recorder = recorder

    def size(self) -> int:
        return self.recorder.tree_size()

    def _check_size(self, size: int, *, least: int = 0) -> None:
        current = self.size()
        if not least <= size <= current:
            raise BadTreeSize(f"tree size {size} is not between {least} and the log's current "
                              f"size {current}", size=size, current=current)

    def _ranges(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        nodes = merkle.nodes_for(ranges)
        stored = self.recorder.tree_nodes([merkle.node_key(node) for node in nodes])
        by_node = {node: stored[merkle.node_key(node)] for node in nodes}
        return [merkle.range_hash(lo, hi, by_node) for lo, hi in ranges]

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return self._ranges([(0, size)])[0] if size else merkle.EMPTY_ROOT

    def inclusion(self, index: int, size: int) -> list[bytes]:
        self._check_size(size, least=1)
        if not 0 <= index < size:
            raise BadTreeSize(f"leaf {index} is not in a tree of {size} leaves", index=index,
                              size=size)
        return self._ranges(merkle.inclusion_ranges(index, size))

    def consistency(self, old: int, size: int) -> list[bytes]:
        self._check_size(size)
        if not 0 <= old <= size:
            raise BadTreeSize(f"old size {old} is not between 0 and {size}", old=old, size=size)
        return self._ranges(merkle.consistency_ranges(old, size)) if old else []

    def leaf_index(self, stream: str, version: int) -> tuple[int, int]:
        """(leaf index, position) of a stream's version."""
        found = self.recorder.leaf_of(stream_uuid(stream), version)
        if found is None:
            raise NotInLog(f"{stream} has no version {version} in this log", stream=stream,
                           version=version)
        return found

    def position_of_leaf(self, index: int) -> int:
        rows = self.recorder.leaf_positions(index - 1, index)
        if not rows:
            raise NotInLog(f"the log has no leaf {index}", index=index)
        return rows[0][1]
