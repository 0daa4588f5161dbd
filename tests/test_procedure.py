"""The procedure on its own (pure): the Liling scenario from intake to refunds, and the rules
at their boundaries. The ledger's use of it is tested in test_trading.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ledger.errors import RuleRefused
from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash,
    replacement, sealed_bids_digest,
)
from ledger.procedures.tender import Procedure, ProjectState, Step

CST = timezone(timedelta(hours=8))
ROLES = {"tenderee-liling": {"tenderee"}, "operator-zz": {"operator"}, "ledger": {"registrar"},
         "supervisor-zz": {"supervisor"}, "witness-zz": {"witness"}, "witness-zz-2": {"witness"}}
BIDDERS = [f"bidder-{i}" for i in range(1, 6)]
EXPERTS = [f"expert-{i}" for i in range(1, 6)]
PRICES = ["83760800.00", "91234500.00", "88100000.00", "97350250.00", "86420000.00"]


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(timezone.utc)


def t(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Project:
    """A project's state driven step by step, the way the ledger drives it."""

    def __init__(self, procedure: Procedure | None = None):
        self.procedure = procedure or Procedure()
        self.state = ProjectState()
        self.version = 0
        self.organisations: dict[str, str] = {}  # as registered; none known by default

    def step(self, type_: str, actor: str, at: datetime, **payload) -> None:
        roles = ROLES.get(actor) or ({"bidder"} if actor.startswith("bidder") else {"expert"})
        trial = self.state.copy()
        self.procedure.run(trial, Step(f"project.{type_}/v1", payload, actor, frozenset(roles),
                                       at, self.version + 1,
                                       organisation_of=self.organisations.get,
                                       roles_of=lambda a: frozenset(ROLES[a]) if a in ROLES else None))
        self.state, self.version = trial, self.version + 1


DEADLINE = cst("2025-03-24T09:30:00")
POOL = [Expert(e, "economic" if i == 0 else "technical") for i, e in enumerate(EXPERTS)]
QUOTAS = {"technical": 4, "economic": 1}
SECRET = b"the operator's secret for the fictional Liling draw"
HEAD = sealed_bids_digest(f"{i + 1:064x}" for i in range(len(BIDDERS)))
DRAWN = draw(draw_seed(SECRET, HEAD), POOL, set(), QUOTAS)
PREPARED = dict(secret_commitment=commitment(SECRET), pool_hash=pool_hash(POOL),
                exclusions_hash=exclusions_hash([]), quotas=QUOTAS)
DRAW = dict(committee=[e.id for e in DRAWN], head_hash=HEAD, committee_hash=committee_hash(DRAWN))
DISCLOSED = dict(secret=SECRET.hex(), pool=[e.to_json() for e in POOL], exclusions=[])


def refused_by(rule: str, project: Project, type_: str, actor: str, at, **payload) -> None:
    """The step is refused, naming `rule`."""
    with pytest.raises(RuleRefused) as caught:
        project.step(type_, actor, at, **payload)
    assert caught.value.details["rule"] == rule, caught.value.message


def judged(ok: bool, match: str, step) -> None:
    """Run a step the rules allow (ok), or one they refuse with `match` in the message."""
    if ok:
        step()
    else:
        with pytest.raises(RuleRefused, match=match):
            step()


def open_bids(p: Project, prices: list[str]) -> None:
    """Close submission at the deadline; each bidder releases its key and its bid is opened."""
    p.step("submission-closed", "operator-zz", DEADLINE)
    for i, bidder in enumerate(BIDDERS):
        p.step("key-released", bidder, DEADLINE + timedelta(minutes=2), bidder=bidder,
               key_hash=f"{i + 21:064x}")
        p.step("bid-decrypted", "operator-zz", DEADLINE + timedelta(minutes=5), bidder=bidder,
               ciphertext_hash=f"{i + 1:064x}", plaintext_hash=f"{i + 11:064x}", price=prices[i])


def complain_about_the_result(p: Project) -> int:
    """bidder-3 objects to the candidates, is answered the same day, and complains; the
    complaint's version."""
    p.step("publicity-objection-raised", "bidder-3", cst("2025-03-26T10:00:00"),
           bidder="bidder-3", text_hash="7" * 64)
    p.step("objection-answered", "tenderee-liling", cst("2025-03-26T16:00:00"),
           objection_version=p.version, answer_hash="6" * 64)
    p.step("complaint-filed", "bidder-3", cst("2025-03-27T10:00:00"), complainant="bidder-3",
           text_hash="9" * 64)
    return p.version


