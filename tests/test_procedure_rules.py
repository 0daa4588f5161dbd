"""The rules of the table that the acceptance review found unenforced, each at its boundary
on both sides: the committee's composition, recusal by organisation, the decryption window,
the objection at the opening, a member's refusal to sign, the report to the supervision body,
the procurement challenge and complaint, the performance security."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash,
)
from test_procedure import (
    BIDDERS, DEADLINE, HEAD, PREPARED, PRICES, SECRET, Project, announce, cst, liling_until,
    open_bids, procurement_published, refused_by, t,
)


def announced() -> Project:
    return announce("construction", cst("2025-03-03T09:00:00"), cst("2025-03-10T17:00:00"),
                    DEADLINE, control_price="167014800.00")


def prepared(quotas: dict[str, int], representatives: int) -> dict:
    pool = [Expert(f"x-{i}", "technical" if i % 3 else "economic") for i in range(12)]
    return dict(secret_commitment=commitment(SECRET), pool_hash=pool_hash(pool),
                exclusions_hash=exclusions_hash([]), quotas=quotas,
                representatives=representatives), pool


@pytest.mark.parametrize("quotas, representatives, ok", [
    ({"technical": 4, "economic": 2}, 3, True),   # 6 of 9: two thirds exactly
    ({"technical": 4, "economic": 1}, 4, False),  # 5 of 9: less
    ({"technical": 3, "economic": 1}, 1, True),   # 4 of 5
    ({"technical": 2, "economic": 1}, 2, False),  # 3 of 5
])
def test_drawn_experts_are_at_least_two_thirds_of_the_committee(quotas, representatives, ok):
    """法 §37: the tenderee's representatives sit beside the drawn experts, who are at least
    two thirds of the members."""
    p = announced()
    payload, _ = prepared(quotas, representatives)
    if ok:
        p.step("draw-prepared", "operator-zz", cst("2025-03-05T09:00:00"), **payload)
    else:
        refused_by("expert-share", p, "draw-prepared", "operator-zz", cst("2025-03-05T09:00:00"),
                   **payload)


def opened_with_a_representative() -> tuple[Project, list[str]]:
    p = announced()
    quotas = {"technical": 3, "economic": 1}
    payload, pool = prepared(quotas, 1)
    p.step("draw-prepared", "operator-zz", cst("2025-03-05T09:00:00"), **payload)
    for i, bidder in enumerate(BIDDERS):
        p.step("bid-submitted", bidder, cst("2025-03-23T10:00:00") + timedelta(hours=i),
               bidder=bidder, bid_hash=f"{i + 1:064x}")
    open_bids(p, PRICES)
    drawn = draw(draw_seed(SECRET, HEAD), pool, set(), quotas)
    return p, [e.id for e in drawn], committee_hash(drawn)


def test_the_committee_seats_the_prepared_number_of_representatives():
    p, drawn, digest = opened_with_a_representative()
    at = DEADLINE + timedelta(minutes=10)
    refused_by("expert-share", p, "experts-drawn", "operator-zz", at, committee=drawn,
               head_hash=HEAD, committee_hash=digest)  # the prepared representative is missing
    refused_by("expert-share", p, "experts-drawn", "operator-zz", at, committee=drawn,
               head_hash=HEAD, committee_hash=digest, representatives=[drawn[0]])  # sits twice
    p.step("experts-drawn", "operator-zz", at, committee=drawn, head_hash=HEAD,
           committee_hash=digest, representatives=["rep-liling"])
    assert p.state.committee == [*drawn, "rep-liling"] and p.state.drawn == drawn
    p.step("score-submitted", drawn[0], at + timedelta(hours=1), bidder="bidder-1", score=80)


def test_a_member_of_a_bidders_organisation_withdraws():
    """条例 §46: expert-1 works for bidder-3's company; it may not score until replaced."""
    p = liling_until("opened")
    p.organisations = {**{b: f"虚构建设公司{b[-1]}" for b in BIDDERS},
                       **{f"expert-{i}": f"虚构大学{i}" for i in range(1, 6)}}
    p.organisations["expert-1"] = p.organisations["bidder-3"]
    refused_by("recusal", p, "score-submitted", "expert-1", cst("2025-03-24T11:00:00"),
               bidder="bidder-1", score=80)
    p.step("score-submitted", "expert-2", cst("2025-03-24T11:00:00"), bidder="bidder-1",
           score=80)  # another organisation: no tie


