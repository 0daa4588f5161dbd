"""The procedure of a trading project, from intake to archive: one method per step, named for
the step; its body checks the rules (when checking) and then changes the project's state.

The ledger runs a step on a copy of the project's state before it seals the action: a rule
that fails raises RuleRefused naming the rule and its article, and nothing enters the
project. Folding a project's events through the same methods rebuilds its state (a replay),
and with checking on it re-judges every step. Construction tenders (法, 条例), government
procurement (政采法, 政采条例: panels of 3, working-day periods, non-cash security) and rights
transactions (the highest price wins) share the steps; `kind` decides where they differ.

Deadlines that bind the party asking (a bid, an objection, a complaint) are enforced by
refusal; deadlines that bind the party answering (an answer, the contract, a refund) cannot
be enforced by refusing the late answer, so they are tracked: each has its due instant and,
once done, when it was met (`ProjectState.deadlines`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from ledger.errors import RuleRefused
from ledger.evidence.canonical import parse_money, parse_time
from .authority import (
    ASSIGNED, AUTHORITY, COMMITTEE, PRINCIPAL, TENDEREE, fitting_roles, role_problem,
)
from .calendar import TradingCalendar, days_between, end_of, local_date
from .expert_draw import (
    DrawRecord, Expert, draw_seed, replacement, replay_draw, sealed_bids_digest,
)
from .listing import Quote
from .rights import LISTING_METHODS, RightsSteps
from .rules import Rule, RuleBook

STAGES = ("intake", "accepted", "refused", "announced", "failed", "closed", "opened",
          "reported", "publicity", "awarded", "contracted", "terminated", "archived",
          "listing", "timed-round", "bidding-ended")  # the last three: a listing's (rights.py)
REFUND_RULES = ("withdrawal-refund", "security-refund", "deposit-refund")  # and -procurement
REJECTION_GROUNDS = frozenset((  # 条例 §51
    "unsigned-or-unsealed", "consortium-agreement-missing", "not-qualified",
    "several-bids-or-prices", "price-above-ceiling", "price-below-cost",
    "not-responsive", "collusion-or-fraud"))


@dataclass(frozen=True)
class Deadline:
    rule: str
    article: str
    due: datetime  # the first instant that is late
    met: datetime | None = None

    @property
    def kept(self) -> bool | None:
        return None if self.met is None else self.met < self.due


@dataclass
class ProjectState:
    stage: str = "new"
    kind: str = "construction"  # construction | procurement | rights
    method: str = "lowest-price"  # lowest-price | comprehensive | highest-price
    tenderee: str = ""
    agent: str | None = None
    estimated_price: Decimal | None = None  # control price or budget: the 2% cap's base
    state_funded: bool = False  # 国有资金占控股或者主导地位: the first candidate wins (条例 §55)
    documents_from: datetime | None = None
    bid_deadline: datetime | None = None
    documents: list[tuple[int, str]] = field(default_factory=list)  # (edition, hash)
    obtained: dict[str, str] = field(default_factory=dict)  # bidder -> document hash
    objections: dict[int, Deadline] = field(default_factory=dict)  # by version raised
    raised_by: dict[int, tuple[str, str, datetime]] = field(default_factory=dict)
    #   version raised -> (bidder, matter, when) of each objection and challenge (条例 §60)
    challenges: dict[int, Deadline] = field(default_factory=dict)  # procurement 质疑, by version
    closed_at: datetime | None = None  # submission closed: the opening (法 §34)
    security: dict[str, Decimal] = field(default_factory=dict)
    security_form: dict[str, str] = field(default_factory=dict)  # bidder -> deposit | guarantee
    bids: dict[str, str] = field(default_factory=dict)  # bidder -> commitment (live bids)
    withdrawn: set[str] = field(default_factory=set)
    checked_in: set[str] = field(default_factory=set)
    keys_released: set[str] = field(default_factory=set)
    prices: dict[str, Decimal] = field(default_factory=dict)  # decrypted at the opening
    failed_decryption: dict[str, str] = field(default_factory=dict)  # bidder -> cause
    committee: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)  # the committee as drawn (before recusals)
    replacements: list[tuple[str, str]] = field(default_factory=list)  # (recused, replacement)
    draw: dict = field(default_factory=dict)  # what the draw recorded, by hash
    scores: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (expert, bidder)
    rejected: dict[str, str] = field(default_factory=dict)  # bidder -> ground
    ranking: list[str] = field(default_factory=list)
    report_hash: str | None = None
    report_signed: set[str] = field(default_factory=set)
    report_refused: dict[str, str] = field(default_factory=dict)  # member -> reasons ("": none)
    opening: dict = field(default_factory=dict)  # host, recorder, venue of the opening (法 §36)
    witnesses: list[str] = field(default_factory=list)  # the officers assigned, in order
    clarifications: list[tuple[str, str, datetime]] = field(default_factory=list)
    #   (member, bidder, when) of each written clarification the committee asked (条例 §52)
    referrals: list[tuple[str, tuple[str, ...], str, datetime]] = field(default_factory=list)
    #   (indicator, bidders, supervision body, when) of each warning passed on
    publicity_until: datetime | None = None
    published_at: datetime | None = None
    complaints: dict[int, str] = field(default_factory=dict)  # version filed -> status
    reports: dict[str, dict] = field(default_factory=dict)  # report id -> what was issued
    declined: dict[str, str] = field(default_factory=dict)  # candidate -> why it is out (§55)
    winner: str | None = None
    award_price: Decimal | None = None
    refunded: set[str] = field(default_factory=set)
    deadlines: list[Deadline] = field(default_factory=list)
    # --- a rights transaction by listing or online auction (procedures/rights.py, 39号令)
    asset: str | None = None  # land | mining | state-property | concession
    listing_from: datetime | None = None
    listing_until: datetime | None = None
    registration_until: datetime | None = None
    starting_price: Decimal | None = None
    increment: Decimal | None = None
    deposit_required: Decimal | None = None
    countdown_seconds: int = 0  # the timed round's countdown, restarted by each new highest
    reserve_commitment: str | None = None  # SHA-256 of the sealed reserve (listing.py)
    reserve: Decimal | None = None  # revealed once bidding has ended
    registered: dict[str, Decimal] = field(default_factory=dict)  # bidder -> deposit
    quotes: list[Quote] = field(default_factory=list)  # accepted, in the ledger's order
    highest_quote: Decimal | None = None  # what bidders see during the listing, not who
    quote_count: int = 0
    continuing: set[str] = field(default_factory=set)  # asked to go on at the listing's end
    round_opened_at: datetime | None = None
    round_ends_at: datetime | None = None  # the countdown's end, moved by each new highest
    no_sale: str | None = None  # below-reserve | no-quote
    confirmation_hash: str | None = None  # 成交确认书 (39号令 §20)
    result_published_at: datetime | None = None

    def copy(self) -> "ProjectState":
        """A copy to try a step on: containers copied, their items shared (all immutable)."""
        new = ProjectState.__new__(ProjectState)
        new.__dict__.update(self.__dict__)
        for name in _CONTAINERS:
            new.__dict__[name] = self.__dict__[name].copy()
        return new

    @property
    def suspended(self) -> bool:
        """An objection is waiting for its answer: the process waits too (条例 §22, §54)."""
        return any(d.met is None for d in self.objections.values())

    def savings_rate(self) -> Decimal | None:
        """(control price − award price) / control price."""
        if self.estimated_price and self.award_price is not None:
            return (self.estimated_price - self.award_price) / self.estimated_price
        return None


_CONTAINERS = tuple(f.name for f in fields(ProjectState)
                    if f.default_factory in (dict, list, set))  # type: ignore[comparison-overlap]


@dataclass(frozen=True)
class Step:
    """One action, as the procedure sees it."""

    type: str
    payload: dict
    actor: str
    roles: frozenset[str]
    at: datetime  # ledger time
    version: int  # the version this step has (or would have) in the project's stream
    head: str = ""  # hash of the project's previous event
    # the registered organisation of an actor (None: not known, as in a replay from events)
    organisation_of: Callable[[str], str | None] | None = field(default=None, compare=False)
    # the registered roles of an actor (None: not registered; the callable itself None: not
    #   known, as in a replay from events)
    roles_of: Callable[[str], frozenset[str] | None] | None = field(default=None, compare=False)


class Procedure(RightsSteps):
    def __init__(self, rules: RuleBook | None = None, calendar: TradingCalendar | None = None,
                 checking: bool = True, roles: bool = True):
        self.rules = rules or RuleBook.national()
        self.calendar = calendar or TradingCalendar.china()
        self.checking = checking
        self.checking_roles = checking and roles  # a replay from events alone has no roles
        self.steps: dict[str, Callable[[ProjectState, Step], None]] = {
            "project.intake/v1": self.take_in,
            "project.intake-accepted/v1": self.accept_intake,
            "project.intake-refused/v1": self.refuse_intake,
            "project.announced/v1": self.announce,
            "project.documents-issued/v1": self.issue_documents,
            "project.documents-obtained/v1": self.obtain_documents,
            "project.clarification-issued/v1": self.clarify,
            "project.objection-raised/v1": self.raise_objection,
            "project.objection-answered/v1": self.answer_objection,
            "project.security-posted/v1": self.post_security,
            "project.bid-submitted/v1": self.submit_bid,
            "project.bid-withdrawn/v1": self.withdraw_bid,
            "project.submission-closed/v1": self.close_submission,
            "project.checked-in/v1": self.check_in,
            "project.key-released/v1": self.release_key,
            "project.bid-decrypted/v1": self.decrypt_bid,
            "project.decryption-failed/v1": self.fail_decryption,
            "project.opening-convened/v1": self.convene_opening,
            "project.opening-objection-raised/v1": self.object_at_opening,
            "project.draw-prepared/v1": self.prepare_draw,
            "project.experts-drawn/v1": self.draw_experts,
            "project.draw-disclosed/v1": self.disclose_draw,
            "project.expert-replaced/v1": self.replace_expert,
            "project.score-submitted/v1": self.score,
            "project.bid-rejected/v1": self.reject_bid,
            "project.bid-clarified/v1": self.clarify_bid,
            "project.evaluation-reported/v1": self.report_evaluation,
            "project.evaluation-report-signed/v1": self.sign_report,
            "project.evaluation-report-refused/v1": self.refuse_report,
            "project.candidates-published/v1": self.publish_candidates,
            "project.publicity-objection-raised/v1": self.object_to_candidates,
            "project.challenge-raised/v1": self.raise_challenge,
            "project.challenge-answered/v1": self.answer_challenge,
            "project.complaint-filed/v1": self.file_complaint,
            "project.complaint-accepted/v1": self.accept_complaint,
            "project.complaint-decided/v1": self.decide_complaint,
            "project.re-evaluation-ordered/v1": self.order_re_evaluation,
            "project.candidate-declined/v1": self.decline_candidacy,
            "project.candidate-disqualified/v1": self.disqualify_candidate,
            "project.awarded/v1": self.award,
            "project.contract-signed/v1": self.sign_contract,
            "project.supervision-report-filed/v1": self.report_to_supervision,
            "project.security-refunded/v1": self.refund_security,
            "project.witness-assigned/v1": self.assign_witness,
            "project.witness-observation/v1": self.observe,
            "project.warning-referred/v1": self.refer_warning,
            "project.report-issued/v1": self.issue_report,
            "project.report-signed-off/v1": self.sign_off_report,
            "project.terminated/v1": self.terminate,
            "project.archived/v1": self.archive,
            **self.rights_steps(),  # a listing's or an online auction's (rights.py)
        }

    # --- the mechanics -------------------------------------------------------------------

    def run(self, state: ProjectState, step: Step) -> None:
        """Check (when checking) and apply one step to `state`: first who may take it (the
        authority table), then the step's own rules."""
        if self.checking_roles:
            self.authorise(state, step)
        self.steps[step.type](state, step)

    def authorise(self, state: ProjectState, step: Step) -> None:
        """The signer holds a role that may take this step, names itself where it acts for
        itself, and is this project's tenderee, agent or committee member where the step
        is theirs (authority.py)."""
        authority = AUTHORITY[step.type]
        problem = role_problem(authority, step.roles, step.actor, step.payload)
        self.require(problem is None, "who-may-act", lambda: f"{step.type}: {problem}")
        bound = {PRINCIPAL: (state.tenderee, state.agent), TENDEREE: (state.tenderee,),
                 COMMITTEE: tuple(state.committee), ASSIGNED: tuple(state.witnesses)}
        self.require(any(step.actor in bound.get(authority.roles[role], (step.actor,))
                         for role in fitting_roles(authority, step.roles, step.actor,
                                                   step.payload)),
                     "who-may-act", lambda: f"{step.type} is recorded by "
                                            f"{authority.describe()}, and {step.actor!r} is "
                                            "none of them")

    def require(self, condition: bool, rule_id: str, message: str | Callable[[], str]) -> None:
        """Refuse unless `condition` (a message that costs to build may come as a function)."""
        if self.checking and not condition:
            rule = self.rules[rule_id]
            text = message() if callable(message) else message
            raise RuleRefused(f"{text}; rule {rule.id} ({rule.article}): {rule.text}",
                              rule=rule.id, article=rule.article)

    def stage(self, state: ProjectState, step: Step, *stages: str) -> None:
        self.require(state.stage in stages, "procedure-order",
                     lambda: f"{step.type} is not a step of a project at stage "
                             f"{state.stage!r} (it needs {' or '.join(stages)})")

    def not_suspended(self, state: ProjectState, rule_id: str) -> None:
        self.require(not state.suspended, rule_id,
                     "the process is suspended until the pending objection is answered")

    def _period(self, rule_id: str, start: datetime, kind: str) -> datetime:
        """The end (exclusive) of the rule's period from `start`: 24:00 of its last day."""
        return end_of(self._last_day(rule_id, start, kind))

    def _last_day(self, rule_id: str, start: datetime, kind: str, extra_days: int = 0) -> date:
        """The last day of the rule's N days (or working days) from `start`: counted from the
        next day (民法典 §201), a rest day moving it to the next working day (§203);
        `extra_days` not counted in it (an objection's answer period, 条例 §60)."""
        rule = self.rules[self._for(rule_id, kind)]
        first = local_date(start) + timedelta(days=extra_days)
        if rule.unit == "working_days":
            return self.calendar.add_working_days(first, int(rule.value))
        return self.calendar.next_working_day(first + timedelta(days=int(rule.value)))

    def _for(self, rule_id: str, kind: str) -> str:
        """The procurement variant of a rule where there is one."""
        variant = f"{rule_id}-procurement"
        return variant if kind == "procurement" and variant in self.rules.rules else rule_id

    def documents_available(self, kind: str, documents_from: datetime,
                            documents_until: datetime) -> tuple[Rule, int, bool]:
        """The rule on how long the documents are available, for how many of its units (days,
        or working days in procurement) they are, counted from the day after they are first
        available (民法典 §201), and whether that holds: the last day of availability is
        not before the period's last day (a rest day moves that to the next working day)."""
        rule = self.rules[self._for("document-availability", kind)]
        first, last = local_date(documents_from), local_date(documents_until)
        count = (self.calendar.working_days_between(first, last)
                 if rule.unit == "working_days" else (last - first).days)
        return rule, count, last >= self._last_day(rule.id, documents_from, kind)

    def preparation_time(self, kind: str, documents_from: datetime,
                         deadline: datetime) -> tuple[Rule, int, bool]:
        """The rule on the time to prepare bids, the days from the documents' first issue to
        the bid deadline (the deadline's day the last, 法 §24), and whether that holds."""
        rule = self.rules["preparation-time"]
        return (rule, days_between(documents_from, deadline),
                local_date(deadline) >= self._last_day(rule.id, documents_from, kind))

    def publicity_ends(self, published_at: datetime) -> datetime:
        """When a candidate publicity published at `published_at` has lasted its 3 full days
        (条例 §54; "at least N days": the N-th day must have ended, RULES.md)."""
        return self._period("publicity-period", published_at, "construction")

    def publicity_held(self, published_at: datetime, until: datetime,
                       awarded_at: datetime | None) -> bool:
        """Whether a candidate publicity holds: published until at least its 3 full days'
        end, and the award (if any) not before the later of the two (条例 §54)."""
        ends = self.publicity_ends(published_at)
        return until >= ends and (awarded_at is None or awarded_at >= max(until, ends))

    def _track(self, state: ProjectState, rule_id: str, due: datetime,
               subject: str | None = None) -> Deadline:
        """Note a deadline that binds the answering party (`subject`: whose, e.g. a bidder's
        refund)."""
        rule = self.rules[self._for(rule_id, state.kind)]
        deadline = Deadline(f"{rule.id}:{subject}" if subject else rule.id, rule.article, due)
        state.deadlines.append(deadline)
        return deadline

    def _meet(self, state: ProjectState, rule_id: str, at: datetime) -> None:
        state.deadlines = [replace(d, met=at) if d.rule.startswith(rule_id) and d.met is None
                           else d for d in state.deadlines]

    # --- intake and announcement -----------------------------------------------------------

    def take_in(self, p: ProjectState, s: Step) -> None:
        p.kind = s.payload["category"] if s.payload["category"] != "rights" else "rights"
        p.method = s.payload.get("method", "highest-price" if p.kind == "rights" else "lowest-price")
        p.tenderee = s.payload["tenderee"]
        p.agent = s.payload.get("agent")
        price = s.payload.get("control_price")
        p.estimated_price = parse_money(price) if price else None
        p.state_funded = bool(s.payload.get("state_funded"))
        p.stage = "intake"

    def accept_intake(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "intake")
        p.stage = "accepted"

    def refuse_intake(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "intake")
        p.stage = "refused"

    def announce(self, p: ProjectState, s: Step) -> None:
        """The tender announcement; after a failed tender (流标), the re-tender's: a new round
        whose securities from the failed one are owed back (法 §28; 条例 §44)."""
        self.stage(p, s, "accepted", "failed")
        documents_from = parse_time(s.payload["documents_from"])
        documents_until = parse_time(s.payload["documents_until"])
        deadline = parse_time(s.payload["bid_deadline"])
        availability, available, enough = self.documents_available(p.kind, documents_from,
                                                                   documents_until)
        self.require(enough, availability.id, lambda: f"the documents are available for "
                     f"{available} {availability.unit.replace('_', ' ')} after the day they are "
                     f"first issued, until {local_date(documents_until)}")
        self.require(documents_from >= s.at - timedelta(days=1), "preparation-time",
                     "the documents cannot have been issued before the announcement")
        preparation, days, enough = self.preparation_time(p.kind, documents_from, deadline)
        self.require(enough, "preparation-time", lambda: f"the bid deadline "
                     f"{s.payload['bid_deadline']} is {days} days after the documents, its last "
                     f"day no later than {self._last_day(preparation.id, documents_from, p.kind)}")
        if p.stage == "failed":  # re-tender: the failed round's bids end (securities: owed)
            p.bids, p.withdrawn, p.checked_in, p.keys_released = {}, set(), set(), set()
            p.documents, p.obtained, p.draw = [], {}, {}
        p.documents_from, p.bid_deadline = documents_from, deadline
        p.stage = "announced"

    def issue_documents(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "announced")
        self.require(not p.documents or s.payload["edition"] == p.documents[-1][0] + 1,
                     "clarification-notice", "editions of the documents follow each other")
        p.documents.append((s.payload["edition"], s.payload["document_hash"]))

    def obtain_documents(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "announced")
        self.require(p.bid_deadline is not None and s.at < p.bid_deadline, "late-bid",
                     "the documents are obtained before the bid deadline")
        self.require(bool(p.documents) and s.payload["document_hash"] == p.documents[-1][1],
                     "clarification-notice", "a bidder obtains the current edition")
        p.obtained[s.payload["bidder"]] = s.payload["document_hash"]

    def clarify(self, p: ProjectState, s: Step) -> None:
        """A clarification or amendment; one that affects bids less than 15 days before the
        deadline must move the deadline to at least 15 days after it (法 §23; 条例 §21)."""
        self.stage(p, s, "announced")
        assert p.bid_deadline is not None
        self.require(s.at < p.bid_deadline, "clarification-notice",
                     lambda: f"the documents are clarified before the bid deadline "
                     f"({p.bid_deadline:%Y-%m-%d %H:%M} UTC); this came at {s.at:%Y-%m-%d %H:%M} UTC")
        deadline = parse_time(s.payload["bid_deadline"]) if "bid_deadline" in s.payload \
            else p.bid_deadline
        if s.payload.get("affects_bids"):
            last = self._last_day("clarification-notice", s.at, p.kind)
            self.require(local_date(deadline) >= last, "clarification-notice",
                         f"a clarification on {local_date(s.at)} that affects bids needs a "
                         f"deadline on {last} or later; {local_date(deadline)} is not")
        self.require(deadline >= p.bid_deadline, "clarification-notice",
                     "a clarification cannot bring the deadline forward")
        p.documents.append((p.documents[-1][0] + 1 if p.documents else 1, s.payload["document_hash"]))
        p.bid_deadline = deadline

    # --- objections to the documents ------------------------------------------------------

    def raise_objection(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "announced")
        assert p.bid_deadline is not None
        self.require(days_between(s.at, p.bid_deadline) >= self.rules["objection-to-documents"].value,
                     "objection-to-documents", "an objection to the documents comes at least "
                     f"10 days before the deadline; {days_between(s.at, p.bid_deadline)} are left")
        due = self._period("objection-answer", s.at, p.kind)
        p.objections[s.version] = self._track(p, "objection-answer", due)
        p.raised_by[s.version] = (s.payload["bidder"], "documents", s.at)

    def answer_objection(self, p: ProjectState, s: Step) -> None:
        self._answer(p, p.objections, s.payload["objection_version"], s.at, "objection-answer",
                     "objection")

    def _answer(self, p: ProjectState, raised: dict[int, Deadline], version: int,
                at: datetime, rule_id: str, what: str) -> None:
        """Answer the open objection or challenge raised at `version`: its deadline is met."""
        self.require(version in raised and raised[version].met is None, rule_id,
                     f"version {version} is not an open {what}")
        answered = replace(raised[version], met=at)
        p.deadlines = [answered if d is raised[version] else d for d in p.deadlines]
        raised[version] = answered

    # --- security and bids ----------------------------------------------------------------

    def post_security(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "announced")
        assert p.bid_deadline is not None
        self.require(s.at < p.bid_deadline, "security-before-deadline",
                     lambda: f"the security came at {s.at:%Y-%m-%d %H:%M:%S} UTC, after the "
                             f"deadline {p.bid_deadline:%Y-%m-%d %H:%M:%S} UTC")
        bidder = s.payload["bidder"]
        self.require(bidder not in p.security or bidder in p.refunded, "recorded-once",
                     f"{bidder} holds a security of {p.security.get(bidder)} already")
        amount = parse_money(s.payload["amount"])
        cap = self.rules[self._for("security-cap", p.kind)]
        if p.estimated_price is not None:  # exactly: amount ≤ price × cap / 100, no rounding
            self.require(amount * 100 <= p.estimated_price * cap.value, cap.id,
                         f"security of {amount} exceeds {cap.value}% of {p.estimated_price} "
                         f"({p.estimated_price * cap.value / 100})")
        form = s.payload["form"]
        if form == "deposit":
            self.require(p.kind != "procurement", cap.id,
                         "procurement security is not paid in cash")
            self.require(bool(s.payload.get("basic_account")), "security-basic-account",
                         "a deposit comes from the bidder's basic account")
        p.security[bidder], p.security_form[bidder] = amount, form
        p.refunded.discard(bidder)  # a re-tender's new security is owed back in its turn

    def submit_bid(self, p: ProjectState, s: Step) -> None:
        """A sealed bid: only its commitment, before the deadline; a later one replaces it."""
        if p.bid_deadline is not None:  # late is late, whatever came after the deadline
            self.require(s.at < p.bid_deadline, "late-bid",
                         lambda: f"the bid came at {s.at:%Y-%m-%d %H:%M:%S} UTC, the deadline "
                                 f"was {p.bid_deadline:%Y-%m-%d %H:%M:%S} UTC")
        self.stage(p, s, "announced")
        self.not_suspended(p, "objection-answer")
        bidder = s.payload["bidder"]
        p.bids[bidder] = s.payload["bid_hash"]
        p.withdrawn.discard(bidder)

    def withdraw_bid(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "announced")
        assert p.bid_deadline is not None
        self.require(s.at < p.bid_deadline, "bid-change-before-deadline",
                     "a bid is withdrawn only before the deadline")
        bidder = s.payload["bidder"]
        self.require(bidder in p.bids, "bid-change-before-deadline", f"{bidder} has no bid")
        del p.bids[bidder]
        p.withdrawn.add(bidder)
        self._owe_refund(p, bidder, "withdrawal-refund", s.at)

    def close_submission(self, p: ProjectState, s: Step) -> None:
        """At the deadline: fewer than 3 bids and the tender fails (流标)."""
        self.stage(p, s, "announced")
        assert p.bid_deadline is not None
        self.require(s.at >= p.bid_deadline, "opening-at-deadline",
                     "submission closes at the bid deadline, not before")
        enough = len(p.bids) >= self.rules["minimum-bidders"].value
        p.stage, p.closed_at = ("closed" if enough else "failed"), s.at
        if not enough:  # no opening: every security is owed back
            for bidder in p.security:
                self._owe_refund(p, bidder, "withdrawal-refund", s.at)

    # --- the opening ----------------------------------------------------------------------

    def check_in(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "closed", "opened")
        p.checked_in.add(s.payload["bidder"])

    def release_key(self, p: ProjectState, s: Step) -> None:
        """At the no-meeting opening (不见面开标) each bidder releases its key online, after
        the deadline: nobody can decrypt before (电子办法)."""
        self.stage(p, s, "closed", "opened")
        bidder = s.payload["bidder"]
        self.require(bidder in p.bids, "encrypted-bid",
                     f"{bidder} releases the key of a sealed bid only, and has none")
        assert p.bid_deadline is not None
        window = self.rules["decryption-window"]
        ends = p.bid_deadline + timedelta(minutes=int(window.value))
        self.require(s.at < ends, "decryption-window",
                     lambda: f"the key came at {s.at:%H:%M:%S} UTC; decryption closed at "
                             f"{ends:%H:%M:%S} UTC, {window.value} minutes after the deadline")
        p.keys_released.add(bidder)

    def decrypt_bid(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "closed", "opened")
        bidder = s.payload["bidder"]
        self.require(bidder in p.keys_released, "encrypted-bid",
                     f"{bidder} has not released its key: nobody decrypts a bid but with its "
                     "bidder's key")
        self.require(p.bids.get(bidder) == s.payload["ciphertext_hash"], "encrypted-bid",
                     "the decrypted file is not the one committed before the deadline")
        self.require(bidder not in p.prices and bidder not in p.failed_decryption,
                     "recorded-once", f"the bid of {bidder} was decrypted (or failed) already")
        p.prices[bidder] = parse_money(s.payload["price"])
        p.stage = "opened"

    def fail_decryption(self, p: ProjectState, s: Step) -> None:
        """A bidder's fault counts as revoking its bid (its security may be kept); another's
        fault as a withdrawal (its security is refunded) (电子办法)."""
        self.stage(p, s, "closed", "opened")
        bidder = s.payload["bidder"]
        self.require(bidder in p.bids, "encrypted-bid", f"{bidder} has no sealed bid")
        self.require(bidder not in p.prices and bidder not in p.failed_decryption,
                     "recorded-once", f"the bid of {bidder} was decrypted (or failed) already")
        self.require(s.payload["cause"] == "bidder" or bidder in p.keys_released, "encrypted-bid",
                     f"{bidder} released no key: the failure is the bidder's")
        p.failed_decryption[bidder] = s.payload["cause"]
        if s.payload["cause"] == "others":
            self._owe_refund(p, bidder, "withdrawal-refund", s.at)
        p.stage = "opened"

    def convene_opening(self, p: ProjectState, s: Step) -> None:
        """The centre convenes the opening for the tenderee (法 §35), after submission closed
        and before the first decryption, naming its host and recorder (法 §36), who must be
        registered persons, and its place (for a no-meeting opening, the platform)."""
        self.stage(p, s, "closed", "opened")
        self.require(not p.opening, "recorded-once", "the opening was convened already")
        self.require(not p.prices and not p.failed_decryption, "opening-record",
                     "the opening is convened before the first decryption")
        if self.checking and s.organisation_of is not None:
            for member in ("host", "recorder"):
                self.require(s.organisation_of(s.payload[member]) is not None, "opening-record",
                             lambda: f"the {member} {s.payload[member]!r} is not a registered "
                                     "person")
        p.opening = {"host": s.payload["host"], "recorder": s.payload["recorder"],
                     "venue": s.payload.get("venue"), "at": s.at, "by": s.actor}

    def object_at_opening(self, p: ProjectState, s: Step) -> None:
        """An objection to the opening, raised on the spot by a bidder and answered on the spot
        (条例 §44): the same day, and before the committee is drawn, which waits for it."""
        self.stage(p, s, "closed", "opened")
        bidder = s.payload["bidder"]
        self.require(bidder in p.bids, "opening-objection",
                     f"{bidder} has no bid at this opening")
        self.require(not p.drawn, "opening-objection",
                     "an objection to the opening is raised at the opening, before the evaluation")
        p.objections[s.version] = self._track(p, "opening-objection", end_of(local_date(s.at)))
        p.raised_by[s.version] = (bidder, "opening", s.at)

    # --- the committee and the evaluation -------------------------------------------------

    def prepare_draw(self, p: ProjectState, s: Step) -> None:
        """Commit to the draw before the bids are known: the operator's secret, the pool and
        the exclusions by hash, and the quotas per category (法 §37; 条例 §46)."""
        self.stage(p, s, "announced")
        assert p.bid_deadline is not None
        self.require(s.at < p.bid_deadline, "expert-draw",
                     "the draw is prepared before the bid deadline")
        self.require(not p.draw, "recorded-once", "the draw was prepared already")
        experts = sum(s.payload["quotas"].values())
        size = experts + s.payload.get("representatives", 0)
        size_rule = "panel-size-procurement" if p.kind == "procurement" else "committee-size"
        self.require(size >= self.rules[size_rule].value and size % 2 == 1, size_rule,
                     f"a committee of {size}")
        share = self.rules["expert-share"]
        self.require(experts >= share.value * size, share.id,
                     f"{experts} drawn experts of {size} members are less than two thirds")
        p.draw = dict(s.payload)

    def draw_experts(self, p: ProjectState, s: Step) -> None:
        """The draw, after the opening: its seed comes from the committed secret and the
        sealed bids, which the operator could not choose."""
        self.stage(p, s, "opened")
        self.require(bool(p.draw), "expert-draw", "no draw was prepared before the deadline")
        self.require(not p.drawn, "recorded-once", "the committee was drawn already")
        self.not_suspended(p, "opening-objection")
        self.require(s.payload["head_hash"] == sealed_bids_digest(p.bids.values()),
                     "expert-draw", "the draw's seed input is not the sealed bids")
        members = list(s.payload["committee"])
        representatives = list(s.payload.get("representatives", []))
        self.require(len(members) == sum(p.draw.get("quotas", {}).values())
                     and len(set(members)) == len(members), "expert-draw",
                     f"a committee of {len(members)} distinct members is not what the quotas "
                     "prepared")
        self.require(len(representatives) == p.draw.get("representatives", 0)
                     and len(set(representatives + members)) == len(representatives + members),
                     "expert-share", f"{len(representatives)} representatives of the tenderee "
                     f"are not the {p.draw.get('representatives', 0)} prepared, or sit twice")
        p.committee, p.drawn = members + representatives, list(members)
        p.draw = {**p.draw, "head_hash": s.payload["head_hash"],
                  "committee_hash": s.payload["committee_hash"]}

    def disclose_draw(self, p: ProjectState, s: Step) -> None:
        """After the award: the secret, the pool and the exclusions; the draw must replay to
        the committee that was drawn."""
        self.stage(p, s, "awarded", "contracted", "archived")
        self.require("committee_hash" in p.draw, "expert-draw", "no draw to disclose")
        record = DrawRecord(p.draw["secret_commitment"], p.draw["pool_hash"],
                            p.draw["exclusions_hash"], p.draw["quotas"], p.draw["head_hash"],
                            p.draw["committee_hash"])
        pool = [Expert(e["id"], e["category"]) for e in s.payload["pool"]]
        try:
            committee = replay_draw(record, bytes.fromhex(s.payload["secret"]), pool,
                                    list(s.payload["exclusions"]))
        except ValueError as error:
            committee = None
            self.require(False, "expert-draw", str(error))
        self.require(committee is None or [e.id for e in committee] == p.drawn, "expert-draw",
                     "the disclosed inputs draw another committee than the one recorded")
        if committee is not None:
            seed = draw_seed(bytes.fromhex(s.payload["secret"]), p.draw["head_hash"])
            excluded, sitting = set(s.payload["exclusions"]), list(committee)
            for out, new in p.replacements:
                try:
                    expected = replacement(seed, pool, excluded, sitting, out)
                except ValueError as error:
                    self.require(False, "recusal", str(error))
                    break
                self.require(expected.id == new, "recusal",
                             f"{out} was replaced by {new}, but the draw's next is {expected.id}")
                sitting = [expected if e.id == out else e for e in sitting] + \
                    [e for e in sitting if e.id == out]  # the recused stays drawn: not again
        p.draw = {**p.draw, "disclosed": True}

    def replace_expert(self, p: ProjectState, s: Step) -> None:
        """A member withdraws (回避) and the draw's next-ranked expert of the same category
        replaces it; the disclosure after the award shows the replacement was that one."""
        self.stage(p, s, "opened")
        out, new = s.payload["recused"], s.payload["replacement"]
        self.require(out in p.committee and new not in p.committee
                     and new not in p.drawn, "recusal",
                     f"{out} is not on the committee, or {new} was drawn already")
        p.committee = [new if m == out else m for m in p.committee]
        p.replacements = p.replacements + [(out, new)]

    def score(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "opened")
        self.untied(p, s)
        bidder = s.payload["bidder"]
        self.require(bidder in p.prices, "encrypted-bid", lambda: f"{bidder} has no opened bid")
        self.require((s.actor, bidder) not in p.scores, "recorded-once",
                     lambda: f"{s.actor} scored {bidder} already")
        p.scores[(s.actor, bidder)] = Decimal(s.payload["score"])

    def reject_bid(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "opened")
        self.untied(p, s)
        self.require(s.payload["ground"] in REJECTION_GROUNDS, "candidates",
                     f"{s.payload['ground']!r} is not a ground of 条例 §51")
        self.require(s.payload["bidder"] in p.prices, "encrypted-bid",
                     f"{s.payload['bidder']} has no opened bid")
        self.require(s.payload["bidder"] not in p.rejected, "recorded-once",
                     f"the bid of {s.payload['bidder']} was rejected already")
        p.rejected[s.payload["bidder"]] = s.payload["ground"]

    def clarify_bid(self, p: ProjectState, s: Step) -> None:
        """A member asks a bidder in writing to clarify its opened bid (条例 §52), before the
        committee reports; question and answer by hash."""
        self.stage(p, s, "opened")
        self.untied(p, s)
        self.require(s.payload["bidder"] in p.prices, "bid-clarification",
                     f"{s.payload['bidder']} has no opened bid")
        self.require(not p.ranking, "bid-clarification",
                     "clarifications are asked before the committee reports")
        p.clarifications.append((s.actor, s.payload["bidder"], s.at))

    def untied(self, p: ProjectState, s: Step) -> None:
        """A member of the same organisation as a bidder withdraws (条例 §46): it does not
        score, reject, report or sign until replaced. Judged where the ledger knows the
        registered organisations."""
        if not self.checking or s.organisation_of is None:
            return
        own = s.organisation_of(s.actor)
        if not own:
            return
        tied = sorted(b for b in {*p.bids, *p.prices} if s.organisation_of(b) == own)
        self.require(not tied, "recusal", lambda: f"{s.actor} belongs to {own}, as "
                     f"{', '.join(tied)} does, and must withdraw")

    def ranking(self, p: ProjectState) -> list[str]:
        return rank_bids(p.method, p.prices, p.rejected, p.scores, ceiling=self.ceiling(p))

    @staticmethod
    def ceiling(p: ProjectState) -> Decimal | None:
        """The published ceiling (最高投标限价, the control price): a bid above it is rejected
        and is no candidate (条例 §51); a rights transaction sells upwards and has none."""
        return p.estimated_price if p.kind != "rights" else None

    def report_evaluation(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "opened")
        self.untied(p, s)
        ranking = list(s.payload["ranking"])
        self.require(len(ranking) <= self.rules["candidates"].value, "candidates",
                     f"{len(ranking)} candidates")
        ceiling = self.ceiling(p)
        above = [b for b in ranking if ceiling is not None and p.prices.get(b, 0) > ceiling]
        self.require(not above, "price-ceiling",
                     lambda: f"{', '.join(above)} bid above the ceiling {ceiling} and cannot be "
                             "a candidate")
        expected = self.ranking(p)[:len(ranking)]
        self.require(ranking == expected, "candidates",
                     f"the ranking {ranking} is not what the bids and scores give ({expected})")
        p.ranking, p.report_hash = ranking, s.payload["report_hash"]
        p.report_signed = {s.actor}
        p.stage = "reported"
        self._track(p, "publicity-start", self._period("publicity-start", s.at, p.kind))

    def sign_report(self, p: ProjectState, s: Step) -> None:
        """Each member signs the report; dissent is recorded with the signature."""
        self.stage(p, s, "reported")
        self.untied(p, s)
        self.require(s.payload["report_hash"] == p.report_hash, "candidates",
                     "the signature is for another report")
        self.require(s.actor not in p.report_signed and s.actor not in p.report_refused,
                     "recorded-once", f"{s.actor} signed this report, or refused to, already")
        p.report_signed.add(s.actor)

    def refuse_report(self, p: ProjectState, s: Step) -> None:
        """A member refuses to sign the report (条例 §53): with its reasons in writing, the
        report notes the dissent; without reasons, the refusal counts as consent. Either way
        the member has answered, and the publicity need not wait for it."""
        self.stage(p, s, "reported")
        self.require(s.payload["report_hash"] == p.report_hash, "candidates",
                     "the refusal is for another report")
        self.require(s.actor not in p.report_signed and s.actor not in p.report_refused,
                     "recorded-once", f"{s.actor} signed this report, or refused to, already")
        p.report_refused[s.actor] = s.payload.get("reasons", "")

    # --- publicity, award, contract, refunds ---------------------------------------------

    def publish_candidates(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "reported")
        answered = p.report_signed | set(p.report_refused)
        self.require(answered >= set(p.committee), "candidates",
                     f"members {sorted(set(p.committee) - answered)} have not signed")
        until, ends = parse_time(s.payload["until"]), self.publicity_ends(s.at)
        self.require(until >= ends, "publicity-period",
                     lambda: f"publicity until {until:%Y-%m-%d %H:%M} UTC is too short: its 3 "
                             f"days end at {ends:%Y-%m-%d %H:%M} UTC (24:00 CST)")
        self._meet(p, "publicity-start", s.at)
        p.publicity_until, p.published_at = until, s.at
        p.stage = "publicity"

    def object_to_candidates(self, p: ProjectState, s: Step) -> None:
        """An objection to the result during the publicity; answered within 3 days, and the
        award waits for the answer (条例 §54). Answered with objection-answered."""
        self.stage(p, s, "publicity")
        assert p.publicity_until is not None
        self.require(s.at < p.publicity_until, "publicity-objection-answer",
                     "an objection to the candidates is raised during the publicity")
        due = self._period("publicity-objection-answer", s.at, p.kind)
        p.objections[s.version] = self._track(p, "publicity-objection-answer", due)
        p.raised_by[s.version] = (s.payload["bidder"], "result", s.at)

    def file_complaint(self, p: ProjectState, s: Step) -> None:
        """A complaint to the supervision body. A tender: within 10 days of knowing (条例 §60):
        the documents from their issue, the opening from the close, the result from its
        publication, anything else from `known_at`; on the documents, the opening and the
        result only after the complainant's own objection, whose answer period is not
        counted; the body decides within 3 working days whether to accept it (条例 §61).
        Government procurement: only after the complainant's own challenge (质疑), within 15
        working days of its answer or of the end of its answer period (政采法 §55)."""
        complainant = s.payload["complainant"]
        if p.kind == "procurement":
            self._file_procurement_complaint(p, s, complainant)
            return
        matter = s.payload.get("matter", "result")
        known = {"documents": p.documents_from, "opening": p.closed_at,
                 "result": p.published_at}.get(matter)
        if matter == "other":
            self.require("known_at" in s.payload, "complaint",
                         "a complaint on another matter says when it became known (known_at)")
            known = parse_time(s.payload["known_at"])
            self.require(known <= s.at, "complaint", "known_at lies in the future")
        self.require(known is not None, "complaint",
                     f"a complaint on the {matter} comes after it happened")
        assert known is not None
        extra = 0
        if matter != "other":
            objections = [(v, when) for v, (who, about, when) in p.raised_by.items()
                          if who == complainant and about == matter]
            self.require(bool(objections), "objection-before-complaint",
                         f"{complainant} raised no objection on the {matter} first")
            version, raised = objections[-1]
            answered = p.objections[version].met
            self.require(answered is not None or s.at >= p.objections[version].due,
                         "objection-before-complaint", "the objection's answer is awaited")
            extra = (local_date(answered or p.objections[version].due) - local_date(raised)).days
        limit = end_of(self._last_day("complaint", known, p.kind, extra_days=extra))
        self.require(s.at < limit, "complaint", lambda: f"the complaint came after "
                     f"{limit:%Y-%m-%d %H:%M} UTC, the end of the 10 days"
                     + (f" and the {extra} days the objection was answered in" if extra else ""))
        p.complaints[s.version] = "filed"
        self._track(p, "complaint-acceptance", self._period("complaint-acceptance", s.at,
                                                            "construction"), str(s.version))

    def _file_procurement_complaint(self, p: ProjectState, s: Step, complainant: str) -> None:
        challenges = [v for v, (who, _, _) in p.raised_by.items()
                      if who == complainant and v in p.challenges]
        self.require(bool(challenges), "complaint-procurement",
                     f"{complainant} raised no challenge (质疑) first (政采法 §55)")
        answer = p.challenges[challenges[-1]]
        self.require(answer.met is not None or s.at >= answer.due, "complaint-procurement",
                     "the challenge's answer is awaited")
        limit = self._period("complaint-procurement", answer.met or answer.due, p.kind)
        self.require(s.at < limit, "complaint-procurement", lambda: f"the complaint came after "
                     f"{limit:%Y-%m-%d %H:%M} UTC, the end of the 15 working days")
        p.complaints[s.version] = "filed"
        self._track(p, "complaint-decision", self._period("complaint-decision", s.at, p.kind),
                    str(s.version))

    def raise_challenge(self, p: ProjectState, s: Step) -> None:
        """A supplier's challenge (质疑) in government procurement, within 7 working days of
        knowing: the documents from their issue, the process from the opening, the result
        from its publication (政采法 §52); answered within 7 working days (§53)."""
        self.require(p.kind == "procurement", "challenge-procurement",
                     "a challenge (质疑) is the procurement procedure's; a tender has objections")
        matter = s.payload["matter"]
        known = {"documents": p.documents_from, "process": p.closed_at,
                 "result": p.published_at}[matter]
        self.require(known is not None, "challenge-procurement",
                     f"a challenge on the {matter} comes after it happened")
        assert known is not None
        limit = self._period("challenge-procurement", known, p.kind)
        self.require(s.at < limit, "challenge-procurement", lambda: f"the challenge came after "
                     f"{limit:%Y-%m-%d %H:%M} UTC, the end of the 7 working days")
        due = self._period("challenge-answer-procurement", s.at, p.kind)
        p.challenges[s.version] = self._track(p, "challenge-answer-procurement", due,
                                              str(s.version))
        p.raised_by[s.version] = (s.payload["bidder"], matter, s.at)

    def answer_challenge(self, p: ProjectState, s: Step) -> None:
        self._answer(p, p.challenges, s.payload["challenge_version"], s.at,
                     "challenge-answer-procurement", "challenge")

    def accept_complaint(self, p: ProjectState, s: Step) -> None:
        filed = s.payload["complaint_version"]
        self.require(p.complaints.get(filed) == "filed", "complaint-acceptance",
                     f"version {filed} is not a complaint waiting for acceptance")
        p.complaints[filed] = "accepted"
        p.deadlines = [replace(d, met=s.at) if d.rule == f"complaint-acceptance:{filed}" else d
                       for d in p.deadlines]
        self._track(p, "complaint-decision", self._period("complaint-decision", s.at,
                                                          "construction"), str(filed))

    def decide_complaint(self, p: ProjectState, s: Step) -> None:
        filed = s.payload["complaint_version"]
        self.require(p.complaints.get(filed) in ("filed", "accepted"), "complaint-decision",
                     f"version {filed} is not an open complaint")
        p.complaints[filed] = s.payload["decision"]
        p.deadlines = [replace(d, met=s.at) if d.rule.endswith(f":{filed}") and d.met is None
                       and d.rule.startswith("complaint-") else d for d in p.deadlines]

    def order_re_evaluation(self, p: ProjectState, s: Step) -> None:
        """The supervision body orders the evaluation done again (条例 §71, §81): the only way
        a recorded score, ranking or award changes. The earlier evaluation stays on the record;
        the project returns to the opened bids and the committee scores afresh."""
        self.stage(p, s, "reported", "publicity", "awarded")
        p.scores, p.rejected, p.ranking, p.declined = {}, {}, [], {}
        p.report_hash, p.report_signed, p.report_refused = None, set(), {}
        p.publicity_until = p.published_at = None
        p.winner = p.award_price = None
        voided = ("publicity-start", "contract", "report-to-supervision")
        p.deadlines = [d for d in p.deadlines if d.met is not None
                       or not d.rule.startswith(voided)]
        p.stage = "opened"

    def decline_candidacy(self, p: ProjectState, s: Step) -> None:
        """A candidate gives up (放弃中标, 条例 §55), before or after the award; a winner that
        declines leaves the award to be made again."""
        self.stage(p, s, "publicity", "awarded")
        self._out(p, s.payload["bidder"], "declined")

    def disqualify_candidate(self, p: ProjectState, s: Step) -> None:
        """A candidate found not to meet the conditions (条例 §55: no performance security,
        an unlawful act found, unable to perform) is out, with the ground recorded."""
        self.stage(p, s, "publicity", "awarded")
        self._out(p, s.payload["bidder"], f"disqualified: {s.payload['ground']}")

    def _out(self, p: ProjectState, bidder: str, why: str) -> None:
        self.require(bidder in p.ranking, "candidates", f"{bidder} is not a candidate")
        self.require(bidder not in p.declined, "recorded-once", f"{bidder} is out already")
        p.declined[bidder] = why
        if bidder == p.winner:
            p.winner = p.award_price = None
            p.deadlines = [d for d in p.deadlines if d.met is not None
                           or not d.rule.startswith(("contract", "report-to-supervision"))]
            p.stage = "publicity"

    def award(self, p: ProjectState, s: Step) -> None:
        if p.method in LISTING_METHODS:  # a listing's award is its outcome (rights.py)
            self.award_listing(p, s)
            return
        self.stage(p, s, "publicity")
        assert p.publicity_until is not None
        assert p.published_at is not None
        self.require(self.publicity_held(p.published_at, p.publicity_until, s.at),
                     "publicity-period", "the award waits for the end of the publicity")
        self.not_suspended(p, "publicity-objection-answer")
        self.require(s.payload["winner"] in p.ranking, "candidates",
                     f"{s.payload['winner']} is not a candidate")
        self.require(s.payload["winner"] not in p.declined, "candidates",
                     f"{s.payload['winner']} is out: {p.declined.get(s.payload['winner'])}")
        running = [c for c in p.ranking if c not in p.declined]
        self.require(not p.state_funded or s.payload["winner"] == running[:1][0],
                     "state-funded-first-candidate",
                     lambda: f"a state-funded project awards the first candidate still in the "
                             f"running, {running[0]}, not {s.payload['winner']}")
        p.winner, p.award_price = s.payload["winner"], parse_money(s.payload["price"])
        self.require(p.prices.get(p.winner) == p.award_price, "candidates",
                     "the award price is not the winner's bid")
        p.stage = "awarded"
        self._track(p, "contract", self._period("contract", s.at, p.kind))
        self._track(p, "report-to-supervision", self._period("report-to-supervision", s.at, p.kind))
        if p.kind == "procurement":
            for bidder in p.security:
                if bidder != p.winner:
                    self._owe_refund(p, bidder, "security-refund", s.at)

    def report_to_supervision(self, p: ProjectState, s: Step) -> None:
        """The tenderee's written report on the tender to the supervision body, within 15 days
        of fixing the winner (法 §47); once."""
        self.stage(p, s, "awarded", "contracted", "archived")
        self.require(not any(d.rule == "report-to-supervision" and d.met is not None
                             for d in p.deadlines), "recorded-once",
                     "the report to the supervision body was filed already")
        self._meet(p, "report-to-supervision", s.at)

    def sign_contract(self, p: ProjectState, s: Step) -> None:
        self.stage(p, s, "awarded")
        self.require(s.payload["winner"] == p.winner, "contract-terms",
                     f"the contract is signed with the winner {p.winner}, not "
                     f"{s.payload['winner']}")
        price = parse_money(s.payload["price"]) if "price" in s.payload else p.award_price
        self.require(price == p.award_price or bool(s.payload.get("price_reason")),
                     "contract-terms", f"the contract price {price} is not the award price "
                     f"{p.award_price}, and no reason is recorded")
        if "performance_security" in s.payload and price is not None:
            cap, security = self.rules["performance-security-cap"], \
                parse_money(s.payload["performance_security"])
            self.require(security * 100 <= price * cap.value, cap.id,
                         f"a performance security of {security} exceeds {cap.value}% of {price}")
        self._meet(p, "contract", s.at)
        p.stage = "contracted"
        for bidder in p.security:  # everyone's, within 5 days of the contract (条例 §57)
            if p.failed_decryption.get(bidder) != "bidder":
                self._owe_refund(p, bidder, "security-refund", s.at, kind="construction")

    def refund_security(self, p: ProjectState, s: Step) -> None:
        """Recorded by the ledger itself when a refund falls due (no application needed)."""
        bidder = s.payload["bidder"]
        if bidder in p.registered:  # a listing's deposit: as it was paid, no interest (§21)
            self.require(bidder not in p.refunded and bidder != p.winner, "deposit-refund",
                         f"{bidder} has no deposit to refund")
            self.require(parse_money(s.payload["amount"]) == p.registered[bidder]
                         and "interest" not in s.payload, "deposit-refund",
                         f"{bidder} is owed {p.registered[bidder]}, without interest")
        else:
            self._check_security_refund(p, s, bidder)
        p.refunded.add(bidder)
        p.deadlines = [replace(d, met=s.at) if d.rule.endswith(f":{bidder}") and d.met is None
                       else d for d in p.deadlines]

    def _check_security_refund(self, p: ProjectState, s: Step, bidder: str) -> None:
        """A tender's security refunded: the amount held, interest only on a cash deposit."""
        self.require(bidder in p.security and bidder not in p.refunded, "security-refund",
                     f"{bidder} has no security to refund")
        self.require(p.failed_decryption.get(bidder) != "bidder", "encrypted-bid",
                     f"{bidder} revoked its bid by failing to decrypt it: its security is kept")
        if bidder in p.security:
            self.require(parse_money(s.payload["amount"]) == p.security[bidder],
                         "security-refund-amount", f"{bidder} is owed {p.security[bidder]}, "
                         f"not {s.payload['amount']}")
            self.require("interest" not in s.payload or p.security_form.get(bidder) == "deposit",
                         "security-refund-amount", "interest is paid on a cash deposit only")

    def refunds_due(self, p: ProjectState) -> list[tuple[str, datetime]]:
        """(bidder, due) of the refunds that are owed and not yet made, one per bidder."""
        return [(d.rule.split(":", 1)[1], d.due) for d in p.deadlines
                if d.rule.startswith(REFUND_RULES) and d.met is None]

    def _owe_refund(self, p: ProjectState, bidder: str, rule_id: str, at: datetime,
                    kind: str | None = None) -> None:
        """`bidder`'s security (or a listing's deposit) falls due for refund under `rule_id`
        (counted as `kind`'s rule, the project's by default), unless it holds none, or a
        refund of it is owed already: one refund per security, whatever made it due first."""
        owed = any(d.met is None and d.rule.startswith(REFUND_RULES)
                   and d.rule.split(":", 1)[1] == bidder for d in p.deadlines)
        held = bidder in p.security or bidder in p.registered  # a security, or a deposit
        if held and bidder not in p.refunded and not owed:
            kind = kind or p.kind
            rule = self.rules[self._for(rule_id, kind)]
            p.deadlines.append(Deadline(f"{rule.id}:{bidder}", rule.article,
                                        self._period(rule_id, at, kind)))

    def assign_witness(self, p: ProjectState, s: Step) -> None:
        """The centre assigns a witness officer (见证人员) to the project: from then on the
        officer may record on it, and sees what the law lets witnesses see of it."""
        officer = s.payload["officer"]
        self.require(p.stage != "archived", "witness-assignment",
                     "an archived project is not witnessed any more")
        self.require(officer not in p.witnesses, "recorded-once",
                     f"{officer} is assigned to this project already")
        if self.checking and s.roles_of is not None:
            roles = s.roles_of(officer)
            self.require(roles is not None and "witness" in roles, "witness-assignment",
                         lambda: f"{officer!r} is not a registered witness officer")
        p.witnesses.append(officer)

    def observe(self, p: ProjectState, s: Step) -> None:
        """A witness officer's observation (见证记录), with recorded media by hash; it changes
        nothing in the procedure."""

    def refer_warning(self, p: ProjectState, s: Step) -> None:
        """A witness officer passed a collusion warning on to the supervision body; once the
        bids are closed (before, the bidders are confidential: 法 §22)."""
        self.require(p.closed_at is not None, "warning-referral",
                     "a warning is passed on once the bids are closed")
        p.referrals.append((s.payload["indicator"], tuple(s.payload["bidders"]),
                            s.payload["supervisor"], s.at))

    def issue_report(self, p: ProjectState, s: Step) -> None:
        """A witness report (数字见证报告) was issued over versions up to `last_version`; a
        newer one of the same kind and language supersedes the older, which stays on the
        record (a translation supersedes nothing)."""
        self.require(s.payload["last_version"] < s.version, "witness-report",
                     "a report covers events recorded before it")
        self.require(s.payload["report_id"] not in p.reports, "recorded-once",
                     f"a report {s.payload['report_id']} was issued already")
        kind, lang = s.payload["kind"], s.payload.get("lang", "zh")
        for rid, report in p.reports.items():
            if (report["kind"], report["lang"]) == (kind, lang) and "superseded_by" not in report:
                p.reports[rid] = {**report, "superseded_by": s.payload["report_id"]}
        p.reports[s.payload["report_id"]] = {"kind": kind, "lang": lang,
                                             "pdf_hash": s.payload["pdf_hash"],
                                             "last_version": s.payload["last_version"]}

    def sign_off_report(self, p: ProjectState, s: Step) -> None:
        """A witness officer's signed sign-off of an issued report; each officer signs off
        once, in turn (`signed_off_by` lists them in order)."""
        report = p.reports.get(s.payload["report_id"])
        self.require(report is not None and report["pdf_hash"] == s.payload["pdf_hash"],
                     "witness-report", "the sign-off is for a report that was not issued")
        officers = report.get("signed_off_by", []) if report else []
        self.require(s.actor not in officers, "recorded-once",
                     f"{s.actor} signed this report off already")
        p.reports[s.payload["report_id"]] = {**report, "signed_off_by": [*officers, s.actor]}  # type: ignore[dict-item]

    def terminate(self, p: ProjectState, s: Step) -> None:
        self.require(p.stage not in ("contracted", "archived", "terminated"), "contract",
                     "a contracted or closed project is not terminated")
        p.stage = "terminated"

    def archive(self, p: ProjectState, s: Step) -> None:
        """The files are archived; a procurement states how long they are kept, at least 15
        years (政采法 §42). The ledger itself deletes nothing, ever."""
        self.stage(p, s, "contracted", "failed", "terminated", "refused")
        if p.kind == "procurement":
            rule = self.rules["archive"]
            day = local_date(s.at)
            least = day.replace(year=day.year + int(rule.value)) if (day.month, day.day) != (2, 29) \
                else date(day.year + int(rule.value), 3, 1)
            kept = local_date(parse_time(s.payload["retain_until"])) if "retain_until" in s.payload \
                else None
            self.require(kept is not None and kept >= least, "archive",
                         f"procurement files are kept until {least} at least, not {kept}")
        p.stage = "archived"


def rank_bids(method: str, prices: dict[str, Decimal], rejected: dict[str, str],
              scores: dict[tuple[str, str], Decimal], *,
              ceiling: Decimal | None = None) -> list[str]:
    """Who ranks first: the lowest price (the highest, for rights), or the highest mean score
    with the lower price first on a tie; rejected bids, bids above the ceiling and failed
    decryptions take no place."""
    valid = [b for b in prices if b not in rejected and (ceiling is None or prices[b] <= ceiling)]
    if method == "comprehensive":
        marks: dict[str, list[Decimal]] = {}
        for (_, bidder), value in scores.items():
            marks.setdefault(bidder, []).append(value)

        def mean(b: str) -> Decimal:
            own = marks.get(b)
            return sum(own, Decimal(0)) / len(own) if own else Decimal(0)
        return sorted(valid, key=lambda b: (-mean(b), prices[b], b))
    if method == "highest-price":
        return sorted(valid, key=lambda b: (-prices[b], b))
    return sorted(valid, key=lambda b: (prices[b], b))
