"""Every rule of the table (ledger/procedures/rules.py) at its boundary, on both sides: one
instant, one cent or one member inside, and one outside. Rules that bind the asking party are
refused outside; deadlines that bind the answering party are tracked, so the answer one
instant before the due instant is kept and one at it is late.

`BOUNDARY_TESTS` names, for each rule, the tests that show both sides; the guard at the end
fails when a rule of the table has none (a new rule needs its boundary test)."""

from __future__ import annotations

import copy
import importlib
from datetime import timedelta
from decimal import Decimal
from typing import Callable

import pytest

from ledger.procedures.rules import RuleBook
from test_procedure import (
    BIDDERS, DEADLINE, PRICES, Project, complain_about_the_result, cst, liling_until,
    procurement_published, procurement_until_announced, refused_by, t,
)

INSTANT = timedelta(microseconds=1)


# --- rules that bind the asking party, where the older tests stop short of the instant ---

def test_a_bid_at_the_deadline_instant_is_late():
    p = liling_until("bids")
    refused_by("late-bid", p, "bid-submitted", "bidder-1", DEADLINE, bidder="bidder-1",
               bid_hash="9" * 64)
    p.step("bid-submitted", "bidder-1", DEADLINE - INSTANT, bidder="bidder-1", bid_hash="9" * 64)


def test_a_clarification_that_affects_bids_moves_the_deadline_to_its_fifteenth_day():
    """条例 §21: issued on Wednesday 12 March, the 15 days end on Thursday 27 March."""
    at = cst("2025-03-12T10:00:00")
    p = liling_until("announced")
    refused_by("clarification-notice", p, "clarification-issued", "tenderee-liling", at,
               document_hash="b" * 64, affects_bids=True,
               bid_deadline=t(cst("2025-03-27T00:00:00") - INSTANT))
    p.step("clarification-issued", "tenderee-liling", at, document_hash="b" * 64,
           affects_bids=True, bid_deadline=t(cst("2025-03-27T00:00:00")))


def test_an_objection_to_the_candidates_comes_during_the_publicity():
    p = liling_until("publicity")
    until = p.state.publicity_until
    q = copy.deepcopy(p)
    q.step("publicity-objection-raised", "bidder-3", until - INSTANT, bidder="bidder-3",
           text_hash="7" * 64)
    refused_by("publicity-objection-answer", p, "publicity-objection-raised", "bidder-3", until,
               bidder="bidder-3", text_hash="7" * 64)


@pytest.mark.parametrize("amount, ok", [("47600.00", True), ("47600.01", False)])
def test_procurement_security_is_at_most_two_percent_of_the_budget_and_not_cash(amount, ok):
    """政采条例 §33: 2% of 2,380,000.00 is 47,600.00; a cash deposit is refused whatever its
    amount."""
    p = procurement_until_announced()
    post = dict(bidder="bidder-1", amount=amount, form="guarantee")
    if ok:
        p.step("security-posted", "bidder-1", cst("2025-04-20T10:00:00"), **post)
        refused_by("security-cap-procurement", procurement_until_announced(), "security-posted",
                   "bidder-1", cst("2025-04-20T10:00:00"), **{**post, "form": "deposit",
                                                             "basic_account": True})
    else:
        refused_by("security-cap-procurement", p, "security-posted", "bidder-1",
                   cst("2025-04-20T10:00:00"), **post)


@pytest.mark.parametrize("kept, ok", [("2040-04-30T16:00:00.000000Z", True),
                                      ("2040-04-30T15:59:59.999999Z", False)])
def test_procurement_files_are_kept_fifteen_years(kept, ok):
    """政采法 §42: archived on 1 May 2025 (CST), kept to 1 May 2040 at least."""
    p = procurement_until_announced()
    p.state.stage = "contracted"
    at = cst("2025-05-01T10:00:00")
    if ok:
        p.step("archived", "operator-zz", at, retain_until=kept)
    else:
        refused_by("archive", p, "archived", "operator-zz", at, retain_until=kept)


