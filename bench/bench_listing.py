#!/usr/bin/env python
"""A timed online round (限时竞价) of 200 bidders quoting as fast as they can, against the
plain append rate in the same run, on SQLite and PostgreSQL.

Run by hand (`./run bench`, or `python bench/bench_listing.py [--quick] [--pg URL]`); not a
test. SQLite always; PostgreSQL with `--pg URL` (a schema of its own, dropped at the end).

A concession is listed through the real procedure (announced 20 days ahead, its reserve
committed, 200 bidders registered with their deposits, a first quote, a request to go on),
and the listing closed: the timed round opens with a five-minute countdown. The ledger's
clock is simulated before the round (the listing's weeks pass in an instant) and runs in
real time during it. THREADS client threads share the 200 bidders; each, as fast as it can,
reads the highest quote, signs a quote of the highest plus one to three increments as one
of its bidders (signing is the client's work, outside the timing), and submits it to the ledger;
when another bidder's quote came first, the ledger refuses it and records the refusal (as the
law has it; up to 1,000 refused quotes per bidder, lot and day, `quote-refusal-records`).
Timed: each submission to its receipt. The round runs `--seconds` of its clock (60; `--quick`
10). The baseline is the plain append in the same run, the same threads and time, each
submitting sealed bids to a tender (no price to race for), before and after the round.

Checked afterwards: every receipt's quote is in the ledger, in the order of the receipts'
positions, each higher than the one before by at least the increment (no quote lost or
reordered), the ladder's count equals the receipts', and every refused quote was recorded
in the lot's refusal stream. Printed: quotes accepted per second,
refused per second, the p50/p99 time from submission to receipt, against the baseline's rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cast import register_cast  # noqa: E402 (bench/ is on the path)

from ledger.errors import LedgerError, RuleRefused  # noqa: E402
from ledger.evidence.canonical import format_money, format_time  # noqa: E402
from ledger.evidence.envelope import project_stream  # noqa: E402
from ledger.ledger import Ledger  # noqa: E402
from ledger.procedures.calendar import CHINA  # noqa: E402
from ledger.procedures.listing import reserve_commitment  # noqa: E402
from ledger.procedures.refusals import refusal_stream  # noqa: E402

BIDDERS, THREADS = 200, 8
INCREMENT = Decimal("10000.00")
COUNTDOWN = 300


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA).astimezone(UTC)


class BenchClock:
    """The ledger's clock: set by hand before the round, then running in real time."""

    def __init__(self, start: datetime):
        self._lock = threading.Lock()
        self._base, self._since = start, time.monotonic()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._base, self._since = moment, time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._since)


class Round:
    def __init__(self):
        self.latencies: list[float] = []
        self.receipts: list[tuple[int, Decimal]] = []  # (position, price)
        self.refused = 0
        self.recorded = 0  # refusals the ledger recorded (quote-refusal-records: 1,000 a day each)
        self.lock = threading.Lock()


