"""The Merkle math against the published RFC 6962 vectors (tests/vectors/rfc6962.json, copied
from transparency-dev/merkle and google/certificate-transparency; its "source" names each),
and against the RFC's own recursive definitions for every small tree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log import merkle

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc6962.json").read_text())
LEAVES = [hashlib.sha256(b"\x00" + bytes.fromhex(x)).digest() for x in VECTORS["leaves"]]


def stored_tree(leaves: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every node the store would keep, built as the ledger builds it: leaf by leaf."""
    tree = merkle.CompactTree()
    nodes: dict[merkle.Node, bytes] = {}
    for leaf in leaves:
        nodes.update(tree.append(leaf))
    return nodes


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def prove_inclusion(index: int, size: int, nodes) -> list[bytes]:
    return [merkle.range_hash(lo, hi, nodes) for lo, hi in merkle.inclusion_ranges(index, size)]


def prove_consistency(old: int, size: int, nodes) -> list[bytes]:
    return [merkle.range_hash(lo, hi, nodes) for lo, hi in merkle.consistency_ranges(old, size)]


def test_roots_match_the_published_vectors():
    nodes = stored_tree(LEAVES)
    tree = merkle.CompactTree()
    assert tree.root().hex() == VECTORS["roots"]["0"] == VECTORS["empty_tree_root"]
    for size, leaf in enumerate(LEAVES, start=1):
        tree.append(leaf)
        assert tree.root().hex() == VECTORS["roots"][str(size)]
        assert merkle.range_hash(0, size, nodes).hex() == VECTORS["roots"][str(size)]


def test_inclusion_proofs_match_the_published_vectors():
    nodes = stored_tree(LEAVES)
    for vector in VECTORS["inclusion"]:
        index, size = vector["leaf_index"], vector["tree_size"]
        path = prove_inclusion(index, size, nodes)
        assert [h.hex() for h in path] == vector["path"]
        root = bytes.fromhex(VECTORS["roots"][str(size)])
        assert merkle.inclusion_ok(index, size, LEAVES[index], path, root)


def test_consistency_proofs_match_the_published_vectors():
    nodes = stored_tree(LEAVES)
    for vector in VECTORS["consistency"]:
        old, size = vector["old_size"], vector["new_size"]
        proof = prove_consistency(old, size, nodes)
        assert [h.hex() for h in proof] == vector["proof"]
        assert merkle.consistency_ok(old, size, bytes.fromhex(VECTORS["roots"][str(old)]),
                                     bytes.fromhex(VECTORS["roots"][str(size)]), proof)


def test_a_changed_proof_fails():
    nodes = stored_tree(LEAVES)
    root8 = bytes.fromhex(VECTORS["roots"]["8"])
    path = prove_inclusion(5, 8, nodes)
    flipped = [path[0][:-1] + bytes([path[0][-1] ^ 1])] + path[1:]
    assert not merkle.inclusion_ok(5, 8, LEAVES[5], flipped, root8)
    assert not merkle.inclusion_ok(5, 8, LEAVES[5], path[:-1], root8)
    assert not merkle.inclusion_ok(4, 8, LEAVES[5], path, root8)
    assert not merkle.inclusion_ok(5, 6, LEAVES[5], path, root8)
    proof = prove_consistency(6, 8, nodes)
    root6 = bytes.fromhex(VECTORS["roots"]["6"])
    assert not merkle.consistency_ok(6, 8, root6, root8, proof[:-1])
    assert not merkle.consistency_ok(6, 8, root8, root6, proof)
    assert not merkle.consistency_ok(5, 8, root6, root8, proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_proof_of_small_trees_agrees_with_the_rfc_definitions(size, data):
    leaves = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(size)]
    nodes = stored_tree(leaves)
    root = mth(leaves)
    assert merkle.range_hash(0, size, nodes) == root
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert merkle.inclusion_ok(index, size, leaves[index], prove_inclusion(index, size, nodes), root)
    old = data.draw(st.integers(min_value=1, max_value=size))
    proof = prove_consistency(old, size, nodes)
    assert merkle.consistency_ok(old, size, mth(leaves[:old]), root, proof)
    if old < size:
        assert not merkle.consistency_ok(old, size, mth(leaves[:old - 1] + [root]), root, proof)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 1000, 2**20 + 3])
def test_frontier_is_one_node_per_set_bit(size):
    nodes = merkle.frontier_nodes(size)
    assert len(nodes) == bin(size).count("1")
    assert sum(1 << level for level, _ in nodes) == size
    assert nodes == merkle.subtree_nodes(0, size)
