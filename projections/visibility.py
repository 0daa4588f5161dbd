"""Who may see what, at which stage of a project: the law's confidentiality as one table,
used by every read (the HTTP API, the portal, report and dossier downloads).

RULES.md (Confidentiality): before the opening nobody may learn who obtained the documents or
bid, or how many (法 §22); the committee's names stay secret until the result is fixed, except
to each expert its own assignment (法 §37; 条例 §46); the evaluation stays secret until its
report (法 §44; 条例 §49). Supervision bodies see what is not sealed by those three secrets;
witness officers see the projects they are assigned to witness; the public sees announcements,
results once published, the log's checkpoints and proofs. docs/visibility.md is this table
in words, and tests check that the two say the same.

How a rule reads. For each event type, `event` says from which stage each audience sees the
event at all; `members` make single members stricter (the envelope's `actor`, which carries
`key_id`, `nonce` and `signature` with it: a signature checked against every expert's key
would name the signer). The parties an event names in `selves` (and its actor) always see it
whole. Stages are milestones a project reaches, in order; once reached, they are reached for
its whole history: after the opening, who bid is no longer secret, whenever they bid.

An event the caller may see whole is served as stored: its hash, link and signatures check. An
event the caller may see only in part is served with the hidden members replaced by
`{"withheld": "<why>"}` and their names in `withheld`; its hash still commits to them, so once
the secret is lifted the caller can check the whole event against the hash it was given.
Before the opening, nobody learns a project event's version, link or hash unless the event is
their own (`sealed_positions`): the version counts the events before it, and so the bidders.

A rights transaction by listing (挂牌) or online auction (网上竞价), 39号令, follows the same
table: its announcement makes it public, the close of the listing plays the opening's part
(who registered and who quoted stop being secret, and so do versions), its result's
publication is its `published`. Its quotes are not sealed: each is seen as it comes, its price
and time, by the public and every bidder (the listing shows the current highest quote), but
who quoted is a member kept from all but the bidder itself and those who run and watch the
platform until the listing closes; the state fields in ANONYMOUS (the highest quote, the
count) are judged without that member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ledger.evidence.envelope import SEALED_STAGE_TYPES
from ledger.procedures.rights import LISTING_METHODS
from projections.project_state import changed_field

# --- audiences: who the caller is, to this project ------------------------------------------
PUBLIC = "public"            # anyone, signed in or not (社会公众)
SUPERVISION = "supervision"  # a supervision body (行政监督部门): role `supervisor`
OPERATOR = "operator"        # the centre's staff running the platform (交易中心): role `operator`
WITNESS = "witness"          # a witness officer assigned to this project (见证人员)
PRINCIPAL = "principal"      # this project's tenderee or its agent (招标人、招标代理)
BIDDERS = "bidders"          # a bidder taking part in this project (obtained documents or bid)
COMMITTEE = "committee"      # a member of this project's evaluation committee, while it sits
AUDIENCES = (PUBLIC, SUPERVISION, OPERATOR, WITNESS, PRINCIPAL, BIDDERS, COMMITTEE)

# --- stages: milestones a project reaches, in order ----------------------------------------
ALWAYS = "always"        # from the event on
ANNOUNCED = "announced"  # project.announced/v1: the project is public
OPENED = "opened"        # project.submission-closed/v1: the deadline is the opening (法 §34)
REPORTED = "reported"    # project.evaluation-reported/v1: the committee has reported
PUBLISHED = "published"  # project.candidates-published/v1: the candidates are public
FIXED = "fixed"          # project.awarded/v1: the result is fixed (法 §37)
NEVER = "never"
STAGES = (ALWAYS, ANNOUNCED, OPENED, REPORTED, PUBLISHED, FIXED, NEVER)
MILESTONES = {"project.announced/v1": ANNOUNCED, "project.submission-closed/v1": OPENED,
              "project.evaluation-reported/v1": REPORTED,
              "project.candidates-published/v1": PUBLISHED, "project.awarded/v1": FIXED,
              # a listing (39号令): its announcement; the listing's close, when who registered
              # and who quoted stop being secret, as a tender's bidders at the opening; the
              # result's publication (§22). Its result is fixed by project.awarded/v1 too.
              "project.listing-announced/v1": ANNOUNCED, "project.listing-closed/v1": OPENED,
              "project.result-published/v1": PUBLISHED}
# a project that ends early (terminated, failed) lifts nothing it had not reached


@dataclass(frozen=True)
class Seen:
    """From which stage each audience sees a thing; an audience not named never does."""

    by: Mapping[str, str]

    def __post_init__(self) -> None:
        for audience, stage in self.by.items():
            if audience not in AUDIENCES or stage not in STAGES:
                raise ValueError(f"{audience}: {stage}")

    def allows(self, audiences: Iterable[str], reached: frozenset[str]) -> bool:
        return any((stage := self.by.get(a, NEVER)) == ALWAYS or stage in reached
                   for a in audiences)


@dataclass(frozen=True)
class Rule:
    event: Seen
    members: Mapping[str, Seen] = field(default_factory=dict)
    selves: tuple[str, ...] = ()  # payload members naming a party who sees the event whole
    article: str = ""
    answers: str | None = None  # the payload member naming the version this answers: the
    #                             party who raised that sees the answer whole


def _seen(**by: str) -> Seen:
    return Seen(by)


# the parties who follow a project's every public step: its principals, the platform, the
# supervision body and the witness officers
KEEPERS = dict(principal=ALWAYS, operator=ALWAYS, supervision=ALWAYS, witness=ALWAYS)
ANNOUNCEMENT = Rule(_seen(public=ANNOUNCED, bidders=ALWAYS, committee=ALWAYS, **KEEPERS),
                    article="法 §16")
# who obtained documents, posted security or bid: the bidder alone until the opening; then
# the keepers, and who bid to the other bidders and the committee (the opening record)
UNSEALED = dict(principal=OPENED, operator=OPENED, supervision=OPENED, witness=OPENED)
SEALED_BID = Rule(_seen(bidders=OPENED, committee=OPENED, **UNSEALED), selves=("bidder",),
                  article="法 §22")
SEALED = Rule(_seen(**UNSEALED), selves=("bidder",), article="法 §22")
OPENING = Rule(_seen(bidders=ALWAYS, committee=ALWAYS, **KEEPERS), selves=("bidder",),
               article="法 §36")
CONVENED = Rule(OPENING.event, article="法 §36")
# the committee's names: secret until the result is fixed (法 §37), to everyone but the expert
# itself and the witness officers assigned to the project, who witness the evaluation in its
# room (they see the experts, sign off the evaluation's witness report, and are bound to keep
# the names secret as the centre's staff)
NAMES = _seen(public=FIXED, bidders=FIXED, principal=FIXED, operator=FIXED, supervision=FIXED,
              witness=ALWAYS, committee=ALWAYS)
MEMBER_ACTS = {"actor": NAMES}
# the evaluation: secret until the report, to all but the committee (法 §44; 条例 §49)
EVALUATION = Rule(_seen(committee=ALWAYS, principal=REPORTED, operator=REPORTED,
                        supervision=REPORTED, witness=REPORTED),
                  members=MEMBER_ACTS, article="法 §44")
RESULT = Rule(_seen(public=ANNOUNCED, bidders=ALWAYS, committee=ALWAYS, **KEEPERS), article="法 §45")
DISPUTE = Rule(_seen(committee=ALWAYS, **KEEPERS), selves=("bidder",), article="条例 §60")
OVERSIGHT = Rule(_seen(operator=ALWAYS, supervision=ALWAYS, witness=ALWAYS), article="电子办法 §53")
KEEPERS_ONLY = Rule(_seen(**KEEPERS))
# a rights transaction by listing or online auction (39号令): its announcements, the reserve's
# commitment (a hash: the price stays secret until it is revealed, §10), the increment, the
# close, the end of the timed round and the reserve revealed are public from the announcement
LISTED = ANNOUNCEMENT.event
# who registered: the bidder alone until the listing closes, then the keepers (as SEALED)
REGISTERED = Rule(SEALED.event, selves=("bidder",), article="39号令 §19; 法 §22")
# a quote, or a request to go on to the timed round: the event (its price, its time) is seen by
# all as it comes (the listing shows the highest quote and how many there were, §17–§18); who
# acted is seen as it happens by the bidder itself and those who run and watch the platform
# (the operator, the supervision body, the assigned witness officers), by the seller and the
# other bidders once the listing closes (法 §22, as a tender's bidders before the opening).
# The public never learns who quoted: it learns the winner from the result (decided here: a
# tender's public never learns who bid either)
QUOTER = _seen(operator=ALWAYS, supervision=ALWAYS, witness=ALWAYS, principal=OPENED,
               bidders=OPENED, committee=OPENED)
QUOTING = {"actor": QUOTER, "bidder": QUOTER}

TABLE: dict[str, Rule] = {
    "project.intake/v1": ANNOUNCEMENT,
    "project.intake-accepted/v1": ANNOUNCEMENT,
    "project.intake-refused/v1": KEEPERS_ONLY,
    "project.announced/v1": ANNOUNCEMENT,
    "project.documents-issued/v1": ANNOUNCEMENT,
    "project.clarification-issued/v1": ANNOUNCEMENT,
    "project.documents-obtained/v1": SEALED,
    # an objection to the documents goes to the tenderee, who answers it (条例 §22)
    "project.objection-raised/v1": Rule(_seen(**{**UNSEALED, "principal": ALWAYS}),
                                        selves=("bidder",), article="条例 §22"),
    "project.objection-answered/v1": Rule(_seen(**{**UNSEALED, "principal": ALWAYS}),
                                          answers="objection_version", article="条例 §22"),
    "project.security-posted/v1": SEALED,
    "project.bid-submitted/v1": SEALED_BID,
    "project.bid-withdrawn/v1": SEALED_BID,
    "project.submission-closed/v1": Rule(_seen(public=ANNOUNCED, bidders=ALWAYS, committee=ALWAYS,
                                               **KEEPERS), article="法 §34"),
    "project.checked-in/v1": OPENING,
    "project.key-released/v1": OPENING,
    "project.bid-decrypted/v1": OPENING,
    "project.decryption-failed/v1": OPENING,
    "project.opening-convened/v1": CONVENED,
    "project.opening-objection-raised/v1": OPENING,
    "project.draw-prepared/v1": Rule(_seen(public=ANNOUNCED, bidders=ALWAYS, committee=ALWAYS,
                                           **KEEPERS), article="条例 §46"),
    # the draw happened, and its size and commitments, are no secret; who was drawn is
    "project.experts-drawn/v1": Rule(_seen(bidders=ALWAYS, committee=ALWAYS, **KEEPERS),
                                     members={"committee": NAMES}, article="法 §37"),
    "project.draw-disclosed/v1": Rule(_seen(public=FIXED, bidders=FIXED, committee=ALWAYS,
                                            principal=FIXED, operator=FIXED, supervision=FIXED,
                                            witness=ALWAYS), article="法 §37"),
    "project.expert-replaced/v1": Rule(_seen(committee=ALWAYS, **KEEPERS),
                                       members={"recused": NAMES, "replacement": NAMES},
                                       selves=("recused", "replacement"), article="法 §37"),
    "project.score-submitted/v1": EVALUATION,
    "project.bid-rejected/v1": EVALUATION,
    # the bidder asked to clarify sees the question, not who asked (条例 §52)
    "project.bid-clarified/v1": Rule(EVALUATION.event, members=MEMBER_ACTS, selves=("bidder",),
                                     article="条例 §52"),
    "project.evaluation-reported/v1": Rule(
        _seen(committee=ALWAYS, principal=ALWAYS, operator=ALWAYS, supervision=ALWAYS,
              witness=ALWAYS, bidders=PUBLISHED, public=PUBLISHED),
        members=MEMBER_ACTS, article="条例 §53"),
    "project.evaluation-report-signed/v1": Rule(EVALUATION.event, members=MEMBER_ACTS,
                                                article="条例 §53"),
    "project.evaluation-report-refused/v1": Rule(EVALUATION.event, members=MEMBER_ACTS,
                                                 article="条例 §53"),
    "project.candidates-published/v1": RESULT,
    "project.publicity-objection-raised/v1": DISPUTE,
    "project.challenge-raised/v1": DISPUTE,
    "project.challenge-answered/v1": Rule(DISPUTE.event, answers="challenge_version",
                                          article="政采法 §53"),
    "project.complaint-filed/v1": Rule(DISPUTE.event, selves=("complainant",), article="条例 §60"),
    "project.complaint-accepted/v1": Rule(DISPUTE.event, answers="complaint_version",
                                          article="条例 §61"),
    "project.complaint-decided/v1": Rule(DISPUTE.event, answers="complaint_version",
                                         article="条例 §61"),
    "project.re-evaluation-ordered/v1": Rule(DISPUTE.event, article="条例 §61"),
    "project.candidate-declined/v1": Rule(_seen(public=FIXED, bidders=FIXED, committee=ALWAYS,
                                                **KEEPERS), selves=("bidder",), article="条例 §55"),
    "project.candidate-disqualified/v1": Rule(_seen(public=FIXED, bidders=FIXED, committee=ALWAYS,
                                                    **KEEPERS), selves=("bidder",),
                                              article="条例 §55"),
    "project.awarded/v1": RESULT,
    "project.contract-signed/v1": RESULT,
    "project.supervision-report-filed/v1": KEEPERS_ONLY,
    "project.security-refunded/v1": Rule(SEALED.event, selves=("bidder",), article="条例 §57"),
    "project.witness-assigned/v1": Rule(_seen(**KEEPERS), selves=("officer",)),
    "project.witness-observation/v1": OVERSIGHT,
    "project.warning-referred/v1": OVERSIGHT,
    "project.report-issued/v1": KEEPERS_ONLY,
    "project.report-signed-off/v1": KEEPERS_ONLY,
    "project.terminated/v1": RESULT,
    "project.archived/v1": KEEPERS_ONLY,
    # --- a rights transaction by listing (挂牌) or online auction (网上竞价), 39号令
    "project.listing-announced/v1": Rule(LISTED, article="39号令 §11"),
    "project.reserve-committed/v1": Rule(LISTED, article="39号令 §10"),
    "project.bidder-registered/v1": REGISTERED,
    "project.quote-submitted/v1": Rule(LISTED, members=QUOTING, selves=("bidder",),
                                       article="39号令 §18; 法 §22"),
    "project.increment-adjusted/v1": Rule(LISTED, article="39号令 §18"),
    "project.continuation-requested/v1": Rule(LISTED, members=QUOTING, selves=("bidder",),
                                              article="39号令 §19; 法 §22"),
    "project.listing-closed/v1": Rule(LISTED, article="39号令 §19"),
    "project.round-ended/v1": Rule(LISTED, article="39号令 §19"),
    "project.reserve-revealed/v1": Rule(LISTED, article="39号令 §10"),
    "project.no-sale/v1": Rule(RESULT.event, article="39号令 §19"),
    "project.deal-confirmed/v1": Rule(RESULT.event, article="39号令 §20"),
    "project.result-published/v1": Rule(RESULT.event, article="39号令 §22"),
}
# streams that are not a project's: the registry, the ledger's own, the centre's register
PUBLIC_STREAM_KINDS = ("actor", "ledger", "register")


# --- what a project has reached and who it concerns ----------------------------------------

RAISING = {"project.objection-raised/v1": "bidder", "project.publicity-objection-raised/v1": "bidder",
           "project.opening-objection-raised/v1": "bidder", "project.challenge-raised/v1": "bidder",
           "project.complaint-filed/v1": "complainant"}


@dataclass
class ProjectFacts:
    """What visibility needs to know of one project, folded from its events in order."""

    reached: set[str] = field(default_factory=set)
    principals: set[str] = field(default_factory=set)
    bidders: set[str] = field(default_factory=set)
    committee: set[str] = field(default_factory=set)
    witnesses: set[str] = field(default_factory=set)
    raised_by: dict[int, str] = field(default_factory=dict)  # version → who objected, challenged
    #                                                          or complained there
    listing: bool = False  # sold by listing or online auction (its own steps: LISTING_FEEDS)

    def add(self, event: dict) -> None:
        kind, payload = event["type"], event["payload"]
        if kind in MILESTONES:
            self.reached.add(MILESTONES[kind])
        if kind in RAISING:
            self.raised_by[event["version"]] = payload[RAISING[kind]]
        if kind == "project.intake/v1":
            self.principals |= {p for p in (payload.get("tenderee"), payload.get("agent")) if p}
            self.listing = payload.get("method") in LISTING_METHODS
        elif kind in ("project.documents-obtained/v1", "project.bid-submitted/v1",
                      "project.bidder-registered/v1"):  # a listing's bidders register
            self.bidders.add(payload["bidder"])
        elif kind == "project.experts-drawn/v1":
            self.committee |= set(payload["committee"])
        elif kind == "project.expert-replaced/v1":
            self.committee.discard(payload["recused"])
            self.committee.add(payload["replacement"])
        elif kind == "project.witness-assigned/v1":
            self.witnesses.add(payload["officer"])


def facts_of(events: Iterable[dict]) -> ProjectFacts:
    facts = ProjectFacts()
    for event in events:
        facts.add(event)
    return facts


@dataclass(frozen=True)
class Caller:
    """Who asks: an actor with its registered roles, or the public (actor None)."""

    actor: str | None = None
    roles: frozenset[str] = frozenset()


def audiences(caller: Caller, facts: ProjectFacts) -> frozenset[str]:
    found = {PUBLIC}
    if caller.actor is None:
        return frozenset(found)
    if "supervisor" in caller.roles:
        found.add(SUPERVISION)
    if "operator" in caller.roles:
        found.add(OPERATOR)
    if "witness" in caller.roles and caller.actor in facts.witnesses:
        found.add(WITNESS)
    if caller.actor in facts.principals:
        found.add(PRINCIPAL)
    if caller.actor in facts.bidders:
        found.add(BIDDERS)
    if caller.actor in facts.committee:
        found.add(COMMITTEE)
    return frozenset(found)


# --- one event, as a caller may see it ------------------------------------------------------

ENVELOPE_OF_ACTOR = ("actor", "key_id", "nonce", "signature")
POSITION_MEMBERS = ("version", "prev", "hash")
# payload members that name a version of the project's stream (the objection answered, …):
# before the opening they count its events as the version does
VERSION_NAMING_MEMBERS = ("objection_version", "challenge_version", "complaint_version",
                          "last_version")
WITHHELD = "withheld"


def is_self(caller: Caller, event: dict, rule: Rule) -> bool:
    if caller.actor is None:
        return False
    payload = event["payload"]
    return caller.actor == event["actor"] or any(
        payload.get(member) == caller.actor for member in rule.selves)


def is_answered_party(caller: Caller, event: dict, rule: Rule, facts: ProjectFacts) -> bool:
    return (caller.actor is not None and rule.answers is not None
            and facts.raised_by.get(event["payload"].get(rule.answers)) == caller.actor)


def project_view(event: dict, caller: Caller, facts: ProjectFacts) -> dict | None:
    """A project event as `caller` may see it now: whole, in part, or not at all (None)."""
    rule = TABLE.get(event["type"])
    if rule is None:
        return None  # a type this table does not know is shown to nobody: add its rule
    if is_self(caller, event, rule) or is_answered_party(caller, event, rule, facts):
        return _positioned(dict(event), caller, facts, own=True)
    seen_by = audiences(caller, facts)
    reached = frozenset(facts.reached)
    if not rule.event.allows(seen_by, reached):
        return None
    shown, withheld = dict(event), []
    for member, seen in rule.members.items():
        if seen.allows(seen_by, reached):
            continue
        why = f"secret until the result is fixed ({rule.article})" if seen.by.get(PUBLIC) == FIXED \
            else f"not shown to this caller at this stage ({rule.article})"
        if member == "actor":
            for name in ENVELOPE_OF_ACTOR:
                shown[name] = {WITHHELD: why}
            withheld += ENVELOPE_OF_ACTOR
        else:
            payload = dict(shown["payload"])
            value = payload.get(member)
            if isinstance(value, list):  # each expert still sees its own place
                payload[member] = [v if v == caller.actor else {WITHHELD: why} for v in value]
            else:
                payload[member] = {WITHHELD: why}
            shown["payload"] = payload
            withheld.append(f"payload.{member}")
    if withheld:
        shown[WITHHELD] = withheld
    return _positioned(shown, caller, facts, own=False)


def sealed_positions(facts: ProjectFacts) -> bool:
    """Whether a project's versions are still secret: before the opening they count the
    bidders' events (法 §22)."""
    return OPENED not in facts.reached


