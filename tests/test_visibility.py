"""Who sees what, when (projections/visibility.py, docs/visibility.md): the table checked
against the law's words for every event type, audience and stage, and against a real project
through every stage, for every kind of caller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.evidence.canonical import format_time
from ledger.evidence.catalogue import EVENT_TYPES
from ledger.evidence.envelope import SEALED_STAGE_TYPES
from projections import visibility as v
from projections.project_state import project_events
from test_trading import Tender, cst

ROOT = Path(__file__).resolve().parent.parent
SEALED_TYPES = {"project.documents-obtained/v1", "project.security-posted/v1",
                "project.bid-submitted/v1", "project.bid-withdrawn/v1",
                "project.objection-raised/v1", "project.security-refunded/v1",
                "project.bidder-registered/v1"}
EVALUATION_TYPES = {"project.score-submitted/v1", "project.bid-rejected/v1",
                    "project.bid-clarified/v1", "project.evaluation-report-signed/v1",
                    "project.evaluation-report-refused/v1"}
# what the public may ever see of a project: its announcements and its results (法 §16, §45)
PUBLIC_TYPES = {"project.intake/v1", "project.intake-accepted/v1", "project.announced/v1",
                "project.documents-issued/v1", "project.clarification-issued/v1",
                "project.submission-closed/v1", "project.draw-prepared/v1",
                "project.evaluation-reported/v1", "project.candidates-published/v1",
                "project.candidate-declined/v1", "project.candidate-disqualified/v1",
                "project.awarded/v1", "project.contract-signed/v1", "project.draw-disclosed/v1",
                "project.terminated/v1",
                # a listing's (39号令): its announcements, its quotes without who quoted, its
                # result
                "project.listing-announced/v1", "project.reserve-committed/v1",
                "project.quote-submitted/v1", "project.increment-adjusted/v1",
                "project.continuation-requested/v1", "project.listing-closed/v1",
                "project.round-ended/v1", "project.reserve-revealed/v1", "project.no-sale/v1",
                "project.deal-confirmed/v1", "project.result-published/v1"}
# who acted, in a listing's quotes and requests to continue: not to the public, nor, before
# the listing closes, to the seller and the other bidders
QUOTING_TYPES = {"project.quote-submitted/v1", "project.continuation-requested/v1"}
IDENTITY = {*v.ENVELOPE_OF_ACTOR, "payload.bidder"}
STAGE_ORDER = [s for s in v.STAGES if s not in (v.ALWAYS, v.NEVER)]


def test_the_document_is_the_code():
    text = (ROOT / "docs" / "visibility.md").read_text(encoding="utf-8")
    start = text.index("<!-- generated from projections/visibility.py: table_markdown() -->\n")
    end = text.index("<!-- end of generated table -->")
    assert text[start:end].split("\n", 1)[1] == v.table_markdown()


def test_every_project_event_type_has_a_rule():
    project_types = {t for t in EVENT_TYPES if t.startswith("project.")}
    assert set(v.TABLE) == project_types
    for name, rule in v.TABLE.items():
        members = set(EVENT_TYPES[name].fields)
        assert set(rule.members) - {"actor"} <= members, name
        assert set(rule.selves) <= members and (rule.answers is None or rule.answers in members), name


# --- every type × audience × stage, against the law's words --------------------------------

EXPERT = "expert-actor"  # the event's actor, when an expert signs it


def synthetic(type_: str) -> dict:
    """An event of the type, each member a distinct marker (actors by their member's name)."""
    payload = {}
    for name, (kind, _) in EVENT_TYPES[type_].fields.items():
        payload[name] = [f"m-{name}-1", f"m-{name}-2"] if kind == "ids" else \
            f"m-{name}" if kind == "id" else (7 if kind == "count" else f"value-{name}")
    actor = EXPERT if type_ in EVALUATION_TYPES | {"project.evaluation-reported/v1"} else \
        payload.get("bidder", "m-actor")
    return {"type": type_, "stream": "project:P", "version": 9, "prev": "a" * 64, "hash": "b" * 64,
            "actor": actor, "key_id": "k" * 32, "nonce": "n" * 32, "signature": "s",
            "signed_at": "t", "ledger_time": "t", "payload": payload}


def caller_in(audience: str, facts: v.ProjectFacts) -> v.Caller:
    """A caller that belongs to `audience` (and the public) for this project, and is named in
    no event of this test."""
    roles = {v.SUPERVISION: {"supervisor"}, v.OPERATOR: {"operator"}, v.WITNESS: {"witness"}}
    who = f"caller-{audience}"
    if audience == v.PUBLIC:
        return v.Caller()
    {v.WITNESS: facts.witnesses, v.PRINCIPAL: facts.principals, v.BIDDERS: facts.bidders,
     v.COMMITTEE: facts.committee}.get(audience, set()).add(who)
    return v.Caller(who, frozenset(roles.get(audience, set())))


def facts_at(stage: str | None) -> v.ProjectFacts:
    facts = v.ProjectFacts()
    if stage is not None:
        facts.reached |= set(STAGE_ORDER[:STAGE_ORDER.index(stage) + 1])
    return facts


CASES = [(t, a, s) for t in sorted(v.TABLE) for a in v.AUDIENCES for s in [None, *STAGE_ORDER]]


@pytest.mark.parametrize("type_,audience,stage", CASES, ids=["|".join(map(str, c)) for c in CASES])
def test_what_each_audience_receives_at_each_stage(type_, audience, stage):
    facts = facts_at(stage)
    caller = caller_in(audience, facts)
    event = synthetic(type_)
    view = v.project_view(event, caller, facts)
    reached = facts.reached
    shown = json.dumps(view, ensure_ascii=False) if view is not None else ""
    if view is not None:  # what is shown is the event's, or withheld with a reason
        for name, value in view.items():
            if name != v.WITHHELD and value != event[name]:
                assert name in view[v.WITHHELD] or name == "payload", name
    if v.OPENED not in reached:  # 法 §22: no position, and no sealed-stage event, to others
        assert view is None or all(view[m] != event[m] for m in v.POSITION_MEMBERS)
        if type_ in SEALED_TYPES and not (type_ == "project.objection-raised/v1"
                                          and audience == v.PRINCIPAL):
            assert view is None
    # 法 §37: no expert's name, but to the committee and the officers witnessing its evaluation
    if v.FIXED not in reached and audience not in (v.COMMITTEE, v.WITNESS):
        assert EXPERT not in shown
        for member in ("committee", "recused", "replacement"):
            assert f"m-{member}" not in shown
    if type_ in EVALUATION_TYPES and v.REPORTED not in reached and audience != v.COMMITTEE:
        assert view is None  # 法 §44: the evaluation is the committee's until its report
    if audience == v.PUBLIC:
        assert view is None or type_ in PUBLIC_TYPES
        if v.ANNOUNCED not in reached:
            assert view is None  # nothing of a project before it is announced
    if audience == v.SUPERVISION and v.FIXED in reached:
        assert view is not None and v.WITHHELD not in view  # nothing is sealed any more
    # a listing's quotes: who quoted, to none but those who run and watch it, until it closes
    if type_ in QUOTING_TYPES and audience not in (v.OPERATOR, v.SUPERVISION, v.WITNESS) \
            and (v.OPENED not in reached or audience == v.PUBLIC):
        assert "m-bidder" not in shown
        assert view is None or IDENTITY <= set(view[v.WITHHELD])


def test_an_officer_not_assigned_to_the_project_sees_what_the_public_sees():
    for type_ in v.TABLE:
        for stage in [None, *STAGE_ORDER]:
            facts = facts_at(stage)
            stranger = v.Caller("witness-elsewhere", frozenset({"witness"}))
            assert v.project_view(synthetic(type_), stranger, facts) == \
                v.project_view(synthetic(type_), v.Caller(), facts), (type_, stage)


def test_the_actor_and_the_parties_named_see_their_own_events_whole():
    for type_, rule in v.TABLE.items():
        event = synthetic(type_)
        facts = facts_at(None)
        own = v.project_view(event, v.Caller(event["actor"], frozenset()), facts)
        if type_ in SEALED_STAGE_TYPES:  # it signed no version: it learns none (法 §22)
            assert {k: x for k, x in own.items() if k not in v.POSITION_MEMBERS
                    and k != v.WITHHELD} == {k: x for k, x in event.items()
                                             if k not in v.POSITION_MEMBERS}, type_
            assert own[v.WITHHELD] == list(v.POSITION_MEMBERS), type_
        else:
            assert own == event, type_  # position included: it signed the version
        opened = facts_at(v.OPENED)
        assert v.project_view(event, v.Caller(event["actor"], frozenset()), opened) == event
        for member in rule.selves:
            named = v.project_view(event, v.Caller(event["payload"][member]), facts)
            assert named is not None and v.WITHHELD not in named or \
                set(named[v.WITHHELD]) == set(v.POSITION_MEMBERS), (type_, member)


def test_a_refusal_is_shown_to_the_actor_refused_and_as_its_type_allows():
    bid = synthetic("project.bid-submitted/v1")
    action = {k: bid[k] for k in ("actor", "key_id", "nonce", "payload", "signed_at", "stream",
                                  "type")} | {"expected_version": None}
    record = {"type": "refusal.recorded/v1", "actor": "ledger", "version": 3, "prev": "c" * 64,
              "hash": "d" * 64, "payload": {"action": action, "rule": "late-bid"}}
    closed = facts_at(None)
    # before the opening the refused bidder sees its record, but not where in the refusal
    # stream it stands: that version counts the project's refusals (法 §22)
    own = v.refusal_view(record, v.Caller(bid["actor"]), closed)
    assert own["payload"] == record["payload"] and own[v.WITHHELD] == list(v.POSITION_MEMBERS)
    assert all(own[m] != record[m] for m in v.POSITION_MEMBERS)
    for audience in v.AUDIENCES:
        assert v.refusal_view(record, caller_in(audience, closed), closed) is None, audience
    opened = facts_at(v.OPENED)
    assert v.refusal_view(record, v.Caller(bid["actor"]), opened) == record
    assert v.refusal_view(record, caller_in(v.SUPERVISION, opened), opened) == record
    assert v.refusal_view(record, v.Caller(), opened) is None
    # a refused action that names its version: to others, not even that before the opening
    clarification = synthetic("project.clarification-issued/v1")
    placed = {**record, "payload": {**record["payload"], "action": {
        **{k: clarification[k] for k in ("actor", "key_id", "nonce", "payload", "signed_at",
                                         "stream", "type")}, "expected_version": 7}}}
    supervisor = v.refusal_view(placed, caller_in(v.SUPERVISION, closed), closed)
    assert "payload.action.expected_version" in supervisor[v.WITHHELD]
    assert v.WITHHELD in supervisor["payload"]["action"]["expected_version"]
    signer = v.refusal_view(placed, v.Caller(clarification["actor"]), closed)
    assert signer["payload"]["action"]["expected_version"] == 7  # it signed it
    score = synthetic("project.score-submitted/v1")
    scored = {**record, "payload": {**record["payload"], "action": {**action, "type": score["type"],
                                                                    "actor": EXPERT}}}
    reported = facts_at(v.REPORTED)
    assert v.refusal_view(scored, caller_in(v.SUPERVISION, reported), reported) is None  # a name


# --- a listing or online auction (39号令) -------------------------------------------------

def test_a_listing_shows_each_quote_as_it_comes_but_not_who_quoted():
    listing = facts_at(v.ANNOUNCED)  # announced, the listing not closed
    for type_ in QUOTING_TYPES:
        event = synthetic(type_)
        for audience in (v.PUBLIC, v.BIDDERS, v.PRINCIPAL):
            view = v.project_view(event, caller_in(audience, listing), listing)
            assert view is not None and view["ledger_time"] == event["ledger_time"], audience
            assert set(view[v.WITHHELD]) == IDENTITY | set(v.POSITION_MEMBERS), audience
            assert {k: x for k, x in view["payload"].items() if k != "bidder"} == \
                {k: x for k, x in event["payload"].items() if k != "bidder"}  # the price
        for audience in (v.OPERATOR, v.SUPERVISION, v.WITNESS):
            view = v.project_view(event, caller_in(audience, listing), listing)
            assert set(view[v.WITHHELD]) == set(v.POSITION_MEMBERS), audience
        own = v.project_view(event, v.Caller(event["payload"]["bidder"]), listing)
        assert set(own[v.WITHHELD]) == set(v.POSITION_MEMBERS)  # it named no version
        closed = facts_at(v.OPENED)
        for audience in (v.BIDDERS, v.PRINCIPAL, v.OPERATOR):
            assert v.project_view(event, caller_in(audience, closed), closed) == event, audience
        public = v.project_view(event, v.Caller(), closed)
        assert set(public[v.WITHHELD]) == IDENTITY  # the public learns the winner, not who quoted
    # who registered: the bidder itself, then the keepers once the listing closes
    registered = synthetic("project.bidder-registered/v1")
    for audience in v.AUDIENCES:
        assert v.project_view(registered, caller_in(audience, listing), listing) is None, audience
    closed, fixed = facts_at(v.OPENED), facts_at(v.FIXED)
    assert v.project_view(registered, caller_in(v.PRINCIPAL, closed), closed) == registered
    assert v.project_view(registered, caller_in(v.BIDDERS, fixed), fixed) is None


def test_a_listing_reaches_its_milestones_and_its_registered_bidders_are_bidders():
    def event(type_: str, **payload) -> dict:
        return {"type": type_, "version": 1, "payload": payload}

    facts = v.facts_of([event("project.intake/v1", tenderee="seller"),
                        event("project.listing-announced/v1"),
                        event("project.bidder-registered/v1", bidder="buyer-1")])
    assert facts.reached == {v.ANNOUNCED} and v.sealed_positions(facts)
    assert v.BIDDERS in v.audiences(v.Caller("buyer-1", frozenset({"bidder"})), facts)
    assert v.BIDDERS not in v.audiences(v.Caller("buyer-2", frozenset({"bidder"})), facts)
    facts.add(event("project.listing-closed/v1"))
    assert v.OPENED in facts.reached and not v.sealed_positions(facts)
    facts.add(event("project.awarded/v1"))
    facts.add(event("project.result-published/v1"))
    assert facts.reached == {v.ANNOUNCED, v.OPENED, v.FIXED, v.PUBLISHED}


def test_every_state_field_is_fed():
    from dataclasses import fields

    from ledger.procedures.tender import ProjectState

    assert set(v.FEEDS) == {f.name for f in fields(ProjectState)}
    for name, types in v.FEEDS.items():
        assert set(types) <= set(v.TABLE), name
    assert v.ANONYMOUS <= set(v.FEEDS) and not v.ANONYMOUS & v.ACTOR_KEYED


def test_a_listing_state_shows_the_highest_quote_but_not_who_quoted():
    from datetime import datetime, timezone
    from decimal import Decimal

    from ledger.procedures.listing import Quote
    from ledger.procedures.tender import ProjectState

    at = datetime(2025, 6, 1, tzinfo=timezone.utc)
    state = ProjectState(stage="listing", kind="rights", method="listing",
                         starting_price=Decimal("100.00"), increment=Decimal("10.00"),
                         registered={"buyer-1": Decimal("20.00"), "buyer-2": Decimal("20.00")},
                         quotes=[Quote("buyer-1", Decimal("100.00"), at, 5),
                                 Quote("buyer-2", Decimal("110.00"), at, 6)],
                         highest_quote=Decimal("110.00"), quote_count=2)
    naming = {"quotes", "registered", "continuing"}
    listing = facts_at(v.ANNOUNCED)
    for audience in (v.PUBLIC, v.BIDDERS, v.PRINCIPAL):
        shown, withheld = v.state_view(state, caller_in(audience, listing), listing)
        assert shown["highest_quote"] == Decimal("110.00") and shown["quote_count"] == 2
        assert {"starting_price", "increment", "round_ends_at", "stage"} <= shown.keys()
        assert naming <= set(withheld) and "buyer-1" not in repr(shown), audience
    shown, _ = v.state_view(state, caller_in(v.OPERATOR, listing), listing)
    assert {"quotes", "highest_quote", "continuing"} <= shown.keys()
    assert "registered" not in shown  # registrations: from the close, as the keepers' (SEALED)
    closed = facts_at(v.OPENED)
    shown, _ = v.state_view(state, caller_in(v.PRINCIPAL, closed), closed)
    assert naming <= shown.keys()
    shown, withheld = v.state_view(state, caller_in(v.BIDDERS, closed), closed)
    assert {"quotes", "continuing"} <= shown.keys() and "registered" in withheld
    shown, withheld = v.state_view(state, v.Caller(), facts_at(v.FIXED))
    assert naming <= set(withheld) and "highest_quote" in shown


def test_a_listings_deadlines_are_judged_over_its_own_steps():
    """A listing's tracked deadlines (the deposits' refunds, naming bidders; the result's
    publication) are seen by the keepers and the seller once the listing has closed, never
    by the public; a tender's stay judged over every type, so they wait for its evaluation."""
    listing, tender = facts_at(v.ANNOUNCED), facts_at(v.ANNOUNCED)
    listing.listing = True
    for audience in (v.OPERATOR, v.PRINCIPAL, v.PUBLIC):
        assert not v.sees_field("deadlines", caller_in(audience, listing), listing), audience
    for facts in (listing, tender):
        facts.reached |= {v.OPENED, v.FIXED}
    for audience in (v.OPERATOR, v.SUPERVISION, v.WITNESS, v.PRINCIPAL):
        assert v.sees_field("deadlines", caller_in(audience, listing), listing), audience
        assert not v.sees_field("deadlines", caller_in(audience, tender), tender), audience
    assert not v.sees_field("deadlines", v.Caller(), listing)
    assert v.facts_of([{"type": "project.intake/v1", "version": 1,
                        "payload": {"tenderee": "seller", "method": "auction"}}]).listing


# --- a real project, every stage, every caller ---------------------------------------------

@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


def test_no_view_of_a_real_project_names_what_its_caller_may_not_know(world):
    """A tender driven through the ledger to the award, read back after each step by every
    kind of caller: before the opening no bidder is named to anyone but itself, before the
    award no expert is named to anyone but the committee, and the public sees only
    announcements and results."""
    stream = "project:VIS-1"
    tender = Tender(world, stream, category="construction", method="lowest-price",
                    control="50000000.00", bidders=4, experts=5)
    world.register("witness-on", roles=("witness",))
    world.register("witness-off", roles=("witness",))
    world.register("supervisor-1", roles=("supervisor",))
    tender.run(["41000000.00", "40500000.00", "43900000.00", "42000000.00"],
               cst("2025-06-10T09:30:00"))
    world.clock.moment = cst("2025-07-10T09:30:00")
    world.submit(world.actors["operator-1"], stream, "project.witness-assigned/v1",
                 {"officer": "witness-on"})
    events = project_events(world.ledger.recorder, stream)
    bidders = {b.actor for b in tender.bidders}
    experts = {e.actor for e in tender.experts}
    callers = {"public": v.Caller(), "supervisor-1": v.Caller("supervisor-1", frozenset({"supervisor"})),
               "operator-1": v.Caller("operator-1", frozenset({"operator"})),
               "witness-on": v.Caller("witness-on", frozenset({"witness"})),
               "witness-off": v.Caller("witness-off", frozenset({"witness"})),
               "tenderee-1": v.Caller("tenderee-1", frozenset({"tenderee"}))}
    callers |= {b: v.Caller(b, frozenset({"bidder"})) for b in bidders}
    callers |= {e: v.Caller(e, frozenset({"expert"})) for e in experts}
    stages_seen = set()
    for upto in range(1, len(events) + 1):
        known = events[:upto]
        facts = v.facts_of(known)
        stages_seen |= facts.reached
        for name, caller in callers.items():
            views = [view for e in known if (view := v.project_view(e, caller, facts)) is not None]
            text = json.dumps(views, ensure_ascii=False)
            if v.OPENED not in facts.reached:
                assert not (bidders - {name}) & {b for b in bidders if b in text}, (upto, name)
                assert all(view["version"] == {v.WITHHELD: view["version"][v.WITHHELD]}
                           for view in views if view["actor"] != name), (upto, name)
                if name in bidders:  # not even its own: a bid names no version (§6)
                    assert all(v.WITHHELD in view["version"] for view in views), (upto, name)
            signed = {e for x in known if x["actor"] == name for e in experts
                      if e in json.dumps(x["payload"])}  # the platform's draw names them
            if v.FIXED not in facts.reached and name not in facts.committee:
                assert not {e for e in experts - {name} - signed if e in text}, (upto, name)
            if caller.actor is None or name == "witness-off":
                assert {view["type"] for view in views} <= PUBLIC_TYPES, (upto, name)
            for view in views:  # whatever is shown whole is the stored event
                if v.WITHHELD not in view:
                    assert view == known[view["version"] - 1]
    assert stages_seen == set(STAGE_ORDER)
    # after the award, the assigned officer and the supervision body see every event whole
    facts = v.facts_of(events)
    for name in ("witness-on", "supervisor-1"):
        views = [v.project_view(e, callers[name], facts) for e in events]
        assert all(view is not None for view in views), name
        hidden = [view["type"] for view in views if v.WITHHELD in view]
        assert not hidden, (name, hidden)
    # the public: the announcements and the results, nothing of the bids
    public = [v.project_view(e, v.Caller(), facts) for e in events]
    assert {p["type"] for p in public if p} == {t for t in PUBLIC_TYPES
                                               if any(e["type"] == t for e in events)}


def test_no_view_of_a_real_listing_names_who_quoted_before_it_closes(world):
    """A listing driven through the ledger (39号令) to its result, read back after each step
    by every kind of caller: until the listing closes nobody but the bidder itself, the
    operator, the supervision body and the assigned officer learns who registered or quoted
    (the first three learn who quoted, not who registered: a quote names its bidder); the
    public sees each quote's price and the highest quote, never a loser's name; once the
    result is fixed the assigned officer and the supervision body see every event whole."""
    from datetime import timedelta
    from decimal import Decimal

    from ledger.procedures.listing import reserve_commitment
    from projections.project_state import replay
    from projections.reactions import Reactor

    stream, salt = "project:VIS-LISTING", bytes.fromhex("5a" * 32)
    for name, roles in (("witness-on", ("witness",)), ("witness-off", ("witness",)),
                        ("supervisor-1", ("supervisor",)), ("bidder-3", ("bidder",))):
        world.register(name, roles=roles)
    seller, operator = world.actors["tenderee-1"], world.actors["operator-1"]

    def at(text):
        world.clock.moment = cst(text) - timedelta(seconds=1)  # submit moves it one second on

    def quote(bidder, price):
        world.submit(world.actors[bidder], stream, "project.quote-submitted/v1",
                     {"bidder": bidder, "price": price})

    at("2025-03-05T10:00:00")
    world.submit(seller, stream, "project.intake/v1", {
        "title": "虚构森林公园特许经营权", "category": "rights", "tenderee": "tenderee-1",
        "method": "listing"})
    world.submit(operator, stream, "project.intake-accepted/v1", {})
    world.submit(operator, stream, "project.witness-assigned/v1", {"officer": "witness-on"})
    world.submit(seller, stream, "project.listing-announced/v1", {
        "listing_from": format_time(cst("2025-03-26T09:00:00")),
        "listing_until": format_time(cst("2025-04-07T17:00:00")),
        "registration_until": format_time(cst("2025-04-05T17:00:00")),
        "starting_price": "800000000.00", "increment": "1000000.00",
        "deposit": "160000000.00", "countdown_seconds": 300, "asset": "concession"})
    world.submit(seller, stream, "project.reserve-committed/v1", {
        "reserve_commitment": reserve_commitment(Decimal("801500000.00"), salt),
        "decision_hash": "c" * 64})
    for bidder in ("bidder-1", "bidder-2"):
        world.submit(world.actors[bidder], stream, "project.bidder-registered/v1",
                     {"bidder": bidder, "deposit": "160000000.00"})
    at("2025-03-26T09:00:00")
    quote("bidder-1", "800000000.00")
    quote("bidder-2", "801000000.00")
    world.submit(operator, stream, "project.increment-adjusted/v1", {"increment": "500000.00"})
    world.submit(world.actors["bidder-2"], stream, "project.continuation-requested/v1",
                 {"bidder": "bidder-2"})
    world.clock.moment = cst("2025-04-07T17:00:00")  # the listing's end: the ledger closes it
    assert [o[1] for o in Reactor(world.ledger).run()] == ["project.listing-closed/v1"]
    quote("bidder-1", "801500000.00")
    world.clock.advance(minutes=6)
    assert [o[1] for o in Reactor(world.ledger).run()] == ["project.round-ended/v1"]
    world.submit(seller, stream, "project.reserve-revealed/v1",
                 {"reserve": "801500000.00", "salt": salt.hex()})
    world.submit(seller, stream, "project.awarded/v1",
                 {"winner": "bidder-1", "price": "801500000.00"})
    world.submit(seller, stream, "project.deal-confirmed/v1",
                 {"winner": "bidder-1", "confirmation_hash": "f" * 64})
    world.clock.advance(minutes=1)
    Reactor(world.ledger).run()  # bidder-2's deposit, refunded by the ledger
    world.submit(seller, stream, "project.result-published/v1", {})
    events = project_events(world.ledger.recorder, stream)
    assert {"project.security-refunded/v1", "project.result-published/v1"} <= \
        {e["type"] for e in events}

    bidders = {"bidder-1", "bidder-2"}
    callers = {"public": v.Caller(), "supervisor-1": v.Caller("supervisor-1", frozenset({"supervisor"})),
               "operator-1": v.Caller("operator-1", frozenset({"operator"})),
               "witness-on": v.Caller("witness-on", frozenset({"witness"})),
               "witness-off": v.Caller("witness-off", frozenset({"witness"})),
               "tenderee-1": v.Caller("tenderee-1", frozenset({"tenderee"}))}
    callers |= {b: v.Caller(b, frozenset({"bidder"})) for b in (*bidders, "bidder-3")}
    watching = {"supervisor-1", "operator-1", "witness-on"}  # see who quoted as it happens
    for upto in range(1, len(events) + 1):
        known = events[:upto]
        facts = v.facts_of(known)
        state = replay(known, steps=False)[0]
        for name, caller in callers.items():
            views = [view for e in known if (view := v.project_view(e, caller, facts)) is not None]
            text = json.dumps(views, ensure_ascii=False)
            shown, _ = v.state_view(state, caller, facts)
            told = text + repr(shown)
            if v.OPENED not in facts.reached:
                if name not in watching:
                    assert not (bidders - {name}) & {b for b in bidders if b in told}, (upto, name)
                assert all(isinstance(view["version"], dict) for view in views
                           if view["actor"] != name or name in bidders), (upto, name)
            if caller.actor is None or name in ("witness-off", "bidder-3"):
                assert {view["type"] for view in views} <= PUBLIC_TYPES, (upto, name)
                assert "bidder-2" not in told, (upto, name)  # a loser, never named to them
                if v.FIXED not in facts.reached:
                    assert "bidder-1" not in told, (upto, name)
                if state.quote_count:  # the listing shows its highest quote to all
                    assert shown["highest_quote"] == state.highest_quote, (upto, name)
            for view in views:  # whatever is shown whole is the stored event
                if v.WITHHELD not in view:
                    assert view == known[view["version"] - 1]
    facts = v.facts_of(events)
    assert facts.reached == {v.ANNOUNCED, v.OPENED, v.FIXED, v.PUBLISHED}
    assert facts.bidders == bidders
    for name in ("witness-on", "supervisor-1", "tenderee-1"):
        views = [v.project_view(e, callers[name], facts) for e in events]
        hidden = [view["type"] for view in views if view is None or v.WITHHELD in view]
        assert not hidden, (name, hidden)
    public = [v.project_view(e, v.Caller(), facts) for e in events]
    assert {p["type"] for p in public if p} == {t for t in PUBLIC_TYPES
                                               if any(e["type"] == t for e in events)}