def test_keys_are_released_within_the_decryption_window():
    p = liling_until("bids")
    p.step("submission-closed", "operator-zz", DEADLINE)
    window = timedelta(minutes=30)
    p.step("key-released", "bidder-1", DEADLINE + window - timedelta(microseconds=1),
           bidder="bidder-1", key_hash="1" * 64, ip="10.0.0.7", machine="m-7f3a")
    refused_by("decryption-window", p, "key-released", "bidder-2", DEADLINE + window,
               bidder="bidder-2", key_hash="2" * 64)


def test_an_objection_at_the_opening_is_answered_on_the_spot_before_the_evaluation():
    """条例 §44: raised at the opening by a bidder, answered the same day; the committee is
    not drawn while it waits, and nothing is raised at the opening once the evaluation began."""
    p = liling_until("bids")
    p.step("submission-closed", "operator-zz", DEADLINE)
    refused_by("opening-objection", p, "opening-objection-raised", "bidder-9",
               DEADLINE + timedelta(minutes=1), bidder="bidder-9", text_hash="7" * 64)
    p.step("opening-objection-raised", "bidder-2", DEADLINE + timedelta(minutes=1),
           bidder="bidder-2", text_hash="7" * 64)
    raised = p.version
    for i, bidder in enumerate(BIDDERS):
        p.step("key-released", bidder, DEADLINE + timedelta(minutes=2), bidder=bidder,
               key_hash=f"{i + 21:064x}")
        p.step("bid-decrypted", "operator-zz", DEADLINE + timedelta(minutes=5), bidder=bidder,
               ciphertext_hash=f"{i + 1:064x}", plaintext_hash=f"{i + 11:064x}", price=PRICES[i])
    from test_procedure import DRAW

    refused_by("opening-objection", p, "experts-drawn", "operator-zz",
               DEADLINE + timedelta(minutes=10), **DRAW)
    p.step("objection-answered", "tenderee-liling", DEADLINE + timedelta(minutes=12),
           objection_version=raised, answer_hash="6" * 64)
    answer = p.state.objections[raised]
    assert answer.due == cst("2025-03-25T00:00:00") and answer.kept  # the same day
    p.step("experts-drawn", "operator-zz", DEADLINE + timedelta(minutes=15), **DRAW)
    refused_by("opening-objection", p, "opening-objection-raised", "bidder-3",
               DEADLINE + timedelta(minutes=16), bidder="bidder-3", text_hash="5" * 64)


def reported() -> Project:
    p = liling_until("opened")
    p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-5", "bidder-3"], report_hash="e" * 64)
    return p


def test_a_member_that_refuses_to_sign_has_answered_with_or_without_reasons():
    """条例 §53: a refusal with reasons is dissent the report notes; without reasons it counts
    as consent. Each member answers once; the publicity waits for every member's answer."""
    p = reported()
    p.step("evaluation-report-signed", "expert-2", cst("2025-03-24T15:30:00"), report_hash="e" * 64)
    p.step("evaluation-report-refused", "expert-3", cst("2025-03-24T15:31:00"),
           report_hash="e" * 64, reasons="对第二名的技术评分有不同意见（虚构）")
    p.step("evaluation-report-refused", "expert-4", cst("2025-03-24T15:32:00"),
           report_hash="e" * 64)
    refused_by("recorded-once", p, "evaluation-report-signed", "expert-4",
               cst("2025-03-24T15:33:00"), report_hash="e" * 64)
    refused_by("candidates", p, "candidates-published", "tenderee-liling",
               cst("2025-03-25T09:00:00"), until=t(cst("2025-03-29T00:00:00")))  # expert-5
    p.step("evaluation-report-signed", "expert-5", cst("2025-03-24T15:40:00"), report_hash="e" * 64)
    p.step("candidates-published", "tenderee-liling", cst("2025-03-25T09:00:00"),
           until=t(cst("2025-03-29T00:00:00")))
    assert p.state.report_refused == {"expert-3": "对第二名的技术评分有不同意见（虚构）",
                                      "expert-4": ""}


