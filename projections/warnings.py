"""Collusion indicators (围标串标预警): signals an electronic system can compute from the
record, each naming its rule, its article and the events behind it. Warnings inform the
supervision body; they decide nothing.

条例 §39 defines collusion and 条例 §40 lists situations deemed collusion; the signals here are
the computable traces of those situations (../shared/RULES.md). Each indicator is a pure
function of the bidders' facts in one project; `collusion_warnings` runs them all.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

# Thresholds of the signals (not legal periods: tuned by the centre, documented here)
CLUSTER_WINDOW = timedelta(minutes=2)  # uploads this close together count as clustered
CLUSTER_MIN = 3  # ... when at least this many bidders are in one window
CERTIFICATE_WINDOW = timedelta(minutes=30)  # CA certificates issued this close together
SERIES_MIN = 3  # prices forming a series: at least this many
SERIES_TOLERANCE = Decimal("0.00001")  # relative tolerance on equal steps or ratios
DOWNLOADS_MIN = 10  # many downloads ...
BIDS_SHARE_MAX = Decimal("0.3")  # ... but bids from at most this share of them


ARTICLES = {  # each indicator's article (RULES.md, Collusion indicators)
    "same-bid-file": "条例 §40(四)",
    "same-machine": "条例 §40(一)",
    "same-ip": "条例 §40(二)",
    "same-certificate": "条例 §40(二)",
    "same-security-account": "条例 §40(六)",
    "clustered-uploads": "条例 §39 (signal)",
    "certificates-issued-together": "条例 §39 (signal)",
    "price-series": "条例 §40(四)",
    "many-downloads-few-bids": "条例 §39 (signal)",
}


@dataclass(frozen=True)
class BidderFacts:
    """What one bidder did in one project, as its events state it."""

    bidder: str
    events: tuple[int, ...] = ()  # positions of the events these facts come from
    file_hash: str | None = None  # the decrypted bid's plaintext hash
    submitted_at: datetime | None = None
    price: Decimal | None = None
    security_account: str | None = None
    ips: frozenset[str] = field(default_factory=frozenset)
    machines: frozenset[str] = field(default_factory=frozenset)
    certificates: frozenset[str] = field(default_factory=frozenset)  # serials used
    certificate_issued: datetime | None = None  # not_before of the bidding certificate


@dataclass(frozen=True)
class CollusionWarning:
    indicator: str
    article: str
    text: str
    bidders: tuple[str, ...]
    events: tuple[int, ...]
    detail: str = ""  # what the bidders share or how they line up, in figures (any language)


def _warning(indicator: str, text: str, group: list[BidderFacts],
             detail: str = "") -> CollusionWarning:
    """A warning of `indicator`, under its article (ARTICLES)."""
    return CollusionWarning(indicator, ARTICLES[indicator], text,
                            tuple(sorted(f.bidder for f in group)),
                            tuple(sorted({p for f in group for p in f.events})), detail)


def _shared(facts: list[BidderFacts], value: Callable[[BidderFacts], frozenset[str]],
            indicator: str, what: str) -> list[CollusionWarning]:
    by_value: dict[str, list[BidderFacts]] = {}
    for f in facts:
        for v in value(f):
            by_value.setdefault(v, []).append(f)
    return [_warning(indicator, f"different bidders used the same {what} ({v})", group, v)
            for v, group in sorted(by_value.items()) if len(group) > 1]


def same_file(facts, obtained):
    return _shared(facts, lambda f: frozenset([f.file_hash]) if f.file_hash else frozenset(),
                   "same-bid-file", "bid file (abnormally identical bids)")


def same_machine(facts, obtained):
    return _shared(facts, lambda f: f.machines, "same-machine",
                   "machine fingerprint (bids prepared by the same unit or person)")


def same_ip(facts, obtained):
    return _shared(facts, lambda f: f.ips, "same-ip",
                   "IP address (bidding handled by the same unit or person)")


def same_certificate(facts, obtained):
    return _shared(facts, lambda f: f.certificates, "same-certificate", "CA certificate")


def same_account(facts, obtained):
    return _shared(facts, lambda f: frozenset([f.security_account]) if f.security_account
                   else frozenset(), "same-security-account", "bid security account")


def clustered_uploads(facts, obtained):
    timed = sorted((f for f in facts if f.submitted_at), key=lambda f: f.submitted_at)
    times = [f.submitted_at for f in timed]
    found, i = [], 0
    while i < len(timed):
        group = timed[i:bisect_right(times, times[i] + CLUSTER_WINDOW, i)]
        if len(group) >= CLUSTER_MIN:
            found.append(_warning("clustered-uploads",
                                  f"{len(group)} bids uploaded within {CLUSTER_WINDOW}", group,
                                  f"{len(group)} ≤ {CLUSTER_WINDOW}"))
            i += len(group)
        else:
            i += 1
    return found


def certificates_minutes_apart(facts, obtained):
    issued = sorted((f for f in facts if f.certificate_issued), key=lambda f: f.certificate_issued)
    found = []
    for a, b in zip(issued, issued[1:]):
        if b.certificate_issued - a.certificate_issued <= CERTIFICATE_WINDOW:
            found.append(_warning("certificates-issued-together",
                                  f"CA certificates of different bidders issued within "
                                  f"{CERTIFICATE_WINDOW}", [a, b], f"≤ {CERTIFICATE_WINDOW}"))
    return found


def _longest_series(cents: list[int]) -> list[int]:
    """The indices of the longest run of sorted prices (in cents) whose steps all equal the
    first step, or whose ratios all equal the first ratio, within SERIES_TOLERANCE: each pair
    of prices is tried as a series' first two, and extended by the price nearest the next
    term (a binary search). O(n² log n), where trying every subset was O(2ⁿ) and never ended
    for a tender of hundreds of bidders. On equal lengths the series that starts earlier wins,
    an arithmetic one before a geometric one."""
    num, den = SERIES_TOLERANCE.as_integer_ratio()
    n, best = len(cents), []

    def extend(chain: list[int], window: Callable[[int], tuple[int, int, int]]) -> list[int]:
        while True:
            low, target, high = window(chain[-1])
            k = bisect_left(cents, low, chain[-1] + 1)
            near = None
            while k < n and cents[k] <= high:
                if near is None or abs(cents[k] - target) < abs(cents[near] - target):
                    near = k
                k += 1
            if near is None:
                return chain
            chain.append(near)

    for i in range(n):
        for j in range(i + 1, n):
            if n - j + 1 <= len(best):  # what is left cannot make a longer series
                break
            a, b = cents[i], cents[j]
            if b <= a:
                continue
            d = b - a  # arithmetic: the next is last + d, give or take d·tolerance
            chain = extend([i, j], lambda last: (cents[last] + d - d * num // den,
                                                 cents[last] + d, cents[last] + d + d * num // den))
            if len(chain) > len(best):
                best = chain
            if a > 0:  # geometric: the next is last·b/a, give or take that times the tolerance
                chain = extend([i, j], lambda last: (
                    -(-cents[last] * b * (den - num) // (a * den)), cents[last] * b // a,
                    cents[last] * b * (den + num) // (a * den)))
                if len(chain) > len(best):
                    best = chain
    return best if len(best) >= SERIES_MIN else []


def price_series(facts, obtained):
    """Three or more prices in an arithmetic or geometric series (规律性差异)."""
    priced = sorted((f for f in facts if f.price is not None), key=lambda f: f.price)
    best = [priced[i] for i in _longest_series([int(f.price * 100) for f in priced])]
    if not best:
        return []
    prices = ", ".join(str(f.price) for f in best)
    return [_warning("price-series",
                     f"{len(best)} prices differ by a regular pattern ({prices})", best, prices)]


def many_downloads_few_bids(facts, obtained):
    if obtained >= DOWNLOADS_MIN and len(facts) <= BIDS_SHARE_MAX * obtained:
        return [_warning("many-downloads-few-bids",
                         f"{obtained} obtained the documents but only {len(facts)} bid", facts,
                         f"{obtained} / {len(facts)}")]
    return []


INDICATORS = (same_file, same_machine, same_ip, same_certificate, same_account,
              clustered_uploads, certificates_minutes_apart, price_series,
              many_downloads_few_bids)


def collusion_warnings(facts: list[BidderFacts], obtained: int) -> list[CollusionWarning]:
    """Every indicator's warnings for one project's bidders (`obtained`: how many obtained
    the documents)."""
    return [w for indicator in INDICATORS for w in indicator(facts, obtained)]


# --- from the events ----------------------------------------------------------------------

class CollusionWatch:
    """A projection: each project's bidders' facts as its events state them, and the
    certificates behind the keys they signed with (from the actors' streams)."""

    def __init__(self) -> None:
        self.facts: dict[str, dict[str, dict]] = {}  # project -> bidder -> fields
        self.obtained: dict[str, set[str]] = {}
        self.certificates: dict[str, tuple[str, datetime]] = {}  # key id -> (serial, issued)

    def apply(self, event: dict, position: int) -> None:
        kind, payload = event["type"], event["payload"]
        if kind == "actor.certificate-added/v1":
            import base64

            from ledger.evidence.certificates import certificate_facts

            facts = certificate_facts(base64.b64decode(payload["certificate"]))
            self.certificates[payload["key_id"]] = (payload["serial"], facts.not_before)
            return
        if not event["stream"].startswith("project:") or "bidder" not in payload:
            return
        project, bidder = event["stream"], payload["bidder"]
        if kind == "project.documents-obtained/v1":
            self.obtained.setdefault(project, set()).add(bidder)
        f = self.facts.setdefault(project, {}).setdefault(bidder, {
            "events": [], "ips": set(), "machines": set(), "certificates": set()})
        f["events"].append(position)
        for name, target in (("ip", "ips"), ("machine", "machines")):
            if name in payload:
                f[target].add(payload[name])
        if event["key_id"] in self.certificates:
            serial, issued = self.certificates[event["key_id"]]
            f["certificates"].add(serial)
            f["certificate_issued"] = issued
        if kind == "project.bid-submitted/v1":
            f["submitted_at"] = datetime.fromisoformat(event["ledger_time"])
            f["bid"] = True
        elif kind == "project.bid-withdrawn/v1":
            f["bid"] = False
        elif kind == "project.security-posted/v1" and "account" in payload:
            f["security_account"] = payload["account"]
        elif kind == "project.bid-decrypted/v1":
            f["price"] = Decimal(payload["price"])
            f["file_hash"] = payload["plaintext_hash"]

    def warnings(self, project: str) -> list[CollusionWarning]:
        bidders = [BidderFacts(
            bidder=b, events=tuple(f["events"]), file_hash=f.get("file_hash"),
            submitted_at=f.get("submitted_at"), price=f.get("price"),
            security_account=f.get("security_account"), ips=frozenset(f["ips"]),
            machines=frozenset(f["machines"]), certificates=frozenset(f["certificates"]),
            certificate_issued=f.get("certificate_issued"))
            for b, f in sorted(self.facts.get(project, {}).items()) if f.get("bid")]
        return collusion_warnings(bidders, len(self.obtained.get(project, ())))

    def all_warnings(self) -> dict[str, list[CollusionWarning]]:
        found = {project: self.warnings(project) for project in sorted(self.facts)}
        return {project: w for project, w in found.items() if w}
