"""The demo's rights transactions sold by listing (挂牌, 39号令; ledger/procedures/rights.py),
run after the demo's tender (api/demo.py) on the same store, by fictional actors with keys
derived from the demo's secret, in the demo's simulated time (after the tender: April–July
2025), directly or over HTTP as the demo's other actions go.

1. A land parcel in 醴陵, LILING-2025-GP07 (国有建设用地使用权挂牌出让): announced on 15 April,
   20 days ahead across the May Day holiday (1–5 May: the 20 days end on 6 May, the listing
   starts on 7 May); listed from 7 to 19 May (its 10th day, Saturday 17 May, moves to Monday
   19 May); the reserve committed by hash before bidding; four bidders registered with their
   deposits; quotes during the listing, one a fen under the least next quote (refused and
   recorded), the increment adjusted; two bidders ask to go on, so at the listing's end the
   ledger closes it and opens a timed round (限时竞价) of five-minute countdowns, each new
   highest quote restarting it; a quote one second after the countdown ran out (refused and
   recorded); the ledger ends the round; the reserve revealed and checked against its
   commitment; the award at the highest quote, the deal confirmed (成交确认书), the other
   deposits refunded by the ledger itself, the result published.
2. 石峰区九郎山森林公园生态旅游特许经营权, SHIFENG-2025-TX01 (SCENARIOS.md: 8.1 亿元 =
   810,000,000.00 yuan). SCENARIOS.md records it as an open tender won by the highest total
   price; the demo sells it by listing, among the rights transactions: quotes rising to
   810,000,000.00, nobody asks to go on, the ledger closes the listing, the reserve (at most
   8.1 亿) revealed, the award at 810,000,000.00 to the highest quote, the deal confirmed,
   the other deposits refunded, the result published.

For each listing the demo prints its milestones, then the winner, the price, the premium over
the starting price (溢价率, as the statistics count it), the number of quotes and of refusals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.errors import RuleRefused
from ledger.evidence.canonical import format_money, format_time
from ledger.procedures.listing import least_next, outcome, reserve_commitment
from ledger.procedures.refusals import refusal_stream
from projections.reactions import Reactor
from projections.statistics import grouped

from .demo import CST, SECRET, cst, h

if TYPE_CHECKING:
    from ledger.procedures.tender import ProjectState

    from .demo import Demo

FEN = Decimal("0.01")
OPERATOR, WITNESS = "operator-zz", "witness-zz"  # the demo centre's, registered by the tender


@dataclass(frozen=True)
class Lot:
    """A right listed for sale, and the terms its announcement gives."""

    project: str
    title: str
    asset: str
    seller: tuple[str, str]  # (actor, organisation): the intake's tenderee (出让人)
    supervisor: str
    bidders: dict[str, str]  # actor -> organisation
    announced: datetime
    listing_from: datetime
    listing_until: datetime
    registration_until: datetime
    starting_price: Decimal
    increment: Decimal
    deposit: Decimal
    reserve: Decimal  # the seller's collective decision, sealed until bidding has ended
    countdown_seconds: int = 300

    @property
    def salt(self) -> bytes:
        """The reserve's salt: secret until the reveal, the same in every run of the demo."""
        return hashlib.sha256(SECRET + b"reserve\x00" + self.project.encode()).digest()

    @property
    def name(self) -> str:
        return self.project.split(":", 1)[1]


LAND = Lot(
    project="project:LILING-2025-GP07",
    title="醴陵市2025-07号地块国有建设用地使用权挂牌出让（虚构）", asset="land",
    seller=("seller-liling-land", "醴陵市自然资源局（虚构）"),
    supervisor="株洲市自然资源和规划局（虚构）",
    bidders={"land-bidder-01": "醴陵虚构置业有限公司", "land-bidder-02": "株洲虚构房地产开发有限公司",
             "land-bidder-03": "湖南虚构城乡建设投资有限公司", "land-bidder-04": "虚构渌江实业有限公司"},
    announced=cst("2025-04-15T10:00:00"), listing_from=cst("2025-05-07T09:00:00"),
    listing_until=cst("2025-05-19T15:00:00"), registration_until=cst("2025-05-16T17:00:00"),
    starting_price=Decimal("86000000.00"), increment=Decimal("500000.00"),
    deposit=Decimal("17200000.00"), reserve=Decimal("90000000.00"))