def test_the_report_to_the_supervision_body_within_fifteen_days_of_the_award():
    """法 §47: awarded on Monday 31 March; the 15 days are 1–15 April, to 15 April 24:00."""
    p = liling_until("publicity")
    refused_by("procedure-order", p, "supervision-report-filed", "tenderee-liling",
               cst("2025-03-28T09:00:00"), report_hash="8" * 64)
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price=PRICES[0])
    due = next(d for d in p.state.deadlines if d.rule == "report-to-supervision")
    assert due.due == cst("2025-04-16T00:00:00")
    p.step("supervision-report-filed", "tenderee-liling", cst("2025-04-15T23:59:59"),
           report_hash="8" * 64)
    assert next(d for d in p.state.deadlines if d.rule == "report-to-supervision").kept
    refused_by("recorded-once", p, "supervision-report-filed", "tenderee-liling",
               cst("2025-04-16T10:00:00"), report_hash="9" * 64)


def test_a_late_report_to_the_supervision_body_is_recorded_as_late():
    p = liling_until("publicity")
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price=PRICES[0])
    p.step("supervision-report-filed", "tenderee-liling", cst("2025-04-16T00:00:00"),
           report_hash="8" * 64)
    assert next(d for d in p.state.deadlines if d.rule == "report-to-supervision").kept is False


def test_a_procurement_challenge_within_seven_working_days_then_a_complaint_within_fifteen():
    """政采法 §52–§55: published on Tuesday 1 April; Qingming (4–6 April) is no working day, so
    the 7 working days are 2, 3, 7, 8, 9, 10, 11 April: a challenge by 11 April 24:00. Answered
    on Monday 14 April; the 15 working days after are 15–30 April (13 of them, Sunday 27 April
    being a working day) and 6–7 May after Labour Day: a complaint by 7 May 24:00."""
    p = procurement_published()
    refused_by("complaint-procurement", p, "complaint-filed", "bidder-2",
               cst("2025-04-02T10:00:00"), complainant="bidder-2", text_hash="9" * 64)
    refused_by("challenge-procurement", p, "challenge-raised", "bidder-2",
               cst("2025-04-12T00:00:00"), bidder="bidder-2", matter="result", text_hash="7" * 64)
    p.step("challenge-raised", "bidder-2", cst("2025-04-11T23:59:59"), bidder="bidder-2",
           matter="result", text_hash="7" * 64)
    raised = p.version
    refused_by("complaint-procurement", p, "complaint-filed", "bidder-2",
               cst("2025-04-12T10:00:00"), complainant="bidder-2", text_hash="9" * 64)
    p.step("challenge-answered", "tenderee-liling", cst("2025-04-14T10:00:00"),
           challenge_version=raised, answer_hash="6" * 64)
    assert p.state.challenges[raised].kept
    refused_by("complaint-procurement", p, "complaint-filed", "bidder-2",
               cst("2025-05-08T00:00:00"), complainant="bidder-2", text_hash="9" * 64)
    p.step("complaint-filed", "bidder-2", cst("2025-05-07T23:59:59"), complainant="bidder-2",
           text_hash="9" * 64)
    decision = next(d for d in p.state.deadlines if d.rule.startswith("complaint-decision"))
    assert decision.rule == f"complaint-decision-procurement:{p.version}"


def test_a_tender_has_objections_not_challenges():
    p = liling_until("publicity")
    refused_by("challenge-procurement", p, "challenge-raised", "bidder-2",
               cst("2025-03-26T10:00:00"), bidder="bidder-2", matter="result", text_hash="7" * 64)


@pytest.mark.parametrize("security, ok", [("8376080.00", True), ("8376080.01", False)])
def test_the_performance_security_is_at_most_ten_percent_of_the_contract_price(security, ok):
    """条例 §58: 10% of 83,760,800.00 is 8,376,080.00."""
    p = liling_until("publicity")
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price=PRICES[0])
    contract = dict(winner="bidder-1", contract_hash="f" * 64, performance_security=security)
    if ok:
        p.step("contract-signed", "tenderee-liling", cst("2025-04-10T10:00:00"), **contract)
    else:
        refused_by("performance-security-cap", p, "contract-signed", "tenderee-liling",
                   cst("2025-04-10T10:00:00"), **contract)


def test_the_draw_is_prepared_once():
    p = liling_until("announced")
    refused_by("recorded-once", p, "draw-prepared", "operator-zz", cst("2025-03-06T09:00:00"),
               **PREPARED)
