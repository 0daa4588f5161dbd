"""The authority table, exhaustively (ledger/procedures/authority.py; evidence-format §10.1).

Projects are driven through the real ledger, step by step, on a real SQLite store. Before each
step is taken by its rightful signer, it is tried by a fresh actor of every role (a bidder,
an expert, a tenderee, an agent, an operator, a registrar, a witness officer, a supervision
body): each attempt is refused, naming the rule `who-may-act`, and recorded in the project's
refusal stream, unless the role may take the step whoever holds it (a binding `any`). The
rightful signer then takes it. The cases come from the table itself; a step of the table that
no scenario takes fails the test.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Callable

import pytest

from conftest import MovableClock, RawStore, World
from test_trading import cst, h
from ledger.audit.verify import StoreSource, verify
from ledger.errors import RuleRefused
from ledger.evidence.canonical import format_time
from ledger.evidence.catalogue import ROLES
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.procedures.authority import ANY, AUTHORITY
from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash, replacement,
    sealed_bids_digest,
)
from ledger.procedures.refusals import refusal_stream
from projections.project_state import project_events



class Walk:
    """Takes each step after every wrong signer has tried it."""

    def __init__(self, world: World):
        self.world = world
        self.tried: set[str] = set()  # the types whose wrong signers were tried
        self.refused = 0

    def stranger(self, role: str, type_: str) -> ActorSigner:
        name = f"x-{role}-{type_.split('.', 1)[1].split('/')[0]}"
        return self.world.actors.get(name) or self.world.register(name, roles=(role,))

    def step(self, stream: str, when: datetime, actor: str, type_: str, **payload) -> None:
        type_ = f"project.{type_}/v1"
        world = self.world
        world.clock.moment = when
        if type_ not in self.tried:
            self.tried.add(type_)
            authority = AUTHORITY[type_]
            for role in sorted(ROLES):
                if authority.roles.get(role) == ANY:
                    continue  # any holder of the role may take it
                before = world.ledger.stream_version(refusal_stream(stream))
                with pytest.raises(RuleRefused) as caught:
                    world.ledger.submit(world.sign(self.stranger(role, type_), stream, type_,
                                                   payload))
                assert caught.value.details["rule"] == "who-may-act", (type_, role,
                                                                       caught.value.message)
                assert caught.value.details["recorded"], (type_, role)
                assert world.ledger.stream_version(refusal_stream(stream)) == before + 1
                self.refused += 1
        world.clock.moment = when
        signer = world.actors[actor] if actor != LEDGER_ACTOR else world.registrar
        world.ledger.submit(world.sign(signer, stream, type_, payload))


@pytest.fixture
def walk(sqlite_url, tmp_path):
    clock = MovableClock()
    ledger = Ledger.open(sqlite_url, clock=clock, key_path=tmp_path / "ledger.key")
    world = World(ledger, clock, RawStore(sqlite_url), ActorSigner(LEDGER_ACTOR, ledger.key))
    for name, roles in (("tenderee", ("tenderee",)), ("agent", ("agent",)),
                        ("operator", ("operator",)), ("supervisor", ("supervisor",)),
                        ("witness", ("witness",))):
        world.register(name, roles=roles)
    for i in range(1, 6):
        world.register(f"b{i}")
    for i in range(1, 9):
        world.register(f"e{i}", roles=("expert",))
    yield Walk(world)
    ledger.close()


def tender(w: Walk) -> None:
    """A construction tender through every step of the table but the procurement challenge."""
    s, step = "project:AUTH-1", w.step
    pool = [Expert(f"e{i}", "economic" if i == 1 else "technical") for i in range(1, 9)]
    quotas = {"technical": 4, "economic": 1}
    secret = hashlib.sha256(b"the fictional operator secret").digest()
    deadline = cst("2025-06-26T09:30:00")
    step(s, cst("2025-06-02T09:00:00"), "tenderee", "intake", title="权限全表（虚构）",
         category="construction", tenderee="tenderee", agent="agent",
         control_price="10000000.00", method="lowest-price")
    step(s, cst("2025-06-02T10:00:00"), "operator", "intake-accepted")
    step(s, cst("2025-06-02T10:05:00"), "operator", "witness-assigned", officer="witness")
    step(s, cst("2025-06-03T09:00:00"), "agent", "announced",
         documents_from=format_time(cst("2025-06-03T09:00:00")),
         documents_until=format_time(cst("2025-06-10T17:00:00")),
         bid_deadline=format_time(deadline))
    step(s, cst("2025-06-03T09:05:00"), "agent", "documents-issued", document_hash=h("d1"),
         edition=1)
    for i in range(1, 6):
        step(s, cst("2025-06-04T10:00:00") + timedelta(minutes=i), f"b{i}", "documents-obtained",
             bidder=f"b{i}", document_hash=h("d1"))
    step(s, cst("2025-06-05T09:00:00"), "agent", "clarification-issued", document_hash=h("d2"),
         affects_bids=False)
    step(s, cst("2025-06-06T10:00:00"), "b1", "objection-raised", bidder="b1",
         text_hash=h("objection"))
    raised = w.world.ledger.stream_version(s)
    step(s, cst("2025-06-07T10:00:00"), "agent", "objection-answered", objection_version=raised,
         answer_hash=h("answer"))
    step(s, cst("2025-06-09T09:00:00"), "operator", "draw-prepared",
         secret_commitment=commitment(secret), pool_hash=pool_hash(pool),
         exclusions_hash=exclusions_hash([]), quotas=quotas)
    for i in range(1, 6):
        step(s, cst("2025-06-20T10:00:00") + timedelta(minutes=i), f"b{i}", "security-posted",
             bidder=f"b{i}", amount="100000.00", form="guarantee")
        step(s, cst("2025-06-24T10:00:00") + timedelta(hours=i), f"b{i}", "bid-submitted",
             bidder=f"b{i}", bid_hash=h(f"sealed b{i}"))
    step(s, cst("2025-06-25T10:00:00"), "b5", "bid-withdrawn", bidder="b5")
    step(s, deadline, "operator", "submission-closed")
    step(s, deadline, "operator", "opening-convened", host="operator", recorder="operator",
         venue="电子交易平台（虚构）")
    step(s, deadline + timedelta(minutes=1), "b1", "checked-in", bidder="b1")
    step(s, deadline + timedelta(minutes=2), "b2", "opening-objection-raised", bidder="b2",
         text_hash=h("opening"))
    step(s, deadline + timedelta(minutes=3), "agent", "objection-answered",
         objection_version=w.world.ledger.stream_version(s), answer_hash=h("answered"))
    prices = {"b1": "9000000.00", "b2": "9100000.00", "b3": "9200000.00"}
    for i in range(1, 5):
        step(s, deadline + timedelta(minutes=4), f"b{i}", "key-released", bidder=f"b{i}",
             key_hash=h(f"key b{i}"), ip=f"10.0.0.{i}", machine=f"m-b{i}")
    for bidder, price in prices.items():
        step(s, deadline + timedelta(minutes=6), "operator", "bid-decrypted", bidder=bidder,
             ciphertext_hash=h(f"sealed {bidder}"), plaintext_hash=h(f"plain {bidder}"),
             price=price)
    step(s, deadline + timedelta(minutes=7), "operator", "decryption-failed", bidder="b4",
         cause="others", reason="平台解密服务故障（虚构）")
    head = sealed_bids_digest(h(f"sealed b{i}") for i in range(1, 5))
    seed = draw_seed(secret, head)
    committee = draw(seed, pool, set(), quotas)
    step(s, deadline + timedelta(minutes=10), "operator", "experts-drawn",
         committee=[e.id for e in committee], head_hash=head,
         committee_hash=committee_hash(committee))
    out = next(e.id for e in committee if e.category == "technical")
    new = replacement(seed, pool, set(), committee, out)
    step(s, deadline + timedelta(minutes=12), "operator", "expert-replaced", recused=out,
         replacement=new.id, ground="与投标人存在利害关系（虚构）")
    members = [new.id if e.id == out else e.id for e in committee]
    step(s, deadline + timedelta(hours=1), members[0], "score-submitted", bidder="b1", score=80)
    step(s, deadline + timedelta(hours=1), members[0], "bid-clarified", bidder="b2",
         question_hash=h("question"), answer_hash=h("answer"))
    step(s, deadline + timedelta(hours=1), members[0], "bid-rejected", bidder="b3",
         ground="not-responsive")
    step(s, deadline + timedelta(hours=2), members[0], "evaluation-reported",
         ranking=["b1", "b2"], report_hash=h("report 1"))
    for m in members[1:4]:
        step(s, deadline + timedelta(hours=3), m, "evaluation-report-signed",
             report_hash=h("report 1"))
    step(s, deadline + timedelta(hours=3), members[4], "evaluation-report-refused",
         report_hash=h("report 1"))
    published = cst("2025-06-27T09:00:00")
    until = w.world.ledger.procedure.publicity_ends(published)
    step(s, published, "agent", "candidates-published", until=format_time(until))
    step(s, cst("2025-06-27T10:00:00"), "b2", "publicity-objection-raised", bidder="b2",
         text_hash=h("objection to b1"))
    step(s, cst("2025-06-27T15:00:00"), "agent", "objection-answered",
         objection_version=w.world.ledger.stream_version(s), answer_hash=h("answer 2"))
    step(s, cst("2025-06-28T10:00:00"), "b2", "complaint-filed", complainant="b2",
         text_hash=h("complaint"))
    filed = w.world.ledger.stream_version(s)
    step(s, cst("2025-06-30T10:00:00"), "supervisor", "complaint-accepted",
         complaint_version=filed)
    step(s, cst("2025-07-01T10:00:00"), "supervisor", "complaint-decided",
         complaint_version=filed, decision="upheld", text_hash=h("decision"))
    step(s, cst("2025-07-01T11:00:00"), "supervisor", "re-evaluation-ordered",
         text_hash=h("order"), complaint_version=filed)
    step(s, cst("2025-07-02T10:00:00"), members[1], "evaluation-reported",
         ranking=["b1", "b2", "b3"], report_hash=h("report 2"))
    for m in (members[0], *members[2:]):
        step(s, cst("2025-07-02T11:00:00"), m, "evaluation-report-signed",
             report_hash=h("report 2"))
    published = cst("2025-07-03T09:00:00")
    until = w.world.ledger.procedure.publicity_ends(published)
    step(s, published, "agent", "candidates-published", until=format_time(until))
    step(s, cst("2025-07-04T10:00:00"), "b3", "candidate-declined", bidder="b3")
    step(s, cst("2025-07-04T11:00:00"), "agent", "candidate-disqualified", bidder="b2",
         ground="被查实存在影响中标结果的违法行为（虚构）")
    step(s, until + timedelta(hours=9), "agent", "awarded", winner="b1", price=prices["b1"])
    after = until + timedelta(days=1)
    step(s, after, "operator", "draw-disclosed", secret=secret.hex(),
         pool=[e.to_json() for e in pool], exclusions=[])
    step(s, after + timedelta(hours=1), "agent", "supervision-report-filed",
         report_hash=h("written report"))
    step(s, after + timedelta(days=2), "tenderee", "contract-signed", winner="b1",
         contract_hash=h("contract"))
    step(s, after + timedelta(days=3), "operator", "security-refunded", bidder="b2",
         amount="100000.00")
    step(s, after + timedelta(days=3), "witness", "witness-observation", note="开标过程正常（虚构）")
    step(s, after + timedelta(days=3), "witness", "warning-referred", indicator="price-series",
         bidders=["b1", "b2"], supervisor="住建局（虚构）")
    version = w.world.ledger.stream_version(s)
    step(s, after + timedelta(days=4), "operator", "report-issued", kind="full",
         report_id="AUTH-1-full", last_version=version, pdf_hash=h("pdf"),
         evidence_hash=h("evidence"))
    step(s, after + timedelta(days=4), "witness", "report-signed-off", report_id="AUTH-1-full",
         pdf_hash=h("pdf"))
    step(s, after + timedelta(days=5), "operator", "archived")


def procurement_and_short_projects(w: Walk) -> None:
    """A procurement's challenge and its answer; an intake refused; a project terminated."""
    s, step = "project:AUTH-2", w.step
    step(s, cst("2025-09-01T09:00:00"), "tenderee", "intake", title="政府采购（虚构）",
         category="procurement", tenderee="tenderee", agent="agent", control_price="2000000.00")
    step(s, cst("2025-09-01T10:00:00"), "operator", "intake-accepted")
    step(s, cst("2025-09-02T09:00:00"), "agent", "announced",
         documents_from=format_time(cst("2025-09-02T09:00:00")),
         documents_until=format_time(cst("2025-09-11T17:00:00")),
         bid_deadline=format_time(cst("2025-09-25T09:30:00")))
    step(s, cst("2025-09-04T10:00:00"), "b1", "challenge-raised", bidder="b1",
         matter="documents", text_hash=h("challenge"))
    step(s, cst("2025-09-05T10:00:00"), "agent", "challenge-answered",
         challenge_version=w.world.ledger.stream_version(s), answer_hash=h("challenge answer"))
    step("project:AUTH-3", cst("2025-09-01T09:00:00"), "tenderee", "intake", title="x",
         category="construction", tenderee="tenderee")
    step("project:AUTH-3", cst("2025-09-01T10:00:00"), "operator", "intake-refused",
         reason="材料不全（虚构）")
    step("project:AUTH-4", cst("2025-09-01T09:00:00"), "tenderee", "intake", title="x",
         category="construction", tenderee="tenderee")
    step("project:AUTH-4", cst("2025-09-01T10:00:00"), "operator", "intake-accepted")
    step("project:AUTH-4", cst("2025-09-02T10:00:00"), "tenderee", "terminated",
         reason="项目取消（虚构）")


