#!/usr/bin/env python
"""Appends per second: Sunledger's `Ledger.submit` against plain `eventsourcing`.

Run by hand (`./run bench`, or `python bench/bench_appends.py [--quick]`); not a test.

Both sides write to the same kind of store in the same run on the same machine:
  * a SQLite file (each side its own fresh temporary file), and
  * PostgreSQL (each side its own fresh schema, dropped at the end).

Two shapes of call:
  * 1/call   — one event per call. Plain eventsourcing:
               `agg = app.repository.get(id); agg.bid(...); app.save(agg)`;
               Sunledger: `ledger.submit(signed_action)`.
  * 100/call — 100 events per call, all in one stream. Plain eventsourcing: one `get`,
               100 `bid(...)` triggers, one `save`; Sunledger: `ledger.submit(*100 actions)`.

Events go round-robin to STREAMS streams (aggregates), created before timing. The payload
is the same on both sides: a bidder id, a bid hash (64 hex) and a price string
(Sunledger's `project.bid-submitted/v1`: a bidder's sealed bid, resubmitted before the
deadline, which the procedure checks like any bid).

Sunledger's actions are signed by the bidders' clients BEFORE each timed round: client-side
signing is the client's cost, not the ledger's. The ledger's own work is timed: form and
payload checks, verifying the actor's signature, the version check, sealing into the hash
chain, signing the receipt, and the nonce, receipt, leaf and tree-node rows in the same
transaction.

Fsync time on a disk is noisy, so rounds are interleaved (baseline, Sunledger, baseline,
Sunledger, ...) and the median rate of each side is compared.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import project_stream
from ledger.ledger import Ledger
from ledger.stores.url import parse_store_url
from cast import register_cast  # noqa: E402 (bench/ is on the path: scripts run from it)

TARGET_RATIO = 0.75  # Sunledger at 1 event/call >= 75% of plain eventsourcing
STREAMS = 20  # streams (aggregates) the events go to, round-robin
BIDDERS = 20  # registered bidder actors signing the actions
DEFAULT_PG = os.environ.get("SUNLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

# interleaved rounds per side, and events per round by store and events per call:
# full run, then --quick (a PostgreSQL commit waits for its WAL flush: fewer events there)
SIZES = {
    False: {"rounds": 5, "sqlite": {1: 1500, 100: 10000}, "postgresql": {1: 600, 100: 5000}},
    True: {"rounds": 3, "sqlite": {1: 600, 100: 2000}, "postgresql": {1: 300, 100: 1000}},
}


# --- the baseline: plain eventsourcing -------------------------------------------------------

class Bidding(Aggregate):
    @event("Started")
    def __init__(self, title: str):
        self.title = title
        self.bids = 0

    @event("BidDecrypted")
    def bid(self, bidder: str, bid_hash: str, price: str) -> None:
        self.bids += 1


class Baseline:
    """An `eventsourcing.application.Application` holding `Bidding` aggregates."""

    label = "eventsourcing"

    def __init__(self, env: dict[str, str]):
        self.app = Application(env=env)
        self.ids: list[uuid.UUID] = []
        for i in range(STREAMS):
            agg = Bidding(title=f"bench project {i}")
            self.app.save(agg)
            self.ids.append(agg.id)
        self.n = 0

    def prepare(self, events: int, per_call: int) -> list[tuple[uuid.UUID, list[tuple]]]:
        calls = []
        for c in range(events // per_call):
            agg_id = self.ids[(self.n // per_call) % STREAMS]
            calls.append((agg_id, [_payload(self.n + i) for i in range(per_call)]))
            self.n += per_call
        return calls

    def run(self, calls) -> None:
        app = self.app
        for agg_id, payloads in calls:
            agg = app.repository.get(agg_id)
            for bidder, bid_hash, price in payloads:
                agg.bid(bidder=bidder, bid_hash=bid_hash, price=price)
            app.save(agg)

    def close(self) -> None:
        self.app.close()


# --- Sunledger -------------------------------------------------------------------------------

class Sunledger:
    label = "sunledger"

    def __init__(self, url: str, key_path: Path):
        self.ledger = Ledger.open(url, key_path=key_path)
        self.tenderee, self.operator, self.bidders = register_cast(self.ledger, BIDDERS, digits=3, suffix="-000")
        self.streams = [project_stream(f"bench-{uuid.uuid4().hex[:12]}-{i:03d}")
                        for i in range(STREAMS)]
        # each project is open for bids (taken in, accepted, announced, documents issued):
        # a bidder may submit and resubmit its sealed bid until the deadline, weeks away
        opened = datetime.now(timezone.utc)
        opening = [
            (self.tenderee, "project.intake/v1", lambda i: {
                "title": f"bench project {i}", "category": "procurement",
                "tenderee": self.tenderee.actor}),
            (self.operator, "project.intake-accepted/v1", lambda i: {}),
            (self.tenderee, "project.announced/v1", lambda i: {
                "documents_from": format_time(opened),
                "documents_until": format_time(opened + timedelta(days=7)),
                "bid_deadline": format_time(opened + timedelta(days=25))}),
            (self.tenderee, "project.documents-issued/v1", lambda i: {
                "document_hash": hashlib.sha256(f"documents {i}".encode()).hexdigest(),
                "edition": 1}),
        ]
        for version, (signer, type_, payload) in enumerate(opening):
            self.ledger.submit(*[signer.sign(s, type_, payload(i), expected_version=version,
                                             signed_at=_now())
                                 for i, s in enumerate(self.streams)])
        self.versions = {s: len(opening) for s in self.streams}
        self.n = 0

    def prepare(self, events: int, per_call: int) -> list[list]:
        """Sign the round's actions now, outside the timed loop (the clients' work)."""
        calls = []
        for c in range(events // per_call):
            stream = self.streams[(self.n // per_call) % STREAMS]
            batch = []
            for i in range(per_call):
                _, bid_hash, _ = _payload(self.n)
                signer = self.bidders[self.n % BIDDERS]
                batch.append(signer.sign(stream, "project.bid-submitted/v1", {
                    "bidder": signer.actor, "bid_hash": bid_hash},
                    expected_version=self.versions[stream], signed_at=_now()))
                self.versions[stream] += 1
                self.n += 1
            calls.append(batch)
        return calls

    def run(self, calls) -> None:
        submit = self.ledger.submit
        for batch in calls:
            submit(*batch)

    def close(self) -> None:
        self.ledger.close()


def _payload(n: int) -> tuple[str, str, str]:
    bidder = f"bench-bidder-{n % BIDDERS:03d}"
    bid_hash = hashlib.sha256(f"bid {n}".encode()).hexdigest()
    price = f"{1_000_000 + (n * 7919) % 9_000_000}.{n % 100:02d}"
    return bidder, bid_hash, price


def _now() -> datetime:
    return datetime.now(UTC)


# --- measuring -------------------------------------------------------------------------------

@dataclass
class Result:
    store: str
    per_call: int
    events: int  # per round
    rates: dict[str, list[float]] = field(default_factory=lambda: {"eventsourcing": [],
                                                                     "sunledger": []})

    def median(self, side: str) -> float:
        return statistics.median(self.rates[side])

    @property
    def ratio(self) -> float:
        return self.median("sunledger") / self.median("eventsourcing")


def measure(store: str, baseline: Baseline, ours: Sunledger, per_call: int, events: int,
            rounds: int) -> Result:
    result = Result(store, per_call, events)
    # warm-up (not counted): imports, caches, prepared statements, the first pages
    for side in (baseline, ours):
        side.run(side.prepare(max(per_call, min(events // 4, 200)), per_call))
    for r in range(rounds):
        for side in (baseline, ours):  # interleaved: baseline, ours, baseline, ours, ...
            calls = side.prepare(events, per_call)
            start = time.perf_counter()
            side.run(calls)
            elapsed = time.perf_counter() - start
            result.rates[side.label].append(events / elapsed)
        print(f"  {store:<10} {per_call:>3}/call  round {r + 1}/{rounds}: "
              f"eventsourcing {result.rates['eventsourcing'][-1]:9.0f}/s   "
              f"sunledger {result.rates['sunledger'][-1]:9.0f}/s", flush=True)
    return result


def bench_sqlite(sizes: dict, tmp: Path) -> list[Result]:
    base = Baseline({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                     "SQLITE_DBNAME": str(tmp / "eventsourcing.db"),
                     "AGGREGATE_CACHE_MAXSIZE": "1000"})
    ours = Sunledger(f"sqlite://{tmp / 'sunledger.db'}", tmp / "sunledger.key")
    try:
        return [measure("sqlite", base, ours, per_call, sizes["sqlite"][per_call],
                        sizes["rounds"])
                for per_call in (1, 100)]
    finally:
        base.close()
        ours.close()


def bench_postgres(sizes: dict, tmp: Path, pg_url: str) -> list[Result]:
    import psycopg

    pg = parse_store_url(pg_url)
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    es_schema, sl_schema = f"bench_es_{tag}", f"bench_sl_{tag}"
    conninfo = {"host": pg.host, "port": pg.port, "user": pg.user, "password": pg.password,
                "dbname": pg.database, "connect_timeout": 5, "autocommit": True}
    base = ours = None
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'CREATE SCHEMA "{es_schema}"')
    try:
        base = Baseline({"PERSISTENCE_MODULE": "eventsourcing.postgres",
                         "POSTGRES_DBNAME": pg.database, "POSTGRES_HOST": pg.host,
                         "POSTGRES_PORT": str(pg.port), "POSTGRES_USER": pg.user,
                         "POSTGRES_PASSWORD": pg.password, "POSTGRES_SCHEMA": es_schema,
                         "AGGREGATE_CACHE_MAXSIZE": "1000"})
        base_url = pg_url.split("?", 1)[0]
        ours = Sunledger(f"{base_url}?schema={sl_schema}", tmp / "sunledger-pg.key")
        return [measure("postgresql", base, ours, per_call, sizes["postgresql"][per_call],
                        sizes["rounds"])
                for per_call in (1, 100)]
    finally:
        for side in (base, ours):
            if side is not None:
                side.close()
        with psycopg.connect(**conninfo) as conn:
            for schema in (es_schema, sl_schema):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def postgres_reachable(pg_url: str) -> str | None:
    """None when reachable; otherwise why not."""
    try:
        import psycopg

        pg = parse_store_url(pg_url)
        with psycopg.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password,
                             dbname=pg.database, connect_timeout=5):
            return None
    except Exception as error:  # noqa: BLE001 - any failure means: skip PostgreSQL
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# --- report ----------------------------------------------------------------------------------

def report(results: list[Result], sizes: dict, skipped: dict[str, str]) -> None:
    print()
    print(f"Appends per second, median of {sizes['rounds']} interleaved rounds "
          "(baseline = plain eventsourcing, same store kind, same run)")
    header = (f"{'store':<11} {'shape':>9} {'events/round':>12} {'eventsourcing/s':>16} "
              f"{'sunledger/s':>12} {'ratio':>6}   {'spread es | sl (min-max)':<30}")
    print(header)
    print("-" * len(header))
    for r in results:
        es, sl = r.rates["eventsourcing"], r.rates["sunledger"]
        spread = f"{min(es):.0f}-{max(es):.0f} | {min(sl):.0f}-{max(sl):.0f}"
        print(f"{r.store:<11} {str(r.per_call) + '/call':>9} {r.events:>12} "
              f"{r.median('eventsourcing'):>16.0f} {r.median('sunledger'):>12.0f} "
              f"{r.ratio:>6.2f}   {spread:<30}")
    for store, why in skipped.items():
        print(f"{store:<11} skipped: {why}")
    print()
    print("Sunledger's actions were signed by the clients before each timed round: client-side")
    print("signing is the client's cost, not the ledger's. Timed on Sunledger: checks, the actor")
    print("signature check, sealing, receipt signing, nonce, receipt, Merkle leaf and node rows")
    print("(one transaction).")
    print("Baseline: Application with AGGREGATE_CACHE_MAXSIZE=1000 (library defaults otherwise).")
    if sizes["rounds"] < 5:
        print(f"(only {sizes['rounds']} rounds of fewer events: a --quick verdict is indicative; "
              "run without --quick to decide)")
    print()
    for r in results:
        if r.per_call == 1:
            verdict = "PASS" if r.ratio >= TARGET_RATIO else "FAIL"
            print(f"TARGET appends 1/call {r.store} >= {TARGET_RATIO:.0%} of eventsourcing: "
                  f"{r.ratio:.2f} {verdict}")
    for store in skipped:
        print(f"TARGET appends 1/call {store} >= {TARGET_RATIO:.0%} of eventsourcing: SKIP")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--pg", default=DEFAULT_PG,
                        help="PostgreSQL database for the PostgreSQL part (default %(default)s; "
                             "env SUNLEDGER_BENCH_PG)")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per side")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"bench_appends: ignoring arguments {unknown}", file=sys.stderr)
    sizes = dict(SIZES[args.quick])
    if args.rounds:
        sizes["rounds"] = args.rounds

    print(f"bench_appends{' --quick' if args.quick else ''}: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    results: list[Result] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="sunledger-bench-") as tmp:
        results += bench_sqlite(sizes, Path(tmp))
        why = "--no-pg" if args.no_pg else postgres_reachable(args.pg)
        if why is None:
            results += bench_postgres(sizes, Path(tmp), args.pg)
        else:
            skipped["postgresql"] = why
    report(results, sizes, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
