"""The steps of a rights transaction sold by listing (挂牌) or online auction (网上竞价): land
use rights, mining rights, state property and concessions (招标拍卖挂牌出让国有建设用地使用权规定,
国土资源部令第39号, "39号令"; state property: 企业国有资产交易监督管理办法, 32号令).

The steps, each an event, in order:
1. the announcement of the listing (`listing-announced`): at least 20 days before the listing
   starts (39号令 §11; state property: 20 working days of disclosure, 32号令 §13), the listing
   at least 10 days (§18), the registration deadline, the starting price, the increment, the
   deposit and the timed round's countdown;
2. the reserve price (底价), fixed by the seller's collective decision, committed by hash
   before bidding starts (`reserve-committed`, §10: secret until the end);
3. bidders register (`bidder-registered`, 竞买申请) before the deadline with the deposit;
4. quotes (`quote-submitted`) during the listing, each at least the highest so far plus the
   increment (§18), which may be adjusted during the listing (`increment-adjusted`);
5. bidders ask to go on (`continuation-requested`) before the listing ends; at its end the
   listing is closed (`listing-closed`): with such a request a timed round follows, each new
   highest quote restarting its countdown, until a countdown runs out (`round-ended`);
6. the reserve is revealed (`reserve-revealed`) and checked against its commitment; the
   outcome (§19: the highest quote, the earlier of equals; below the reserve no sale) is then
   recorded as the award (`project.awarded/v1`, the outcome's winner and price, nothing
   else) or as `no-sale`;
7. the deal is confirmed (`deal-confirmed`, 成交确认书, §20: the winner's deposit becomes the
   down payment); the other deposits are refunded within 5 working days without interest
   (§21, by the ledger itself), the result published within 10 working days (§22).

The quote ladder, the countdown and the outcome are the pure functions of listing.py; this
module applies them to the project's state, with the shared machinery of tender.py (the
rule table, the calendar, refusals, tracked deadlines)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Callable

from ledger.evidence.canonical import parse_money, parse_time
from .calendar import local_date
from .listing import Quote, highest, outcome, quote_problem, reveal_holds, round_ends

if TYPE_CHECKING:
    from .rules import Rule
    from .tender import ProjectState, Step

LISTING_METHODS = ("listing", "auction")
# the periods of an asset whose own rules set them (ledger/procedures/rules.py); others: 39号令's
NOTICE_RULES = {"state-property": "state-property-disclosure", "mining": "mining-announcement"}
LENGTH_RULES = {"mining": "mining-listing-period"}


def notice_rule(asset: str | None) -> str:
    """The rule on how long before its listing an asset is announced."""
    return NOTICE_RULES.get(asset or "", "listing-announcement")


def length_rule(asset: str | None) -> str:
    """The rule on how long an asset's listing lasts."""
    return LENGTH_RULES.get(asset or "", "listing-period")