def listing(w: Walk) -> None:
    """A concession sold by listing (39号令): announced, its reserve committed, two bidders
    registered and quoting, one asking to go on, the timed round, the reserve revealed, the
    award, the deal confirmed, a deposit refunded and the result published; then a second
    listing that ends without a quote (no sale). In 2026: ledger time only moves on."""
    from ledger.procedures.listing import reserve_commitment
    from decimal import Decimal

    s, step = "project:AUTH-LIST", w.step
    salt = bytes(range(32))
    step(s, cst("2026-03-03T09:00:00"), "tenderee", "intake", title="特许经营权挂牌（虚构）",
         category="rights", tenderee="tenderee", agent="agent", method="listing")
    step(s, cst("2026-03-03T10:00:00"), "operator", "intake-accepted")
    terms = dict(listing_from=format_time(cst("2026-03-26T09:00:00")),
                 listing_until=format_time(cst("2026-04-07T17:00:00")),
                 registration_until=format_time(cst("2026-04-03T17:00:00")),
                 starting_price="1000.00", increment="10.00", deposit="200.00",
                 countdown_seconds=300, asset="concession")
    step(s, cst("2026-03-04T09:00:00"), "agent", "listing-announced", **terms)
    step(s, cst("2026-03-05T09:00:00"), "tenderee", "reserve-committed",
         reserve_commitment=reserve_commitment(Decimal("1000.00"), salt), decision_hash=h("c"))
    for i, b in enumerate(("b1", "b2")):
        step(s, cst("2026-03-20T09:00:00") + timedelta(minutes=i), b, "bidder-registered",
             bidder=b, deposit="200.00")
    step(s, cst("2026-03-26T10:00:00"), "b1", "quote-submitted", bidder="b1", price="1000.00")
    step(s, cst("2026-03-27T10:00:00"), "operator", "increment-adjusted", increment="20.00")
    step(s, cst("2026-03-28T10:00:00"), "b2", "quote-submitted", bidder="b2", price="1020.00")
    step(s, cst("2026-04-07T16:00:00"), "b1", "continuation-requested", bidder="b1")
    step(s, cst("2026-04-07T17:00:00"), "operator", "listing-closed")
    step(s, cst("2026-04-07T17:01:00"), "b1", "quote-submitted", bidder="b1", price="1040.00")
    step(s, cst("2026-04-07T17:06:00"), "operator", "round-ended")
    step(s, cst("2026-04-07T17:10:00"), "tenderee", "reserve-revealed", reserve="1000.00",
         salt=salt.hex())
    step(s, cst("2026-04-07T17:20:00"), "agent", "awarded", winner="b1", price="1040.00")
    step(s, cst("2026-04-08T09:00:00"), "tenderee", "deal-confirmed", winner="b1",
         confirmation_hash=h("confirmation"))
    step(s, cst("2026-04-09T09:00:00"), "operator", "security-refunded", bidder="b2",
         amount="200.00")
    step(s, cst("2026-04-10T09:00:00"), "agent", "result-published")
    assert w.world.ledger.stream(s).state.refunded == {"b2"}
    s = "project:AUTH-LIST-2"
    step(s, cst("2026-04-13T09:00:00"), "tenderee", "intake", title="无人报价的挂牌（虚构）",
         category="rights", tenderee="tenderee", method="listing")
    step(s, cst("2026-04-13T10:00:00"), "operator", "intake-accepted")
    step(s, cst("2026-04-13T11:00:00"), "tenderee", "listing-announced", **{
        **terms, "listing_from": format_time(cst("2026-05-07T09:00:00")),
        "listing_until": format_time(cst("2026-05-18T17:00:00")),
        "registration_until": format_time(cst("2026-05-15T17:00:00"))})
    step(s, cst("2026-05-18T17:00:00"), "operator", "listing-closed")
    step(s, cst("2026-05-18T17:10:00"), "operator", "no-sale", reason="no-quote")
    assert w.world.ledger.stream(s).state.stage == "failed"


