"""The heads map: which event is the newest of each stream at a tree size, committed to by one
hash, so that a report can prove it holds *every* event of a project up to a checkpoint.

A sparse Merkle tree keyed by SHA-256 of the stream name (256 bits, most significant first),
in its compact form: a subtree holding one stream is that stream's leaf, wherever it stands.

    key        = SHA-256(UTF-8 stream name)
    leaf       = SHA-256(0x00 ‖ key ‖ head event hash)
    node       = SHA-256(0x01 ‖ left ‖ right)          (left: the next key bit is 0)
    empty      = 32 zero bytes
    MAP(keys, depth) = empty if no key; the leaf if one; else
                       node(MAP(keys with bit depth = 0, depth+1), MAP(… = 1, depth+1))
    heads root = MAP(all streams with an event in the tree, 0)

A proof for one stream is the sibling hashes from the root down to its leaf. The domain bytes
keep a leaf from passing for a node, and the key fixes the path, so a root admits one head
per stream. Pure code; docs/evidence-format.md ("Per-project completeness") has the bytes.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Iterable

EMPTY = bytes(32)
KEY_BITS = 256
# the depth whose nodes a verifier remembers between runs (ledger/audit/trusted.py): 1,024
# prefixes at most, some 45 kB, and a resumed map hashes only the 1,023 nodes above them
SUBTREE_DEPTH = 10


def stream_key(stream: str) -> bytes:
    return hashlib.sha256(stream.encode("utf-8")).digest()


def head_leaf(key: bytes, head: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + key + head).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_proof(stream: str, head: bytes, siblings: list[bytes]) -> bytes:
    """The heads root that a stream's head and its siblings (root first) lead to."""
    key = stream_key(stream)
    number = int.from_bytes(key, "big")
    digest = head_leaf(key, head)
    for depth in reversed(range(len(siblings))):
        if number >> (KEY_BITS - 1 - depth) & 1:
            digest = _node(siblings[depth], digest)
        else:
            digest = _node(digest, siblings[depth])
    return digest


class HeadsMap:
    """The heads of all streams, with the subtree hashes kept between roots: changing k
    heads costs O(k · depth) hashes at the next root, not a rebuild."""

    def __init__(self) -> None:
        self._keys: list[int] = []  # sorted
        self._heads: dict[int, bytes] = {}  # key number -> leaf hash, as of the last root
        self._cache: dict[tuple[int, int], bytes] = {}  # (depth, prefix) -> subtree hash
        self._numbers: dict[str, tuple[bytes, int]] = {}  # stream -> (key, key number)
        self._pending: dict[int, tuple[bytes, bytes]] = {}  # number -> (key, newest head)
        self._depth = 0  # the deepest cached node

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def of(cls, heads: Iterable[tuple[str, bytes]],
           subtrees: dict[int, bytes] | None = None) -> "HeadsMap":
        """A map of many heads at once (a verifier resuming from its state): the keys sorted
        once, the leaves hashed now. `subtrees` are the map's nodes at depth SUBTREE_DEPTH by
        prefix, as `subtrees()` gave them for these same heads: the next root then hashes only
        above them and along the paths of heads set since."""
        made = cls()
        for stream, head in heads:
            key = stream_key(stream)
            number = int.from_bytes(key, "big")
            made._numbers[stream] = (key, number)
            made._heads[number] = head_leaf(key, head)
        made._keys = sorted(made._heads)
        if subtrees:
            made._cache = {(SUBTREE_DEPTH, prefix): node for prefix, node in subtrees.items()}
            made._depth = SUBTREE_DEPTH
        return made

    def subtrees(self) -> dict[int, bytes]:
        """The nodes at depth SUBTREE_DEPTH that hold two heads or more, by prefix (a
        subtree of one head is its leaf, of none is empty: neither is kept)."""
        self.root()
        found: dict[int, bytes] = {}
        lo = 0
        while lo < len(self._keys):
            prefix = self._keys[lo] >> (KEY_BITS - SUBTREE_DEPTH)
            hi = bisect.bisect_left(self._keys, (prefix + 1) << (KEY_BITS - SUBTREE_DEPTH), lo)
            if hi - lo > 1:
                found[prefix] = self._hash(lo, hi, SUBTREE_DEPTH, prefix)
            lo = hi
        return found

    def set(self, stream: str, head: bytes) -> None:
        """A stream's newest head. Cheap: the leaf is hashed at the next root, once however
        often the head moved meanwhile (a verifier sets one head per event)."""
        known = self._numbers.get(stream)
        if known is None:
            key = stream_key(stream)
            known = self._numbers[stream] = (key, int.from_bytes(key, "big"))
            if known[1] not in self._heads:
                bisect.insort(self._keys, known[1])
                self._heads[known[1]] = EMPTY  # until the next root
        self._pending[known[1]] = (known[0], head)

    def root(self) -> bytes:
        for number, (key, head) in self._pending.items():
            self._heads[number] = head_leaf(key, head)
            for depth in range(self._depth + 1):
                self._cache.pop((depth, number >> (KEY_BITS - depth)), None)
        self._pending.clear()
        return self._hash(0, len(self._keys), 0, 0)

    def _hash(self, lo: int, hi: int, depth: int, prefix: int) -> bytes:
        if lo == hi:
            return EMPTY
        if hi - lo == 1:
            return self._heads[self._keys[lo]]
        cached = self._cache.get((depth, prefix))
        if cached is None:
            mid = self._split(lo, hi, depth, prefix)
            cached = _node(self._hash(lo, mid, depth + 1, prefix << 1),
                           self._hash(mid, hi, depth + 1, prefix << 1 | 1))
            self._cache[(depth, prefix)] = cached
            self._depth = max(self._depth, depth)
        return cached

    def _split(self, lo: int, hi: int, depth: int, prefix: int) -> int:
        """The first of keys[lo:hi] whose bit `depth` is 1."""
        return bisect.bisect_left(self._keys, (prefix << 1 | 1) << (KEY_BITS - 1 - depth), lo, hi)

    def proof(self, stream: str) -> list[bytes]:
        """The siblings of a stream's leaf, root first (the stream must have a head)."""
        number = int.from_bytes(stream_key(stream), "big")
        if number not in self._heads:
            raise KeyError(stream)
        self.root()
        siblings = []
        lo, hi, depth, prefix = 0, len(self._keys), 0, 0
        while hi - lo > 1:
            mid = self._split(lo, hi, depth, prefix)
            if number >> (KEY_BITS - 1 - depth) & 1:
                siblings.append(self._hash(lo, mid, depth + 1, prefix << 1))
                lo, prefix = mid, prefix << 1 | 1
            else:
                siblings.append(self._hash(mid, hi, depth + 1, prefix << 1 | 1))
                hi, prefix = mid, prefix << 1
            depth += 1
        return siblings