CONCESSION = Lot(
    project="project:SHIFENG-2025-TX01",
    title="石峰区九郎山森林公园生态旅游特许经营权（虚构演练）", asset="concession",
    seller=("seller-shifeng", "株洲市石峰区文化旅游广电体育局（虚构）"),
    supervisor="株洲市石峰区发展和改革局（虚构）",
    bidders={"park-bidder-01": "湖南虚构文旅发展集团有限公司",
             "park-bidder-02": "株洲虚构生态旅游开发有限公司",
             "park-bidder-03": "虚构九郎文化旅游投资有限公司"},
    announced=cst("2025-05-26T10:00:00"), listing_from=cst("2025-06-17T09:00:00"),
    listing_until=cst("2025-06-27T16:00:00"), registration_until=cst("2025-06-25T17:00:00"),
    starting_price=Decimal("780000000.00"), increment=Decimal("5000000.00"),
    deposit=Decimal("156000000.00"), reserve=Decimal("800000000.00"))


def beijing(instant: datetime, form: str = "%Y-%m-%d %H:%M") -> str:
    """A ledger time as Beijing time (北京时间) reads it."""
    return instant.astimezone(CST).strftime(form)


def premium(stream: str, state: ProjectState) -> Decimal:
    """A sold lot's premium over its starting price (溢价率), as the statistics count it."""
    group, = grouped([(stream, state, None)]).values()
    assert group.premium_rate is not None, f"{stream} was not sold"
    return group.premium_rate