# --- deadlines that bind the answering party: kept one instant before, late at it ---------

def _objection(p: Project) -> tuple[str, Callable]:
    p.step("objection-raised", "bidder-1", cst("2025-03-12T10:00:00"), bidder="bidder-1",
           text_hash="7" * 64)
    v = p.version
    return "objection-answer", lambda q, at: q.step(
        "objection-answered", "tenderee-liling", at, objection_version=v, answer_hash="6" * 64)


def _publicity_objection(p: Project) -> tuple[str, Callable]:
    p.step("publicity-objection-raised", "bidder-3", cst("2025-03-26T10:00:00"),
           bidder="bidder-3", text_hash="7" * 64)
    v = p.version
    return "publicity-objection-answer", lambda q, at: q.step(
        "objection-answered", "tenderee-liling", at, objection_version=v, answer_hash="6" * 64)


def _opening_objection(p: Project) -> tuple[str, Callable]:
    p.step("submission-closed", "operator-zz", DEADLINE)
    p.step("opening-objection-raised", "bidder-2", DEADLINE + timedelta(minutes=1),
           bidder="bidder-2", text_hash="7" * 64)
    v = p.version
    return "opening-objection", lambda q, at: q.step(
        "objection-answered", "tenderee-liling", at, objection_version=v, answer_hash="6" * 64)


def _publication(p: Project) -> tuple[str, Callable]:
    from test_procedure import EXPERTS

    p.step("evaluation-reported", "expert-1", cst("2025-03-24T15:00:00"),
           ranking=["bidder-1", "bidder-5", "bidder-3"], report_hash="e" * 64)
    for expert in EXPERTS[1:]:
        p.step("evaluation-report-signed", expert, cst("2025-03-24T15:30:00"),
               report_hash="e" * 64)
    return "publicity-start", lambda q, at: q.step(
        "candidates-published", "tenderee-liling", at,
        until=t(q.procedure.publicity_ends(at)))


def _award(p: Project) -> None:
    p.step("awarded", "tenderee-liling", cst("2025-03-31T09:00:00"), winner="bidder-1",
           price=PRICES[0])


def _contract(p: Project) -> tuple[str, Callable]:
    _award(p)
    return "contract", lambda q, at: q.step("contract-signed", "tenderee-liling", at,
                                            winner="bidder-1", contract_hash="f" * 64)


def _acceptance(p: Project) -> tuple[str, Callable]:
    v = complain_about_the_result(p)
    return "complaint-acceptance", lambda q, at: q.step(
        "complaint-accepted", "supervisor-zz", at, complaint_version=v)


def _decision(p: Project) -> tuple[str, Callable]:
    v = complain_about_the_result(p)
    p.step("complaint-accepted", "supervisor-zz", cst("2025-03-28T10:00:00"), complaint_version=v)
    return "complaint-decision", lambda q, at: q.step(
        "complaint-decided", "supervisor-zz", at, complaint_version=v, decision="dismissed",
        text_hash="8" * 64)


def _challenge(p: Project) -> tuple[str, Callable]:
    p.step("challenge-raised", "bidder-2", cst("2025-04-02T10:00:00"), bidder="bidder-2",
           matter="result", text_hash="7" * 64)
    v = p.version
    return "challenge-answer-procurement", lambda q, at: q.step(
        "challenge-answered", "tenderee-liling", at, challenge_version=v, answer_hash="6" * 64)


def _procurement_decision(p: Project) -> tuple[str, Callable]:
    rule, answer = _challenge(p)
    answer(p, cst("2025-04-03T10:00:00"))
    p.step("complaint-filed", "bidder-2", cst("2025-04-07T10:00:00"), complainant="bidder-2",
           text_hash="9" * 64)
    v = p.version
    return "complaint-decision-procurement", lambda q, at: q.step(
        "complaint-decided", "supervisor-zz", at, complaint_version=v, decision="dismissed",
        text_hash="8" * 64)