# who signs project actions at a version before the opening (announcements, clarifications,
# the close, observations, assignments): they learn how many events the project holds, as
# the ones who keep it (法 §22 forbids them to tell it); a bidder's actions name no version
SIGNS_AT_A_VERSION = frozenset({PRINCIPAL, OPERATOR, WITNESS, SUPERVISION})


def may_learn_version(caller: Caller, facts: ProjectFacts) -> bool:
    """Whether the caller may be told the project's current version (to sign at it)."""
    if caller.actor is None:
        return False
    return not sealed_positions(facts) or "registrar" in caller.roles \
        or bool(audiences(caller, facts) & SIGNS_AT_A_VERSION)


def signed_its_version(event: dict, caller: Caller) -> bool:
    """Whether the caller signed this event's version: it is its actor, and the type names
    a version (a bidder's sealed-stage action names none: evidence-format §6)."""
    return caller.actor == event.get("actor") and event.get("type") not in SEALED_STAGE_TYPES


def _positioned(event: dict, caller: Caller, facts: ProjectFacts, own: bool) -> dict:
    """Before the opening, an event is shown without its version, link and hash, and
    without the payload members that name a version of the stream, unless the caller
    signed its version. A bidder never learns a position before the opening, not even of its
    own bid. Refusals: see refusal_view."""
    if sealed_positions(facts) and not (own and signed_its_version(event, caller)):
        why = "the version counts the bidders' events: shown from the opening (法 §22)"
        for name in POSITION_MEMBERS:
            event[name] = {WITHHELD: why}
        withheld = list(POSITION_MEMBERS)
        naming = [m for m in VERSION_NAMING_MEMBERS if m in event["payload"]
                  and f"payload.{m}" not in event.get(WITHHELD, [])]
        if naming:
            event["payload"] = {**event["payload"], **{m: {WITHHELD: why} for m in naming}}
            withheld += [f"payload.{m}" for m in naming]
        event[WITHHELD] = list(event.get(WITHHELD, [])) + withheld
    return event


