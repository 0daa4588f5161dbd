"""Trading scenarios through the ledger on real stores (SCENARIOS.md figures), refusals as
evidence, and the projections that replay them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import bid
from ledger.audit.verify import StoreSource, verify
from ledger.errors import RuleRefused
from ledger.evidence.canonical import format_time
from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash,
    sealed_bids_digest,
)
from ledger.procedures.refusals import refusal_stream
from projections.follower import Follower
from projections.project_state import ProjectStates, project_events, replay
from projections.statistics import statistics
from projections.warnings import CollusionWatch

CST = timezone(timedelta(hours=8))


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(timezone.utc)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Tender:
    """A project driven through the ledger by its actors, the clock moved to each step."""

    def __init__(self, world, stream: str, *, category: str, method: str, control: str,
                 bidders: int, experts: int):
        self.world, self.stream = world, stream
        w = world
        self.bidders = [w.register(f"{stream[8:]}-b{i}") for i in range(1, bidders + 1)]
        self.experts = [w.register(f"{stream[8:]}-e{i}", roles=("expert",))
                        for i in range(1, experts + 1)]
        self.intake = {"title": "虚构演示项目", "category": category, "tenderee": "tenderee-1",
                       "control_price": control, "method": method}
        self.security = str((Decimal(control) / 100).quantize(Decimal("0.01")))  # 1%
        self.pool = [Expert(e.actor, "economic" if i == 0 else "technical")
                     for i, e in enumerate(self.experts)]
        self.quotas = {"technical": experts - 1, "economic": 1}
        self.secret = hashlib.sha256(stream.encode()).digest()

    def at(self, when: datetime, actor: str, step: str, **payload):
        self.world.clock.moment = when
        signer = self.world.actors[actor]
        receipt, = self.world.ledger.submit(self.world.sign(signer, self.stream,
                                                            f"project.{step}/v1", payload))
        return receipt

    def run(self, prices: list[str], deadline: datetime, *, until: str = "award",
            opening_minutes: int = 5) -> None:
        t = "tenderee-1"
        self.at(deadline - timedelta(days=24), t, "intake", **self.intake)
        self.at(deadline - timedelta(days=24) + timedelta(hours=1), "operator-1", "intake-accepted")
        start = deadline - timedelta(days=22)
        self.at(start, t, "announced", documents_from=format_time(start),
                documents_until=format_time(start + timedelta(days=15)),
                bid_deadline=format_time(deadline))
        self.at(start + timedelta(minutes=5), t, "documents-issued", document_hash=h("docs"),
                edition=1)
        self.at(start + timedelta(days=2), "operator-1", "draw-prepared",
                secret_commitment=commitment(self.secret), pool_hash=pool_hash(self.pool),
                exclusions_hash=exclusions_hash([]), quotas=self.quotas)
        self.head = sealed_bids_digest(h(f"sealed {b.actor}") for b in self.bidders)
        for i, b in enumerate(self.bidders):
            self.at(start + timedelta(days=1, hours=i), b.actor, "documents-obtained",
                    bidder=b.actor, document_hash=h("docs"))
            self.at(deadline - timedelta(days=2, hours=i), b.actor, "security-posted",
                    bidder=b.actor, amount=self.security, form="guarantee")
            self.at(deadline - timedelta(days=1, hours=i), b.actor, "bid-submitted",
                    bidder=b.actor, bid_hash=h(f"sealed {b.actor}"))
        if until == "bids":
            return
        self.at(deadline, "operator-1", "submission-closed")
        for i, b in enumerate(self.bidders):
            self.at(deadline + timedelta(minutes=1), b.actor, "checked-in", bidder=b.actor)
            self.at(deadline + timedelta(minutes=2), b.actor, "key-released", bidder=b.actor,
                    key_hash=h(f"key {b.actor}"))
            self.at(deadline + timedelta(minutes=opening_minutes), "operator-1", "bid-decrypted",
                    bidder=b.actor, ciphertext_hash=h(f"sealed {b.actor}"),
                    plaintext_hash=h(f"plain {b.actor}"), price=prices[i])
        if until == "opened":
            return
        committee = draw(draw_seed(self.secret, self.head), self.pool, set(), self.quotas)
        members = [e.id for e in committee]
        self.at(deadline + timedelta(minutes=20), "operator-1", "experts-drawn",
                committee=members, head_hash=self.head, committee_hash=committee_hash(committee))
        state = self.world.ledger.stream(self.stream).state
        ranking = self.world.ledger.procedure.ranking(state)[:3]
        evaluated = deadline + timedelta(hours=5)
        self.at(evaluated, members[0], "evaluation-reported", ranking=ranking,
                report_hash=h("report"))
        for m in members[1:]:
            self.at(evaluated + timedelta(minutes=30), m, "evaluation-report-signed",
                    report_hash=h("report"))
        published = evaluated + timedelta(days=1)
        until_time = self.world.ledger.procedure.publicity_ends(published)  # 3 full days
        self.at(published, t, "candidates-published", until=format_time(until_time))
        if until == "publicity":
            return
        winner = ranking[0]
        awarded = until_time + timedelta(hours=9)
        self.at(awarded, t, "awarded", winner=winner, price=prices[
            [b.actor for b in self.bidders].index(winner)])
        self.at(awarded + timedelta(hours=1), "operator-1", "draw-disclosed",
                secret=self.secret.hex(), pool=[e.to_json() for e in self.pool], exclusions=[])
        self.at(awarded + timedelta(days=12), t, "contract-signed", winner=winner,
                contract_hash=h("contract"))


def projections(url_or_recorder):
    states, watch = ProjectStates(), CollusionWatch()
    Follower(url_or_recorder, states, watch).follow()
    return states, watch


def test_a_right_sold_by_tender_to_the_highest_price_has_a_premium_not_savings(world):
    """The 九郎山 concession as SCENARIOS.md records it: an open tender won by the highest
    total price, 810,000,000.00 over a reserve of 800,000,000.00: a premium of 1.25%, and no
    (negative) savings rate."""
    tender = Tender(world, "project:JIULANG-T", category="rights", method="highest-price",
                    control="800000000.00", bidders=3, experts=5)
    tender.run(["805000000.00", "810000000.00", "801000000.00"], cst("2025-03-24T09:30:00"))
    states, _ = projections(world.ledger.recorder)
    assert states.states["project:JIULANG-T"].award_price == Decimal("810000000.00")
    group, = statistics(states).values()
    assert group.savings_rate is None and group.premium_rate == Decimal("0.0125")


def test_liling_through_the_ledger_awarded_at_83760800_with_savings_of_49_85_percent(world):
    """醴陵棚户区改造二期: control 167,014,800.00, lowest-price award 83,760,800.00."""
    tender = Tender(world, "project:LILING-2", category="construction", method="lowest-price",
                    control="167014800.00", bidders=5, experts=5)
    prices = ["91234500.00", "83760800.00", "97350250.00", "88100000.00", "86420000.00"]
    tender.run(prices, cst("2025-03-24T09:30:00"))
    states, _ = projections(world.ledger.recorder)
    state = states.states["project:LILING-2"]
    assert state.stage == "contracted" and state.award_price == Decimal("83760800.00")
    assert round(state.savings_rate() * 100, 2) == Decimal("49.85")
    group = statistics(states)[("construction", "2025-03")]
    assert round(group.savings_rate * 100, 2) == Decimal("49.85")
    # the ledger's own state of the stream is the replay of its events
    replayed, transitions = replay(project_events(world.ledger.recorder, "project:LILING-2"))
    assert replayed == world.ledger.stream("project:LILING-2").state == state
    assert [t.type for t in transitions][:3] == ["project.intake/v1", "project.intake-accepted/v1",
                                                  "project.announced/v1"]
    # the intake made the project from nothing: no default of the state is a value it changed
    created = transitions[0].changes
    assert "stage: None → intake" in created and "kind: None → construction" in created
    assert all(" → " in c and c.split(": ", 1)[1].startswith("None → ") for c in created)
    assert verify(StoreSource(world.raw.url), workers=1).intact


def test_a_concession_goes_to_the_highest_price(world):
    """石峰区九郎山森林公园生态旅游特许经营权: awarded at 810,000,000.00 yuan."""
    tender = Tender(world, "project:JIULANG", category="rights", method="highest-price",
                    control="600000000.00", bidders=3, experts=5)
    tender.run(["745000000.00", "810000000.00", "702500000.00"], cst("2025-05-20T09:30:00"))
    state = world.ledger.stream("project:JIULANG").state
    assert state.winner == tender.bidders[1].actor
    assert state.award_price == Decimal("810000000.00")


def test_a_procurement_with_a_no_meeting_opening_of_seven_minutes(world):
    """市区桥梁检测工程 (Luohe): bidders check in online and decrypt; opened in 7 minutes."""
    tender = Tender(world, "project:LUOHE-BRIDGE", category="procurement",
                    method="lowest-price", control="2380000.00", bidders=4, experts=3)
    deadline = cst("2025-06-16T09:00:00")
    tender.run(["2150000.00", "1986000.00", "2074500.00", "2231000.00"], deadline,
               until="opened", opening_minutes=7)
    events = project_events(world.ledger.recorder, "project:LUOHE-BRIDGE")
    opening = [e for e in events if e["type"] in ("project.checked-in/v1",
                                                  "project.bid-decrypted/v1")]
    first = datetime.fromisoformat(opening[0]["ledger_time"])
    last = datetime.fromisoformat(opening[-1]["ledger_time"])
    assert first >= deadline and last - deadline <= timedelta(minutes=7)
    state = world.ledger.stream("project:LUOHE-BRIDGE").state
    assert state.stage == "opened" and len(state.prices) == 4 and state.kind == "procurement"


def test_a_late_bid_is_refused_naming_its_rule_and_recorded_signed_by_the_ledger(world):
    world.open_project("project:LATE-1")
    deadline = world.ledger.stream("project:LATE-1").state.bid_deadline
    world.clock.moment = deadline + timedelta(seconds=1)
    bidder = world.actors["bidder-1"]
    signed = world.sign(bidder, "project:LATE-1", "project.bid-submitted/v1",
                        {"bidder": "bidder-1", "bid_hash": h("late")})
    with pytest.raises(RuleRefused) as refused:
        world.ledger.submit(signed)
    assert refused.value.details["rule"] == "late-bid" and refused.value.details["recorded"]
    assert "法 §28" in refused.value.message
    assert world.ledger.stream_version("project:LATE-1") == 4  # the project did not move
    record = project_events(world.ledger.recorder, refusal_stream("project:LATE-1"))
    # (project_events reads any stream by name)
    assert len(record) == 1 and record[0]["actor"] == "ledger"
    payload = record[0]["payload"]
    assert payload["action"] == signed.action.to_json() and payload["rule"] == "late-bid"
    assert verify(StoreSource(world.raw.url), workers=1).intact


def test_a_bid_for_another_bidder_or_out_of_order_is_refused_naming_its_rule_and_recorded(world):
    """A refusal names the rule actually broken and is evidence whatever the reason: who may
    act, the order of the procedure, or a period."""
    world.open_project("project:WHO-1")
    deadline = world.ledger.stream("project:WHO-1").state.bid_deadline
    b1, b2 = world.actors["bidder-1"], world.actors["bidder-2"]
    world.clock.moment = deadline - timedelta(days=1)
    world.ledger.submit(world.sign(b1, "project:WHO-1", "project.bid-submitted/v1",
                                   bid("bidder-1")))
    tries = [
        (world.sign(b2, "project:WHO-1", "project.bid-withdrawn/v1", {"bidder": "bidder-1"}),
         "who-may-act"),
        (world.sign(b2, "project:WHO-1", "project.bid-submitted/v1", bid("bidder-1", 7)),
         "who-may-act"),
        (world.sign(world.actors["operator-1"], "project:WHO-1", "project.experts-drawn/v1",
                    {"committee": ["e-1"], "head_hash": "0" * 64, "committee_hash": "0" * 64}),
         "procedure-order"),
    ]
    for signed, rule in tries:
        with pytest.raises(RuleRefused) as refused:
            world.ledger.submit(signed)
        assert refused.value.details["rule"] == rule and refused.value.details["recorded"]
    record = project_events(world.ledger.recorder, refusal_stream("project:WHO-1"))
    assert [e["payload"]["rule"] for e in record] == [rule for _, rule in tries]
    assert world.ledger.stream("project:WHO-1").state.bids == {"bidder-1": f"{0:064x}"}
    assert verify(StoreSource(world.raw.url), workers=1).intact


def test_a_failed_tender_after_withdrawals_owes_each_security_back_once(world):
    """A bidder that withdrew, then a tender that fails: its refund falls due twice over, and
    the ledger's reactions refund each security once, with nothing refused."""
    from projections.reactions import Reactor

    world.open_project("project:FAIL-1")
    deadline = world.ledger.stream("project:FAIL-1").state.bid_deadline
    world.clock.moment = deadline - timedelta(days=2)
    for name in ("bidder-1", "bidder-2"):
        signer = world.actors[name]
        world.submit(signer, "project:FAIL-1", "project.security-posted/v1",
                     {"bidder": name, "amount": "100000.00", "form": "guarantee"})
        world.submit(signer, "project:FAIL-1", "project.bid-submitted/v1", bid(name))
    world.submit(world.actors["bidder-1"], "project:FAIL-1", "project.bid-withdrawn/v1",
                 {"bidder": "bidder-1"})
    world.clock.moment = deadline
    world.submit(world.actors["operator-1"], "project:FAIL-1", "project.submission-closed/v1", {})
    reactor, outcomes = Reactor(world.ledger), []
    for _ in range(2):
        outcomes += reactor.run()
        world.clock.advance(minutes=1)
    assert outcomes == [("project:FAIL-1", "project.security-refunded/v1", "recorded")] * 2
    # the re-tender: bidder-1 posts security again and the round fails again; its second
    # security is a refund of its own, not the first one's again
    world.clock.advance(days=1)
    now = world.clock.now()
    world.submit(world.actors["tenderee-1"], "project:FAIL-1", "project.announced/v1", {
        "documents_from": format_time(now), "documents_until": format_time(now + timedelta(days=7)),
        "bid_deadline": format_time(now + timedelta(days=25))})
    world.submit(world.actors["tenderee-1"], "project:FAIL-1", "project.documents-issued/v1",
                 {"document_hash": "e" * 64, "edition": 1})
    world.submit(world.actors["bidder-1"], "project:FAIL-1", "project.security-posted/v1",
                 {"bidder": "bidder-1", "amount": "100000.00", "form": "guarantee"})
    world.clock.advance(days=26)
    again = []
    for _ in range(2):
        again += reactor.run()
        world.clock.advance(minutes=1)
    assert sorted(again) == [("project:FAIL-1", "project.security-refunded/v1", "recorded"),
                             ("project:FAIL-1", "project.submission-closed/v1", "recorded")]
    state = world.ledger.stream("project:FAIL-1").state
    assert state.stage == "failed" and state.refunded == {"bidder-1", "bidder-2"}
    assert world.ledger.stream("refusal:FAIL-1") is None  # the ledger refused itself nothing