def liling_until(stage: str) -> Project:
    p = Project()
    p.step("intake", "tenderee-liling", cst("2025-03-01T09:00:00"),
           title="醴陵市棚户区改造二期工程（虚构演示）", category="construction",
           tenderee="tenderee-liling", control_price="167014800.00", method="lowest-price")
    p.step("intake-accepted", "operator-zz", cst("2025-03-01T10:00:00"))
    p.step("announced", "tenderee-liling", cst("2025-03-03T09:00:00"),
           documents_from=t(cst("2025-03-03T09:00:00")),
           documents_until=t(cst("2025-03-10T17:00:00")), bid_deadline=t(DEADLINE))
    p.step("documents-issued", "tenderee-liling", cst("2025-03-03T09:00:00"), edition=1,
           document_hash="a" * 64)
    if stage == "documents":
        return p
    p.step("draw-prepared", "operator-zz", cst("2025-03-05T09:00:00"), **PREPARED)
    if stage == "announced":
        return p
    for i, bidder in enumerate(BIDDERS):
        p.step("documents-obtained", bidder, cst("2025-03-04T10:00:00") + timedelta(hours=i),
               bidder=bidder, document_hash="a" * 64)
        p.step("security-posted", bidder, cst("2025-03-20T10:00:00"), bidder=bidder,
               amount="800000.00", form="guarantee")
        p.step("bid-submitted", bidder, cst("2025-03-23T10:00:00") + timedelta(hours=i),
               bidder=bidder, bid_hash=f"{i + 1:064x}")
    if stage == "bids":
        return p
    open_bids(p, PRICES)
    p.step("experts-drawn", "operator-zz", DEADLINE + timedelta(minutes=10), **DRAW)
    if stage == "opened":
        return p
    p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-5", "bidder-3"], report_hash="e" * 64)
    for expert in EXPERTS[1:]:
        p.step("evaluation-report-signed", expert, cst("2025-03-24T15:30:00"),
               report_hash="e" * 64)
    p.step("candidates-published", "tenderee-liling", cst("2025-03-25T09:00:00"),
           until=t(cst("2025-03-29T00:00:00")))  # 26, 27, 28 March: to 28 March 24:00
    if stage == "publicity":
        return p
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price="83760800.00")
    p.step("contract-signed", "tenderee-liling", cst("2025-04-10T10:00:00"),
           winner="bidder-1", contract_hash="f" * 64)
    return p


def test_liling_ends_awarded_at_83760800_with_a_savings_rate_of_49_85_percent():
    p = liling_until("contracted")
    assert p.state.stage == "contracted" and p.state.winner == "bidder-1"
    assert p.state.award_price == Decimal("83760800.00")
    assert round(p.state.savings_rate() * 100, 2) == Decimal("49.85")
    contract = next(d for d in p.state.deadlines if d.rule == "contract")
    assert contract.kept is True
    due = p.procedure.refunds_due(p.state)
    assert sorted(b for b, _ in due) == BIDDERS  # five days after the contract
    assert all(when == cst("2025-04-16T00:00:00") for _, when in due)  # 10 + 5 → 15 April 24:00


def test_a_bid_one_second_after_the_deadline_is_refused_naming_its_rule():
    p = liling_until("bids")
    with pytest.raises(RuleRefused) as refused:
        p.step("bid-submitted", "bidder-1", DEADLINE + timedelta(seconds=1),
               bidder="bidder-1", bid_hash="9" * 64)
    assert refused.value.details == {"rule": "late-bid", "article": "法 §28; 条例 §36"}
    p.step("bid-submitted", "bidder-1", DEADLINE - timedelta(microseconds=1),
           bidder="bidder-1", bid_hash="9" * 64)  # the last allowed instant


def test_opening_before_the_deadline_is_refused():
    p = liling_until("bids")
    with pytest.raises(RuleRefused, match="opening-at-deadline"):
        p.step("submission-closed", "operator-zz", DEADLINE - timedelta(microseconds=1))
    p.step("submission-closed", "operator-zz", DEADLINE)
    assert p.state.stage == "closed"


def test_a_score_from_an_expert_not_on_the_committee_is_refused():
    p = liling_until("opened")
    with pytest.raises(RuleRefused, match="sitting on this project's committee.*who-may-act"):
        p.step("score-submitted", "expert-9", DEADLINE + timedelta(hours=1),
               bidder="bidder-1", score="90")


@pytest.mark.parametrize("bids, stage", [(2, "failed"), (3, "closed")])
def test_fewer_than_three_bids_fail_the_tender_and_three_open(bids, stage):
    p = liling_until("announced")
    for bidder in BIDDERS[:bids]:
        p.step("bid-submitted", bidder, cst("2025-03-23T10:00:00"), bidder=bidder,
               bid_hash="1" * 64)
    p.step("submission-closed", "operator-zz", DEADLINE)
    assert p.state.stage == stage


def announce(category: str, at: datetime, documents_until: datetime, deadline: datetime,
             control_price: str = "1000000.00") -> Project:
    """Take a project in and announce it with these dates (the rules judge them)."""
    p = Project()
    p.step("intake", "tenderee-liling", at - timedelta(days=2), title="x", category=category,
           tenderee="tenderee-liling", control_price=control_price)
    p.step("intake-accepted", "operator-zz", at - timedelta(days=2, hours=-1))
    p.step("announced", "tenderee-liling", at, documents_from=t(at),
           documents_until=t(documents_until), bid_deadline=t(deadline))
    return p


