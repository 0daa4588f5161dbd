#!/usr/bin/env python
"""Flat cost at any size: one project's 10,000th append against its 10th, and reads of a
stream of 100,000 events.

Run by hand (`./run bench`, or `python bench/bench_streams.py [--quick] [--no-pg]`); not a test.

A client reads the stream's version before it signs, so each timed append is: read the
version (`Ledger.stream_version`), sign (the client's work, outside the timing is not
possible here: it is inside, and the same at every size), submit. The baseline is the same
append at the stream's 10th event, in the same run: the 1,000th and 10,000th must cost the
same (target: the 10,000th within 1.2x the 10th). Each figure is the median of a window of
WINDOW appends.

Then the stream grows to 100,000 events (in calls of 100), and READS version reads and state
reads (`Ledger.stream`, which checks its cached state against the stored head) are timed;
their p99 must be under 5 ms, and as-of state reads at random versions (`Ledger.stream_at`,
from the nearest snapshot the process keeps, every SNAPSHOT_EVERY versions, after one fold
that keeps them), under the same target. The baseline printed beside them is a plain
primary-key read of the stream's newest row with the store's own driver.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import project_stream, stream_uuid
from ledger.ledger import Ledger
from ledger.streams import SNAPSHOT_EVERY
from cast import register_cast  # noqa: E402 (bench/ is on the path: scripts run from it)

DEFAULT_PG = os.environ.get("SUNLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
GROWTH_TARGET = 1.2  # the 10,000th append within 1.2x the 10th
READ_P99_MS = 5.0
WINDOW = 40  # appends timed around each size
READS = 1000
BIDDERS = 20


def _now() -> datetime:
    return datetime.now(UTC)


class Project:
    """One project open for bids on a fresh ledger, and its bidders."""

    def __init__(self, url: str, key: Path):
        self.ledger = Ledger.open(url, key_path=key)
        self.tenderee, self.operator, self.bidders = register_cast(self.ledger, BIDDERS)
        self.stream = project_stream(f"bench-{uuid.uuid4().hex[:12]}")
        opened = _now()
        for version, (signer, type_, payload) in enumerate([
                (self.tenderee, "project.intake/v1", {"title": "bench project",
                                                      "category": "procurement",
                                                      "tenderee": self.tenderee.actor}),
                (self.operator, "project.intake-accepted/v1", {}),
                (self.tenderee, "project.announced/v1", {
                    "documents_from": format_time(opened),
                    "documents_until": format_time(opened + timedelta(days=7)),
                    "bid_deadline": format_time(opened + timedelta(days=25))}),
                (self.tenderee, "project.documents-issued/v1", {
                    "document_hash": "d" * 64, "edition": 1})]):
            self.ledger.submit(signer.sign(self.stream, type_, payload,
                                           expected_version=version, signed_at=_now()))
        self.n = 0

    def bid(self, version: int):
        signer = self.bidders[self.n % BIDDERS]
        self.n += 1
        return signer.sign(self.stream, "project.bid-submitted/v1", {
            "bidder": signer.actor, "bid_hash": hashlib.sha256(b"%d" % self.n).hexdigest()},
            expected_version=version, signed_at=_now())

    def append_as_a_client(self) -> float:
        """Read the version, sign, submit: seconds."""
        started = time.perf_counter()
        version = self.ledger.stream_version(self.stream)
        self.ledger.submit(self.bid(version))
        return time.perf_counter() - started

    def grow_to(self, size: int, per_call: int = 100) -> None:
        version = self.ledger.stream_version(self.stream)
        while version < size:
            count = min(per_call, size - version)
            self.ledger.submit(*[self.bid(version + i) for i in range(count)])
            version += count


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _p99_ms(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1] * 1000


def _timed(call, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _raw_head_read(url: str, stream: str):
    """The baseline: the stream's newest row by primary key, with the engine's own driver."""
    oid = stream_uuid(stream)
    if url.startswith("sqlite:"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:"):])
        return lambda: conn.execute(
            "SELECT originator_version, state FROM sunledger_events WHERE originator_id=? "
            "ORDER BY originator_version DESC LIMIT 1", (oid.hex,)).fetchone()
    import psycopg

    conn = psycopg.connect(url.split("?")[0], autocommit=True)
    schema = url.rsplit("schema=", 1)[1]
    return lambda: conn.execute(
        f'SELECT originator_version, state FROM "{schema}".sunledger_events WHERE '
        "originator_id=%s ORDER BY originator_version DESC LIMIT 1", (oid,)).fetchone()


def run(url: str, label: str, sizes: list[int], read_size: int, folder: Path) -> list[bool]:
    project = Project(url, folder / f"{label}.key")
    print(f"\n{label}: appends to one project, a version read before each "
          f"(median of {WINDOW})")
    costs = {}
    for size in sizes:
        project.grow_to(size - WINDOW // 2)
        costs[size] = _median_ms([project.append_as_a_client() for _ in range(WINDOW)])
        print(f"  event {size:>7,}: {costs[size]:7.2f} ms   ({costs[size] / costs[sizes[0]]:.2f}x "
              f"the {sizes[0]}th)")
    ratio = costs[sizes[-1]] / costs[sizes[0]]
    passed = [ratio <= GROWTH_TARGET]
    print(f"TARGET {label} event {sizes[-1]:,} within {GROWTH_TARGET}x event {sizes[0]}: "
          f"{ratio:.2f}x  {'PASS' if passed[0] else 'FAIL'}")

    started = time.perf_counter()
    project.grow_to(read_size)
    print(f"  grew the stream to {read_size:,} events in {time.perf_counter() - started:.0f} s")
    ledger, stream = project.ledger, project.stream
    baseline = _timed(_raw_head_read(url, stream), READS)
    version = _timed(lambda: ledger.stream_version(stream), READS)
    state = _timed(lambda: ledger.stream(stream), READS)
    rng = random.Random(7)
    started = time.perf_counter()
    ledger.stream_at(stream, read_size - 1)  # the first as-of read folds the whole stream
    first_as_of = time.perf_counter() - started
    as_of = _timed(lambda: ledger.stream_at(stream, rng.randint(1, read_size)), READS)
    other = Ledger.open(url, key_path=folder / f"{label}.key")  # a second server, cold cache
    started = time.perf_counter()
    other.stream(stream)
    cold = time.perf_counter() - started
    project.append_as_a_client()  # this server appends: the other folds in one event
    after_append = _timed(lambda: other.stream(stream), 1)[0]
    other.close()
    print(f"  reads at {read_size:,} events, p99 over {READS} (median):")
    for name, samples in [("primary-key read (baseline)", baseline), ("stream_version", version),
                          ("stream (state)", state), ("stream_at (a random version)", as_of)]:
        print(f"    {name:28} {_p99_ms(samples):6.3f} ms  ({_median_ms(samples):.3f} ms)")
    print(f"    a second server's first state read (folds {read_size:,} events): "
          f"{cold * 1000:.0f} ms ({read_size / cold:,.0f} events/s); after one more append "
          f"elsewhere: {after_append * 1000:.2f} ms")
    print(f"    the first as-of read (folds the stream, keeping a snapshot every "
          f"{SNAPSHOT_EVERY} versions): {first_as_of * 1000:.0f} ms")
    for name, samples in [("version", version), ("state", state), ("as-of state", as_of)]:
        ok = _p99_ms(samples) < READ_P99_MS
        passed.append(ok)
        print(f"TARGET {label} {name} read p99 at {read_size:,} events < {READ_P99_MS} ms: "
              f"{_p99_ms(samples):.3f} ms  {'PASS' if ok else 'FAIL'}")
    ledger.close()
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events read, not 100,000")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    sizes = [10, 1_000, 10_000]
    read_size = 10_000 + WINDOW if args.quick else 100_000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results += run(f"sqlite:{folder / 'streams.db'}", "sqlite", sizes, read_size, folder)
        if not args.no_pg:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            try:
                results += run(f"{args.pg}?schema={schema}", "postgresql", sizes, read_size,
                               folder)
            finally:
                import psycopg

                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