def _refund(bidder: str) -> Callable:
    return lambda q, at: q.step("security-refunded", "ledger", at, bidder=bidder,
                                amount="800000.00")


def _withdrawal(p: Project) -> tuple[str, Callable]:
    p.step("bid-withdrawn", "bidder-5", DEADLINE - timedelta(days=1), bidder="bidder-5")
    return "withdrawal-refund", _refund("bidder-5")


def _after_contract(p: Project) -> tuple[str, Callable]:
    return "security-refund", _refund("bidder-2")


def _procurement_losers(p: Project) -> tuple[str, Callable]:
    for bidder in BIDDERS[:2]:
        p.step("security-posted", bidder, cst("2025-04-20T10:00:00"), bidder=bidder,
               amount="40000.00", form="guarantee")
    state = p.state
    state.stage, state.publicity_until = "publicity", cst("2025-04-25T09:00:00")
    state.published_at = cst("2025-04-21T09:00:00")
    state.ranking, state.prices = ["bidder-1"], {"bidder-1": Decimal("1986000.00")}
    p.step("awarded", "tenderee-liling", cst("2025-04-25T10:00:00"), winner="bidder-1",
           price="1986000.00")
    return "security-refund-procurement", lambda q, at: q.step(
        "security-refunded", "ledger", at, bidder="bidder-2", amount="40000.00")


TRACKED = {
    "objection-answer": (lambda: liling_until("announced"), _objection),
    "publicity-objection-answer": (lambda: liling_until("publicity"), _publicity_objection),
    "opening-objection": (lambda: liling_until("bids"), _opening_objection),
    "publicity-start": (lambda: liling_until("opened"), _publication),
    "contract": (lambda: liling_until("publicity"), _contract),
    "complaint-acceptance": (lambda: liling_until("publicity"), _acceptance),
    "complaint-decision": (lambda: liling_until("publicity"), _decision),
    "challenge-answer-procurement": (procurement_published, _challenge),
    "complaint-decision-procurement": (procurement_published, _procurement_decision),
    "withdrawal-refund": (lambda: liling_until("bids"), _withdrawal),
    "security-refund": (lambda: liling_until("contracted"), _after_contract),
    "security-refund-procurement": (procurement_until_announced, _procurement_losers),
}


@pytest.mark.parametrize("rule", sorted(TRACKED))
def test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it(rule):
    build, prepare = TRACKED[rule]
    p = build()
    tracked, answer = prepare(p)
    assert tracked == rule
    due = next(d.due for d in p.state.deadlines if d.rule.split(":")[0] == rule)
    for at, kept in ((due - INSTANT, True), (due, False)):
        q = copy.deepcopy(p)
        answer(q, at)
        met = [d for d in q.state.deadlines if d.rule.split(":")[0] == rule and d.met == at]
        assert len(met) == 1 and met[0].due == due and met[0].kept is kept, (rule, at, met)


# --- the guard -------------------------------------------------------------------------------

