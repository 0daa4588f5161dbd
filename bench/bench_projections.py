#!/usr/bin/env python
"""Projections against the raw time to read their events back, in one run.

Run by hand (`./run bench`, or `python bench/bench_projections.py [--quick]`); not a test.

1. One project of 10,000 events (announced, then sealed bids resubmitted by 20 bidders), on
   SQLite: the raw read of its events (`select_events`) against rebuilding its state
   (`projections.project_state`: read, decode, fold through the procedure), and against
   judging every step again by the rules (`rejudge`).
2. All projections from N events (default 1,000,000; --quick 100,000) built by the
   simulation (overlapping projects through the real procedure): the raw read of the whole
   log (`select_notifications` in batches of 1,000) against following it from zero with every
   projection (project states, collusion watch) and computing the statistics.

Each figure is the median of interleaved repeats; ratios are projection time / raw time.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import statistics as stats
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.simulate import simulate  # noqa: E402
from ledger.evidence.canonical import format_time  # noqa: E402
from ledger.evidence.envelope import LEDGER_ACTOR, actor_stream, stream_uuid  # noqa: E402
from ledger.evidence.keys import SigningKey, encode_public_key  # noqa: E402
from ledger.evidence.signer import ActorSigner  # noqa: E402
from ledger.ledger import Ledger  # noqa: E402
from ledger.log.checkpoints import CheckpointPolicy  # noqa: E402
from projections.follower import Follower  # noqa: E402
from projections.project_state import ProjectStates, project_events, rejudge, replay  # noqa: E402
from projections.statistics import statistics  # noqa: E402
from projections.warnings import CollusionWatch  # noqa: E402

NO_TIMER = CheckpointPolicy(every_events=10_000, every_seconds=float("inf"))


class FixedClock:
    def __init__(self) -> None:
        self.moment = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.moment


def build_one_project(url: str, events: int) -> str:
    clock = FixedClock()
    ledger = Ledger.open(url, clock=clock, checkpoints=NO_TIMER,
                         key_path=Path(url[len("sqlite:"):] + ".key"))
    registrar = ActorSigner(LEDGER_ACTOR, ledger.key)
    actors = {"tenderee": [ActorSigner("t-0", SigningKey.derived(b"bench", "t-0"))],
              "operator": [ActorSigner("o-0", SigningKey.derived(b"bench", "o-0"))],
              "bidder": [ActorSigner(f"b-{i}", SigningKey.derived(b"bench", f"b-{i}"))
                         for i in range(20)]}
    setup = []
    for role, signers in actors.items():
        for s in signers:
            setup.append(registrar.sign(actor_stream(s.actor), "actor.registered/v1", {
                "name": s.actor, "roles": [role], "organisation": "虚构单位"},
                expected_version=0, signed_at=clock.now()))
            setup.append(registrar.sign(actor_stream(s.actor), "actor.key-added/v1", {
                "key_id": s.key.key_id, "public_key": encode_public_key(s.key.public_key)},
                expected_version=1, signed_at=clock.now()))
    ledger.submit(*setup)
    stream, t, o = "project:BENCH-1", actors["tenderee"][0], actors["operator"][0]
    now = clock.now()
    opening = [(t, "project.intake/v1", {"title": "bench", "category": "construction",
                                         "tenderee": "t-0", "control_price": "1000000.00"}),
               (o, "project.intake-accepted/v1", {}),
               (t, "project.announced/v1", {"documents_from": format_time(now),
                                            "documents_until": format_time(now + timedelta(days=15)),
                                            "bid_deadline": format_time(now + timedelta(days=25))}),
               (t, "project.documents-issued/v1", {"document_hash": "d" * 64, "edition": 1})]
    ledger.submit(*[s.sign(stream, type_, payload, expected_version=v, signed_at=now)
                    for v, (s, type_, payload) in enumerate(opening)])
    version, batch = len(opening), []
    bidders = actors["bidder"]
    while version < events:
        b = bidders[version % len(bidders)]
        batch.append(b.sign(stream, "project.bid-submitted/v1", {
            "bidder": b.actor, "bid_hash": hashlib.sha256(f"{version}".encode()).hexdigest()},
            expected_version=version, signed_at=now))
        version += 1
        if len(batch) == 100 or version == events:
            ledger.submit(*batch)
            batch = []
    ledger.close()
    return stream


def median_time(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return stats.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events for part 2")
    parser.add_argument("--events", type=int, help="events in the whole log (part 2)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    total = args.events or (100_000 if args.quick else 1_000_000)
    print(f"bench_projections: Python {platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        # --- 1. one project of 10,000 events
        url = f"sqlite:{tmp}/one.db"
        started = time.perf_counter()
        stream = build_one_project(url, 10_000)
        print(f"  built one project of 10,000 events in {time.perf_counter() - started:.1f} s")
        reader = Ledger.open(url, checkpoints=NO_TIMER, key_path=Path(f"{tmp}/one.db.key"))
        recorder = reader.recorder
        raw = median_time(lambda: recorder.select_events(stream_uuid(stream)), args.repeats)
        rebuild = median_time(lambda: replay(project_events(recorder, stream), steps=False),
                              args.repeats)
        steps = median_time(lambda: replay(project_events(recorder, stream)), args.repeats)
        judged = median_time(lambda: rejudge(project_events(recorder, stream)), args.repeats)
        state, _ = replay(project_events(recorder, stream))
        assert len(state.bids) == 20 and rejudge(project_events(recorder, stream)) is None
        reader.close()
        # --- 2. all projections from the whole log
        url = f"sqlite:{tmp}/all.db"
        started = time.perf_counter()
        ledger = Ledger.open(url, checkpoints=NO_TIMER, key_path=Path(f"{tmp}/all.db.key"))
        result = simulate(ledger, projects=max(1, total // 64), seed=1, batch=100)
        events = result.actions + result.refused + 1
        print(f"  built a log of {events:,} events ({result.projects:,} projects) in "
              f"{time.perf_counter() - started:.1f} s")
        recorder = ledger.recorder

        def read_all() -> int:
            position, count = 0, 0
            while batch := recorder.select_notifications(start=position, limit=1000,
                                                         inclusive_of_start=False):
                count += len(batch)
                position = batch[-1].id
            return count

        def project_all() -> int:
            states, watch = ProjectStates(), CollusionWatch()
            count = Follower(recorder, states, watch).follow()
            statistics(states)
            watch.all_warnings()
            return count

        assert read_all() == project_all() == events
        all_raw = median_time(read_all, max(1, args.repeats // 2))
        all_projections = median_time(project_all, max(1, args.repeats // 2))
        ledger.close()

    print()
    print(f"{'measure':58} {'seconds':>9} {'ratio':>7}")
    print(f"{'one project, 10,000 events: raw read (select_events)':58} {raw:9.3f} {1:7.2f}")
    print(f"{'  rebuild its state (read, decode, fold)':58} {rebuild:9.3f} {rebuild / raw:7.2f}")
    print(f"{'  ... with every transition and what it changed (--steps)':58} {steps:9.3f} "
          f"{steps / raw:7.2f}")
    print(f"{'  judge every step again by the rules':58} {judged:9.3f} {judged / raw:7.2f}")
    print(f"{f'whole log, {events:,} events: raw read (select_notifications)':58} "
          f"{all_raw:9.3f} {1:7.2f}")
    print(f"{'  all projections from zero (states, warnings, statistics)':58} "
          f"{all_projections:9.3f} {all_projections / all_raw:7.2f}")
    print(f"  ({events / all_projections:,.0f} events/s through every projection; "
          f"{10_000 / rebuild:,.0f} events/s rebuilding one project)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
