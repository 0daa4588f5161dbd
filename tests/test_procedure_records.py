"""Nothing recorded is overwritten (RULES.md, "Who may act"; 条例 §71, §81): a decryption, a
security, a committee, a score, a rejection, a signature, a report happen once; a recorded
ranking or award changes only through the step the law provides (a re-evaluation ordered by
the supervision body, a candidate declining or disqualified), which is itself recorded. The
contract is the winner's at the award price, and a refund returns what is held."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from test_procedure import (
    BIDDERS, DEADLINE, DRAW, PRICES, Project, announce, complain_about_the_result, cst,
    liling_until, open_bids, refused_by,
)


def test_a_bid_is_decrypted_once():
    p = liling_until("opened")
    refused_by("recorded-once", p, "bid-decrypted", "operator-zz", DEADLINE + timedelta(minutes=20),
               bidder="bidder-2", ciphertext_hash=f"{2:064x}", plaintext_hash="9" * 64,
               price="1.00")
    refused_by("recorded-once", p, "decryption-failed", "operator-zz",
               DEADLINE + timedelta(minutes=20), bidder="bidder-2", cause="others", reason="again")
    assert p.state.prices["bidder-2"] == Decimal(PRICES[1])


def test_the_committee_is_drawn_once():
    p = liling_until("opened")
    refused_by("recorded-once", p, "experts-drawn", "operator-zz", DEADLINE + timedelta(hours=1),
               **DRAW)


def test_a_member_scores_a_bid_once_rejects_it_once_and_signs_once():
    p = liling_until("opened")
    p.step("score-submitted", "expert-1", cst("2025-03-24T11:00:00"), bidder="bidder-1", score=80)
    refused_by("recorded-once", p, "score-submitted", "expert-1", cst("2025-03-24T11:05:00"),
               bidder="bidder-1", score=95)
    assert p.state.scores[("expert-1", "bidder-1")] == 80
    p.step("bid-rejected", "expert-2", cst("2025-03-24T11:10:00"), bidder="bidder-4",
           ground="not-responsive")
    refused_by("recorded-once", p, "bid-rejected", "expert-3", cst("2025-03-24T11:15:00"),
               bidder="bidder-4", ground="price-below-cost")
    refused_by("encrypted-bid", p, "bid-rejected", "expert-3", cst("2025-03-24T11:15:00"),
               bidder="bidder-9", ground="not-responsive")
    p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-5", "bidder-3"], report_hash="e" * 64)
    p.step("evaluation-report-signed", "expert-2", cst("2025-03-24T15:30:00"), report_hash="e" * 64)
    refused_by("recorded-once", p, "evaluation-report-signed", "expert-2",
               cst("2025-03-24T15:40:00"), report_hash="e" * 64, dissent="changed my mind")


def test_security_is_posted_once_before_the_deadline():
    p = liling_until("bids")
    refused_by("recorded-once", p, "security-posted", "bidder-1", DEADLINE - timedelta(hours=1),
               bidder="bidder-1", amount="1.00", form="guarantee")
    assert p.state.security["bidder-1"] == Decimal("800000.00")
    q = liling_until("announced")
    q.step("documents-obtained", "bidder-1", cst("2025-03-04T10:00:00"), bidder="bidder-1",
           document_hash="a" * 64)
    refused_by("security-before-deadline", q, "security-posted", "bidder-1", DEADLINE,
               bidder="bidder-1", amount="800000.00", form="guarantee")
    q.step("security-posted", "bidder-1", DEADLINE - timedelta(microseconds=1),
           bidder="bidder-1", amount="800000.00", form="guarantee")


@pytest.mark.parametrize("amount, ok", [("2.01", True), ("2.02", False)])
def test_the_two_percent_cap_is_compared_exactly_never_rounded_up(amount, ok):
    """2% of 100.75 is 2.015: rounding half-even would allow 2.02, which is above it."""
    p = announce("construction", cst("2025-03-03T09:00:00"), cst("2025-03-10T17:00:00"),
                 DEADLINE, control_price="100.75")
    step = dict(bidder="bidder-1", amount=amount, form="guarantee")
    if ok:
        p.step("security-posted", "bidder-1", cst("2025-03-20T10:00:00"), **step)
    else:
        refused_by("security-cap", p, "security-posted", "bidder-1", cst("2025-03-20T10:00:00"),
                   **step)


def test_the_contract_is_the_winners_at_the_award_price_unless_a_reason_is_recorded():
    p = liling_until("publicity")
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price="83760800.00")
    at = cst("2025-04-10T10:00:00")
    refused_by("contract-terms", p, "contract-signed", "tenderee-liling", at, winner="bidder-5",
               contract_hash="f" * 64)
    refused_by("contract-terms", p, "contract-signed", "tenderee-liling", at, winner="bidder-1",
               contract_hash="f" * 64, price="90000000.00")
    p.step("contract-signed", "tenderee-liling", at, winner="bidder-1", contract_hash="f" * 64,
           price="83000000.00", price_reason="工程量清单核减（虚构）")
    assert p.state.stage == "contracted"


def test_a_refund_returns_the_security_held_with_interest_on_cash_only():
    p = liling_until("contracted")
    after = cst("2025-04-11T10:00:00")
    refused_by("security-refund-amount", p, "security-refunded", "ledger", after,
               bidder="bidder-2", amount="1.00")
    refused_by("security-refund-amount", p, "security-refunded", "ledger", after,
               bidder="bidder-2", amount="800000.00", interest="12.00")  # a guarantee: no interest
    p.step("security-refunded", "ledger", after, bidder="bidder-2", amount="800000.00")
    refused_by("security-refund", p, "security-refunded", "ledger", after, bidder="bidder-2",
               amount="800000.00")


def test_a_report_id_is_issued_once_and_each_officer_signs_off_once():
    p = liling_until("contracted")
    at = cst("2025-04-12T10:00:00")
    issued = dict(kind="full", report_id="R-1", last_version=p.version, pdf_hash="1" * 64,
                  evidence_hash="2" * 64)
    p.step("report-issued", "ledger", at, **issued)
    refused_by("recorded-once", p, "report-issued", "ledger", at,
               **{**issued, "pdf_hash": "3" * 64})
    refused_by("who-may-act", p, "report-signed-off", "witness-zz", at, report_id="R-1",
               pdf_hash="1" * 64)  # not assigned to this project
    for officer in ("witness-zz", "witness-zz-2"):
        p.step("witness-assigned", "operator-zz", at, officer=officer)
        refused_by("recorded-once", p, "witness-assigned", "operator-zz", at, officer=officer)
        p.step("report-signed-off", officer, at, report_id="R-1", pdf_hash="1" * 64)
    refused_by("recorded-once", p, "report-signed-off", "witness-zz", at, report_id="R-1",
               pdf_hash="1" * 64)
    assert p.state.reports["R-1"]["signed_off_by"] == ["witness-zz", "witness-zz-2"]


def test_a_bid_above_the_ceiling_is_no_candidate():
    p = liling_until("bids")
    open_bids(p, [*PRICES[:4], "167014800.01"])  # one cent above the control price
    p.step("experts-drawn", "operator-zz", DEADLINE + timedelta(minutes=10), **DRAW)
    refused_by("price-ceiling", p, "evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
               ranking=["bidder-1", "bidder-3", "bidder-5"], report_hash="e" * 64)
    assert "bidder-5" not in p.procedure.ranking(p.state)
    p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-3", "bidder-2"], report_hash="e" * 64)


def state_funded_until_publicity() -> Project:
    p = liling_until("publicity")
    p.state.state_funded = True  # as `state_funded: true` at intake records it
    return p


def test_a_state_funded_project_awards_its_first_candidate_until_it_declines():
    p = state_funded_until_publicity()
    at = cst("2025-03-31T09:00:00")
    refused_by("state-funded-first-candidate", p, "awarded", "tenderee-liling", at,
               winner="bidder-5", price=PRICES[4])
    p.step("candidate-declined", "bidder-1", at, bidder="bidder-1")
    refused_by("recorded-once", p, "candidate-declined", "bidder-1", at, bidder="bidder-1")
    refused_by("candidates", p, "awarded", "tenderee-liling", at, winner="bidder-1",
               price=PRICES[0])
    p.step("awarded", "tenderee-liling", at, winner="bidder-5", price=PRICES[4])
    assert p.state.winner == "bidder-5"


def test_a_non_state_funded_project_may_award_any_candidate():
    p = liling_until("publicity")
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-5",
           price=PRICES[4])


def test_a_winner_that_declines_leaves_the_award_to_be_made_again():
    p = state_funded_until_publicity()
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price=PRICES[0])
    p.step("candidate-disqualified", "tenderee-liling", cst("2025-04-02T09:00:00"),
           bidder="bidder-1", ground="未按要求提交履约保证金（虚构）")
    assert p.state.stage == "publicity" and p.state.winner is None
    assert not any(d.rule == "contract" for d in p.state.deadlines)
    p.step("awarded", "tenderee-liling", cst("2025-04-02T10:00:00"), winner="bidder-5",
           price=PRICES[4])
    assert p.state.winner == "bidder-5"


def test_a_ranking_changes_only_through_a_re_evaluation_the_supervision_body_orders():
    p = liling_until("publicity")
    refused_by("procedure-order", p, "evaluation-reported", "expert-1", cst("2025-03-26T09:00:00"),
               ranking=["bidder-5"], report_hash="d" * 64)
    refused_by("who-may-act", p, "re-evaluation-ordered", "tenderee-liling",
               cst("2025-03-26T09:00:00"), text_hash="c" * 64)
    p.step("re-evaluation-ordered", "supervisor-zz", cst("2025-03-26T09:00:00"),
           text_hash="c" * 64)
    assert p.state.stage == "opened" and p.state.ranking == [] and p.state.scores == {}
    assert p.state.prices["bidder-1"] == Decimal(PRICES[0])  # the opening stands
    p.step("bid-rejected", "expert-1", cst("2025-03-27T09:00:00"), bidder="bidder-1",
           ground="price-below-cost")
    p.step("evaluation-reported", "expert-1", cst("2025-03-27T15:00:00"),
           ranking=["bidder-5", "bidder-3", "bidder-2"], report_hash="d" * 64)
    assert p.state.ranking[0] == "bidder-5"


def test_the_ledger_signs_no_score():
    p = liling_until("opened")
    refused_by("who-may-act", p, "score-submitted", "ledger", cst("2025-03-24T11:00:00"),
               bidder="bidder-1", score=80)


def test_refunds_due_are_refunds_only_one_per_security():
    """A complaint's deadlines are not refunds; a withdrawn bidder in a failed tender is owed
    its security once, not once per reason."""
    p = liling_until("publicity")
    complain_about_the_result(p)
    assert p.procedure.refunds_due(p.state) == []
    q = liling_until("bids")
    q.step("bid-withdrawn", "bidder-1", DEADLINE - timedelta(hours=1), bidder="bidder-1")
    q.step("bid-withdrawn", "bidder-2", DEADLINE - timedelta(hours=1), bidder="bidder-2")
    q.step("bid-withdrawn", "bidder-3", DEADLINE - timedelta(hours=1), bidder="bidder-3")
    q.step("submission-closed", "operator-zz", DEADLINE)
    assert q.state.stage == "failed"
    assert sorted(b for b, _ in q.procedure.refunds_due(q.state)) == BIDDERS


def test_the_opening_is_convened_once_before_the_first_decryption_by_registered_persons():
    p = liling_until("bids")
    p.step("submission-closed", "operator-zz", DEADLINE)
    p.organisations = {"operator-zz": "株洲市公共资源交易中心（虚构）"}
    refused_by("opening-record", p, "opening-convened", "operator-zz", DEADLINE,
               host="operator-zz", recorder="nobody-registered")
    p.step("opening-convened", "operator-zz", DEADLINE, host="operator-zz", recorder="operator-zz",
           venue="电子交易平台（虚构）")
    assert p.state.opening["host"] == "operator-zz"
    refused_by("recorded-once", p, "opening-convened", "operator-zz", DEADLINE,
               host="operator-zz", recorder="operator-zz")
    late = liling_until("bids")
    open_bids(late, PRICES)  # decrypted first: a record made afterwards is no opening record
    refused_by("opening-record", late, "opening-convened", "operator-zz",
               DEADLINE + timedelta(minutes=6), host="operator-zz", recorder="operator-zz")


def test_a_clarification_is_asked_of_an_opened_bid_before_the_report():
    p = liling_until("opened")
    member = DRAW["committee"][0]
    refused_by("bid-clarification", p, "bid-clarified", member, cst("2025-03-24T11:00:00"),
               bidder="bidder-9", question_hash="1" * 64)
    p.step("bid-clarified", member, cst("2025-03-24T11:00:00"), bidder="bidder-2",
           question_hash="1" * 64, answer_hash="2" * 64)
    assert p.state.clarifications == [(member, "bidder-2", cst("2025-03-24T11:00:00"))]
    p.step("evaluation-reported", member, cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-5", "bidder-3"], report_hash="e" * 64)
    refused_by("procedure-order", p, "bid-clarified", member, cst("2025-03-24T15:01:00"),
               bidder="bidder-2", question_hash="3" * 64)


def test_a_warning_is_passed_on_once_the_bids_are_closed():
    p = liling_until("bids")
    p.step("witness-assigned", "operator-zz", DEADLINE - timedelta(days=1), officer="witness-zz")
    refused_by("warning-referral", p, "warning-referred", "witness-zz", DEADLINE - timedelta(seconds=1),
               indicator="price-series", bidders=["bidder-1", "bidder-2"], supervisor="住建局（虚构）")
    p.step("submission-closed", "operator-zz", DEADLINE)
    p.step("warning-referred", "witness-zz", DEADLINE, indicator="price-series",
           bidders=["bidder-1", "bidder-2"], supervisor="住建局（虚构）")
    assert p.state.referrals[0][:3] == ("price-series", ("bidder-1", "bidder-2"), "住建局（虚构）")


def test_the_centre_assigns_registered_witness_officers_once_until_the_archive():
    p = liling_until("documents")
    at = cst("2025-03-03T10:00:00")
    refused_by("witness-assignment", p, "witness-assigned", "operator-zz", at, officer="bidder-1")
    refused_by("witness-assignment", p, "witness-assigned", "operator-zz", at, officer="nobody")
    p.step("witness-assigned", "operator-zz", at, officer="witness-zz")
    refused_by("recorded-once", p, "witness-assigned", "operator-zz", at, officer="witness-zz")
    refused_by("who-may-act", p, "witness-observation", "witness-zz-2", at, note="未指派")
    p.step("witness-observation", "witness-zz", at, note="已指派")
    assert p.state.witnesses == ["witness-zz"]
    done = liling_until("contracted")
    done.step("archived", "operator-zz", cst("2025-06-01T10:00:00"))
    refused_by("witness-assignment", done, "witness-assigned", "operator-zz",
               cst("2025-06-01T11:00:00"), officer="witness-zz")