class DemoListings:
    """The two listings, acted by the demo's actors through its submitter."""

    def __init__(self, demo: Demo):
        self.demo, self.ledger, self.say = demo, demo.ledger, demo.say

    def run(self) -> list[str]:
        """The two listings, each to its transaction witness report; their projects."""
        self.land()
        self.concession()
        return [LAND.project, CONCESSION.project]

    # --- the two listings --------------------------------------------------------------------

    def land(self) -> None:
        """The parcel: quotes during the listing, a timed round, two refusals."""
        lot, say = LAND, self.say
        self.announce(lot)
        b1, b2, b3, b4 = lot.bidders
        for when, bidder, price in [("2025-05-07T09:30:00", b1, "86000000.00"),
                                    ("2025-05-08T10:15:00", b2, "86500000.00"),
                                    ("2025-05-09T14:20:00", b3, "87000000.00")]:
            self.quote(lot, cst(when), bidder, price)
        self.demo.act(cst("2025-05-12T09:00:00"), OPERATOR, "increment-adjusted",
                      project=lot.project, increment="1000000.00")
        say(f"{lot.name}: the increment adjusted from {lot.increment} to 1000000.00 yuan during "
            "the listing (39号令 §18)")
        least = self.least_next(lot)
        refused = self.refused(cst("2025-05-12T10:05:00"), b2, "quote-submitted",
                               project=lot.project, bidder=b2, price=format_money(least - FEN))
        say(f"refused and recorded: {b2}'s quote of {least - FEN} yuan was one fen under the "
            f"least next quote {least} (rule {refused.details['rule']}, "
            f"{refused.details['article']})")
        for when, bidder, price in [("2025-05-12T10:06:00", b2, "88000000.00"),
                                    ("2025-05-14T11:30:00", b4, "89000000.00"),
                                    ("2025-05-16T16:40:00", b1, "90000000.00")]:
            self.quote(lot, cst(when), bidder, price)
        for when, bidder in [("2025-05-19T10:00:00", b1), ("2025-05-19T11:20:00", b3)]:
            self.demo.act(cst(when), bidder, "continuation-requested", project=lot.project,
                          bidder=bidder)
        say(f"{lot.name}: {self.state(lot).quote_count} quotes during the listing; {b1} and "
            f"{b3} asked to go on at its end")
        self.react(lot.listing_until)  # the ledger closes the listing and opens the round
        opened = self.state(lot)
        assert opened.stage == "timed-round" and opened.round_ends_at is not None
        say(f"{lot.name}: the ledger closed the listing at {beijing(lot.listing_until)} "
            f"(北京时间) and opened a timed round (限时竞价): a countdown of "
            f"{lot.countdown_seconds} s, restarted by each new highest quote")
        # (bidder, price, seconds left on the countdown when the quote comes)
        for bidder, price, left in [(b3, "91000000.00", 228), (b1, "92000000.00", 95),
                                    (b3, "94000000.00", 17), (b1, "96000000.00", 160),
                                    (b3, "98000000.00", 41), (b1, "100000000.00", 8),
                                    (b3, "101000000.00", 122), (b1, "103500000.00", 3)]:
            ends = self.state(lot).round_ends_at
            assert ends is not None
            self.quote(lot, ends - timedelta(seconds=left), bidder, price)
        ran_out = self.state(lot).round_ends_at
        assert ran_out is not None
        in_round = self.state(lot).quote_count - opened.quote_count
        say(f"{lot.name}: {in_round} quotes in the timed round, each restarting the countdown; "
            f"it ran out at {beijing(ran_out, '%H:%M:%S')}")
        late = ran_out + timedelta(seconds=1)
        refused = self.refused(late, b3, "quote-submitted", project=lot.project, bidder=b3,
                               price="104500000.00")
        say(f"refused and recorded: {b3}'s quote came at {beijing(late, '%H:%M:%S')}, one "
            f"second after the countdown ran out (rule {refused.details['rule']}, "
            f"{refused.details['article']})")
        self.react(late)  # the countdown ran out: the ledger ends the round
        say(f"{lot.name}: the ledger ended the timed round at {beijing(late, '%H:%M:%S')}")
        self.sell(lot, cst("2025-05-19T15:40:00"), confirmed=cst("2025-05-20T10:00:00"),
                  published=cst("2025-05-22T09:00:00"))

    def concession(self) -> None:
        """九郎山: quotes rising to 8.1 亿 during the listing, no timed round."""
        lot = CONCESSION
        self.announce(lot)
        b1, b2, b3 = lot.bidders
        for when, bidder, price in [("2025-06-17T09:30:00", b1, "780000000.00"),
                                    ("2025-06-18T10:00:00", b2, "785000000.00"),
                                    ("2025-06-19T14:00:00", b3, "790000000.00"),
                                    ("2025-06-20T11:00:00", b1, "795000000.00"),
                                    ("2025-06-23T15:30:00", b2, "800000000.00"),
                                    ("2025-06-26T10:45:00", b3, "810000000.00")]:
            self.quote(lot, cst(when), bidder, price)
        self.react(lot.listing_until)  # nobody asked to go on: bidding ends with the listing
        assert self.state(lot).stage == "bidding-ended"
        self.say(f"{lot.name}: {self.state(lot).quote_count} quotes during the listing, "
                 f"nobody asked to go on; the ledger closed the listing at "
                 f"{beijing(lot.listing_until)} (北京时间): bidding has ended")
        self.sell(lot, cst("2025-06-27T16:20:00"), confirmed=cst("2025-06-30T10:00:00"),
                  published=cst("2025-07-02T09:00:00"))

    # --- the steps both take -----------------------------------------------------------------

    def announce(self, lot: Lot) -> None:
        """The seller's intake, the centre's acceptance and witness, the announcement, the
        reserve committed by hash, and the bidders registered with their deposits."""
        demo, seller = self.demo, lot.seller[0]
        demo.clock.moment = lot.announced - timedelta(days=1)
        demo.register(seller, "tenderee", lot.seller[1])
        demo.act(lot.announced - timedelta(days=1), seller, "intake", project=lot.project,
                 title=lot.title, category="rights", tenderee=seller, method="listing",
                 supervisor=lot.supervisor)
        demo.act(lot.announced - timedelta(hours=20), OPERATOR, "intake-accepted",
                 project=lot.project)
        demo.act(lot.announced - timedelta(hours=19), OPERATOR, "witness-assigned",
                 project=lot.project, officer=WITNESS)
        demo.act(lot.announced, seller, "listing-announced", project=lot.project,
                 listing_from=format_time(lot.listing_from),
                 listing_until=format_time(lot.listing_until),
                 registration_until=format_time(lot.registration_until),
                 starting_price=format_money(lot.starting_price),
                 increment=format_money(lot.increment), deposit=format_money(lot.deposit),
                 countdown_seconds=lot.countdown_seconds, asset=lot.asset)
        demo.act(lot.announced + timedelta(days=1), seller, "reserve-committed",
                 project=lot.project, reserve_commitment=reserve_commitment(lot.reserve, lot.salt),
                 decision_hash=h(f"{lot.title} 底价集体决策会议纪要"))
        self.say(f"{lot.name} ({lot.title}, {lot.asset}) announced on {beijing(lot.announced)} "
                 f"for a listing from {beijing(lot.listing_from)} to {beijing(lot.listing_until)} "
                 f"(北京时间): starting price {lot.starting_price} yuan, increment {lot.increment}, "
                 f"deposit {lot.deposit}; the reserve committed by hash before bidding")
        for i, (bidder, organisation) in enumerate(lot.bidders.items()):
            # certificates applied for days apart, and registrations days apart
            demo.clock.moment = lot.announced + timedelta(days=6 + 3 * i)
            demo.register(bidder, "bidder", organisation,
                          certified=lot.announced - timedelta(days=40 - 9 * i, hours=i))
            demo.act(lot.announced + timedelta(days=6 + 3 * i, hours=1), bidder,
                     "bidder-registered", project=lot.project, bidder=bidder,
                     deposit=format_money(lot.deposit))
        self.say(f"{lot.name}: {len(lot.bidders)} bidders registered (竞买申请), each with its "
                 f"deposit of {lot.deposit} yuan")

    def sell(self, lot: Lot, revealed: datetime, confirmed: datetime,
             published: datetime) -> None:
        """Bidding has ended: the reserve revealed, the award at the highest quote, the deal
        confirmed, the other deposits refunded by the ledger, the result published."""
        demo, seller = self.demo, lot.seller[0]
        demo.act(revealed, seller, "reserve-revealed", project=lot.project,
                 reserve=format_money(lot.reserve), salt=lot.salt.hex())
        top = outcome(self.state(lot).quotes, lot.reserve).winner
        assert top is not None, f"{lot.name} is sold at or above its reserve"
        demo.act(revealed + timedelta(minutes=10), seller, "awarded", project=lot.project,
                 winner=top.bidder, price=format_money(top.price))
        self.say(f"{lot.name}: the reserve revealed ({lot.reserve} yuan) and checked against its "
                 f"commitment; awarded to the highest quote, {top.bidder}'s {top.price} yuan")
        demo.act(confirmed, seller, "deal-confirmed", project=lot.project, winner=top.bidder,
                 confirmation_hash=h(f"{lot.title} 成交确认书 {top.bidder}"))
        refunds = self.react(confirmed + timedelta(minutes=30)).count(
            "project.security-refunded/v1")
        demo.act(published, seller, "result-published", project=lot.project)
        self.say(f"{lot.name}: the deal confirmed (成交确认书, the winner's deposit its down "
                 f"payment); {refunds} deposits refunded by the ledger itself, without "
                 f"interest; the result published on {beijing(published)}")
        self.summary(lot)
        self.listing_reports(lot.project)

    def summary(self, lot: Lot) -> None:
        """The listing in one line: the winner, the price, the premium, the quotes, the
        refusals recorded."""
        state = self.state(lot)
        assert state.winner is not None
        refusals = self.ledger.stream_version(refusal_stream(lot.project))
        self.say(f"{lot.name} sold: winner {state.winner} ({lot.bidders[state.winner]}), "
                 f"price {state.award_price} yuan, premium {premium(lot.project, state) * 100:.2f}% "
                 f"over the starting price (溢价率), {state.quote_count} quotes, "
                 f"{refusals} refusals recorded")

    def listing_reports(self, project: str) -> None:
        """The listing's transaction witness report (交易见证报告), now its result is out."""
        self.demo.report("transaction", project=project)

    # --- helpers -----------------------------------------------------------------------------

    def quote(self, lot: Lot, when: datetime, bidder: str, price: str) -> None:
        self.demo.act(when, bidder, "quote-submitted", project=lot.project, bidder=bidder,
                      price=price)

    def refused(self, when: datetime, actor: str, step: str, **payload) -> RuleRefused:
        """An action the rules refuse and the ledger records: the refusal."""
        try:
            self.demo.act(when, actor, step, **payload)
        except RuleRefused as refusal:
            assert refusal.details.get("recorded"), refusal
            return refusal
        raise AssertionError(f"the demo expected the rules to refuse {actor}'s {step}")

    def react(self, when: datetime) -> list[str]:
        """The ledger records itself what is due at `when` (a close, a round's end, refunds):
        the types it recorded."""
        self.demo.clock.moment = when
        outcomes = Reactor(self.ledger).run()
        assert all(o[2] == "recorded" for o in outcomes), outcomes
        return [type_ for _, type_, _ in outcomes]

    def least_next(self, lot: Lot) -> Decimal:
        state = self.state(lot)
        assert state.starting_price is not None and state.increment is not None
        return least_next(state.quotes, state.starting_price, state.increment)

    def state(self, lot: Lot) -> ProjectState:
        return self.ledger.stream(lot.project).state
