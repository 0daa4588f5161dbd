#!/usr/bin/env python
"""What a listed lot's live page costs the server per poll, at a lot of 2,000 quotes, against
the same server replaying the lot's events in the same run.

Run by hand (`./run bench`, or `python bench/bench_lot_poll.py [--quick] [--quotes N]`); not
a test.

A concession is listed and its timed round opened through the real procedure
(bench_listing.listed_round: 200 registered bidders), then QUOTES quotes are recorded, each
the highest plus the increment, on SQLite. The API and portal app (api/http/app.py) is served
in-process (Starlette's test client: the server's work, no network). Timed, in interleaved
rounds, each from request to the answer's last byte:
- the portal's poll of the public page (GET /portal/projects/{p}/ladder), as a page that
  does not hold the section yet (the whole section comes) and as one that does (`?mark=`:
  the section is left out);
- the API's ladder now (GET /v1/projects/{p}/ladder), read from the fold kept at the head;
- the baseline: the API's ladder as of a time after the last quote (`?at=`), which reads and
  replays every event of the lot, as every poll did before the fold was kept.
Then, the poll right after a new quote (the kept fold moves on by one event, the view and the
section are made again), once per quote for `--new` quotes.

Printed: p50/p99 in ms, bytes per answer, and each against the baseline (ratio).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listing import INCREMENT, BenchClock, cst, listed_round  # noqa: E402

from ledger.errors import LedgerError  # noqa: E402
from ledger.evidence.canonical import format_money, format_time  # noqa: E402
from ledger.ledger import Ledger  # noqa: E402

PROJECT = "POLL-LOT"
STREAM = f"project:{PROJECT}"


def build(url: str, key: Path, quotes: int) -> tuple[Ledger, BenchClock, list]:
    """The lot in its timed round with `quotes` quotes recorded; the ledger, its clock, and
    the bidders."""
    clock = BenchClock(cst("2025-05-12T10:00:00"))
    ledger = Ledger.open(url, key_path=key, clock=clock)
    _, _, bidders = listed_round(ledger, clock, STREAM)
    for n in range(quotes):
        quote(ledger, clock, bidders[n % len(bidders)])
    return ledger, clock, bidders


def quote(ledger: Ledger, clock: BenchClock, bidder) -> None:
    price = ledger.stream(STREAM).state.highest_quote + INCREMENT
    ledger.submit(bidder.sign(STREAM, "project.quote-submitted/v1",
                              {"bidder": bidder.actor, "price": format_money(price)},
                              expected_version=None, signed_at=clock.now()))


def timed(client, path: str, params: dict | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"bench_lot_poll: {path} answered {answer.status_code}: {answer.text[:200]}")
    return elapsed, len(answer.content)


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[max(0, round(len(ordered) * 0.99) - 1)] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 quotes, fewer rounds")
    parser.add_argument("--quotes", type=int, help="quotes on the lot (default 2,000)")
    parser.add_argument("--new", type=int, default=20, help="polls right after a new quote")
    args = parser.parse_args(argv)
    quotes = args.quotes or (500 if args.quick else 2000)
    rounds = 10 if args.quick else 40
    if quotes < 1 or args.new < 1:
        parser.error("--quotes and --new must be at least 1")
    print(f"bench_lot_poll: Python {platform.python_version()}, a lot of {quotes:,} quotes "
          f"(200 bidders registered), SQLite, {rounds} interleaved rounds")
    from fastapi.testclient import TestClient

    from api.http.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url, key = f"sqlite:{tmp}/lot.db", Path(tmp) / "lot.key"
        started = time.perf_counter()
        ledger, clock, bidders = build(url, key, quotes)
        print(f"  built in {time.perf_counter() - started:.1f} s")
        app = create_app(lambda: Ledger.open(url, key_path=key, clock=clock))
        with TestClient(app) as client:
            poll, ladder_path = f"/portal/projects/{PROJECT}/ladder", f"/v1/projects/{PROJECT}/ladder"
            after = format_time(clock.now() + timedelta(days=1))
            mark = client.get(poll).json()["mark"]  # also the first read: the fold made
            asks = {"baseline: API ladder ?at= (replays)": (ladder_path, {"at": after}),
                    "API ladder now (kept fold)": (ladder_path, None),
                    "portal poll, section sent": (poll, None),
                    "portal poll, page holds it": (poll, {"mark": mark})}
            times: dict[str, list[float]] = {name: [] for name in asks}
            sizes: dict[str, int] = {}
            for _ in range(rounds):
                for name, (path, params) in asks.items():
                    elapsed, sizes[name] = timed(client, path, params)
                    times[name].append(elapsed)
            fresh = []
            for n in range(args.new):
                quote(ledger, clock, bidders[n % len(bidders)])
                fresh.append(timed(client, poll, {"mark": mark})[0])
        ledger.close()
    base, _ = summary(times["baseline: API ladder ?at= (replays)"])
    print(f"\n{'read':40} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9} {'p50 / baseline':>15}")
    for name in asks:
        p50, p99 = summary(times[name])
        print(f"{name:40} {p50:8.1f} {p99:8.1f} {sizes[name]:9,} {p50 / base:15.3f}")
    p50, p99 = summary(fresh)
    print(f"{'portal poll just after a new quote':40} {p50:8.1f} {p99:8.1f} {'':>9} {p50 / base:15.3f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LedgerError as error:
        print(f"bench_lot_poll: {error}", file=sys.stderr)
        sys.exit(2)