SCENARIOS: list[Callable[[Walk], None]] = [tender, procurement_and_short_projects, listing]


def test_every_step_refuses_every_other_signer_and_records_the_refusal(walk):
    for scenario in SCENARIOS:
        scenario(walk)
    steps = {t for t in AUTHORITY if t.startswith("project.")}
    assert walk.tried == steps, f"steps no scenario takes: {steps - walk.tried}"
    assert walk.refused > 6 * len(AUTHORITY)
    state = walk.world.ledger.stream("project:AUTH-1").state
    assert state.stage == "archived" and state.winner == "b1"
    refusals = project_events(walk.world.ledger.recorder, refusal_stream("project:AUTH-1"))
    assert {e["payload"]["rule"] for e in refusals} == {"who-may-act"}
    assert verify(StoreSource(walk.world.raw.url), workers=1).intact


def test_no_party_acts_for_another_by_the_table_itself():
    """What the law says of the parties, read off the table: a bidder only ever acts for itself;
    an expert only as a sitting member; a tenderee or agent only on its own project; only the
    platform's roles, the supervision body and the witness officers act as any holder."""
    for type_, authority in AUTHORITY.items():
        for role, binding in authority.roles.items():
            if role == "bidder":
                assert binding.startswith("self:"), type_
            elif role == "expert":
                assert binding == "committee", type_
            elif role in ("tenderee", "agent"):
                assert binding != ANY, type_
            else:
                assert role in ("operator", "registrar", "supervisor", "witness"), type_


def test_only_the_ledger_records_a_refusal(walk):
    """refusal.recorded/v1 is the ledger's own: a registrar that is not the ledger, or a
    bidder, is refused (and a refusal is never itself recorded as refused)."""
    from ledger.errors import NotPermitted

    world = walk.world
    world.register("registrar-2", roles=("registrar",))
    action = {"stream": "project:X", "type": "project.bid-submitted/v1", "payload": {},
              "actor": "b1", "key_id": "0" * 32, "expected_version": 0, "nonce": "0" * 32,
              "signed_at": "2025-06-02T01:00:00.000000Z"}
    payload = {"action": action, "signature": "AAAA", "rule": "late-bid", "article": "法 §28",
               "message": "forged"}
    for who in ("registrar-2", "b1"):
        with pytest.raises(NotPermitted, match="ledger itself"):
            world.ledger.submit(world.sign(world.actors[who], "refusal:X", "refusal.recorded/v1",
                                           payload))
    assert world.ledger.stream("refusal:X") is None
