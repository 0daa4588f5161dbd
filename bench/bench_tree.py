#!/usr/bin/env python
"""The Merkle log against pymerkle, on the same leaves, in one run.

Run by hand (`./run bench`, or `python bench/bench_tree.py [--quick]`); not a test.

1. Appends: N leaves (default 1,000,000; --quick 100,000), 32-byte entries (event hashes),
   in batches of 1,000:
   - Sunledger: each batch's leaf hashes and the complete subtrees they finish are computed
     (`merkle.CompactTree`) and stored in a real SQLite store (`sunledger_leaves`,
     `sunledger_tree`), one transaction per batch: persisted, as the ledger does it;
   - pymerkle `InmemoryTree.append_entry` (kept in memory only) and `SqliteTree.append_entries`
     (persisted; it stores the entries and computes no node until asked).
   Both trees hash RFC 6962 style (0x00 leaf, 0x01 node prefixes); their roots are compared.
2. Proofs at N leaves: inclusion of random leaves in the whole tree, and consistency of random
   older sizes with the whole tree. Sunledger reads O(log n) stored nodes from SQLite per
   proof; pymerkle's SqliteTree computes from its stored entries. Each proof is checked.

Targets: Sunledger's persisted appends >= pymerkle's in-memory rate; its proofs >= 20 times
faster than pymerkle's SqliteTree, and each under 1 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.log import merkle  # noqa: E402
from ledger.log.tree import StoredLog  # noqa: E402
from ledger.stores.url import open_recorder, parse_store_url  # noqa: E402

BATCH = 1000


def entries(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]


def sunledger_append(url: str, leaves: list[bytes], batch: int) -> tuple[float, object]:
    recorder = open_recorder(parse_store_url(url), create=True)
    tree = merkle.CompactTree()
    start = time.perf_counter()
    for lo in range(0, len(leaves), batch):
        first, nodes = tree.size, []
        chunk = leaves[lo:lo + batch]
        for entry in chunk:
            nodes.extend(tree.append(merkle.leaf_hash(entry)))
        recorder.add_to_tree([(first + i, first + i + 1) for i in range(len(chunk))],
                             [(merkle.node_key(node), digest) for node, digest in nodes])
    return time.perf_counter() - start, recorder


def timed(call, samples) -> list[float]:
    times = []
    for args in samples:
        start = time.perf_counter()
        call(*args)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 leaves")
    parser.add_argument("--leaves", type=int, help="leaves in the tree")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--proofs", type=int, default=200, help="Sunledger proofs of each kind")
    parser.add_argument("--baseline-proofs", type=int, default=10,
                        help="pymerkle SqliteTree proofs of each kind (they are slow)")
    args = parser.parse_args(argv)
    try:
        from pymerkle import InmemoryTree, SqliteTree
    except ImportError:
        print("bench_tree: needs pymerkle (pip install -e '.[bench]'; ./run bench does it)")
        return 2
    n = args.leaves or (100_000 if args.quick else 1_000_000)
    print(f"bench_tree: Python {platform.python_version()}, {n:,} leaves, batches of "
          f"{args.batch:,}")
    leaves = entries(n)
    rng = random.Random(1)

    with tempfile.TemporaryDirectory() as tmp:
        ours_seconds, recorder = sunledger_append(f"sqlite:{tmp}/tree.db", leaves, args.batch)
        memory = InmemoryTree(algorithm="sha256")
        start = time.perf_counter()
        for entry in leaves:
            memory.append_entry(entry)
        memory_seconds = time.perf_counter() - start
        sqlite_tree = SqliteTree(f"{tmp}/pymerkle.db", algorithm="sha256")
        start = time.perf_counter()
        sqlite_tree.append_entries(leaves, chunksize=args.batch)
        sqlite_seconds = time.perf_counter() - start

        log = StoredLog(recorder)
        root = log.root(n)
        assert root == memory.get_root() == sqlite_tree.get_root(), "the roots differ"

        def ours_inclusion(index):
            path = log.inclusion(index, n)
            assert merkle.inclusion_ok(index, n, merkle.leaf_hash(leaves[index]), path, root)

        def ours_consistency(old):
            proof = log.consistency(old, n)
            assert merkle.consistency_ok(old, n, old_roots[old], root, proof)

        indexes = [(rng.randrange(n),) for _ in range(args.proofs)]
        olds = [(rng.randrange(1, n),) for _ in range(args.proofs)]
        old_roots = {old: log.root(old) for (old,) in olds}
        ours_incl = timed(ours_inclusion, indexes)
        ours_cons = timed(ours_consistency, olds)
        base = args.baseline_proofs
        # pymerkle's index is 1-based
        sq_incl = timed(lambda i: sqlite_tree.prove_inclusion(i + 1, n), indexes[:base])
        sq_cons = timed(lambda old: sqlite_tree.prove_consistency(old, n), olds[:base])
        mem_incl = timed(lambda i: memory.prove_inclusion(i + 1, n), indexes)
        mem_cons = timed(lambda old: memory.prove_consistency(old, n), olds)
        recorder.datastore.close()

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    print()
    print(f"{'appends (leaves/s)':44} {'rate':>12}")
    print(f"{'Sunledger, persisted to SQLite':44} {n / ours_seconds:12,.0f}")
    print(f"{'pymerkle InmemoryTree (memory only)':44} {n / memory_seconds:12,.0f}")
    print(f"{'pymerkle SqliteTree (entries persisted)':44} {n / sqlite_seconds:12,.0f}")
    print()
    print(f"{'proofs at ' + format(n, ',') + ' leaves (median ms)':44} {'inclusion':>10} "
          f"{'consistency':>12}")
    print(f"{'Sunledger, from stored nodes (SQLite)':44} {ms(ours_incl):10.3f} {ms(ours_cons):12.3f}")
    print(f"{'pymerkle SqliteTree':44} {ms(sq_incl):10.3f} {ms(sq_cons):12.3f}")
    print(f"{'pymerkle InmemoryTree (for reference)':44} {ms(mem_incl):10.3f} {ms(mem_cons):12.3f}")
    print(f"(Sunledger: {len(ours_incl)} proofs of each kind, each verified; pymerkle SqliteTree: "
          f"{base}; worst Sunledger proof: {max(ours_incl + ours_cons) * 1000:.3f} ms)")
    print()
    append_ratio = memory_seconds / ours_seconds
    incl_ratio = ms(sq_incl) / ms(ours_incl)
    cons_ratio = ms(sq_cons) / ms(ours_cons)
    verdicts = [
        (f"appends >= pymerkle InmemoryTree: {append_ratio:.2f}x", append_ratio >= 1),
        (f"inclusion >= 20x faster than SqliteTree: {incl_ratio:.0f}x", incl_ratio >= 20),
        (f"consistency >= 20x faster than SqliteTree: {cons_ratio:.0f}x", cons_ratio >= 20),
        (f"proofs under 1 ms: {ms(ours_incl):.3f} / {ms(ours_cons):.3f} ms",
         max(ms(ours_incl), ms(ours_cons)) < 1),
    ]
    for text, ok in verdicts:
        print(f"TARGET {text} {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