def test_preparation_time_of_twenty_days_at_its_boundary():
    """法 §24, 民法典 §201, §203: the 20 days count from the day after the documents; the
    deadline's day may be the 20th. From Wednesday 5 March the 20th day is Tuesday 25 March;
    from Monday 3 March it is Sunday 23 March, a rest day, so the deadline is Monday 24 March
    or later."""
    at, until = cst("2025-03-05T09:00:00"), cst("2025-03-12T17:00:00")
    announce("construction", at, until, cst("2025-03-25T00:00:00"))
    with pytest.raises(RuleRefused, match="preparation-time"):
        announce("construction", at, until, cst("2025-03-24T23:59:59"))  # the 19th day
    at, until = cst("2025-03-03T09:00:00"), cst("2025-03-10T17:00:00")
    announce("construction", at, until, cst("2025-03-24T09:30:00"))  # Liling's deadline
    with pytest.raises(RuleRefused, match="preparation-time"):
        announce("construction", at, until, cst("2025-03-23T23:59:59"))  # a Sunday


def test_objection_ten_days_before_the_deadline_and_the_suspension():
    p = liling_until("announced")
    with pytest.raises(RuleRefused, match="objection-to-documents"):
        p.step("objection-raised", "bidder-1", cst("2025-03-15T00:00:00"), bidder="bidder-1",
               text_hash="b" * 64)  # 9 days before 24 March
    p.step("objection-raised", "bidder-1", cst("2025-03-14T23:59:59"), bidder="bidder-1",
           text_hash="b" * 64)
    raised = p.version
    with pytest.raises(RuleRefused, match="suspended"):
        p.step("bid-submitted", "bidder-2", cst("2025-03-16T10:00:00"), bidder="bidder-2",
               bid_hash="2" * 64)
    p.step("objection-answered", "tenderee-liling", cst("2025-03-16T11:00:00"),
           objection_version=raised, answer_hash="d" * 64)
    assert p.state.objections[raised].kept  # within 3 days
    p.step("bid-submitted", "bidder-2", cst("2025-03-16T12:00:00"), bidder="bidder-2",
           bid_hash="2" * 64)


def test_a_late_clarification_must_move_the_deadline_by_fifteen_days():
    p = liling_until("announced")
    at = cst("2025-03-12T10:00:00")  # 12 days before the deadline
    with pytest.raises(RuleRefused, match="clarification-notice"):
        p.step("clarification-issued", "tenderee-liling", at, document_hash="b" * 64,
               affects_bids=True)
    p.step("clarification-issued", "tenderee-liling", at, document_hash="b" * 64,
           affects_bids=True, bid_deadline=t(cst("2025-03-27T09:30:00")))
    assert p.state.bid_deadline == cst("2025-03-27T09:30:00")


def test_no_clarification_comes_at_or_after_the_bid_deadline():
    """法 §23: the documents are clarified before the deadline; once it has passed (even
    before the ledger recorded the close), not even a clarification that moves it later."""
    p = liling_until("announced")
    deadline = p.state.bid_deadline
    for at in (deadline, deadline + timedelta(seconds=1)):
        with pytest.raises(RuleRefused, match="clarification-notice"):
            p.step("clarification-issued", "tenderee-liling", at, document_hash="b" * 64,
                   affects_bids=False, bid_deadline=t(deadline + timedelta(days=20)))
    p.step("clarification-issued", "tenderee-liling", deadline - timedelta(seconds=1),
           document_hash="b" * 64, affects_bids=False)


@pytest.mark.parametrize("amount, ok", [("3340296.00", True), ("3340296.01", False)])
def test_security_is_capped_at_two_percent(amount, ok):
    p = liling_until("announced")
    post = lambda: p.step("security-posted", "bidder-1", cst("2025-03-20T10:00:00"),  # noqa: E731
                          bidder="bidder-1", amount=amount, form="guarantee")
    judged(ok, "security-cap", post)


def test_a_deposit_must_come_from_the_basic_account():
    p = liling_until("announced")
    with pytest.raises(RuleRefused, match="basic-account"):
        p.step("security-posted", "bidder-1", cst("2025-03-20T10:00:00"), bidder="bidder-1",
               amount="800000.00", form="deposit", account="6222-1")
    p.step("security-posted", "bidder-1", cst("2025-03-20T10:00:00"), bidder="bidder-1",
           amount="800000.00", form="deposit", account="6222-1", basic_account=True)


def test_a_decryption_failure_by_the_bidder_keeps_its_security():
    p = liling_until("bids")
    p.step("submission-closed", "operator-zz", DEADLINE)
    p.step("decryption-failed", "operator-zz", DEADLINE + timedelta(minutes=3),
           bidder="bidder-2", cause="bidder", reason="wrong key")
    with pytest.raises(RuleRefused, match="released no key"):  # others' fault needs the key out
        p.step("decryption-failed", "operator-zz", DEADLINE + timedelta(minutes=3),
               bidder="bidder-3", cause="others", reason="platform copy damaged")
    p.step("key-released", "bidder-3", DEADLINE + timedelta(minutes=2), bidder="bidder-3",
           key_hash="3" * 64)
    p.step("decryption-failed", "operator-zz", DEADLINE + timedelta(minutes=3),
           bidder="bidder-3", cause="others", reason="platform copy damaged")
    assert [b for b, _ in p.procedure.refunds_due(p.state)] == ["bidder-3"]
    with pytest.raises(RuleRefused, match="revoked"):
        p.step("security-refunded", "ledger", DEADLINE + timedelta(days=1), bidder="bidder-2",
               amount="800000.00")


