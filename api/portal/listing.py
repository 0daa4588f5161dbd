"""A lot sold by listing (挂牌) or online auction (网上竞价) as its portal page shows it: its
terms, its quote ladder (projections/quote_ladder.py) as the caller may see it, what counts
down now, the countdown history of the timed round, the reserve once revealed and the
outcome once recorded.

Pure: from the Ladder, the state's members the caller may see (visibility.state_view) and the
visibility table's judgement of who quoted (`v.sees_field("quotes", ...)`, the ladder API's
own), the same until the lot's next event (lot_seen); then what counts down at the server's
instant (at_instant). The public never learns who quoted: without `named` the view
holds no bidder at all, not even hidden. The template writes money with thousands separators
and times in China Standard Time (the page's `money` and `china` helpers)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from projections.quote_ladder import Ladder

BIDDING = ("listing", "timed-round")  # the stages a lot's page follows live
AFTER_BIDDING = ("bidding-ended", "awarded", "contracted", "failed", "archived")


@dataclass(frozen=True)
class QuoteRow:
    """One accepted quote, in the ledger's order: its price, its ledger time, and who quoted
    only when the caller may see it."""

    n: int
    price: Decimal
    at: datetime
    bidder: str | None
    highest: bool


@dataclass(frozen=True)
class CountdownRow:
    """One countdown of the timed round: started by the round's opening (`restarted_by`
    None) or by a new highest quote (its price), running out at `runs_out`."""

    n: int
    started: datetime
    runs_out: datetime
    restarted_by: Decimal | None
    current: bool


@dataclass(frozen=True)
class Clock:
    """What counts down now: the listing's start (`starts`), the listing's end (`listing`)
    or the timed round's current countdown (`round`); `ran_out` once the server's instant
    has reached it (the ledger has yet to record the close or the round's end)."""

    kind: str
    ends: datetime
    ran_out: bool

    @property
    def ends_ms(self) -> int:
        """The instant in milliseconds since the epoch, for the page's script."""
        return round(self.ends.timestamp() * 1000)


@dataclass(frozen=True)
class Terms:
    """The listing's terms as announced, the increment as it stands (None: not visible)."""

    asset: str | None
    listing_from: datetime | None
    listing_until: datetime | None
    registration_until: datetime | None
    starting_price: Decimal | None
    increment: Decimal | None
    deposit: Decimal | None
    countdown_seconds: int | None


@dataclass(frozen=True)
class LotView:
    """What the page shows of a listed lot."""

    stage: str
    terms: Terms
    highest: Decimal | None
    count: int
    least_next: Decimal | None  # while bidding goes on
    quotes: tuple[QuoteRow, ...]
    named: bool  # whether the caller may see who quoted
    clock: Clock | None
    countdowns: tuple[CountdownRow, ...]
    sealed: bool  # a reserve was committed and is not revealed yet
    reserve: Decimal | None
    winner: str | None  # once awarded, if the caller may see it
    award_price: Decimal | None
    no_sale: str | None  # below-reserve | no-quote
    # what the pages made of this view (its section's HTML and mark, by language and clock),
    # shared by the view at every instant until the lot's next event (pages.lot_answer)
    made: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def bidding(self) -> bool:
        """Whether bidding goes on (the page follows it live)."""
        return self.stage in BIDDING

    @property
    def ended(self) -> bool:
        """Whether bidding has ended (the ledger recorded the close or the round's end)."""
        return self.stage in AFTER_BIDDING

    @property
    def mark(self) -> str:
        """A digest of everything the view shows: the page replaces its ladder only when
        this changes."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]


def lot_view(lot: Ladder, shown: dict, named: bool, now: datetime) -> LotView:
    """The page's view of a lot: `lot` its ladder now, `shown` the state's members the
    caller may see (as visibility.state_view gives them), `named` whether the caller may
    see who quoted, `now` the server's instant."""
    return at_instant(lot_seen(lot, shown, named), now)


def at_instant(seen: LotView, now: datetime) -> LotView:
    """The view `seen` (lot_seen's) with what counts down at the server's instant `now`."""
    return replace(seen, clock=clock_of(seen, now))


def lot_seen(lot: Ladder, shown: dict, named: bool) -> LotView:
    """What the caller may see of the lot, the same until its next event: the view without
    its clock (at_instant adds it)."""
    top = lot.highest
    return LotView(
        stage=lot.stage, terms=terms_of(shown, lot), highest=top and top.price,
        count=len(lot.quotes), least_next=lot.least_next,
        quotes=tuple(QuoteRow(n, q.price, q.at, q.bidder if named else None, q == top)
                     for n, q in enumerate(lot.quotes, 1)),
        named=named, clock=None,
        countdowns=tuple(CountdownRow(n, c.started, c.runs_out,
                                      c.restarted_by and c.restarted_by.price,
                                      n == len(lot.countdowns))
                         for n, c in enumerate(lot.countdowns, 1)),
        sealed=lot.reserve is None and bool(shown.get("reserve_commitment")),
        reserve=lot.reserve, winner=shown.get("winner"), award_price=shown.get("award_price"),
        no_sale=shown.get("no_sale"))


def terms_of(shown: dict, lot: Ladder) -> Terms:
    """The listing's terms the caller may see."""
    return Terms(shown.get("asset"), shown.get("listing_from"), shown.get("listing_until"),
                 shown.get("registration_until"), shown.get("starting_price"), lot.increment,
                 shown.get("deposit_required"), shown.get("countdown_seconds"))


def clock_of(seen: LotView, now: datetime) -> Clock | None:
    """What counts down while bidding goes on: until the listing starts, until it ends (as
    far as the caller may see the listing's times), or the timed round's current countdown
    (the last one: each new highest quote restarted it)."""
    if seen.stage == "timed-round" and seen.countdowns:
        ends = seen.countdowns[-1].runs_out
        return Clock("round", ends, now >= ends)
    if seen.stage != "listing" or seen.terms.listing_until is None:
        return None
    starts, ends = seen.terms.listing_from, seen.terms.listing_until
    if starts is not None and now < starts:
        return Clock("starts", starts, False)
    return Clock("listing", ends, now >= ends)