BOUNDARY_TESTS = {
    "who-may-act": ["test_authority::test_every_step_refuses_every_other_signer_and_records_the_refusal"],
    "procedure-order": ["test_procedure_records::test_a_ranking_changes_only_through_a_re_evaluation_the_supervision_body_orders",
                        "test_procedure_rules::test_the_report_to_the_supervision_body_within_fifteen_days_of_the_award"],
    "recorded-once": ["test_procedure_records::test_a_member_scores_a_bid_once_rejects_it_once_and_signs_once",
                      "test_procedure_records::test_a_bid_is_decrypted_once"],
    "document-availability": ["test_procedure::test_documents_available_five_days_at_the_boundary"],
    "document-availability-procurement": ["test_procedure::test_procurement_documents_for_five_working_days_across_labour_day"],
    "preparation-time": ["test_procedure::test_preparation_time_of_twenty_days_at_its_boundary"],
    "clarification-notice": ["test_a_clarification_that_affects_bids_moves_the_deadline_to_its_fifteenth_day"],
    "objection-to-documents": ["test_procedure::test_objection_ten_days_before_the_deadline_and_the_suspension"],
    "objection-answer": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "security-cap": ["test_procedure::test_security_is_capped_at_two_percent",
                     "test_procedure_records::test_the_two_percent_cap_is_compared_exactly_never_rounded_up"],
    "security-cap-procurement": ["test_procurement_security_is_at_most_two_percent_of_the_budget_and_not_cash"],
    "security-before-deadline": ["test_procedure_records::test_security_is_posted_once_before_the_deadline"],
    "security-basic-account": ["test_procedure::test_a_deposit_must_come_from_the_basic_account"],
    "withdrawal-refund": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "late-bid": ["test_a_bid_at_the_deadline_instant_is_late"],
    "bid-change-before-deadline": ["test_procedure::test_a_bid_is_withdrawn_only_before_the_deadline"],
    "minimum-bidders": ["test_procedure::test_fewer_than_three_bids_fail_the_tender_and_three_open"],
    "opening-at-deadline": ["test_procedure::test_opening_before_the_deadline_is_refused"],
    "decryption-window": ["test_procedure_rules::test_keys_are_released_within_the_decryption_window"],
    "opening-record": ["test_procedure_records::test_the_opening_is_convened_once_before_the_first_decryption_by_registered_persons"],
    "bid-clarification": ["test_procedure_records::test_a_clarification_is_asked_of_an_opened_bid_before_the_report"],
    "witness-assignment": ["test_procedure_records::test_the_centre_assigns_registered_witness_officers_once_until_the_archive"],
    "warning-referral": ["test_procedure_records::test_a_warning_is_passed_on_once_the_bids_are_closed"],
    "opening-objection": ["test_procedure_rules::test_an_objection_at_the_opening_is_answered_on_the_spot_before_the_evaluation",
                          "test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "encrypted-bid": ["test_procedure::test_a_decryption_failure_by_the_bidder_keeps_its_security"],
    "committee-size": ["test_procedure::test_a_construction_committee_has_five_or_more_members_an_odd_number"],
    "panel-size-procurement": ["test_procedure::test_a_procurement_panel_has_three_or_more_members_an_odd_number"],
    "expert-share": ["test_procedure_rules::test_drawn_experts_are_at_least_two_thirds_of_the_committee"],
    "expert-draw": ["test_procedure::test_a_draw_not_prepared_before_the_deadline_or_seeded_otherwise_is_refused"],
    "recusal": ["test_procedure_rules::test_a_member_of_a_bidders_organisation_withdraws",
                "test_procedure::test_a_recusal_must_be_replaced_by_the_draws_next_expert"],
    "candidates": ["test_procedure::test_a_ranking_that_the_bids_do_not_give_is_refused",
                   "test_procedure::test_the_award_waits_for_the_publicity_and_names_a_candidate"],
    "price-ceiling": ["test_procedure_records::test_a_bid_above_the_ceiling_is_no_candidate"],
    "state-funded-first-candidate": ["test_procedure_records::test_a_state_funded_project_awards_its_first_candidate_until_it_declines"],
    "publicity-start": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "publicity-period": ["test_procedure::test_the_award_waits_for_the_publicity_and_names_a_candidate"],
    "publicity-objection-answer": ["test_an_objection_to_the_candidates_comes_during_the_publicity",
                                   "test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "complaint": ["test_procedure::test_a_complaint_within_ten_days_of_the_publication_and_its_deadlines",
                  "test_procedure::test_the_objections_answer_period_is_not_counted_in_the_complaint_period"],
    "objection-before-complaint": ["test_procedure::test_the_objections_answer_period_is_not_counted_in_the_complaint_period"],
    "complaint-acceptance": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "complaint-decision": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "challenge-procurement": ["test_procedure_rules::test_a_procurement_challenge_within_seven_working_days_then_a_complaint_within_fifteen"],
    "challenge-answer-procurement": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "complaint-procurement": ["test_procedure_rules::test_a_procurement_challenge_within_seven_working_days_then_a_complaint_within_fifteen"],
    "complaint-decision-procurement": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "contract-terms": ["test_procedure_records::test_the_contract_is_the_winners_at_the_award_price_unless_a_reason_is_recorded"],
    "contract": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "security-refund-amount": ["test_procedure_records::test_a_refund_returns_the_security_held_with_interest_on_cash_only"],
    "security-refund": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "security-refund-procurement": ["test_a_tracked_deadline_is_kept_one_instant_before_its_due_and_late_at_it"],
    "performance-security-cap": ["test_procedure_rules::test_the_performance_security_is_at_most_ten_percent_of_the_contract_price"],
    "report-to-supervision": ["test_procedure_rules::test_the_report_to_the_supervision_body_within_fifteen_days_of_the_award",
                              "test_procedure_rules::test_a_late_report_to_the_supervision_body_is_recorded_as_late"],
    "archive": ["test_procurement_files_are_kept_fifteen_years"],
    "witness-report": ["test_reports::test_a_sign_off_names_an_issued_report"],
    "refusal-records": ["test_trading::test_refusals_are_bounded_per_actor_project_and_day"],
    "quote-refusal-records": ["test_listing::test_every_lost_race_is_recorded_up_to_the_quotes_own_bound"],
    # rights transactions by listing or online auction (39号令; 32号令)
    "listing-announcement": ["test_listing::test_the_listing_starts_after_20_full_days_of_announcement"],
    "state-property-disclosure": ["test_listing::test_state_property_is_disclosed_for_20_working_days"],
    "listing-period": ["test_listing::test_exactly_ten_days_of_listing_and_across_a_holiday",
                       "test_listing::test_exactly_ten_days_of_listing_without_a_holiday"],
    "mining-announcement": ["test_listing::test_a_mining_right_is_announced_20_days_ahead_under_its_own_rules"],
    "mining-listing-period": ["test_listing::test_a_mining_right_is_listed_for_10_working_days"],
    "listing-registration": ["test_listing::test_registration_needs_the_deposit_before_the_deadline"],
    "reserve-sealed": ["test_listing::test_bidding_starts_only_once_the_reserve_is_committed",
                       "test_listing::test_a_single_quote_just_below_and_at_the_reserve"],
    "quote-increment": ["test_listing::test_quotes_rise_by_the_increment_during_the_listing_only"],
    "timed-round": ["test_listing::test_the_timed_round_restarts_at_each_new_highest_and_refuses_a_second_late"],
    "listing-outcome": ["test_listing::test_a_single_quote_just_below_and_at_the_reserve"],
    "deal-confirmation": ["test_listing::test_the_deal_is_confirmed_with_the_winner_and_the_result_published_in_10_working_days"],
    "deposit-refund": ["test_listing::test_the_ledger_refunds_the_other_deposits_without_interest"],
    "result-publication": ["test_listing::test_the_deal_is_confirmed_with_the_winner_and_the_result_published_in_10_working_days"],
}


def test_every_rule_of_the_table_has_a_boundary_test():
    rules = set(RuleBook.national().rules)
    assert set(BOUNDARY_TESTS) == rules, (f"no boundary test: {sorted(rules - set(BOUNDARY_TESTS))}; "
                                          f"no such rule: {sorted(set(BOUNDARY_TESTS) - rules)}")
    for rule, names in BOUNDARY_TESTS.items():
        for name in names:
            module, _, function = name.rpartition("::")
            found = getattr(importlib.import_module(module or __name__), function, None)
            assert callable(found), f"{rule}: {name} is not a test"