def test_refusals_are_bounded_per_actor_project_and_day(world):
    world.open_project("project:FLOOD-1")
    deadline = world.ledger.stream("project:FLOOD-1").state.bid_deadline
    world.clock.moment = deadline + timedelta(hours=1)
    bidder = world.actors["bidder-1"]
    recorded = []
    for n in range(23):
        signed = world.sign(bidder, "project:FLOOD-1", "project.bid-submitted/v1",
                            {"bidder": "bidder-1", "bid_hash": h(f"flood {n}")})
        with pytest.raises(RuleRefused) as refused:
            world.ledger.submit(signed)
        recorded.append(refused.value.details["recorded"])
    assert recorded == [True] * 20 + [False] * 3
    assert world.ledger.stream_version(refusal_stream("project:FLOOD-1")) == 20


def test_projections_rebuild_from_zero_identically_and_warn_only_on_colluders(tmp_path):
    from api.simulate import simulate
    from ledger.ledger import Ledger
    from ledger.log.checkpoints import CheckpointPolicy

    url = f"sqlite:{tmp_path / 'sim.db'}"
    ledger = Ledger.open(url, key_path=tmp_path / "k",
                         checkpoints=CheckpointPolicy(1000, float("inf")))
    result = simulate(ledger, projects=20, seed=7, batch=50)
    assert result.refused > 0
    first_states, first_watch = projections(ledger.recorder)
    again_states, again_watch = projections(ledger.recorder)
    assert first_states.states == again_states.states
    # one project at a time from the store (as `stats` reads it): the same states and groups
    from projections.project_state import each_project
    from projections.statistics import grouped

    one_by_one = list(each_project(ledger.recorder))
    assert {stream: state for stream, state, _ in one_by_one} == first_states.states
    assert {s: a for s, _, a in one_by_one if a} == first_states.awarded_at
    assert grouped(one_by_one) == statistics(first_states)
    assert first_watch.all_warnings() == again_watch.all_warnings()
    warned = first_watch.all_warnings()
    assert warned, "the simulation plants colluders"
    for project, items in warned.items():
        facts = first_watch.facts[project]
        for w in items:
            machines = {m for b in w.bidders for m in facts[b]["machines"]}
            assert machines == {"m-shared"}, (project, w)  # only the planted groups
    from projections.reactions import Reactor

    assert Reactor(ledger).due() == []  # the simulation leaves nothing owed
    ledger.close()
    assert json.dumps(sorted(warned))  # the project names serialise