def refusal_view(record: dict, caller: Caller, facts: ProjectFacts) -> dict | None:
    """A recorded refusal (refusal.recorded/v1): shown whole to the actor refused, and to
    whoever may see the refused action's type whole at this stage, as if it were an event;
    to nobody else. Before the opening, without its version, link and hash: the refusal
    stream's version counts the project's refusals, bidders' among them (法 §22)."""
    action = record["payload"]["action"]
    if caller.actor is None or caller.actor != action.get("actor"):
        rule = TABLE.get(action.get("type", ""))
        if rule is None:
            return None
        seen_by, reached = audiences(caller, facts), frozenset(facts.reached)
        if not rule.event.allows(seen_by, reached) or not all(
                seen.allows(seen_by, reached) for seen in rule.members.values()):
            return None
        if sealed_positions(facts) and not rule.event.allows(seen_by, frozenset()):
            return None
    view = _positioned(dict(record), caller, facts, own=False)
    if sealed_positions(facts) and action.get("expected_version") is not None \
            and caller.actor != action.get("actor"):  # the version its actor signed
        view["payload"] = {**view["payload"], "action": {**action, "expected_version": {
            WITHHELD: "the version counts the bidders' events: shown from the opening (法 §22)"}}}
        view[WITHHELD] = [*view[WITHHELD], "payload.action.expected_version"]
    return view