def test_only_the_right_roles_take_each_step():
    p = liling_until("announced")
    with pytest.raises(RuleRefused, match="who-may-act"):
        p.step("submission-closed", "bidder-1", DEADLINE)


def test_the_award_waits_for_the_publicity_and_names_a_candidate():
    p = liling_until("opened")
    p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-5", "bidder-3"], report_hash="e" * 64)
    with pytest.raises(RuleRefused, match="have not signed"):
        p.step("candidates-published", "tenderee-liling", cst("2025-03-25T09:00:00"),
               until=t(cst("2025-03-28T09:00:00")))
    for expert in EXPERTS[1:]:
        p.step("evaluation-report-signed", expert, cst("2025-03-24T15:30:00"),
               report_hash="e" * 64)
    # 条例 §54, 民法典 §201: published on 25 March, the 3 days are 26, 27 and 28 March, and
    # the publicity ends at 24:00 on 28 March; "until 28 March 09:00" is short of it
    with pytest.raises(RuleRefused, match="publicity-period"):
        p.step("candidates-published", "tenderee-liling", cst("2025-03-25T09:00:00"),
               until=t(cst("2025-03-28T23:59:59")))
    p.step("candidates-published", "tenderee-liling", cst("2025-03-25T09:00:00"),
           until=t(cst("2025-03-29T00:00:00")))
    with pytest.raises(RuleRefused, match="publicity-period"):
        p.step("awarded", "tenderee-liling", cst("2025-03-28T23:59:59"), winner="bidder-1",
               price="83760800.00")
    with pytest.raises(RuleRefused, match="is not a candidate"):
        p.step("awarded", "tenderee-liling", cst("2025-03-29T00:00:00"), winner="bidder-2",
               price=PRICES[1])
    p.step("awarded", "tenderee-liling", cst("2025-03-29T00:00:00"), winner="bidder-1",
           price="83760800.00")


def test_a_ranking_that_the_bids_do_not_give_is_refused():
    p = liling_until("opened")
    with pytest.raises(RuleRefused, match="is not what the bids and scores give"):
        p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
               ranking=["bidder-2", "bidder-1"], report_hash="e" * 64)


# --- random sequences (Hypothesis) ---------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


MOMENTS = [cst("2025-03-01T09:00:00"), cst("2025-03-03T09:00:00"), cst("2025-03-10T09:00:00"),
           cst("2025-03-14T09:00:00"), cst("2025-03-23T10:00:00"), DEADLINE - timedelta(seconds=1),
           DEADLINE, DEADLINE + timedelta(minutes=5), cst("2025-03-25T09:00:00"),
           cst("2025-03-31T09:00:00"), cst("2025-04-10T10:00:00")]
CANDIDATES = [
    ("intake", "tenderee-liling", dict(title="x", category="construction", tenderee="tenderee-liling",
                                       control_price="167014800.00")),
    ("intake-accepted", "operator-zz", {}),
    ("announced", "tenderee-liling", dict(documents_from=t(cst("2025-03-03T09:00:00")),
                                          documents_until=t(cst("2025-03-10T17:00:00")),
                                          bid_deadline=t(DEADLINE))),
    ("documents-issued", "tenderee-liling", dict(edition=1, document_hash="a" * 64)),
    *[("bid-submitted", b, dict(bidder=b, bid_hash=f"{i + 1:064x}")) for i, b in enumerate(BIDDERS)],
    ("bid-withdrawn", "bidder-2", dict(bidder="bidder-2")),
    ("security-posted", "bidder-1", dict(bidder="bidder-1", amount="4000000.00", form="guarantee")),
    ("submission-closed", "operator-zz", {}),
    *[("key-released", b, dict(bidder=b, key_hash=f"{i + 21:064x}")) for i, b in enumerate(BIDDERS)],
    *[("bid-decrypted", "operator-zz", dict(bidder=b, ciphertext_hash=f"{i + 1:064x}",
                                            plaintext_hash="0" * 64, price=PRICES[i]))
      for i, b in enumerate(BIDDERS)],
    ("draw-prepared", "operator-zz", PREPARED),
    ("experts-drawn", "operator-zz", DRAW),
    ("experts-drawn", "operator-zz", {**DRAW, "committee": EXPERTS[:4]}),
    ("draw-disclosed", "operator-zz", DISCLOSED),
    ("draw-disclosed", "operator-zz", {**DISCLOSED, "exclusions": ["expert-3"]}),
    ("score-submitted", "expert-9", dict(bidder="bidder-1", score="90")),
    ("evaluation-reported", "expert-1", dict(ranking=["bidder-1", "bidder-5"], report_hash="e" * 64)),
    ("evaluation-reported", "expert-1", dict(ranking=["bidder-3"], report_hash="e" * 64)),
    *[("evaluation-report-signed", e, dict(report_hash="e" * 64)) for e in EXPERTS[1:]],
    ("candidates-published", "tenderee-liling", dict(until=t(cst("2025-03-29T00:00:00")))),
    ("awarded", "tenderee-liling", dict(winner="bidder-1", price="83760800.00")),
    ("awarded", "tenderee-liling", dict(winner="bidder-3", price="88100000.00")),
    ("contract-signed", "tenderee-liling", dict(winner="bidder-1", contract_hash="f" * 64)),
]
reached: set[str] = set()  # the stages random sequences reached (asserted below)