class RightsSteps:
    """The listing's steps, mixed into tender.Procedure (which gives `require`, `stage`,
    `rules`, `calendar`, `_last_day`, `_period`, `_track`, `_meet`)."""

    def rights_steps(self) -> dict[str, Callable]:
        return {
            "project.listing-announced/v1": self.announce_listing,
            "project.reserve-committed/v1": self.commit_reserve,
            "project.bidder-registered/v1": self.register_bidder,
            "project.quote-submitted/v1": self.quote,
            "project.increment-adjusted/v1": self.adjust_increment,
            "project.continuation-requested/v1": self.request_continuation,
            "project.listing-closed/v1": self.close_listing,
            "project.round-ended/v1": self.end_round,
            "project.reserve-revealed/v1": self.reveal_reserve,
            "project.no-sale/v1": self.record_no_sale,
            "project.deal-confirmed/v1": self.confirm_deal,
            "project.result-published/v1": self.publish_result,
        }

    # --- the listing's periods (the rule and the witness report judge them alike) ----------

    def listing_notice(self, asset: str, announced_at: datetime,
                       listing_from: datetime) -> tuple[Rule, date, bool]:
        """The rule on how long before the listing it is announced (state property: 20
        working days of disclosure, 32号令 §13; mining rights: 矿业权交易规则; else 20 days,
        39号令 §11), the first day the listing may start, and whether it does not start
        earlier."""
        rule = self.rules[notice_rule(asset)]
        first_day = self._last_day(rule.id, announced_at, "rights") + timedelta(days=1)
        return rule, first_day, local_date(listing_from) >= first_day

    def listing_length(self, asset: str, listing_from: datetime,
                       listing_until: datetime) -> tuple[Rule, date, bool]:
        """The rule on how long the listing lasts (mining rights: 10 working days; else 10
        days, 39号令 §18), the period's last day (a rest day moving it on), and whether the
        listing lasts to it."""
        rule = self.rules[length_rule(asset)]
        last = self._last_day(rule.id, listing_from, "rights")
        return rule, last, local_date(listing_until) >= last

    # --- before bidding ----------------------------------------------------------------------

    def announce_listing(self, p: ProjectState, s: Step) -> None:
        """The listing's announcement: its dates, prices and terms; at least 20 days (state
        property: 20 working days) before the listing starts, the listing at least 10 days
        (mining rights: 10 working days)."""
        self.stage(p, s, "accepted")
        self.require(p.method in LISTING_METHODS, "procedure-order",
                     f"a project sold by {p.method} is announced as a tender, not a listing")
        listing_from = parse_time(s.payload["listing_from"])
        listing_until = parse_time(s.payload["listing_until"])
        registration_until = parse_time(s.payload["registration_until"])
        asset = s.payload["asset"]
        notice, first_day, early_enough = self.listing_notice(asset, s.at, listing_from)
        self.require(early_enough, notice.id, lambda: (
            f"the listing starts on {local_date(listing_from)}; announced on "
            f"{local_date(s.at)}, it starts on {first_day} at the earliest"))
        period, last, long_enough = self.listing_length(asset, listing_from, listing_until)
        self.require(long_enough, period.id, lambda: (
            f"the listing from {local_date(listing_from)} ends on {local_date(listing_until)}; "
            f"its {int(period.value)}th {'working ' if period.unit == 'working_days' else ''}"
            f"day (a rest day moving it to the next working day) is {last}"))
        self.require(s.at <= registration_until <= listing_until, "listing-registration",
                     "the registration deadline falls after the announcement and no later "
                     "than the listing's end")
        increment = parse_money(s.payload["increment"])
        self.require(increment > 0 and s.payload["countdown_seconds"] > 0, "quote-increment",
                     "the increment and the timed round's countdown are more than zero")
        p.asset, p.listing_from, p.listing_until = asset, listing_from, listing_until
        p.registration_until = registration_until
        p.starting_price = parse_money(s.payload["starting_price"])
        p.increment, p.deposit_required = increment, parse_money(s.payload["deposit"])
        p.countdown_seconds = s.payload["countdown_seconds"]
        p.stage = "listing"

    def commit_reserve(self, p: ProjectState, s: Step) -> None:
        """The reserve price, fixed by the seller's collective decision, committed by hash
        before bidding starts; once (39号令 §10)."""
        self.stage(p, s, "listing")
        self.require(p.reserve_commitment is None, "recorded-once",
                     "the reserve was committed already")
        assert p.listing_from is not None
        self.require(s.at < p.listing_from, "reserve-sealed",
                     "the reserve is committed before bidding starts")
        p.reserve_commitment = s.payload["reserve_commitment"]

    def register_bidder(self, p: ProjectState, s: Step) -> None:
        """A bidder's application (竞买申请) with its deposit, before the deadline; once."""
        self.stage(p, s, "listing")
        bidder = s.payload["bidder"]
        assert p.registration_until is not None and p.deposit_required is not None
        self.require(s.at < p.registration_until, "listing-registration",
                     lambda: f"registration closed at {p.registration_until:%Y-%m-%d %H:%M} UTC")
        self.require(bidder not in p.registered, "recorded-once",
                     f"{bidder} is registered already")
        deposit = parse_money(s.payload["deposit"])
        self.require(deposit >= p.deposit_required, "listing-registration",
                     f"the deposit is at least {p.deposit_required}; {deposit} is not")
        p.registered[bidder] = deposit

    # --- bidding -----------------------------------------------------------------------------

    def quote(self, p: ProjectState, s: Step) -> None:
        """A registered bidder's quote: during the listing, or in the timed round before its
        countdown runs out; at least the highest so far plus the increment (39号令 §18)."""
        self.stage(p, s, "listing", "timed-round")
        bidder = s.payload["bidder"]
        self.require(bidder in p.registered, "listing-registration",
                     f"{bidder} is not registered for this listing")
        self.require(p.reserve_commitment is not None, "reserve-sealed",
                     "bidding starts only once the reserve is committed")
        assert p.listing_from is not None and p.listing_until is not None
        if p.stage == "listing":
            self.require(p.listing_from <= s.at < p.listing_until, length_rule(p.asset),
                         lambda: f"quotes are taken from {p.listing_from:%Y-%m-%d %H:%M} to "
                                 f"{p.listing_until:%Y-%m-%d %H:%M} UTC")
        else:
            assert p.round_ends_at is not None
            self.require(s.at < p.round_ends_at, "timed-round", lambda: (
                f"the quote came at {s.at:%H:%M:%S}, the countdown ran out at "
                f"{p.round_ends_at:%H:%M:%S} UTC"))
        assert p.starting_price is not None and p.increment is not None
        price = parse_money(s.payload["price"])
        problem = quote_problem(p.quotes, p.starting_price, p.increment, price)
        self.require(problem is None, "quote-increment", lambda: str(problem))
        p.quotes.append(Quote(bidder, price, s.at, s.version))
        p.highest_quote, p.quote_count = price, p.quote_count + 1
        if p.stage == "timed-round":
            p.round_ends_at = s.at + timedelta(seconds=p.countdown_seconds)

    def adjust_increment(self, p: ProjectState, s: Step) -> None:
        """The increment adjusted during the listing (39号令 §18)."""
        self.stage(p, s, "listing")
        increment = parse_money(s.payload["increment"])
        self.require(increment > 0, "quote-increment", "the increment is more than zero")
        p.increment = increment

    def request_continuation(self, p: ProjectState, s: Step) -> None:
        """A registered bidder asks to go on bidding when the listing ends (39号令 §19)."""
        self.stage(p, s, "listing")
        bidder = s.payload["bidder"]
        self.require(bidder in p.registered, "listing-registration",
                     f"{bidder} is not registered for this listing")
        assert p.listing_until is not None
        self.require(s.at < p.listing_until, "listing-outcome",
                     "going on is asked before the listing ends")
        p.continuing.add(bidder)

    def close_listing(self, p: ProjectState, s: Step) -> None:
        """At the listing's end: a timed round when a bidder asked to go on, each new
        highest quote restarting its countdown; otherwise bidding has ended (39号令 §19)."""
        self.stage(p, s, "listing")
        assert p.listing_until is not None
        self.require(s.at >= p.listing_until, length_rule(p.asset),
                     "the listing closes at its end, not before")
        p.closed_at = s.at
        if p.continuing:
            p.stage, p.round_opened_at = "timed-round", s.at
            p.round_ends_at = round_ends(s.at, [], timedelta(seconds=p.countdown_seconds))
        else:
            p.stage = "bidding-ended"
            self._after_bidding(p, s.at)

    def end_round(self, p: ProjectState, s: Step) -> None:
        """The timed round ends when its countdown has run out, not before."""
        self.stage(p, s, "timed-round")
        assert p.round_ends_at is not None
        self.require(s.at >= p.round_ends_at, "timed-round", lambda: (
            f"the countdown runs until {p.round_ends_at:%H:%M:%S} UTC"))
        p.stage = "bidding-ended"
        self._after_bidding(p, s.at)

    def _after_bidding(self, p: ProjectState, at: datetime) -> None:
        """Bidding has ended: the deposits of all but the highest bidder fall due for refund
        (5 working days, no interest: 39号令 §21), the result for publication (§22)."""
        top = highest(p.quotes)
        for bidder in p.registered:
            if top is None or bidder != top.bidder:
                self._owe_refund(p, bidder, "deposit-refund", at)
        self._track(p, "result-publication", self._period("result-publication", at, p.kind))

    # --- the outcome -------------------------------------------------------------------------

    def reveal_reserve(self, p: ProjectState, s: Step) -> None:
        """The reserve revealed once bidding has ended, and checked against its commitment."""
        self.stage(p, s, "bidding-ended")
        self.require(p.reserve is None, "recorded-once", "the reserve was revealed already")
        self.require(p.reserve_commitment is not None, "reserve-sealed",
                     "no reserve was committed")
        reserve = parse_money(s.payload["reserve"])
        self.require(reveal_holds(p.reserve_commitment or "", reserve,
                                  bytes.fromhex(s.payload["salt"])), "reserve-sealed",
                     "the reserve and salt revealed are not the ones committed")
        p.reserve = reserve

    def award_listing(self, p: ProjectState, s: Step) -> None:
        """The award of a listing is its outcome (39号令 §19), nothing else: the highest
        quote at or above the revealed reserve."""
        self.stage(p, s, "bidding-ended")
        self.require(p.reserve is not None, "reserve-sealed",
                     "the reserve is revealed before the outcome")
        result = outcome(p.quotes, p.reserve)
        self.require(result.winner is not None, "listing-outcome",
                     f"nothing is sold: {result.reason}")
        assert result.winner is not None
        winner, price = s.payload["winner"], parse_money(s.payload["price"])
        self.require((winner, price) == (result.winner.bidder, result.winner.price),
                     "listing-outcome", lambda: (
                         f"the highest quote is {result.winner.bidder}'s {result.winner.price}, "
                         f"not {winner}'s {price}"))
        p.winner, p.award_price, p.stage = winner, price, "awarded"

    def record_no_sale(self, p: ProjectState, s: Step) -> None:
        """Nothing sold: no quote, or the highest below the reserve (39号令 §19)."""
        self.stage(p, s, "bidding-ended")
        self.require(p.reserve is not None or p.reserve_commitment is None or not p.quotes,
                     "reserve-sealed", "the reserve is revealed before the outcome")
        result = outcome(p.quotes, p.reserve)
        self.require(result.winner is None and result.reason == s.payload["reason"],
                     "listing-outcome", f"the outcome is {result.reason}, not "
                                        f"{s.payload['reason']}")
        p.no_sale, p.stage = result.reason, "failed"
        for bidder in p.registered:
            self._owe_refund(p, bidder, "deposit-refund", s.at)

    def confirm_deal(self, p: ProjectState, s: Step) -> None:
        """The confirmation (成交确认书) with the winner; its deposit becomes the down payment
        (39号令 §20)."""
        self.stage(p, s, "awarded")
        self.require(s.payload["winner"] == p.winner, "deal-confirmation",
                     f"the deal is confirmed with the winner {p.winner}")
        p.confirmation_hash, p.stage = s.payload["confirmation_hash"], "contracted"

    def publish_result(self, p: ProjectState, s: Step) -> None:
        """The result published (39号令 §22); once."""
        self.stage(p, s, "awarded", "contracted", "failed")
        self.require(p.result_published_at is None, "recorded-once",
                     "the result was published already")
        p.result_published_at = s.at
        self._meet(p, "result-publication", s.at)