def sees_whole(event: dict, caller: Caller, facts: ProjectFacts) -> bool:
    """Whether the caller may have this event exactly as stored (for files that carry events
    whole and signed: reports, dossiers, bundles)."""
    view = project_view(event, caller, facts)
    return view is not None and WITHHELD not in view


def sees_project(caller: Caller, facts: ProjectFacts, intake: dict) -> bool:
    """Whether the project is listed to the caller at all: whether it may see its intake."""
    return project_view(intake, caller, facts) is not None


def _why_withheld(view: dict) -> str:
    """The reason a view gives for the first member it withholds."""
    for name in view[WITHHELD]:
        holder, _, member = name.partition(".")
        value = view[holder][member] if member else view[holder]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and WITHHELD in item:
                return item[WITHHELD]
    return "withheld"


def why_not_whole(events: Iterable[dict], refusals: Iterable[dict], caller: Caller,
                  facts: ProjectFacts) -> str | None:
    """Why a file that carries these project events and refusal records whole (a witness
    report, a dispute dossier, a completeness proof) may not be given to the caller; None
    when it may: the caller sees every one of them whole. An event the caller sees in part is
    named by its type and time (never its version, which may be sealed); of one it may not
    see at all, nothing is said that would tell it exists."""
    for event in events:
        view = project_view(event, caller, facts)
        if view is None:
            return "it carries events this caller may not see at this stage"
        if WITHHELD in view:
            return (f"it carries the {event['type']} of {event['ledger_time']}, which this "
                    f"caller sees only in part ({', '.join(view[WITHHELD])} withheld: "
                    f"{_why_withheld(view)})")
    for record in refusals:
        view = refusal_view(record, caller, facts)
        if view is None:
            return "it carries refused actions this caller may not see at this stage"
        if WITHHELD in view:
            return (f"it carries the refusal of {record['ledger_time']}, which this caller "
                    f"sees only in part: {_why_withheld(view)}")
    return None