# the procedure's own order (candidate, moment), which random sequences are mutated from
def _index(type_: str, **match) -> int:
    return next(i for i, (t_, _, payload) in enumerate(CANDIDATES)
                if t_ == type_ and all(payload.get(k) == v for k, v in match.items()))


SCRIPT = [(_index("intake"), 0), (_index("intake-accepted"), 0), (_index("announced"), 1),
          (_index("documents-issued"), 1), (_index("draw-prepared"), 2),
          *[(_index("bid-submitted", bidder=b), 4) for b in BIDDERS],
          (_index("security-posted"), 4), (_index("submission-closed"), 6),
          *[(_index("key-released", bidder=b), 7) for b in BIDDERS],
          *[(_index("bid-decrypted", bidder=b), 7) for b in BIDDERS],
          (_index("experts-drawn", committee=DRAW["committee"]), 7),
          (_index("evaluation-reported", ranking=["bidder-1", "bidder-5"]), 7),
          *[(_index("evaluation-report-signed") + i, 7) for i in range(len(EXPERTS) - 1)],
          (_index("candidates-published"), 8), (_index("awarded", winner="bidder-1"), 9),
          (_index("draw-disclosed", exclusions=[]), 9), (_index("contract-signed"), 10)]


@st.composite
def sequences(draw) -> list[tuple[int, int]]:
    """The script with random steps dropped, random steps inserted, and random moments."""
    out = []
    for candidate, moment in SCRIPT:
        if draw(st.integers(0, 9)) < 3:
            out.append((draw(st.integers(0, len(CANDIDATES) - 1)),
                        draw(st.integers(0, len(MOMENTS) - 1))))
        if draw(st.integers(0, 19)) >= 1:
            shifted = draw(st.sampled_from([moment, moment, max(0, moment - 1),
                                            min(len(MOMENTS) - 1, moment + 1)]))
            out.append((candidate, shifted))
    return out


@settings(max_examples=150, deadline=None, derandomize=True)  # the same sequences on every run
@given(sequences())
def test_random_sequences_never_reach_a_forbidden_state_and_replay_identically(choices):
    from ledger.errors import LedgerError

    p = Project()
    accepted: list[Step] = []
    for candidate, moment in choices:
        type_, actor, payload = CANDIDATES[candidate]
        at = max(MOMENTS[moment], accepted[-1].at if accepted else MOMENTS[0])
        before = p.state.copy()
        try:
            p.step(type_, actor, at, **payload)
        except LedgerError:
            assert p.state == before  # a refused step changes nothing
            continue
        accepted.append(Step(f"project.{type_}/v1", payload, actor, frozenset(), at, p.version))
        s = p.state
        reached.add(s.stage)
        # what the rules forbid never holds
        assert s.bid_deadline is None or type_ != "bid-submitted" or at < s.bid_deadline
        if s.stage in ("closed", "opened", "reported", "publicity", "awarded", "contracted"):
            assert len(s.bids) >= 3
        if s.committee:
            assert len(s.committee) >= 5 and len(s.committee) % 2 == 1
        if s.winner is not None:
            assert s.winner in s.ranking and s.award_price == s.prices[s.winner]
            assert s.publicity_until is not None and at >= s.publicity_until
        if s.ranking:
            assert s.ranking == p.procedure.ranking(s)[:len(s.ranking)]
        assert s.security.get("bidder-1", Decimal(0)) <= Decimal("3340296.00")
    # replaying the accepted steps, unjudged, rebuilds the same state
    fold = Procedure(checking=False)
    again = ProjectState()
    for step in accepted:
        fold.run(again, step)
    assert again == p.state


def test_random_sequences_reach_deep_into_the_procedure():
    """Guard against a generator that never gets past the first steps."""
    reached.clear()
    test_random_sequences_never_reach_a_forbidden_state_and_replay_identically()
    assert {"announced", "closed", "opened", "awarded"} <= reached, reached