def test_the_ledger_closes_submission_and_refunds_security_itself_when_due(world):
    """No one applies: at the deadline the ledger closes submission; after the contract it
    refunds every security that is owed (Xiangxi's practice), once."""
    from projections.reactions import Reactor

    tender = Tender(world, "project:XX-REFUND", category="construction", method="lowest-price",
                    control="50000000.00", bidders=3, experts=5)
    deadline = cst("2025-07-01T09:30:00")
    reactor = Reactor(world.ledger)
    world.clock.moment = deadline - timedelta(days=30)
    assert reactor.due() == []
    tender.run(["41000000.00", "40500000.00", "43900000.00"], deadline)
    state = world.ledger.stream("project:XX-REFUND").state
    assert state.stage == "contracted" and not state.refunded
    outcomes = reactor.run()
    assert [o[2] for o in outcomes] == ["recorded"] * 3
    state = world.ledger.stream("project:XX-REFUND").state
    assert state.refunded == {b.actor for b in tender.bidders}
    assert all(d.kept for d in state.deadlines if d.rule.startswith("security-refund"))
    assert Reactor(world.ledger).run() == []  # nothing is refunded twice
    refunds = [e for e in project_events(world.ledger.recorder, "project:XX-REFUND")
               if e["type"] == "project.security-refunded/v1"]
    assert {e["actor"] for e in refunds} == {"ledger"}


