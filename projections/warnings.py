"""Collusion indicators (围标串标预警): signals an electronic system can compute from the
record, each naming its rule, its article and the events behind it. Warnings inform the
supervision body; they decide nothing.

条例 §39 defines collusion and 条例 §40 lists situations deemed collusion; the signals here are
the computable traces of those situations (../shared/RULES.md). Each indicator is a pure
function of the bidders' facts in one project; `collusion_warnings` runs them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Callable

# Thresholds of the signals (not legal periods: tuned by the centre, documented here)
CLUSTER_WINDOW = timedelta(minutes=2)  # uploads this close together count as clustered
CLUSTER_MIN = 3  # ... when at least this many bidders are in one window
CERTIFICATE_WINDOW = timedelta(minutes=30)  # CA certificates issued this close together
SERIES_MIN = 3  # prices forming a series: at least this many
SERIES_TOLERANCE = Decimal("0.00001")  # relative tolerance on equal steps or ratios
DOWNLOADS_MIN = 10  # many downloads ...
BIDS_SHARE_MAX = Decimal("0.3")  # ... but bids from at most this share of them


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


def _warning(indicator: str, article: str, text: str, group: list[BidderFacts],
             detail: str = "") -> CollusionWarning:
    return CollusionWarning(indicator, article, text, tuple(sorted(f.bidder for f in group)),
                            tuple(sorted({p for f in group for p in f.events})), detail)


def _shared(facts: list[BidderFacts], value: Callable[[BidderFacts], frozenset[str]],
            indicator: str, article: str, what: str) -> list[CollusionWarning]:
    by_value: dict[str, list[BidderFacts]] = {}
    for f in facts:
        for v in value(f):
            by_value.setdefault(v, []).append(f)
    return [_warning(indicator, article, f"different bidders used the same {what} ({v})", group,
                     v)
            for v, group in sorted(by_value.items()) if len(group) > 1]


def same_file(facts, obtained):
    return _shared(facts, lambda f: frozenset([f.file_hash]) if f.file_hash else frozenset(),
                   "same-bid-file", "条例 §40(四)", "bid file (abnormally identical bids)")


def same_machine(facts, obtained):
    return _shared(facts, lambda f: f.machines, "same-machine", "条例 §40(一)",
                   "machine fingerprint (bids prepared by the same unit or person)")


def same_ip(facts, obtained):
    return _shared(facts, lambda f: f.ips, "same-ip", "条例 §40(二)",
                   "IP address (bidding handled by the same unit or person)")


def same_certificate(facts, obtained):
    return _shared(facts, lambda f: f.certificates, "same-certificate", "条例 §40(二)",
                   "CA certificate")


def same_account(facts, obtained):
    return _shared(facts, lambda f: frozenset([f.security_account]) if f.security_account
                   else frozenset(), "same-security-account", "条例 §40(六)",
                   "bid security account")


def clustered_uploads(facts, obtained):
    timed = sorted((f for f in facts if f.submitted_at), key=lambda f: f.submitted_at)
    found, i = [], 0
    while i < len(timed):
        group = [f for f in timed[i:] if f.submitted_at - timed[i].submitted_at <= CLUSTER_WINDOW]
        if len(group) >= CLUSTER_MIN:
            found.append(_warning("clustered-uploads", "条例 §39 (signal)",
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
            found.append(_warning("certificates-issued-together", "条例 §39 (signal)",
                                  f"CA certificates of different bidders issued within "
                                  f"{CERTIFICATE_WINDOW}", [a, b], f"≤ {CERTIFICATE_WINDOW}"))
    return found


def _series(prices: list[Decimal]) -> bool:
    steps = [b - a for a, b in zip(prices, prices[1:])]
    if all(s > 0 for s in steps) and all(abs(s - steps[0]) <= SERIES_TOLERANCE * steps[0]
                                         for s in steps):
        return True
    ratios = [b / a for a, b in zip(prices, prices[1:]) if a > 0]
    return (len(ratios) == len(steps) and all(r > 1 for r in ratios)
            and all(abs(r - ratios[0]) <= SERIES_TOLERANCE * ratios[0] for r in ratios))


def price_series(facts, obtained):
    """Three or more prices in an arithmetic or geometric series (规律性差异)."""
    priced = sorted((f for f in facts if f.price is not None), key=lambda f: f.price)
    found: list[CollusionWarning] = []
    best: list[BidderFacts] = []
    for size in range(len(priced), SERIES_MIN - 1, -1):
        for group in combinations(priced, size):
            if _series([f.price for f in group]):
                best = list(group)
                break
        if best:
            break
    if best:
        prices = ", ".join(str(f.price) for f in best)
        found.append(_warning("price-series", "条例 §40(四)",
                              f"{len(best)} prices differ by a regular pattern ({prices})",
                              best, prices))
    return found


def many_downloads_few_bids(facts, obtained):
    if obtained >= DOWNLOADS_MIN and len(facts) <= BIDS_SHARE_MAX * obtained:
        return [_warning("many-downloads-few-bids", "条例 §39 (signal)",
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