# --- a replay step (projections/project_state.py `replay`), as a caller may see it ----------

STEP_MEMBERS = ("version", "ledger_time", "type", "actor", "hash")


def step_view(step: Mapping, event: dict, caller: Caller, facts: ProjectFacts,
              fields: Iterable[str]) -> dict | None:
    """One transition of a replay, shown as its event is shown: not at all, or with the
    members the event's view withholds withheld here too (its version and hash before the
    opening, its actor while the committee is secret). Its changes are listed only for the
    state's `fields` the caller may see (`state_view`), and are withheld whole when the
    event's payload or actor is: what a step changed is its event's content."""
    view = project_view(event, caller, facts)
    if view is None:
        return None
    shown = {name: view[name] for name in STEP_MEMBERS}
    hidden = view.get(WITHHELD, [])
    withheld = [name for name in hidden if name in STEP_MEMBERS]
    if any(name not in POSITION_MEMBERS for name in hidden):
        shown["changes"] = {WITHHELD: "what the step changed is its event's content, shown "
                                      "in part: " + _why_withheld(view)}
        withheld.append("changes")
    else:
        visible = set(fields)
        shown["changes"] = [c for c in step["changes"] if changed_field(c) in visible]
    if withheld:
        shown[WITHHELD] = withheld
    return shown