def listed_round(ledger: Ledger, clock: BenchClock, stream: str):
    """The concession listed and its timed round opened; (tenderee, operator, bidders)."""
    tenderee, operator, bidders = register_cast(ledger, BIDDERS, digits=3, suffix="-list")

    def act(signer, type_, payload, sealed=False):
        version = None if sealed else ledger.stream_version(stream)
        ledger.submit(signer.sign(stream, type_, payload, expected_version=version,
                                  signed_at=clock.now()))

    clock.set(cst("2025-05-12T10:00:00"))
    act(tenderee, "project.intake/v1", {"title": "虚构特许经营权（基准）", "category": "rights",
                                        "tenderee": tenderee.actor, "method": "auction"})
    act(operator, "project.intake-accepted/v1", {})
    act(tenderee, "project.listing-announced/v1", {
        "listing_from": format_time(cst("2025-06-09T09:00:00")),
        "listing_until": format_time(cst("2025-06-19T17:00:00")),
        "registration_until": format_time(cst("2025-06-17T17:00:00")),
        "starting_price": "800000000.00", "increment": format_money(INCREMENT),
        "deposit": "1000000.00", "countdown_seconds": COUNTDOWN, "asset": "concession"})
    act(tenderee, "project.reserve-committed/v1", {
        "reserve_commitment": reserve_commitment(Decimal("800000000.00"), os.urandom(32)),
        "decision_hash": "c" * 64})
    ledger.submit(*[b.sign(stream, "project.bidder-registered/v1",
                           {"bidder": b.actor, "deposit": "1000000.00"},
                           expected_version=None, signed_at=clock.now()) for b in bidders])
    clock.set(cst("2025-06-09T09:00:00"))
    act(bidders[0], "project.quote-submitted/v1",
        {"bidder": bidders[0].actor, "price": "800000000.00"}, sealed=True)
    act(bidders[1], "project.continuation-requested/v1", {"bidder": bidders[1].actor},
        sealed=True)
    clock.set(cst("2025-06-19T17:00:00"))
    act(operator, "project.listing-closed/v1", {})
    return tenderee, operator, bidders