def test_the_draw_replays_from_its_disclosure_and_a_changed_input_is_refused():
    p = liling_until("contracted")
    p.step("draw-disclosed", "operator-zz", cst("2025-04-10T11:00:00"), **DISCLOSED)
    assert p.state.draw["disclosed"] and p.state.drawn == [e.id for e in DRAWN]
    q = liling_until("contracted")
    for change, message in [
        ({"secret": (b"another secret").hex().ljust(64, "0")}, "secret"),
        ({"pool": [e.to_json() for e in POOL[:4]]}, "pool"),
        ({"exclusions": ["expert-2"]}, "exclusions"),
    ]:
        with pytest.raises(RuleRefused, match=message):
            q.step("draw-disclosed", "operator-zz", cst("2025-04-10T11:00:00"),
                   **{**DISCLOSED, **change})


def test_a_draw_not_prepared_before_the_deadline_or_seeded_otherwise_is_refused():
    p = liling_until("bids")
    with pytest.raises(RuleRefused, match="expert-draw"):  # prepared again, after the deadline
        p.step("draw-prepared", "operator-zz", DEADLINE, **PREPARED)
    open_bids(p, PRICES)
    with pytest.raises(RuleRefused, match="seed input"):
        p.step("experts-drawn", "operator-zz", DEADLINE + timedelta(minutes=10),
               **{**DRAW, "head_hash": "0" * 64})



def test_procurement_documents_for_five_working_days_across_labour_day():
    """政采条例 §31, 民法典 §201: from Wednesday 30 April 2025 the five working days count
    from the next day: 1–5 May are holidays, so they are 6, 7, 8, 9 and 12 May; documents
    until Friday 9 May are one working day short."""
    at, deadline = cst("2025-04-30T09:00:00"), cst("2025-05-26T09:30:00")
    announce("procurement", at, cst("2025-05-12T17:00:00"), deadline)
    with pytest.raises(RuleRefused, match="document-availability-procurement"):
        announce("procurement", at, cst("2025-05-09T17:00:00"), deadline)


def test_a_complaint_within_ten_days_of_the_publication_and_its_deadlines():
    p = liling_until("publicity")
    ROLES["supervisor-zz"] = {"supervisor"}
    with pytest.raises(RuleRefused, match="objection-before-complaint"):  # 条例 §60
        p.step("complaint-filed", "bidder-3", cst("2025-03-26T10:00:00"),
               complainant="bidder-3", text_hash="9" * 64)
    p.step("publicity-objection-raised", "bidder-3", cst("2025-03-26T10:00:00"),
           bidder="bidder-3", text_hash="7" * 64)
    p.step("objection-answered", "tenderee-liling", cst("2025-03-26T16:00:00"),
           objection_version=p.version, answer_hash="6" * 64)  # the same day: nothing added
    # the 10th day, Friday 4 April, is Qingming (清明, 4–6 April): the period runs to Monday
    # 7 April 24:00 (民法典 §203)
    with pytest.raises(RuleRefused, match="rule complaint "):
        p.step("complaint-filed", "bidder-3", cst("2025-04-08T00:00:00"),
               complainant="bidder-3", text_hash="9" * 64)
    p.step("complaint-filed", "bidder-3", cst("2025-04-07T23:59:59"), complainant="bidder-3",
           text_hash="9" * 64)
    filed = p.version
    p.step("complaint-accepted", "supervisor-zz", cst("2025-04-10T10:00:00"),
           complaint_version=filed)  # 3 working days from Monday 7 April: 8, 9, 10 April
    acceptance = next(d for d in p.state.deadlines if d.rule.startswith("complaint-acceptance"))
    assert acceptance.due == cst("2025-04-11T00:00:00") and acceptance.kept
    p.step("complaint-decided", "supervisor-zz", cst("2025-04-20T10:00:00"),
           complaint_version=filed, decision="dismissed", text_hash="8" * 64)
    assert p.state.complaints[filed] == "dismissed"


def test_the_objections_answer_period_is_not_counted_in_the_complaint_period():
    """条例 §60: documents issued on Monday 3 March; an objection raised on 12 March and
    answered on 13 March takes one day, so the 10 days (4–13 March) end a day later, on
    Friday 14 March 24:00. A matter without an objection of its own counts from known_at."""
    p = liling_until("announced")
    p.step("objection-raised", "bidder-2", cst("2025-03-12T10:00:00"), bidder="bidder-2",
           text_hash="7" * 64)
    raised = p.version
    with pytest.raises(RuleRefused, match="answer is awaited"):
        p.step("complaint-filed", "bidder-2", cst("2025-03-12T11:00:00"), complainant="bidder-2",
               text_hash="9" * 64, matter="documents")
    p.step("objection-answered", "tenderee-liling", cst("2025-03-13T16:00:00"),
           objection_version=raised, answer_hash="6" * 64)
    with pytest.raises(RuleRefused, match="rule complaint "):
        p.step("complaint-filed", "bidder-2", cst("2025-03-15T00:00:00"), complainant="bidder-2",
               text_hash="9" * 64, matter="documents")
    p.step("complaint-filed", "bidder-2", cst("2025-03-14T23:59:59"), complainant="bidder-2",
           text_hash="9" * 64, matter="documents")
    with pytest.raises(RuleRefused, match="objection-before-complaint"):  # not bidder-4's
        p.step("complaint-filed", "bidder-4", cst("2025-03-14T10:00:00"), complainant="bidder-4",
               text_hash="9" * 64, matter="documents")
    p.step("complaint-filed", "bidder-4", cst("2025-03-20T23:59:59"), complainant="bidder-4",
           text_hash="9" * 64, matter="other", known_at=t(cst("2025-03-10T09:00:00")))
    with pytest.raises(RuleRefused, match="rule complaint "):  # 11–20 March ended
        p.step("complaint-filed", "bidder-4", cst("2025-03-21T00:00:00"),
               complainant="bidder-4", text_hash="8" * 64, matter="other",
               known_at=t(cst("2025-03-10T09:00:00")))