# --- collusion warnings (projections/warnings.py) -------------------------------------------

# warnings inform the supervision body, and the witness officers assigned to the project, who
# pass them on (电子办法 §53); they decide nothing. Each names bidders and the events behind
# it, so a warning is shown only to such a caller who sees each of those events
WARNED = frozenset({SUPERVISION, WITNESS})
WARNED_ROLES = frozenset({"supervisor", "witness"})  # the roles these audiences are of


def may_be_warned(caller: Caller) -> bool:
    """Whether the caller is of a role some project's warnings may be for."""
    return bool(caller.roles & WARNED_ROLES)


def sees_warnings(caller: Caller, facts: ProjectFacts) -> bool:
    """Whether the caller is one this project's collusion warnings are for."""
    return bool(audiences(caller, facts) & WARNED)


# --- the table in words (docs/visibility.md carries this, and a test compares) -------------

STAGE_WORDS = {ALWAYS: "always", ANNOUNCED: "announced", OPENED: "opened", REPORTED: "reported",
               PUBLISHED: "published", FIXED: "fixed", NEVER: "—"}


def table_markdown() -> str:
    """The table as docs/visibility.md shows it: for each type, from which stage each
    audience sees it; the members a stricter rule hides; who always sees it whole."""
    head = ("| type | " + " | ".join(AUDIENCES) + " | whole to | stricter members | article |\n"
            "| --- |" + " --- |" * (len(AUDIENCES) + 3) + "\n")
    rows = []
    for name, rule in TABLE.items():
        cells = [STAGE_WORDS[rule.event.by.get(a, NEVER)] for a in AUDIENCES]
        whole = ["its actor", *(f"payload.{m}" for m in rule.selves)]
        if rule.answers:
            whole.append(f"who raised payload.{rule.answers}")
        stricter = "; ".join(
            f"{'actor (with key_id, nonce, signature)' if m == 'actor' else 'payload.' + m}: "
            + ", ".join(f"{a} {STAGE_WORDS[s]}" for a, s in seen.by.items())
            for m, seen in rule.members.items()) or "—"
        rows.append(f"| `{name}` | " + " | ".join(cells)
                    + f" | {', '.join(whole)} | {stricter} | {rule.article or '—'} |")
    return head + "\n".join(rows) + "\n"


