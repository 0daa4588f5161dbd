"""Each collusion indicator fires on a case built for it and stays silent on honest bids."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from projections.warnings import SERIES_TOLERANCE, BidderFacts, collusion_warnings

T0 = datetime(2025, 3, 20, 1, 0, tzinfo=timezone.utc)


def honest(n: int = 5) -> list[BidderFacts]:
    """Five fictional bidders who bid independently: nothing shared, spread in time, prices
    with no pattern."""
    prices = ["83760800.00", "91234500.00", "88100000.00", "97350250.00", "86420000.00"]
    return [BidderFacts(bidder=f"bidder-{i}", events=(10 + i,), file_hash=f"{i:064x}",
                        submitted_at=T0 + timedelta(hours=7 * i), price=Decimal(prices[i]),
                        security_account=f"6222-0000-{i:04}", ips=frozenset([f"10.0.{i}.7"]),
                        machines=frozenset([f"machine-{i}"]), certificates=frozenset([f"sn-{i}"]),
                        certificate_issued=T0 - timedelta(days=30 * (i + 1)))
            for i in range(n)]


def test_honest_bids_raise_no_warning():
    assert collusion_warnings(honest(), obtained=7) == []


def _with(index: int, **change) -> list[BidderFacts]:
    facts = honest()
    facts[index] = BidderFacts(**{**facts[index].__dict__, **change})
    return facts


@pytest.mark.parametrize("indicator, facts, article", [
    ("same-bid-file", _with(3, file_hash=f"{1:064x}"), "条例 §40(四)"),
    ("same-machine", _with(2, machines=frozenset(["machine-0"])), "条例 §40(一)"),
    ("same-ip", _with(4, ips=frozenset(["10.0.1.7"])), "条例 §40(二)"),
    ("same-certificate", _with(1, certificates=frozenset(["sn-0"])), "条例 §40(二)"),
    ("same-security-account", _with(2, security_account="6222-0000-0001"), "条例 §40(六)"),
    ("certificates-issued-together",
     _with(1, certificate_issued=T0 - timedelta(days=30, minutes=-12)), "条例 §39 (signal)"),
])
def test_each_pairwise_indicator_fires_on_its_case_and_names_the_events(indicator, facts, article):
    warnings = collusion_warnings(facts, obtained=7)
    assert [w.indicator for w in warnings] == [indicator]
    assert warnings[0].article == article and len(warnings[0].bidders) == 2
    assert set(warnings[0].events) <= {10, 11, 12, 13, 14} and len(warnings[0].events) == 2


def test_clustered_uploads_fire():
    facts = honest()
    for i in (1, 2, 3):
        facts[i] = BidderFacts(**{**facts[i].__dict__,
                                  "submitted_at": T0 + timedelta(hours=1, seconds=40 * i)})
    warnings = collusion_warnings(facts, obtained=7)
    assert [w.indicator for w in warnings] == ["clustered-uploads"]
    assert warnings[0].bidders == ("bidder-1", "bidder-2", "bidder-3")


@pytest.mark.parametrize("prices", [
    ["90000000.00", "90500000.00", "91000000.00"],   # arithmetic: +500,000
    ["80000000.00", "84000000.00", "88200000.00"],   # geometric: x1.05
])
def test_prices_in_a_series_fire(prices):
    facts = honest()
    for i, price in zip((0, 2, 4), prices):
        facts[i] = BidderFacts(**{**facts[i].__dict__, "price": Decimal(price)})
    warnings = collusion_warnings(facts, obtained=7)
    assert [w.indicator for w in warnings] == ["price-series"]
    assert warnings[0].bidders == ("bidder-0", "bidder-2", "bidder-4")


def test_many_downloads_and_few_bids_fire():
    warnings = collusion_warnings(honest(3), obtained=12)
    assert [w.indicator for w in warnings] == ["many-downloads-few-bids"]
    assert collusion_warnings(honest(4), obtained=12) == []


def test_the_network_fingerprint_at_key_release_counts_as_at_submission():
    """Two bidders who submit from their own machines but release their keys at the opening
    from one machine and one address: the watch sees both (RULES.md, computable signals)."""
    from projections.warnings import CollusionWatch

    watch = CollusionWatch()
    position = 0

    def event(type_: str, bidder: str, **payload) -> None:
        nonlocal position
        position += 1
        watch.apply({"type": type_, "stream": "project:KEY-1", "key_id": "0" * 32,
                     "ledger_time": f"2025-03-{10 + position:02}T01:35:00.000000Z",
                     "payload": {"bidder": bidder, **payload}}, position)

    for i in range(3):
        event("project.bid-submitted/v1", f"bidder-{i}", bid_hash=f"{i:064x}",
              ip=f"10.0.{i}.7", machine=f"machine-{i}")
    assert watch.warnings("project:KEY-1") == []
    for i in (1, 2):
        event("project.key-released/v1", f"bidder-{i}", key_hash=f"{i:064x}", ip="10.9.9.9",
              machine="m-7f3a")
    found = {w.indicator for w in watch.warnings("project:KEY-1")}
    assert {"same-machine", "same-ip"} <= found


def _brute_force_series(prices: list[Decimal]) -> int:
    """The largest subset in a series, by trying every subset (the definition itself)."""
    from itertools import combinations

    def series(group):
        steps = [b - a for a, b in zip(group, group[1:])]
        if all(s > 0 for s in steps) and all(abs(s - steps[0]) <= SERIES_TOLERANCE * steps[0]
                                             for s in steps):
            return True
        ratios = [b / a for a, b in zip(group, group[1:]) if a > 0]
        return (len(ratios) == len(steps) and all(r > 1 for r in ratios)
                and all(abs(r - ratios[0]) <= SERIES_TOLERANCE * ratios[0] for r in ratios))
    ordered = sorted(prices)
    for size in range(len(ordered), 2, -1):
        if any(series(g) for g in combinations(ordered, size)):
            return size
    return 0


@pytest.mark.parametrize("seed", range(40))
def test_the_longest_series_is_the_one_every_subset_would_find(seed):
    rng = random.Random(seed)
    base, step = Decimal(rng.randrange(1_000_000, 9_000_000)), Decimal(rng.randrange(1_000, 90_000))
    prices = [base + step * k for k in rng.sample(range(12), rng.randint(0, 6))]  # a series, gapped
    prices += [Decimal(rng.randrange(1_000_000, 9_000_000)) for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.3:
        prices += [(base * Decimal("1.05") ** k).quantize(Decimal("0.01")) for k in range(3)]
    facts = [BidderFacts(f"bidder-{i}", price=p) for i, p in enumerate(prices)]
    found = [w for w in collusion_warnings(facts, obtained=len(facts)) if w.indicator == "price-series"]
    assert (len(found[0].bidders) if found else 0) == _brute_force_series(prices)


def test_a_series_among_eight_hundred_bids_is_found():
    """Trying every subset of 800 bids would never end; the search by pairs does."""
    rng = random.Random(8)
    prices = [Decimal(rng.randrange(50_000_000, 90_000_000)) / 100 for _ in range(800)]
    prices[100:106] = [Decimal("612345.00") + Decimal("1500.00") * k for k in range(6)]
    facts = [BidderFacts(f"bidder-{i:03d}", price=p) for i, p in enumerate(prices)]
    found = [w for w in collusion_warnings(facts, obtained=800) if w.indicator == "price-series"]
    assert len(found) == 1 and len(found[0].bidders) == 6
    assert set(found[0].bidders) == {f"bidder-{i}" for i in range(100, 106)}