def test_the_ledger_closes_submission_at_the_deadline(world):
    from projections.reactions import Reactor

    world.open_project("project:XX-CLOSE")
    for b in ("bidder-1", "bidder-2"):
        world.submit(world.actors[b], "project:XX-CLOSE", "project.bid-submitted/v1",
                     {"bidder": b, "bid_hash": h(b)})
    deadline = world.ledger.stream("project:XX-CLOSE").state.bid_deadline
    world.clock.moment = deadline - timedelta(microseconds=1)
    reactor = Reactor(world.ledger)  # one reactor following on: no event comes in between
    assert reactor.due() == []
    world.clock.moment = deadline
    assert reactor.run() == [("project:XX-CLOSE", "project.submission-closed/v1", "recorded")]
    assert reactor.due() == [] and reactor.watched == set()  # closed: nothing more comes due
    assert world.ledger.stream("project:XX-CLOSE").state.stage == "failed"  # two bids: 流标


def forged_dossier(dossier: Path, out: Path, members: dict[str, bytes | None],
                   manifest_change=None) -> Path:
    """A copy of a dossier with members replaced (None: removed) and the manifest's digests
    made to fit, as a careful forger would, then `manifest_change` applied to the manifest."""
    import zipfile

    with zipfile.ZipFile(dossier) as z:
        changed = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(changed["manifest.json"])
    for name, data in members.items():
        if data is None:
            del changed[name]
            del manifest["members"][name]
        else:
            changed[name] = data
            manifest["members"][name] = hashlib.sha256(data).hexdigest()
    if manifest_change is not None:
        manifest_change(manifest)
    changed["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in changed.items():
            z.writestr(name, data)
    return out


def test_a_dispute_dossier_checks_out_offline_and_any_change_is_caught(world, tmp_path):
    import zipfile

    from ledger.errors import BadNote
    from ledger.log.checkpoints import log_verifier
    from ledger.log.proofs import log_identity
    from projections.dossier import check_dossier, write_dossier

    tender = Tender(world, "project:DISPUTE-1", category="construction", method="lowest-price",
                    control="20000000.00", bidders=3, experts=5)
    tender.run(["15000000.00", "14500000.00", "16900000.00"], cst("2025-08-01T09:30:00"))
    world.clock.moment = cst("2025-08-01T09:30:00") + timedelta(minutes=2)
    late = world.sign(world.actors[tender.bidders[0].actor], "project:DISPUTE-1",
                      "project.bid-submitted/v1", {"bidder": tender.bidders[0].actor,
                                                   "bid_hash": h("late")})
    with pytest.raises(RuleRefused):
        world.ledger.submit(late)
    world.ledger.checkpoint()
    out = tmp_path / "dossier.zip"
    manifest = write_dossier(world.ledger.recorder, "project:DISPUTE-1", out, about=[8, 14])
    log = log_verifier(*log_identity(world.ledger.recorder))
    result = check_dossier(out, log)
    assert result["events"] == manifest["events"] and len(result["actors"]) == 3 + 5 + 2
    with zipfile.ZipFile(out) as z:
        assert "refusals.completeness.json" in z.namelist()
        members = {n: z.read(n) for n in z.namelist()}

    def rewritten(name: str, change) -> Path:
        return forged_dossier(out, tmp_path / f"changed-{len(list(tmp_path.iterdir()))}.zip",
                              {name: change(members[name])})

    def drop_event(data: bytes) -> bytes:
        proof = json.loads(data)
        proof["events"].pop(6)
        return json.dumps(proof).encode()

    def rewrite_replay(data: bytes) -> bytes:
        steps = json.loads(data)
        steps[-1]["actor"] = "someone-else"
        return json.dumps(steps).encode()

    def move_a_position(data: bytes) -> bytes:  # the bid placed after a later revocation
        receipts = json.loads(data)
        receipts["project:DISPUTE-1"][6]["position"] += 1000
        return json.dumps(receipts).encode()

    def swap_receipts(data: bytes) -> bytes:
        receipts = json.loads(data)
        mine = receipts["project:DISPUTE-1"]
        mine[5], mine[6] = mine[6], mine[5]
        return json.dumps(receipts).encode()

    # a dossier of the earlier format (v1) still checks out, its replay judged by the wording
    # it was written in (the intake's changes from the state's defaults); not by the other
    from projections.dossier import _replay_json

    events = [json.loads(e) for e in json.loads(members["project.completeness.json"])["events"]]
    assert json.loads(members["replay.json"]) == _replay_json(events)

    def as_v1(manifest: dict) -> None:
        manifest["format"] = "sunledger-dossier/v1"

    earlier = json.dumps(_replay_json(events, wording=1)).encode()
    assert check_dossier(forged_dossier(out, tmp_path / "v1.zip", {"replay.json": earlier},
                                        as_v1), log)["events"] == manifest["events"]
    with pytest.raises(BadNote):  # a v1 manifest over today's replay: not what v1 wrote
        check_dossier(forged_dossier(out, tmp_path / "v1-mixed.zip", {}, as_v1), log)
    with pytest.raises(BadNote):  # today's manifest over v1's replay
        check_dossier(forged_dossier(out, tmp_path / "v2-mixed.zip", {"replay.json": earlier}), log)
    for form in (["sunledger-dossier/v1"], {"v": 1}, None, "sunledger-dossier/v3"):
        with pytest.raises(BadNote, match="unknown dossier format"):  # said so, whatever it is
            check_dossier(forged_dossier(out, tmp_path / f"form-{len(list(tmp_path.iterdir()))}.zip",
                                         {}, lambda m: m.update(format=form)), log)
    for name, change in [("project.completeness.json", drop_event),
                         ("receipts.json", move_a_position), ("receipts.json", swap_receipts),
                         ("receipts.json", lambda d: b"{}"),
                         ("replay.json", rewrite_replay),
                         ("about/8.tlog-proof", lambda d: re.sub(
                             rb"index (\d+)", lambda m: b"index %d" % (int(m.group(1)) + 1), d))]:
        with pytest.raises(BadNote):
            check_dossier(rewritten(name, change), log)


def test_a_dossier_judges_each_signers_key_as_of_the_events_position(world, tmp_path):
    """evidence-format §17.5, §11.4: a bid and the revocation of its key recorded in the same
    instant (one ledger time): by position the bid came first, so it holds in the dossier as
    it does in the verifier; the same bid placed after the revocation does not."""
    import zipfile

    from ledger.audit.verify import StoreSource, verify
    from ledger.errors import BadNote
    from ledger.log.checkpoints import log_verifier
    from ledger.log.proofs import log_identity
    from projections.dossier import check_dossier, write_dossier

    stream = "project:SAME-INSTANT-1"
    world.open_project(stream)
    bidder = world.actors["bidder-1"]
    world.ledger.submit(world.sign(bidder, stream, "project.bid-submitted/v1", bid("bidder-1")))
    world.ledger.submit(world.sign(world.registrar, "actor:bidder-1", "actor.key-revoked/v1",
                                   {"key_id": bidder.key.key_id, "reason": "证书挂失（虚构）"}))
    times = [t for (t,) in world.raw.execute(
        f"SELECT ledger_time FROM {world.raw.receipts} ORDER BY position DESC LIMIT 2")]
    assert times[0] == times[1]  # the same instant
    world.ledger.checkpoint()
    assert verify(StoreSource(world.raw.url), workers=1).intact
    out = tmp_path / "dossier.zip"
    write_dossier(world.ledger.recorder, stream, out)
    log = log_verifier(*log_identity(world.ledger.recorder))
    assert check_dossier(out, log)["events"] == 5
    with zipfile.ZipFile(out) as z:
        receipts = json.loads(z.read("receipts.json"))
    revoked_at = receipts["actor:bidder-1"][-1]["position"]
    assert receipts[stream][4]["position"] == revoked_at - 1
    # an insider with the ledger key receipts the bid at a position after the revocation
    from ledger.evidence.canonical import canonical_json
    from ledger.evidence.receipts import receipt_body

    late = dict(receipts[stream][4], position=revoked_at + 1)
    late["signature"] = base64.b64encode(world.ledger.key.sign(canonical_json(receipt_body(
        late["event_hash"], stream, 5, late["position"], late["ledger_time"])))).decode()
    receipts[stream][4] = late
    forged = forged_dossier(out, tmp_path / "forged.zip",
                            {"receipts.json": json.dumps(receipts).encode()})
    with pytest.raises(BadNote, match="revoked"):
        check_dossier(forged, log)


def test_a_dossier_before_the_award_keeps_the_committee_confidential(world, tmp_path):
    """法 §37: a dossier built during the publicity carries no committee member's
    registration (its name and organisation); its check still proves every event in the log,
    and a forger cannot mark a bidder as withheld to skip its signature."""
    import zipfile

    from ledger.errors import BadNote
    from ledger.log.checkpoints import log_verifier
    from ledger.log.proofs import log_identity
    from projections.dossier import check_dossier, write_dossier

    tender = Tender(world, "project:SECRET-1", category="construction", method="lowest-price",
                    control="20000000.00", bidders=3, experts=5)
    tender.run(["15000000.00", "14500000.00", "16900000.00"], cst("2025-08-01T09:30:00"),
               until="publicity")
    world.ledger.checkpoint()
    out = tmp_path / "dossier.zip"
    manifest = write_dossier(world.ledger.recorder, "project:SECRET-1", out)
    experts = {e.actor for e in tender.experts}
    with zipfile.ZipFile(out) as z:
        text = b"".join(z.read(n) for n in z.namelist())
    for expert in experts:
        assert f"Fictional {expert}".encode() not in text  # its registered name
        assert f"actors/{expert}.completeness.json" not in manifest["members"]
    log = log_verifier(*log_identity(world.ledger.recorder))
    result = check_dossier(out, log)
    assert set(result["withheld"]) == experts and result["unchecked"] > 0
    assert not set(result["actors"]) & experts

    # a forged manifest that withholds a bidder's registration does not pass
    bidder = tender.bidders[0].actor
    forged = forged_dossier(out, tmp_path / "forged.zip",
                            {f"actors/{bidder}.completeness.json": None},
                            lambda m: m["withheld"].append(bidder))
    with pytest.raises(BadNote, match="registration of .* is not in the dossier"):
        check_dossier(forged, log)


def test_a_changed_draw_input_is_noticed_by_the_verifier_and_by_judging_again(world):
    """The pool disclosed after the award is changed behind the ledger's back (plain SQL),
    even rehashed: the verifier finds the broken signature, and judging the project's events
    again finds that the draw no longer replays to the recorded committee."""
    from ledger.evidence.canonical import canonical_json
    from ledger.evidence.envelope import event_hash, stream_uuid
    from projections.project_state import rejudge

    tender = Tender(world, "project:DRAW-1", category="construction", method="lowest-price",
                    control="30000000.00", bidders=3, experts=5)
    tender.run(["25000000.00", "24100000.00", "26000000.00"], cst("2025-09-01T09:30:00"))
    events = project_events(world.ledger.recorder, "project:DRAW-1")
    assert rejudge(events) is None
    disclosed = next(e for e in events if e["type"] == "project.draw-disclosed/v1")
    disclosed["payload"]["pool"][0]["category"] = "technical"  # another pool
    disclosed["hash"] = event_hash(disclosed)
    world.raw.set_state(stream_uuid("project:DRAW-1"), disclosed["version"],
                        canonical_json(disclosed))
    report = verify(StoreSource(world.raw.url), workers=1)
    assert "bad_signature" in {f.kind for f in report.findings}
    found = rejudge(project_events(world.ledger.recorder, "project:DRAW-1"))
    assert found is not None and "draw-disclosed" in found and "pool" in found


def test_the_statistics_count_a_failed_tender_by_the_month_it_closed(world):
    """A tender that closes without enough bids is a result fixed (流标): the public
    statistics count it in `failed`, by the month it closed in China time; a project still
    open is not counted at all."""
    from projections.project_state import concluded_projects
    from projections.statistics import as_rows, grouped

    world.open_project("project:FAIL-2")
    world.open_project("project:OPEN-2")
    deadline = world.ledger.stream("project:FAIL-2").state.bid_deadline
    world.clock.moment = deadline
    world.submit(world.actors["operator-1"], "project:FAIL-2", "project.submission-closed/v1", {})
    concluded = list(concluded_projects(world.ledger.recorder))
    assert [stream for stream, _, _ in concluded] == ["project:FAIL-2"]
    month = (deadline + timedelta(hours=8)).strftime("%Y-%m")  # China time
    assert as_rows(grouped(concluded)) == [{
        "category": "construction", "month": month, "projects": 1, "awarded": 0, "failed": 1,
        "control_total": "0", "award_total": "0", "savings_rate": None}]