# --- a project's state, as a caller may see it ----------------------------------------------

_ANNOUNCED = ("project.intake/v1", "project.intake-accepted/v1", "project.announced/v1",
              "project.listing-announced/v1")
_LISTING = ("project.listing-announced/v1",)
_QUOTES = ("project.quote-submitted/v1",)
_RAISED = ("project.objection-raised/v1", "project.publicity-objection-raised/v1",
           "project.opening-objection-raised/v1", "project.challenge-raised/v1")
# each field of ProjectState and the event types it is folded from: a caller sees the field
# when it sees each of them whole (as an audience: a bidder's own bid does not show it all)
FEEDS: dict[str, tuple[str, ...]] = {
    "stage": _ANNOUNCED, "kind": _ANNOUNCED, "method": _ANNOUNCED, "tenderee": _ANNOUNCED,
    "agent": _ANNOUNCED, "estimated_price": _ANNOUNCED, "state_funded": _ANNOUNCED,
    "documents_from": _ANNOUNCED, "bid_deadline": _ANNOUNCED,
    "documents": ("project.documents-issued/v1", "project.clarification-issued/v1"),
    "obtained": ("project.documents-obtained/v1",),
    "objections": _RAISED, "raised_by": _RAISED, "challenges": ("project.challenge-raised/v1",),
    "closed_at": ("project.submission-closed/v1", "project.listing-closed/v1"),
    "security": ("project.security-posted/v1",), "security_form": ("project.security-posted/v1",),
    "bids": ("project.bid-submitted/v1",), "withdrawn": ("project.bid-withdrawn/v1",),
    "checked_in": ("project.checked-in/v1",), "keys_released": ("project.key-released/v1",),
    "prices": ("project.bid-decrypted/v1",), "failed_decryption": ("project.decryption-failed/v1",),
    "opening": ("project.opening-convened/v1",),
    "committee": ("project.experts-drawn/v1", "project.expert-replaced/v1"),
    "drawn": ("project.experts-drawn/v1",), "replacements": ("project.expert-replaced/v1",),
    "draw": ("project.draw-prepared/v1", "project.experts-drawn/v1", "project.draw-disclosed/v1"),
    "scores": ("project.score-submitted/v1",), "rejected": ("project.bid-rejected/v1",),
    "clarifications": ("project.bid-clarified/v1",),
    "ranking": ("project.evaluation-reported/v1",), "report_hash": ("project.evaluation-reported/v1",),
    "report_signed": ("project.evaluation-report-signed/v1",),
    "report_refused": ("project.evaluation-report-refused/v1",),
    "witnesses": ("project.witness-assigned/v1",), "referrals": ("project.warning-referred/v1",),
    "publicity_until": ("project.candidates-published/v1",),
    "published_at": ("project.candidates-published/v1",),
    "complaints": ("project.complaint-filed/v1", "project.complaint-accepted/v1",
                   "project.complaint-decided/v1"),
    "reports": ("project.report-issued/v1", "project.report-signed-off/v1"),
    "declined": ("project.candidate-declined/v1", "project.candidate-disqualified/v1"),
    "winner": ("project.awarded/v1",), "award_price": ("project.awarded/v1",),
    "refunded": ("project.security-refunded/v1",),
    "deadlines": tuple(TABLE),  # they name bidders, objectors and refunds: all of it
    # --- a listing or online auction (39号令)
    "asset": _LISTING, "listing_from": _LISTING, "listing_until": _LISTING,
    "registration_until": _LISTING, "starting_price": _LISTING,
    "deposit_required": _LISTING, "countdown_seconds": _LISTING,
    "increment": ("project.listing-announced/v1", "project.increment-adjusted/v1"),
    "reserve_commitment": ("project.reserve-committed/v1",),
    "reserve": ("project.reserve-revealed/v1",),
    "registered": ("project.bidder-registered/v1",),
    "quotes": _QUOTES, "highest_quote": _QUOTES, "quote_count": _QUOTES,
    "continuing": ("project.continuation-requested/v1",),
    "round_opened_at": ("project.listing-closed/v1",),
    "round_ends_at": ("project.listing-closed/v1", "project.quote-submitted/v1"),
    "no_sale": ("project.no-sale/v1",),
    "confirmation_hash": ("project.deal-confirmed/v1",),
    "result_published_at": ("project.result-published/v1",),
}


