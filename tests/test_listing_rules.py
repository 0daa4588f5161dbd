"""The quote ladder, the timed round and the outcome of a listing or an online auction
(ledger/procedures/listing.py, 39号令 §10, §18, §19), at their boundaries and as a property
over random quote streams."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from ledger.procedures.listing import (
    Quote, highest, least_next, outcome, quote_problem, reserve_commitment, reveal_holds,
    round_ends,
)

T0 = datetime(2025, 6, 1, 2, 0, tzinfo=timezone.utc)
STARTING, INCREMENT = Decimal("800000000.00"), Decimal("1000000.00")
FEN = Decimal("0.01")


def q(bidder: str, price: str | Decimal, seconds: int, order: int) -> Quote:
    return Quote(bidder, Decimal(price), T0 + timedelta(seconds=seconds), order)


def test_the_first_quote_is_at_least_the_starting_price():
    assert quote_problem([], STARTING, INCREMENT, STARTING) is None
    assert "starting price" in quote_problem([], STARTING, INCREMENT, STARTING - FEN)


def test_a_quote_one_fen_under_the_increment_is_refused():
    ladder = [q("b1", STARTING, 0, 1)]
    assert least_next(ladder, STARTING, INCREMENT) == STARTING + INCREMENT
    assert quote_problem(ladder, STARTING, INCREMENT, STARTING + INCREMENT) is None
    assert "increment" in quote_problem(ladder, STARTING, INCREMENT, STARTING + INCREMENT - FEN)


def test_a_quote_one_second_after_the_countdown_is_late_and_each_new_highest_restarts_it():
    countdown = timedelta(minutes=5)
    assert round_ends(T0, [], countdown) == T0 + countdown
    ladder = [q("b1", "1.00", 299, 1)]  # one second before the countdown runs out
    ends = round_ends(T0, ladder, countdown)
    assert ends == T0 + timedelta(seconds=299) + countdown  # restarted
    assert T0 + timedelta(seconds=299 + 300) >= ends  # a quote at the instant is late


def test_a_single_quote_just_below_and_at_the_reserve():
    reserve = Decimal("810000000.00")
    assert outcome([q("b1", reserve - FEN, 0, 1)], reserve).reason == "below-reserve"
    sold = outcome([q("b1", reserve, 0, 1)], reserve)
    assert sold.reason == "sold" and sold.winner.bidder == "b1"
    assert outcome([], reserve).reason == "no-quote"


def test_equal_quotes_are_decided_by_the_ledgers_order():
    ladder = [q("late", "5.00", 0, 9), q("early", "5.00", 10, 3)]
    assert highest(ladder).bidder == "early"  # the earlier in the ledger, whatever the clock
    assert outcome(ladder, None).winner.bidder == "early"


def test_the_reserve_is_committed_and_its_reveal_checked():
    salt = bytes(range(16))
    commitment = reserve_commitment(Decimal("810000000"), salt)
    assert commitment == reserve_commitment(Decimal("810000000.00"), salt)  # money as written
    assert reveal_holds(commitment, Decimal("810000000.00"), salt)
    assert not reveal_holds(commitment, Decimal("810000000.01"), salt)
    assert not reveal_holds(commitment, Decimal("810000000.00"), bytes(16))
    assert not reveal_holds(commitment, Decimal("810000000.00"), b"short")


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), bidders=st.integers(1, 40), tries=st.integers(0, 300),
       reserve_cents=st.one_of(st.none(), st.integers(0, 5_000_000)))
def test_random_quote_streams_replayed_give_one_winner_the_highest_not_refused(
        seed, bidders, tries, reserve_cents):
    """Quotes from many bidders, each judged in turn against the ladder so far (as the ledger
    judges them): replaying the same stream gives the same ladder, winner and price; the
    ladder rises by at least the increment; the winner's quote is the highest accepted (equal
    quotes: test_equal_quotes_are_decided_by_the_ledgers_order)."""
    rng = random.Random(seed)
    starting, increment = Decimal("1000.00"), Decimal(rng.choice(["0.01", "1.00", "50.00"]))
    stream = [(f"b{rng.randrange(bidders)}", Decimal(rng.randrange(90_000, 400_000)) / 100)
              for _ in range(tries)]

    def judged() -> list[Quote]:
        ladder: list[Quote] = []
        for order, (bidder, price) in enumerate(stream, 1):
            if quote_problem(ladder, starting, increment, price) is None:
                ladder.append(Quote(bidder, price, T0 + timedelta(seconds=order), order))
        return ladder

    reserve = None if reserve_cents is None else Decimal(reserve_cents) / 100
    first, again = judged(), judged()
    assert first == again and outcome(first, reserve) == outcome(again, reserve)
    prices = [x.price for x in first]
    assert prices == sorted(prices) and len(set(prices)) == len(prices)  # strictly rising
    assert all(b - a >= increment for a, b in zip(prices, prices[1:]))
    result = outcome(first, reserve)
    if not first:
        assert result.reason == "no-quote"
    elif reserve is not None and prices[-1] < reserve:
        assert result.reason == "below-reserve" and result.winner is None
    else:
        assert result.winner == first[-1] and result.winner.price == max(prices)
