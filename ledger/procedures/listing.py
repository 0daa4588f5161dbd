"""Listing (挂牌) and online auction (网上竞价) of a right: the quote ladder, the timed
round's countdown and the outcome, as pure functions of the quotes in the ledger's order
(招标拍卖挂牌出让国有建设用地使用权规定, 国土资源部令第39号, "39号令").

- A quote is accepted only if it is at least the least next quote: the starting price for
  the first, the current highest plus the increment after it (39号令 §18: quotes rise by at
  least the increment, which may be adjusted during the listing).
- In the timed round (限时竞价) each new highest quote restarts the countdown the centre
  configures; the round ends when a countdown runs out, and a quote that comes at or after
  that instant is refused. The ledger's order and its time decide which quote came first
  and when a countdown ran out: nobody's clock but the ledger's.
- The outcome (39号令 §19): the highest quote wins, an equal quote losing to the earlier one;
  a quote below the reserve price (底价) sells nothing, whether it is the only one or the
  highest.

The reserve stays sealed until the end: it is committed by hash before bidding starts
(`reserve_commitment`) and revealed after, the reveal checked against the commitment
(39号令 §10)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable

RESERVE_CONTEXT = b"sunledger reserve price v1\n"


@dataclass(frozen=True)
class Quote:
    """One quote accepted, in the ledger's order (`order`: its place, e.g. the version)."""

    bidder: str
    price: Decimal
    at: datetime  # ledger time
    order: int


def least_next(ladder: Iterable[Quote], starting: Decimal, increment: Decimal) -> Decimal:
    """The least quote accepted next: the starting price while there is none, then the
    highest so far plus the increment."""
    top = highest(ladder)
    return starting if top is None else top.price + increment


def highest(ladder: Iterable[Quote]) -> Quote | None:
    """The highest quote, the earlier one of equal quotes (39号令 §19)."""
    best: Quote | None = None
    for quote in ladder:
        if best is None or quote.price > best.price or (
                quote.price == best.price and quote.order < best.order):
            best = quote
    return best


def quote_problem(ladder: list[Quote], starting: Decimal, increment: Decimal,
                  price: Decimal) -> str | None:
    """Why a quote of `price` is refused on this ladder (below the least next quote), or None."""
    least = least_next(ladder, starting, increment)
    if price < least:
        if not ladder:
            return f"the first quote is at least the starting price {least}; {price} is below it"
        return (f"a quote is at least the highest so far plus the increment, {least}; "
                f"{price} is below it")
    return None


def round_ends(opened_at: datetime, ladder: Iterable[Quote], countdown: timedelta) -> datetime:
    """When the timed round ends: a countdown from its opening, restarted by each quote that
    was the highest when it came (in a ladder of accepted quotes, each was)."""
    last = max((q.at for q in ladder if q.at >= opened_at), default=opened_at)
    return last + countdown


@dataclass(frozen=True)
class Outcome:
    """The result of a listing or an auction (39号令 §19): the winning quote, or none."""

    winner: Quote | None
    reason: str  # sold | below-reserve | no-quote


def outcome(ladder: Iterable[Quote], reserve: Decimal | None) -> Outcome:
    """The highest quote wins if it is at or above the reserve (no reserve: any quote);
    below it nothing is sold; without a quote neither."""
    top = highest(ladder)
    if top is None:
        return Outcome(None, "no-quote")
    if reserve is not None and top.price < reserve:
        return Outcome(None, "below-reserve")
    return Outcome(top, "sold")


def reserve_commitment(reserve: Decimal, salt: bytes) -> str:
    """The commitment to a reserve price, recorded before bidding starts: SHA-256 over a
    fixed context, the price as the ledger writes money (two decimals), and a secret salt of
    at least 16 bytes (so the few plausible prices cannot be tried one by one)."""
    if len(salt) < 16:
        raise ValueError("a reserve's salt is at least 16 random bytes")
    return hashlib.sha256(RESERVE_CONTEXT + f"{reserve:.2f}".encode() + b"\n" + salt).hexdigest()


def reveal_holds(commitment: str, reserve: Decimal, salt: bytes) -> bool:
    """Whether a revealed reserve and salt are the ones committed."""
    try:
        return hmac.compare_digest(reserve_commitment(reserve, salt), commitment)
    except ValueError:
        return False