# the state's fields of a listing or online auction alone, and those both procedures have;
# the others are a tender's (a page shows, and lists as withheld, only its own procedure's)
LISTING_FIELDS = frozenset((
    "asset", "listing_from", "listing_until", "registration_until", "starting_price",
    "deposit_required", "countdown_seconds", "increment", "reserve_commitment", "reserve",
    "registered", "quotes", "highest_quote", "quote_count", "continuing", "round_opened_at",
    "round_ends_at", "no_sale", "confirmation_hash", "result_published_at"))
SHARED_FIELDS = frozenset(("stage", "kind", "method", "tenderee", "agent", "closed_at",
                           "witnesses", "referrals", "reports", "winner", "award_price",
                           "refunded", "deadlines"))


def procedure_fields(listing: bool) -> frozenset[str]:
    """The state's fields a project sold by listing (or by tender) can have."""
    return LISTING_FIELDS | SHARED_FIELDS if listing else frozenset(FEEDS) - LISTING_FIELDS


# a listing's own feeds where a tender's name steps a listing never takes: its tracked
# deadlines (the deposits' refunds, the result's publication) are judged over the listing's
# steps, not over every type (a tender's evaluation, which a listing never reaches, would
# keep them from everyone)
LISTING_FEEDS: dict[str, tuple[str, ...]] = {
    "deadlines": ("project.listing-announced/v1", "project.bidder-registered/v1",
                  "project.quote-submitted/v1", "project.continuation-requested/v1",
                  "project.listing-closed/v1", "project.round-ended/v1",
                  "project.reserve-revealed/v1", "project.awarded/v1", "project.no-sale/v1",
                  "project.deal-confirmed/v1", "project.result-published/v1",
                  "project.security-refunded/v1"),
}


# the fields that name the members who acted (scores by expert, who signed the report)
ACTOR_KEYED = frozenset(("scores", "report_signed", "report_refused", "clarifications"))
# the fields folded from what each event of a type says, never from who acted: a listing's
# highest quote, the number of quotes and the timed round's end, which the listing shows to
# all as it runs (39号令 §17–§18). Their feeding types are judged without their identity
# members (the actor, and the payload members in the rule's `selves`, which name the party
# who acted); any other stricter member still counts. Who quoted (`quotes`), who registered
# (`registered`) and who asked to go on (`continuing`) are not here: they name bidders, and
# are seen as quote-submitted's identity is, from the close of the listing
ANONYMOUS = frozenset(("highest_quote", "quote_count", "round_ends_at"))


def sees_type(type_: str, caller: Caller, facts: ProjectFacts, actor: bool = True,
              identity: bool = True) -> bool:
    """Whether the caller, as the audiences it belongs to, sees every event of this type at
    the project's stage with all its payload (and, with `actor`, who signed it); without
    `identity`, not counting the members that name who acted (the actor and `selves`)."""
    rule = TABLE[type_]
    seen_by, reached = audiences(caller, facts), frozenset(facts.reached)
    skipped = ({"actor"} if not actor else set()) | (
        {"actor", *rule.selves} if not identity else set())
    return rule.event.allows(seen_by, reached) and all(
        seen.allows(seen_by, reached) for member, seen in rule.members.items()
        if member not in skipped)


def sees_field(name: str, caller: Caller, facts: ProjectFacts) -> bool:
    """Whether the caller may see the state field `name` at the project's stage: every event
    type it is folded from, as FEEDS (a listing's: LISTING_FEEDS), ACTOR_KEYED and ANONYMOUS
    say."""
    feeds = (LISTING_FEEDS.get(name) if facts.listing else None) or FEEDS[name]
    return all(sees_type(t, caller, facts, actor=name in ACTOR_KEYED,
                         identity=name not in ANONYMOUS) for t in feeds)


def state_view(state: object, caller: Caller, facts: ProjectFacts) -> tuple[dict, list[str]]:
    """The fields of a project's state the caller may see (as they are), and the names of
    those it may not."""
    shown, withheld = {}, []
    for name in FEEDS:
        if sees_field(name, caller, facts):
            shown[name] = getattr(state, name)
        else:
            withheld.append(name)
    return shown, withheld
