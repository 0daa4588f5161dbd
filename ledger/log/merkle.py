"""The Merkle log: RFC 6962 / RFC 9162 tree math over all events, in global order.

Pure functions only; the store keeps the nodes (docs/evidence-format.md, "The Merkle log").

    leaf hash  = SHA-256(0x00 ‖ 32-byte event hash)
    node hash  = SHA-256(0x01 ‖ left ‖ right)
    MTH(D[n])  = the hash of the n leaves: the left subtree is the largest power of two
                 smaller than n, the right subtree the rest (RFC 9162 §2.1.1)

A node is named (level, index): it covers leaves [index·2^level, (index+1)·2^level). Only the
nodes of complete subtrees are stored; any other range hash is folded from them, so every
root and proof needs O(log n) stored nodes. The functions that prove come in pairs: one says
which ranges a proof needs (`*_ranges`), `range_hash` folds each from stored nodes.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 and shares no code with proving.
"""

from __future__ import annotations

import hashlib

Node = tuple[int, int]  # (level, index)
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH of the empty tree


# the leaf of an event whose hash cannot be read: it matches nothing, so a tree that holds it
# differs from every checkpoint covering it, which is what such a row deserves
UNREADABLE_LEAF = hashlib.sha256(b"sunledger: unreadable event").digest()


def leaf_hash(event_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + event_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def node_key(node: Node) -> int:
    """One integer for a node, as the store keys it: level · 2^40 + index."""
    level, index = node
    return (level << 40) | index


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size >= 2): where MTH splits."""
    return 1 << ((size - 1).bit_length() - 1)


# --- appending ------------------------------------------------------------------------------

def frontier_nodes(size: int) -> list[Node]:
    """The complete subtrees a tree of `size` leaves is made of, left to right: one per set
    bit of `size`, largest first (the right edge the next leaf joins)."""
    nodes = []
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            nodes.append((level, (size >> level) - 1))
    return nodes


def append_leaf(frontier: list[bytes], size: int, leaf: bytes) -> list[tuple[Node, bytes]]:
    """Append the leaf with index `size` to a tree whose frontier hashes are `frontier`
    (changed in place); return the nodes that became complete, the leaf first."""
    created = [((0, size), leaf)]
    digest, index, level = leaf, size, 0
    while index & 1:  # a right child: its left sibling is the frontier's last subtree
        digest = node_hash(frontier.pop(), digest)
        index >>= 1
        level += 1
        created.append(((level, index), digest))
    frontier.append(digest)
    return created


def frontier_root(frontier: list[bytes]) -> bytes:
    """MTH from the frontier hashes: fold right to left."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for digest in reversed(frontier[:-1]):
        root = node_hash(digest, root)
    return root


class CompactTree:
    """A tree known only by its frontier: O(log n) memory, for rebuilding a root from the
    leaves in order (the verifier) and for adding leaves to a stored tree (the ledger)."""

    def __init__(self, size: int = 0, frontier: list[bytes] | None = None):
        self.size = size
        self.frontier = list(frontier or [])

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        created = append_leaf(self.frontier, self.size, leaf)
        self.size += 1
        return created

    def root(self) -> bytes:
        return frontier_root(self.frontier)


# --- proving from stored nodes --------------------------------------------------------------

def subtree_nodes(lo: int, hi: int) -> list[Node]:
    """The complete subtrees covering leaves [lo, hi), left to right, as MTH splits them."""
    nodes = []
    while lo < hi:
        size = 1 << ((hi - lo).bit_length() - 1)  # the largest power of two that fits
        while lo & (size - 1):  # a subtree starts at a multiple of its size
            size >>= 1
        level = size.bit_length() - 1
        nodes.append((level, lo >> level))
        lo += size
    return nodes


def range_hash(lo: int, hi: int, nodes: dict[Node, bytes]) -> bytes:
    """MTH of leaves [lo, hi) from the stored nodes of its complete subtrees."""
    return frontier_root([nodes[node] for node in subtree_nodes(lo, hi)])


def inclusion_ranges(index: int, size: int, lo: int = 0) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(index, D[lo:lo+size]) (RFC 9162 §2.1.3.1), leaf to
    root: at each level, the subtree on the other side of the split."""
    if size <= 1:
        return []
    k = _split(size)
    if index < k:
        return inclusion_ranges(index, k, lo) + [(lo + k, lo + size)]
    return inclusion_ranges(index - k, size - k, lo + k) + [(lo, lo + k)]


def consistency_ranges(old: int, size: int, lo: int = 0,
                       whole: bool = True) -> list[tuple[int, int]]:
    """The ranges whose hashes form SUBPROOF(old, D[lo:lo+size], whole) (RFC 9162 §2.1.4.1)."""
    if old == size:
        return [] if whole else [(lo, lo + size)]
    k = _split(size)
    if old <= k:
        return consistency_ranges(old, k, lo, whole) + [(lo + k, lo + size)]
    return consistency_ranges(old - k, size - k, lo + k, False) + [(lo, lo + k)]


def nodes_for(ranges: list[tuple[int, int]]) -> list[Node]:
    """The stored nodes a list of ranges needs (to read them in one query)."""
    return sorted({node for lo, hi in ranges for node in subtree_nodes(lo, hi)})


# --- verifying (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------------

def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or None when the proof has the wrong shape."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def inclusion_ok(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, path) == root


def consistency_ok(old: int, size: int, old_root: bytes, root: bytes,
                   proof: list[bytes]) -> bool:
    """Whether `proof` shows the tree of `size` leaves with `root` extends the tree of `old`
    leaves with `old_root`."""
    if not 0 <= old <= size:
        return False
    if old == size:
        return not proof and old_root == root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    if old & (old - 1) == 0:  # a power of two: the old root is the first node of the path
        proof = [old_root] + proof
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == root