def test_a_recusal_must_be_replaced_by_the_draws_next_expert():
    pool = POOL + [Expert("expert-6", "technical"), Expert("expert-7", "technical")]
    drawn = draw(draw_seed(SECRET, HEAD), pool, set(), QUOTAS)
    prepared = {**PREPARED, "pool_hash": pool_hash(pool)}
    seed = draw_seed(SECRET, HEAD)
    leaving = next(e for e in drawn if e.category == "technical")
    right = replacement(seed, pool, set(), drawn, leaving.id)
    wrong = next(e for e in pool if e not in drawn and e != right)
    for replaced_by, ok in ((right, True), (wrong, False)):
        p = Project()
        p.state = liling_until("bids").state
        p.version = liling_until("bids").version
        p.state.draw = dict(prepared)
        p.step("submission-closed", "operator-zz", DEADLINE)
        for i, bidder in enumerate(BIDDERS):
            p.step("key-released", bidder, DEADLINE + timedelta(minutes=2), bidder=bidder,
                   key_hash=f"{i + 21:064x}")
            p.step("bid-decrypted", "operator-zz", DEADLINE + timedelta(minutes=5), bidder=bidder,
                   ciphertext_hash=f"{i + 1:064x}", plaintext_hash="0" * 64, price=PRICES[i])
        p.step("experts-drawn", "operator-zz", DEADLINE + timedelta(minutes=10),
               committee=[e.id for e in drawn], head_hash=HEAD, committee_hash=committee_hash(drawn))
        p.step("expert-replaced", "operator-zz", DEADLINE + timedelta(minutes=15),
               recused=leaving.id, replacement=replaced_by.id, ground="kinship")
        p.state.stage = "awarded"  # the evaluation and award are tested elsewhere
        disclose = lambda: p.step("draw-disclosed", "operator-zz", cst("2025-04-01T09:00:00"),  # noqa: E731
                                  secret=SECRET.hex(), pool=[e.to_json() for e in pool],
                                  exclusions=[])
        judged(ok, "the draw's next is", disclose)


def test_documents_available_five_days_at_the_boundary():
    """条例 §16, 民法典 §201, §203: from Wednesday 5 March the five days are 6–10 March; from
    Monday 3 March they end on Saturday 8 March, a rest day, so the last day is Monday 10."""
    at = cst("2025-03-05T09:00:00")
    announce("construction", at, cst("2025-03-10T00:00:00"), DEADLINE + timedelta(days=2))
    with pytest.raises(RuleRefused, match="document-availability"):
        announce("construction", at, cst("2025-03-09T23:59:59"), DEADLINE + timedelta(days=2))
    at = cst("2025-03-03T09:00:00")
    announce("construction", at, cst("2025-03-10T17:00:00"), DEADLINE)
    with pytest.raises(RuleRefused, match="document-availability"):
        announce("construction", at, cst("2025-03-09T17:00:00"), DEADLINE)


def test_a_bid_is_withdrawn_only_before_the_deadline():
    p = liling_until("bids")
    with pytest.raises(RuleRefused, match="bid-change-before-deadline"):
        p.step("bid-withdrawn", "bidder-2", DEADLINE, bidder="bidder-2")
    p.step("bid-withdrawn", "bidder-2", DEADLINE - timedelta(microseconds=1), bidder="bidder-2")
    assert "bidder-2" not in p.state.bids
    assert [b for b, _ in p.procedure.refunds_due(p.state)] == ["bidder-2"]  # within 5 days


@pytest.mark.parametrize("quotas, ok", [({"technical": 4, "economic": 1}, True),
                                        ({"technical": 3, "economic": 1}, False),
                                        ({"technical": 5, "economic": 1}, False),
                                        ({"technical": 2, "economic": 1}, False)])
def test_a_construction_committee_has_five_or_more_members_an_odd_number(quotas, ok):
    p = liling_until("documents")  # announced, the draw not yet prepared
    prepare = lambda: p.step("draw-prepared", "operator-zz", cst("2025-03-06T09:00:00"),  # noqa: E731
                             **{**PREPARED, "quotas": quotas})
    judged(ok, "committee-size", prepare)