def run_round(ledger: Ledger, stream: str, bidders, seconds: float) -> Round:
    found, ends = Round(), time.monotonic() + seconds

    def client(mine):
        n, jumps = 0, random.Random(mine[0].actor)
        while time.monotonic() < ends:
            bidder = mine[n % len(mine)]
            n += 1
            highest = ledger.stream(stream).state.highest_quote
            price = highest + INCREMENT * jumps.randint(1, 3)  # bidders jump, as they do
            signed = bidder.sign(stream, "project.quote-submitted/v1",
                                 {"bidder": bidder.actor, "price": format_money(price)},
                                 expected_version=None, signed_at=datetime.now(UTC))
            started = time.perf_counter()
            try:
                (receipt,) = ledger.submit(signed)
            except RuleRefused as refusal:
                with found.lock:
                    found.refused += 1
                    found.recorded += bool(refusal.details.get("recorded"))
                continue
            elapsed = time.perf_counter() - started
            with found.lock:
                found.latencies.append(elapsed)
                found.receipts.append((receipt.position, price))

    threads = [threading.Thread(target=client, args=(bidders[i::THREADS],))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return found


def run_baseline(ledger: Ledger, stream: str, bidders, seconds: float) -> float:
    """Sealed bids appended by the same threads for the same time: appends per second."""
    counts, ends = [0] * THREADS, time.monotonic() + seconds

    def client(i, mine):
        n = 0
        while time.monotonic() < ends:
            bidder = mine[n % len(mine)]
            signed = bidder.sign(stream, "project.bid-submitted/v1", {
                "bidder": bidder.actor, "bid_hash": uuid.uuid4().hex * 2},
                expected_version=None, signed_at=datetime.now(UTC))
            ledger.submit(signed)
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=client, args=(i, bidders[i::THREADS]))
               for i in range(THREADS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def open_tender(ledger: Ledger, clock: BenchClock, tenderee, operator) -> str:
    stream = project_stream(f"bench-tender-{uuid.uuid4().hex[:8]}")
    now = clock.now()
    for version, (signer, type_, payload) in enumerate([
            (tenderee, "project.intake/v1", {"title": "基准招标项目", "category": "construction",
                                              "tenderee": tenderee.actor}),
            (operator, "project.intake-accepted/v1", {}),
            (tenderee, "project.announced/v1", {
                "documents_from": format_time(now),
                "documents_until": format_time(now + timedelta(days=7)),
                "bid_deadline": format_time(now + timedelta(days=25))}),
            (tenderee, "project.documents-issued/v1", {"document_hash": "d" * 64,
                                                        "edition": 1})]):
        ledger.submit(signer.sign(stream, type_, payload, expected_version=version,
                                  signed_at=now))
    return stream


def checked(ledger: Ledger, stream: str, found: Round) -> list[str]:
    """What is wrong: a receipt's quote missing, out of order, or not rising by the increment."""
    state = ledger.stream(stream).state
    problems = []
    ladder = [q.price for q in state.quotes]
    by_position = [price for _, price in sorted(found.receipts)]
    if ladder[1:] != by_position:  # the first quote came before the round
        problems.append(f"the ladder ({len(ladder) - 1} in the round) is not the receipts' "
                        f"quotes in their positions' order ({len(by_position)})")
    if any(b - a < INCREMENT for a, b in zip(ladder, ladder[1:])):
        problems.append("a quote rose by less than the increment")
    if state.stage != "timed-round":
        problems.append(f"the round ended ({state.stage}) while bidders were quoting")
    if found.recorded != found.refused:
        problems.append(f"{found.refused - found.recorded} of {found.refused} refused quotes "
                        "were not recorded")
    if ledger.stream_version(refusal_stream(stream)) != found.recorded:
        problems.append("the refusal stream does not hold each refusal recorded")
    return problems


def bench_store(label: str, url: str, key: Path, seconds: float) -> dict:
    clock = BenchClock(cst("2025-05-12T10:00:00"))
    ledger = Ledger.open(url, key_path=key, clock=clock)
    try:
        stream = project_stream(f"bench-listing-{uuid.uuid4().hex[:8]}")
        tenderee, operator, bidders = listed_round(ledger, clock, stream)
        tender = open_tender(ledger, clock, tenderee, operator)
        before = run_baseline(ledger, tender, bidders, seconds)
        found = run_round(ledger, stream, bidders, seconds)
        after = run_baseline(ledger, tender, bidders, seconds)
        problems = checked(ledger, stream, found)
    finally:
        ledger.close()
    lat = sorted(found.latencies)
    return {"store": label, "baseline": statistics.mean([before, after]),
            "accepted": len(found.receipts) / seconds, "refused": found.refused / seconds,
            "p50": lat[len(lat) // 2] * 1000 if lat else float("nan"),
            "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else float("nan"),
            "quotes": len(found.receipts), "problems": problems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 10-second round")
    parser.add_argument("--seconds", type=float, help="the round's length (default 60)")
    parser.add_argument("--pg", metavar="URL", default=os.environ.get("SUNLEDGER_BENCH_PG"),
                        help="also PostgreSQL: a server URL (a schema of its own is made and "
                             "dropped), e.g. postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    print(f"bench_listing: Python {platform.python_version()}, {BIDDERS} bidders in "
          f"{THREADS} threads, a {seconds:.0f}-second timed round")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench_store("SQLite", f"sqlite:{tmp}/listing.db",
                                   Path(tmp) / "listing.key", seconds))
        if args.pg:
            import psycopg

            schema = f"bench_listing_{uuid.uuid4().hex[:10]}"
            try:
                results.append(bench_store("PostgreSQL", f"{args.pg.split('?')[0]}?schema={schema}",
                                           Path(tmp) / "pg.key", seconds))
            finally:
                with psycopg.connect(args.pg.split("?")[0], autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(f"\n{'store':11} {'plain appends/s':>16} {'quotes/s':>9} {'refused/s':>10} "
          f"{'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}  no quote lost or reordered")
    failed = False
    for r in results:
        ok = not r["problems"]
        failed |= not ok
        print(f"{r['store']:11} {r['baseline']:16.0f} {r['accepted']:9.0f} {r['refused']:10.0f} "
              f"{r['accepted'] / r['baseline']:6.2f} {r['p50']:7.1f} {r['p99']:7.1f}  "
              f"{'yes' if ok else 'NO: ' + '; '.join(r['problems'])} ({r['quotes']} quotes)")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LedgerError as error:
        print(f"bench_listing: {error}", file=sys.stderr)
        sys.exit(2)
