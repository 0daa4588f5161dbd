"""The load generator: fictional projects driven through the real procedure with
`Ledger.submit`, the same public append path a client takes, in simulated time.

Each project runs its procedure from intake to archive: announcement, documents, objections,
bid security, sealed bids (some changed, one late bid that the rules refuse), the deadline,
the opening (a decryption failure now and then), the expert draw (a recusal now and then),
scores, the evaluation report signed by every member, publicity, award, contract, refunds and
archive; now and then a tender fails for want of bidders, and some projects have a group of
colluding bidders (a shared machine, prices in a series). Projects overlap in time; the
simulation's clock is the ledger's clock, so every deadline is real to the rules.

Of the rights projects, half are sold by listing (挂牌, ledger/procedures/rights.py) instead of
the highest-price tender: announced as early as their asset's notice period allows, quotes
rising during the listing (now and then one a fen under the least next quote, refused), in
some a timed round after it with a burst of quotes in its last minutes (and one a second after
the countdown ran out, refused); some end in no sale, with no quote or the highest under the
reserve. The ledger itself closes each listing, ends each round and refunds the deposits.

Every actor has its own key; the same seed gives the same actions, times and outcomes.
Names are invented and obviously fictional.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Callable, Iterator

from ledger.errors import MalformedAction, RuleRefused
from ledger.evidence.canonical import format_money, format_time
from ledger.evidence.envelope import LEDGER_ACTOR, SignedAction, actor_stream, project_stream
from ledger.evidence.keys import SigningKey, encode_public_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash, replacement,
    sealed_bids_digest,
)
from ledger.procedures.calendar import CHINA
from ledger.procedures.listing import reserve_commitment
from ledger.procedures.tender import Procedure, rank_bids

EPOCH = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 Beijing time
NATIONAL = Procedure()  # the national rules and calendar the fictional projects keep to

KINDS = [
    # category, method, control price range in yuan, a title pattern
    ("construction", "lowest-price", (2_000_000, 180_000_000), "虚构市{n}号棚户区改造工程（第{s}标段）"),
    ("construction", "comprehensive", (500_000, 30_000_000), "虚构县{n}号道路桥梁检测工程"),
    ("procurement", "lowest-price", (100_000, 8_000_000), "虚构市{n}号医院低值医用耗材集中采购"),
    ("rights", "highest-price", (1_000_000, 900_000_000), "虚构森林公园{n}号生态旅游特许经营权"),
]
LISTING_SHARE = 0.5  # of the rights projects, those sold by listing instead of by tender
LISTED = [
    # what a listing sells (its periods are its asset's: rules.py), a title pattern
    ("land", "虚构县{n}号地块国有建设用地使用权挂牌出让"),
    ("concession", "虚构森林公园{n}号生态旅游特许经营权挂牌出让"),
    ("mining", "虚构县{n}号建筑用砂石矿采矿权挂牌出让"),
    ("state-property", "虚构国有企业{n}号闲置厂房转让"),
]
# how a listing ends, and how often: no quote, the highest under the reserve, sold during the
# listing, sold after a timed round
LISTING_ENDS = {"no-quote": 1, "below-reserve": 1, "listing": 3, "timed-round": 3}


class SimulatedClock:
    """The simulation's time, which the ledger reads: it moves only when the simulation
    moves it, and never backwards."""

    def __init__(self, start: datetime = EPOCH):
        self.time = start

    def now(self) -> datetime:
        return self.time

    def set(self, when: datetime) -> None:
        self.time = max(self.time, when)


@dataclass
class SimulationResult:
    seed: int
    projects: int = 0
    actions: int = 0
    actors: int = 0
    refused: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """One planned action: when, and whether the rules are expected to refuse it."""

    when: datetime
    build: Callable[[], SignedAction]
    refused: bool = False


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def simulation_start(last: datetime | None) -> datetime:
    """When a simulation begins: at EPOCH in a new store, else at the first Monday 09:00
    Beijing time not before the store's newest ledger time (ledger time only moves forward)."""
    if last is None or last <= EPOCH:
        return EPOCH
    weeks = -(-(last - EPOCH) // timedelta(weeks=1))  # rounded up
    return EPOCH + timedelta(weeks=weeks)


@dataclass(frozen=True)
class Sizes:
    """How many bidders a project draws. The default is a county centre's: 4 to 9. A large
    centre's year (`LARGE_CENTRE`) adds, to one project in five, a field of 100 to 500
    bidders, and to one comprehensive-evaluation tender in fifty about 800: with five experts
    scoring each bid, a stream of about 10,000 events, most of them appended in the minutes of
    the opening and the evaluation."""

    large_share: float = 0.0
    large: tuple[int, int] = (100, 500)
    huge_share: float = 0.0  # of comprehensive-evaluation tenders
    huge: tuple[int, int] = (780, 820)

    def bidders(self, rng: random.Random, method: str, available: int) -> int:
        if self.huge_share and method == "comprehensive" and rng.random() < self.huge_share:
            return min(rng.randint(*self.huge), available)
        if self.large_share and rng.random() < self.large_share:
            return min(rng.randint(*self.large), available)
        return rng.randint(4, min(9, available))


COUNTY_CENTRE = Sizes()
LARGE_CENTRE = Sizes(large_share=0.2, huge_share=0.02)


def china_time(day: date, hour: int) -> datetime:
    """`hour`:00 Beijing time on `day`, as a ledger time."""
    return datetime.combine(day, time(hour), CHINA).astimezone(timezone.utc)


def _spacing(count: int, window: timedelta) -> timedelta:
    """The interval between bidders acting one after another: an hour, or less where an hour
    each would not fit `count` of them into `window`."""
    return min(timedelta(hours=1), window / max(count, 1))


class Simulation:
    def __init__(self, seed: int, projects: int, start: datetime = EPOCH,
                 sizes: Sizes = COUNTY_CENTRE):
        self.seed = seed
        self.projects = projects
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.secret = f"sunledger-simulation/{seed}".encode()
        self.prefix = f"sim{seed}"
        self.versions: dict[str, int] = {}
        self.start = start
        self.clock = SimulatedClock(start)

    # actors: fictional, one key each, derived from the seed
    def _signer(self, actor: str) -> ActorSigner:
        return ActorSigner(actor, SigningKey.derived(self.secret, actor), self.rng)

    def cast(self) -> dict[str, list[ActorSigner]]:
        n = self.projects
        # an expert pool of at most 200: its disclosure after the award (the whole pool, for
        # the replay) stays well under the 64 KiB payload limit (about 1,000 experts)
        bidders = max(12, n // 2, self.sizes.huge[1] + 12 if self.sizes.huge_share else 0,
                      self.sizes.large[1] + 12 if self.sizes.large_share else 0)
        counts = {"tenderee": max(2, n // 4), "agent": 3, "bidder": bidders,
                  "expert": min(200, max(18, n // 5)), "operator": 1}
        return {role: [self._signer(f"{self.prefix}-{role}-{i:04d}") for i in range(count)]
                for role, count in counts.items()}

    def _sign(self, signer: ActorSigner, stream: str, type_: str, payload: dict,
              refused: bool = False) -> SignedAction:
        version = self.versions.get(stream, 0)
        if not refused:  # a refused action does not advance its stream
            self.versions[stream] = version + 1
        return signer.sign(stream, type_, payload, expected_version=version,
                           signed_at=self.clock.now())

    def _planned(self, stream: str, when: datetime, signer: ActorSigner, type_: str,
                 payload: dict, refused: bool = False) -> Planned:
        """`signer`'s action on `stream` at `when`, signed when its time comes."""
        return Planned(when, lambda: self._sign(signer, stream, type_, payload, refused), refused)

    def registrations(self, cast: dict[str, list[ActorSigner]], registrar: ActorSigner) -> Iterator[Planned]:
        names = {"tenderee": "招标人", "agent": "招标代理", "bidder": "建设", "expert": "评标专家库",
                 "operator": "交易中心"}
        for role, signers in cast.items():
            for i, s in enumerate(signers, 1):
                stream = actor_stream(s.actor)
                yield Planned(self.start, lambda s=s, stream=stream, i=i, role=role: self._sign(
                    registrar, stream, "actor.registered/v1",
                    {"name": f"Fictional {role} {i}", "roles": [role],
                     "organisation": f"虚构{names[role]}{i}号单位"}))
                yield Planned(self.start, lambda s=s, stream=stream: self._sign(
                    registrar, stream, "actor.key-added/v1",
                    {"key_id": s.key.key_id, "public_key": encode_public_key(s.key.public_key)}))

    def project(self, number: int, cast: dict[str, list[ActorSigner]],
                registrar: ActorSigner) -> Iterator[Planned]:
        """One project's planned actions, in time order (planned in the procedure's order,
        then sorted: bidders act in parallel)."""
        return iter(sorted(self._project(number, cast, registrar), key=lambda p: p.when))

    def _project(self, number: int, cast: dict[str, list[ActorSigner]],
                 registrar: ActorSigner) -> Iterator[Planned]:
        rng = self.rng
        category, method, (low, high), pattern = rng.choice(KINDS)
        stream = project_stream(f"{self.prefix}-{number:05d}")
        tenderee, agent = rng.choice(cast["tenderee"]), rng.choice(cast["agent"])
        operator = cast["operator"][0]
        if category == "rights" and rng.random() < LISTING_SHARE:
            yield from self._listing(number, stream, cast, registrar, tenderee, (low, high))
            return
        control = Decimal(rng.randrange(low, high))
        failing = rng.random() < 0.08  # too few bidders: the tender fails (流标)
        bidders = rng.sample(cast["bidder"], 2 if failing else self.sizes.bidders(
            rng, method, len(cast["bidder"]) - 3))
        bidding = set(bidders)
        obtainers = bidders + rng.sample([b for b in cast["bidder"] if b not in bidding],
                                         rng.randint(0, 3))
        colluders = bidders[:3] if len(bidders) >= 5 and rng.random() < 0.25 else []
        t0 = self.start_of(number)
        day = timedelta(days=1)
        # 09:30 CST on a working day at least 21 days after the announcement
        deadline = datetime.combine(
            NATIONAL.calendar.next_working_day((t0 + 22 * day).astimezone(CHINA).date()),
            datetime.min.time(), CHINA).replace(hour=9, minute=30).astimezone(timezone.utc)
        sign = self._sign

        def retention(archived: datetime) -> dict:
            """A procurement's files are kept more than 15 years (政采法 §42); others say
            nothing."""
            if category != "procurement":
                return {}
            return {"retain_until": format_time(archived + 366 * 15 * day)}

        at = partial(self._planned, stream)
        doc = _digest(stream, "documents", 1)
        yield at(t0, tenderee, "project.intake/v1", {
            "title": pattern.format(n=number, s=rng.randint(1, 3)), "category": category,
            "tenderee": tenderee.actor, "agent": agent.actor, "method": method,
            "control_price": format_money(control)})
        yield at(t0 + timedelta(hours=1), operator, "project.intake-accepted/v1", {})
        announced = t0 + day
        yield at(announced, agent, "project.announced/v1", {
            # 15 days: at least 5 working days whatever holidays fall in them
            "documents_from": format_time(announced),
            "documents_until": format_time(announced + 15 * day),
            "bid_deadline": format_time(deadline)})
        yield at(announced + timedelta(minutes=5), agent, "project.documents-issued/v1",
                 {"document_hash": doc, "edition": 1})
        apart = _spacing(len(obtainers), timedelta(days=8))  # the documents: days 1 to 9
        for i, b in enumerate(obtainers):
            yield at(announced + timedelta(days=1) + i * apart, b, "project.documents-obtained/v1",
                     {"bidder": b.actor, "document_hash": doc,
                      "machine": "m-shared" if b in colluders else f"m-{b.actor}"})
        if rng.random() < 0.3:  # an objection to the documents, answered the next day
            objector = bidders[0]
            raised = announced + 5 * day
            objection: dict[str, int] = {}

            def raise_objection() -> SignedAction:
                signed = sign(objector, stream, "project.objection-raised/v1",
                              {"bidder": objector.actor, "text_hash": _digest(stream, "objection")})
                objection["version"] = self.versions[stream]  # where the ledger places it
                return signed

            yield Planned(raised, raise_objection)
            yield Planned(raised + day, lambda: sign(agent, stream, "project.objection-answered/v1", {
                "objection_version": objection["version"], "answer_hash": _digest(stream, "answer")}))
        draw_size = 3 if category == "procurement" else 5
        draw_pool = [Expert(e.actor, "economic" if i % 3 == 2 else "technical")
                     for i, e in enumerate(cast["expert"])]
        yield at(announced + 2 * day, operator, "project.draw-prepared/v1", {
            "secret_commitment": commitment(hashlib.sha256(self.secret + stream.encode()).digest()),
            "pool_hash": pool_hash(draw_pool), "exclusions_hash": exclusions_hash([]),
            "quotas": {"technical": draw_size - 1, "economic": 1}})
        security = (control * Decimal("0.02")).quantize(Decimal("0.01")) if category != "rights" \
            else (control * Decimal("0.01")).quantize(Decimal("0.01"))
        base = Decimal(rng.uniform(0.5, 0.95)) if category != "rights" else Decimal(rng.uniform(1.02, 1.3))
        step = (control * Decimal("0.005")).quantize(Decimal("0.01"))
        prices = {}
        apart = _spacing(len(bidders), timedelta(days=4))  # securities days 10-14, bids after
        for i, b in enumerate(bidders):
            price = control * (base + Decimal(rng.uniform(-0.08, 0.08)))
            if b in colluders:  # a series: equal steps apart
                price = control * base + step * colluders.index(b)
            prices[b.actor] = price.quantize(Decimal("0.01"))
            posted = announced + timedelta(days=10) + i * apart
            yield at(posted, b, "project.security-posted/v1", {
                "bidder": b.actor, "amount": format_money(security), "form": "guarantee"})
            submitted = deadline - timedelta(days=2, minutes=rng.randint(0, 50)) - i * apart
            yield at(submitted, b, "project.bid-submitted/v1", {
                "bidder": b.actor, "bid_hash": _digest(stream, b.actor, "sealed bid"),
                "machine": "m-shared" if b in colluders else f"m-{b.actor}"})
        latecomer = next((b for b in obtainers if b not in bidders), None)
        if latecomer is not None:  # one minute late: the rules refuse it, and it is recorded
            yield at(deadline + timedelta(minutes=1), latecomer, "project.bid-submitted/v1",
                     {"bidder": latecomer.actor, "bid_hash": _digest(stream, latecomer.actor, "late")},
                     refused=True)
        yield at(deadline, operator, "project.submission-closed/v1", {})
        if failing:  # no opening: every security goes back, then the file is closed
            for b in bidders:
                yield at(deadline + timedelta(minutes=30), registrar, "project.security-refunded/v1",
                         {"bidder": b.actor, "amount": format_money(security)})
            yield at(deadline + timedelta(hours=1), operator, "project.archived/v1",
                     retention(deadline + timedelta(hours=1)))
            return
        opening = deadline + timedelta(minutes=5)
        failed = bidders[-1] if rng.random() < 0.2 else None  # the bidder's own fault
        for b in bidders:
            yield at(opening - timedelta(minutes=3), b, "project.checked-in/v1", {"bidder": b.actor})
            if b is not failed:  # the failing bidder never releases a working key
                yield at(opening - timedelta(minutes=2), b, "project.key-released/v1",
                         {"bidder": b.actor, "key_hash": _digest(stream, b.actor, "key")})
        for b in bidders:
            if b is failed:
                yield at(opening, operator, "project.decryption-failed/v1", {
                    "bidder": b.actor, "cause": "bidder", "reason": "the key released did not open the bid"})
            else:
                yield at(opening, operator, "project.bid-decrypted/v1", {
                    "bidder": b.actor, "ciphertext_hash": _digest(stream, b.actor, "sealed bid"),
                    "plaintext_hash": _digest(stream, b.actor, "plaintext"),
                    "price": format_money(prices[b.actor])})
        opened = {b.actor: prices[b.actor] for b in bidders if b is not failed}
        # the expert draw: committed before the deadline, drawn after the opening from the
        # secret and the sealed bids, disclosed after the award (expert_draw.py)
        pool = draw_pool
        secret = hashlib.sha256(self.secret + stream.encode()).digest()
        quotas = {"technical": draw_size - 1, "economic": 1}
        head = sealed_bids_digest(_digest(stream, b.actor, "sealed bid") for b in bidders)
        committee = draw(draw_seed(secret, head), pool, set(), quotas)
        members = [e.id for e in committee]
        yield at(opening + timedelta(minutes=10), operator, "project.experts-drawn/v1", {
            "committee": members, "head_hash": head, "committee_hash": committee_hash(committee)})
        if rng.random() < 0.2:  # a member withdraws (回避); the draw's next one replaces it
            out = members[0]
            new = replacement(draw_seed(secret, head), pool, set(), committee, out).id
            yield at(opening + timedelta(minutes=20), operator, "project.expert-replaced/v1",
                     {"recused": out, "replacement": new, "ground": "employed by a bidder within 3 years"})
            members = [new if m == out else m for m in members]
        experts = {e.actor: e for e in cast["expert"]}
        evaluating = opening + timedelta(hours=1)
        scores: dict[tuple[str, str], Decimal] = {}
        if method == "comprehensive":
            for m in members:
                for b in opened:
                    score = rng.randint(60, 100)
                    scores[(m, b)] = Decimal(score)
                    yield at(evaluating, experts[m], "project.score-submitted/v1",
                             {"bidder": b, "score": score})
        # a bid above the published ceiling (the control price) is no candidate (条例 §51)
        ranking = rank_bids(method, opened, {}, scores,
                            ceiling=None if category == "rights" else control)[:3]
        report = _digest(stream, "evaluation report")
        yield at(evaluating + timedelta(hours=2), experts[members[0]],
                 "project.evaluation-reported/v1", {"ranking": ranking, "report_hash": report})
        for m in members[1:]:
            yield at(evaluating + timedelta(hours=2, minutes=20), experts[m],
                     "project.evaluation-report-signed/v1", {"report_hash": report})
        published = evaluating + day
        until = NATIONAL.publicity_ends(published)  # the third full day's end (条例 §54)
        yield at(published, agent, "project.candidates-published/v1", {"until": format_time(until)})
        winner = ranking[0]
        awarded = until + timedelta(hours=9)
        yield at(awarded, tenderee, "project.awarded/v1",
                 {"winner": winner, "price": format_money(opened[winner])})
        yield at(awarded + timedelta(hours=1), operator, "project.draw-disclosed/v1", {
            "secret": secret.hex(), "pool": [e.to_json() for e in pool], "exclusions": []})
        signed = awarded + 10 * day
        yield at(signed, tenderee, "project.contract-signed/v1",
                 {"winner": winner, "contract_hash": _digest(stream, "contract")})
        for b in bidders:  # refunded by the ledger itself when due, as Xiangxi does:
            if b is not failed:  # procurement losers after the award, the others after the contract
                refund_at = awarded + day if category == "procurement" and b.actor != winner \
                    else signed + day
                yield at(refund_at, registrar, "project.security-refunded/v1",
                         {"bidder": b.actor, "amount": format_money(security)})
        yield at(signed + 2 * day, operator, "project.archived/v1", retention(signed + 2 * day))

    def _listing(self, number: int, stream: str, cast: dict[str, list[ActorSigner]],
                 registrar: ActorSigner, seller: ActorSigner,
                 prices: tuple[int, int]) -> Iterator[Planned]:
        """A rights project sold by listing (挂牌): announced the day after its intake, listed
        from the first day its asset's notice period allows for as long as its length rule
        asks (rights.py: listing_notice, listing_length); its reserve committed by hash before
        bidding; 1 to 5 bidders registered with their deposits; quotes rising during the
        listing, now and then one a fen under the least next quote (refused); in a timed
        round, a burst of quotes each before the countdown runs out and restarting it, then
        one a second after it ran out (refused). The ledger closes the listing, ends the
        round and refunds the deposits owed; the seller reveals the reserve and records the
        award (or the operator the no-sale), confirms the deal and publishes the result."""
        rng = self.rng
        at = partial(self._planned, stream)
        asset, pattern = rng.choice(LISTED)
        ending = rng.choices(list(LISTING_ENDS), weights=list(LISTING_ENDS.values()))[0]
        operator = cast["operator"][0]
        t0 = self.start_of(number)
        announced = t0 + timedelta(days=1)
        _, first_day, _ = NATIONAL.listing_notice(asset, announced, announced)
        listing_from = china_time(first_day, 9)
        _, last_day, _ = NATIONAL.listing_length(asset, listing_from, listing_from)
        listing_until = china_time(last_day, 15)
        starting = Decimal(rng.randrange(*prices) // 10_000 * 10_000)
        increment = Decimal(max(1_000, int(starting) // 200 // 1_000 * 1_000))
        deposit = (starting / 5).quantize(Decimal("0.01"))
        countdown = timedelta(seconds=rng.choice((60, 180, 300)))
        bidders = rng.sample(cast["bidder"], rng.randint(1 if ending == "no-quote" else 2, 5))

        # the quotes during the listing, evenly apart: (when, bidder, price)
        count = 0 if ending == "no-quote" else rng.randint(1, 5)
        price, quotes = starting + increment * rng.randint(0, 2), []
        for i in range(count):
            quotes.append((listing_from + (listing_until - listing_from) * (i + 1) / (count + 2),
                           rng.choice(bidders), price))
            price += increment * rng.randint(1, 3)
        top = quotes[-1][2] if quotes else None
        if top is None:  # the seller's reserve, sealed until bidding has ended
            reserve = starting + increment * rng.randint(0, 5)
        elif ending == "below-reserve":
            reserve = top + increment * rng.randint(1, 5)
        else:  # at most the listing's highest quote
            reserve = (starting + (top - starting) * rng.randint(0, 100) / 100).quantize(
                Decimal("0.01"))
        salt = hashlib.sha256(self.secret + stream.encode() + b"reserve").digest()

        yield at(t0, seller, "project.intake/v1", {
            "title": pattern.format(n=number), "category": "rights", "tenderee": seller.actor,
            "method": "listing"})
        yield at(t0 + timedelta(hours=1), operator, "project.intake-accepted/v1", {})
        yield at(announced, seller, "project.listing-announced/v1", {
            "listing_from": format_time(listing_from), "listing_until": format_time(listing_until),
            "registration_until": format_time(listing_until - timedelta(days=2)),
            "starting_price": format_money(starting), "increment": format_money(increment),
            "deposit": format_money(deposit), "countdown_seconds": countdown.seconds,
            "asset": asset})
        yield at(announced + timedelta(hours=1), seller, "project.reserve-committed/v1", {
            "reserve_commitment": reserve_commitment(reserve, salt),
            "decision_hash": _digest(stream, "collective decision")})
        for i, b in enumerate(bidders):
            yield at(announced + timedelta(days=2, hours=i), b, "project.bidder-registered/v1",
                     {"bidder": b.actor, "deposit": format_money(deposit)})
        for when, b, quoted in quotes:
            yield at(when, b, "project.quote-submitted/v1",
                     {"bidder": b.actor, "price": format_money(quoted)})
        if quotes and rng.random() < 0.5:  # a fen under the least next quote: refused
            when, _, quoted = rng.choice(quotes)
            under = rng.choice(bidders)
            yield at(when + timedelta(minutes=10), under, "project.quote-submitted/v1",
                     {"bidder": under.actor,
                      "price": format_money(quoted + increment - Decimal("0.01"))}, refused=True)
        ended = listing_until
        if ending == "timed-round":
            for i, b in enumerate(rng.sample(bidders, rng.randint(1, 2))):
                yield at(listing_until - timedelta(hours=2, minutes=10 * i), b,
                         "project.continuation-requested/v1", {"bidder": b.actor})
        yield at(listing_until, registrar, "project.listing-closed/v1", {})
        if ending == "timed-round":  # each quote before the countdown runs out restarts it
            last = listing_until
            for _ in range(rng.randint(2, 10)):
                last += timedelta(seconds=rng.randint(1, countdown.seconds - 1))
                b = rng.choice(bidders)
                price += increment * rng.randint(1, 2)
                yield at(last, b, "project.quote-submitted/v1",
                         {"bidder": b.actor, "price": format_money(price)})
                top, quotes = price, [*quotes, (last, b, price)]
            ended = last + countdown + timedelta(seconds=1)  # a second after it ran out
            late = rng.choice(bidders)
            yield at(ended, late, "project.quote-submitted/v1",
                     {"bidder": late.actor, "price": format_money(price + increment)}, refused=True)
            yield at(ended, registrar, "project.round-ended/v1", {})
        yield at(ended + timedelta(minutes=30), seller, "project.reserve-revealed/v1",
                 {"reserve": format_money(reserve), "salt": salt.hex()})
        winner = quotes[-1][1] if top is not None and top >= reserve else None
        if winner is not None:
            yield at(ended + timedelta(hours=1), seller, "project.awarded/v1",
                     {"winner": winner.actor, "price": format_money(top)})
            yield at(ended + timedelta(days=1), seller, "project.deal-confirmed/v1", {
                "winner": winner.actor, "confirmation_hash": _digest(stream, "confirmation")})
        else:
            yield at(ended + timedelta(hours=1), operator, "project.no-sale/v1",
                     {"reason": "no-quote" if top is None else "below-reserve"})
        for b in bidders:  # every deposit but the winner's (its down payment), within 5
            if b is not winner:  # working days, by the ledger itself
                yield at(ended + timedelta(hours=2), registrar, "project.security-refunded/v1",
                         {"bidder": b.actor, "amount": format_money(deposit)})
        yield at(ended + timedelta(days=2), seller, "project.result-published/v1", {})
        yield at(ended + timedelta(days=3), operator, "project.archived/v1", {})

    def start_of(self, number: int) -> datetime:
        """When project `number` is taken in: one every six hours or so."""
        return self.start + timedelta(hours=6 * number + number % 5, minutes=(number * 7919) % 60)

    def plan(self, registrar: ActorSigner) -> Iterator[Planned]:
        """All planned actions in time order: registrations, then the projects, overlapping.
        A project is planned only when its time comes, so memory holds the running ones."""
        cast = self.cast()
        yield from self.registrations(cast, registrar)
        queue: list = []
        running: dict[int, Iterator[Planned]] = {}
        upcoming = 1
        while True:
            while upcoming <= self.projects and (not queue or self.start_of(upcoming) <= queue[0][0]):
                running[upcoming] = self.project(upcoming, cast, registrar)
                first = next(running[upcoming], None)
                if first is not None:
                    heapq.heappush(queue, (first.when, upcoming, first))
                upcoming += 1
            if not queue:
                return
            _, number, planned = heapq.heappop(queue)
            yield planned
            following = next(running[number], None)
            if following is None:
                del running[number]
            else:
                heapq.heappush(queue, (following.when, number, following))

    def actions(self, registrar: ActorSigner) -> Iterator[tuple[SignedAction, bool]]:
        """(signed action, refused as planned) in time order, the clock set to each one's
        time before it is signed."""
        for planned in self.plan(registrar):
            self.clock.set(planned.when)
            yield planned.build(), planned.refused


def simulate(ledger: Ledger, *, projects: int, seed: int = 0, batch: int = 1,
             sizes: Sizes = COUNTY_CENTRE,
             on_progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Drive `projects` fictional projects through `ledger.submit`; actions at the same
    instant go `batch` per call. Meanwhile the ledger's clock is the simulation's, which
    begins after the store's newest event (`simulation_start`)."""
    sim = Simulation(seed, projects, simulation_start(ledger.last_time()), sizes)
    own_clock, ledger.clock = ledger.clock, sim.clock
    try:
        return _run(sim, ledger, seed, projects, batch, on_progress)
    finally:
        ledger.clock = own_clock


def _run(sim: Simulation, ledger: Ledger, seed: int, projects: int, batch: int,
         on_progress: Callable[[int], None] | None) -> SimulationResult:
    registrar = ActorSigner(LEDGER_ACTOR, ledger.key, sim.rng)
    first = f"actor:{sim.prefix}-operator-0000"
    if ledger.stream_version(first):
        raise MalformedAction(f"this store already holds the simulation with seed {seed}; "
                              "use another --seed or another store")
    result = SimulationResult(seed=seed, projects=projects)
    pending: list[SignedAction] = []

    def flush() -> None:
        if pending:
            ledger.submit(*pending)
            result.actions += len(pending)
            if on_progress:
                on_progress(len(pending))
            pending.clear()

    instant = None
    for planned in sim.plan(registrar):
        if planned.when != instant or len(pending) >= batch:
            flush()  # before the clock moves: a batch is appended at its own instant
            instant = planned.when
        sim.clock.set(planned.when)
        signed = planned.build()
        t = signed.action.type
        if planned.refused:
            try:
                ledger.submit(signed)
            except RuleRefused:
                result.refused += 1
                continue
            raise MalformedAction(f"the simulation expected the rules to refuse {t}")
        pending.append(signed)
        result.by_type[t] = result.by_type.get(t, 0) + 1
    flush()
    result.actors = result.by_type.get("actor.registered/v1", 0)
    return result