def procurement_published() -> Project:
    """A procurement whose candidates were published on Tuesday 1 April 2025."""
    p = procurement_until_announced()
    state = p.state
    state.stage, state.published_at = "publicity", cst("2025-04-01T09:00:00")
    state.publicity_until, state.ranking = cst("2025-04-08T00:00:00"), ["bidder-1"]
    return p


def procurement_until_announced() -> Project:
    p = Project()
    p.step("intake", "tenderee-liling", cst("2025-04-01T09:00:00"), title="x",
           category="procurement", tenderee="tenderee-liling", control_price="2380000.00")
    p.step("intake-accepted", "operator-zz", cst("2025-04-01T10:00:00"))
    p.step("announced", "tenderee-liling", cst("2025-04-02T09:00:00"),
           documents_from=t(cst("2025-04-02T09:00:00")),
           documents_until=t(cst("2025-04-16T17:00:00")),
           bid_deadline=t(cst("2025-04-28T09:00:00")))
    return p


@pytest.mark.parametrize("quotas, ok", [({"technical": 2, "economic": 1}, True),
                                        ({"technical": 1, "economic": 1}, False),
                                        ({"technical": 3, "economic": 1}, False)])
def test_a_procurement_panel_has_three_or_more_members_an_odd_number(quotas, ok):
    p = procurement_until_announced()
    prepare = lambda: p.step("draw-prepared", "operator-zz", cst("2025-04-03T09:00:00"),  # noqa: E731
                             **{**PREPARED, "quotas": quotas})
    judged(ok, "panel-size-procurement", prepare)


def test_an_objection_during_the_publicity_holds_the_award_until_answered():
    p = liling_until("publicity")
    p.step("publicity-objection-raised", "bidder-5", cst("2025-03-27T10:00:00"),
           bidder="bidder-5", text_hash="7" * 64)
    raised = p.version
    with pytest.raises(RuleRefused, match="suspended"):
        p.step("awarded", "tenderee-liling", cst("2025-03-29T09:00:00"), winner="bidder-1",
               price="83760800.00")
    p.step("objection-answered", "tenderee-liling", cst("2025-03-29T10:00:00"),
           objection_version=raised, answer_hash="6" * 64)  # within 3 days
    assert p.state.objections[raised].kept
    p.step("awarded", "tenderee-liling", cst("2025-03-29T11:00:00"), winner="bidder-1",
           price="83760800.00")
    with pytest.raises(RuleRefused, match="procedure-order"):  # awarded: the publicity is over
        p.step("publicity-objection-raised", "bidder-3", cst("2025-03-29T12:00:00"),
               bidder="bidder-3", text_hash="5" * 64)


def test_procurement_losers_are_refunded_within_five_working_days_of_the_award():
    """政采条例 §33: award on Friday 25 April 2025; 5 working days: 27 April (a Sunday made a
    working day), 28, 29, 30 April, then 6 May after the Labour Day holidays."""
    p = procurement_until_announced()
    for bidder in BIDDERS[:3]:
        p.step("security-posted", bidder, cst("2025-04-20T10:00:00"), bidder=bidder,
               amount="40000.00", form="guarantee")
    state = p.state
    state.stage, state.publicity_until = "publicity", cst("2025-04-25T09:00:00")
    state.published_at = cst("2025-04-21T09:00:00")  # 22, 23, 24 April: ends 25 April 00:00
    state.ranking, state.prices = ["bidder-1"], {"bidder-1": Decimal("1986000.00")}
    p.step("awarded", "tenderee-liling", cst("2025-04-25T10:00:00"), winner="bidder-1",
           price="1986000.00")
    due = dict(p.procedure.refunds_due(p.state))
    assert sorted(due) == ["bidder-2", "bidder-3"]
    assert due["bidder-2"] == cst("2025-05-07T00:00:00")


def test_a_failed_tender_is_tendered_again_and_the_first_rounds_security_is_owed_back():
    p = liling_until("announced")
    for bidder in BIDDERS[:2]:
        p.step("security-posted", bidder, cst("2025-03-20T10:00:00"), bidder=bidder,
               amount="800000.00", form="guarantee")
        p.step("bid-submitted", bidder, cst("2025-03-23T10:00:00"), bidder=bidder,
               bid_hash="1" * 64)
    p.step("submission-closed", "operator-zz", DEADLINE)
    assert p.state.stage == "failed"
    second = cst("2025-04-24T09:30:00")
    p.step("announced", "tenderee-liling", cst("2025-03-26T09:00:00"),
           documents_from=t(cst("2025-03-26T09:00:00")),
           documents_until=t(cst("2025-04-02T17:00:00")), bid_deadline=t(second))
    assert p.state.stage == "announced" and p.state.bids == {} and p.state.bid_deadline == second
    assert sorted(b for b, _ in p.procedure.refunds_due(p.state)) == ["bidder-1", "bidder-2"]
    p.step("documents-issued", "tenderee-liling", cst("2025-03-26T09:05:00"), edition=1,
           document_hash="b" * 64)
    p.step("bid-submitted", "bidder-1", cst("2025-04-20T10:00:00"), bidder="bidder-1",
           bid_hash="2" * 64)
