"""The periods and limits of the trading rules, in one table, each with its article.

Every deadline and limit the procedures enforce is read from here, never written as a literal
elsewhere. A centre whose local regulations differ adjusts values with `RuleBook.adjusted`;
the article stays with the value so that a refusal can always name it.

Sources (../shared/RULES.md): 招标投标法 (法), 招标投标法实施条例 (条例), 政府采购法 (政采法),
政府采购法实施条例 (政采条例), 电子招标投标办法 (电子办法).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

Unit = Literal["days", "working_days", "minutes", "years", "percent", "count", "fraction"]


@dataclass(frozen=True)
class Rule:
    id: str  # stable: named in refusals and warnings
    value: int | Decimal
    unit: Unit
    article: str
    text: str  # what the rule says, in a line


_RULES = (
    # --- who acts, and in what order (RULES.md, "Who may act")
    Rule("who-may-act", 1, "count", "法 §12–§13",
         "each action is taken by the party it concerns, with its own key, or by the role the "
         "law lets act for it: the agent for the tenderee, the centre for the platform's own "
         "steps"),
    Rule("procedure-order", 1, "count", "法 §25–§48",
         "a step is taken only at the stage of the procedure where the law places it"),
    Rule("recorded-once", 1, "count", "条例 §71, §81",
         "what is recorded (a security, a decryption, a committee, a score, a rejection, a "
         "signature, a report) is not recorded again or changed in place; a correction is the "
         "step the law provides, such as a re-evaluation ordered by the supervision body"),
    # --- documents and preparation
    Rule("document-availability", 5, "days", "条例 §16",
         "tender documents are available for at least 5 days"),
    Rule("document-availability-procurement", 5, "working_days", "政采条例 §31",
         "procurement documents are available for at least 5 working days"),
    Rule("preparation-time", 20, "days", "法 §24; 政采法 §35",
         "at least 20 days from the first issue of the documents to the bid deadline"),
    Rule("clarification-notice", 15, "days", "法 §23; 条例 §21",
         "a clarification or amendment affecting bids is issued at least 15 days before the "
         "bid deadline, otherwise the deadline moves"),
    Rule("objection-to-documents", 10, "days", "条例 §22",
         "an objection to the documents is raised at least 10 days before the bid deadline"),
    Rule("objection-answer", 3, "days", "条例 §22",
         "an objection to the documents is answered within 3 days; the process is suspended "
         "until it is"),
    # --- bid security
    Rule("security-cap", Decimal("2"), "percent", "条例 §26",
         "bid security is at most 2% of the estimated price"),
    Rule("security-cap-procurement", Decimal("2"), "percent", "政采条例 §33",
         "procurement bid security is at most 2% of the budget, and not in cash"),
    Rule("security-before-deadline", 0, "days", "条例 §26",
         "bid security is posted before the bid deadline, with the bid"),
    Rule("security-basic-account", 1, "count", "条例 §26",
         "cash or cheque security comes from the bidder's basic account"),
    Rule("withdrawal-refund", 5, "days", "条例 §35",
         "security of a bid withdrawn before the deadline is refunded within 5 days"),
    # --- bids and opening
    Rule("late-bid", 0, "days", "法 §28; 条例 §36",
         "a bid received after the deadline is refused"),
    Rule("bid-change-before-deadline", 0, "days", "法 §29",
         "a bid may be changed or withdrawn only before the deadline"),
    Rule("minimum-bidders", 3, "count", "法 §28; 条例 §44",
         "fewer than 3 bidders: no opening, the tender fails (流标) and is re-tendered"),
    Rule("opening-at-deadline", 0, "days", "法 §34",
         "the opening takes place at the bid deadline, not before"),
    Rule("decryption-window", 30, "minutes", "电子办法 §31; the centre's setting",
         "bidders release their keys online within the decryption window after the deadline "
         "that the centre sets; a bid not decrypted by then fails by the bidder's cause"),
    Rule("opening-record", 1, "count", "法 §35–§36",
         "the opening is convened once, before the first decryption, by the centre for the "
         "tenderee, naming its host and its recorder (registered persons) and its place; the "
         "whole opening is recorded"),
    Rule("opening-objection", 1, "count", "条例 §44",
         "an objection to the opening is raised at the opening and answered on the spot, the "
         "same day and before the evaluation, and recorded"),
    Rule("encrypted-bid", 1, "count", "电子办法",
         "bids are encrypted; nobody decrypts before the deadline; bidders decrypt online at "
         "the opening; a failure caused by the bidder counts as revoking its bid, one caused by "
         "others as a withdrawal"),
    # --- experts
    Rule("committee-size", 5, "count", "法 §37; 条例 §46",
         "a construction evaluation committee has 5 or more members, an odd number"),
    Rule("panel-size-procurement", 3, "count", "政采法 §38; 政采条例 §39",
         "a procurement evaluation panel has 3 or more members, an odd number"),
    Rule("expert-share", Decimal("2") / Decimal("3"), "fraction", "法 §37; 政采法 §38",
         "at least two thirds of the members are experts drawn at random"),
    Rule("expert-draw", 1, "count", "法 §37; 条例 §46",
         "experts are drawn at random from the pool, by a draw committed before the bids are "
         "known and replayable from what is disclosed after the award"),
    Rule("recusal", 3, "years", "条例 §46; 政采条例 §9",
         "an expert with employment, directorship or control within 3 years, kinship or "
         "another interest withdraws"),
    # --- evaluation and award
    Rule("candidates", 3, "count", "条例 §53",
         "an evaluation report ranks at most 3 candidates and is signed by every member"),
    Rule("bid-clarification", 1, "count", "条例 §52",
         "the committee may ask a bidder in writing to clarify an unclear part of its opened "
         "bid, before its report; the question and the answer are recorded by hash"),
    Rule("price-ceiling", 1, "count", "条例 §51",
         "a bid above the published ceiling (the control price) is rejected and is no "
         "candidate"),
    Rule("state-funded-first-candidate", 1, "count", "条例 §55",
         "a project where state-owned funds hold a controlling or dominant share awards the "
         "first candidate, the next only when it declines or is disqualified"),
    Rule("publicity-start", 3, "days", "条例 §54",
         "candidates are published within 3 days of receiving the evaluation report"),
    Rule("publicity-period", 3, "days", "条例 §54",
         "candidate publicity lasts at least 3 days"),
    Rule("publicity-objection-answer", 3, "days", "条例 §54",
         "an objection during publicity is answered within 3 days; the process is suspended"),
    Rule("complaint", 10, "days", "条例 §60",
         "a complaint reaches the supervision body within 10 days of knowing"),
    Rule("objection-before-complaint", 1, "count", "条例 §60",
         "a complaint on the documents, the opening or the result follows the complainant's own "
         "objection, whose answer period is not counted in the 10 days"),
    Rule("complaint-acceptance", 3, "working_days", "条例 §61",
         "the supervision body decides within 3 working days whether to accept a complaint"),
    Rule("complaint-decision", 30, "working_days", "条例 §61",
         "the supervision body decides a complaint within 30 working days"),
    Rule("challenge-procurement", 7, "working_days", "政采法 §52",
         "a procurement challenge (质疑) is raised within 7 working days"),
    Rule("challenge-answer-procurement", 7, "working_days", "政采法 §53",
         "a procurement challenge is answered within 7 working days"),
    Rule("complaint-procurement", 15, "working_days", "政采法 §55",
         "a procurement complaint is filed within 15 working days of the answer"),
    Rule("complaint-decision-procurement", 30, "working_days", "政采法 §56",
         "a procurement complaint is decided within 30 working days"),
    Rule("contract", 30, "days", "法 §46",
         "the contract is signed within 30 days of the award notice"),
    Rule("contract-terms", 1, "count", "法 §46",
         "the contract is signed with the winner, on the terms of the bid and the award: at "
         "the award price unless a recorded reason says otherwise"),
    Rule("security-refund-amount", 1, "count", "条例 §57",
         "a refund returns the security held, with bank deposit interest on a cash deposit"),
    Rule("security-refund", 5, "days", "条例 §57",
         "bid security is refunded within 5 days after the contract is signed"),
    Rule("security-refund-procurement", 5, "working_days", "政采条例 §33",
         "losing bidders' security is refunded within 5 working days of the award notice"),
    Rule("performance-security-cap", Decimal("10"), "percent", "条例 §58",
         "performance security is at most 10% of the contract price"),
    Rule("report-to-supervision", 15, "days", "法 §47",
         "the tenderee reports to the supervision body within 15 days of fixing the winner"),
    Rule("archive", 15, "years", "政采法 §42",
         "procurement files are kept for at least 15 years"),
    Rule("witness-assignment", 1, "count", "Sunledger operating rule",
         "the centre assigns registered witness officers to a project, each once; only an "
         "assigned officer records observations, referrals and sign-offs on it"),
    Rule("warning-referral", 1, "count", "Sunledger operating rule",
         "a witness officer passes a collusion warning of a project to its supervision body "
         "once the bids are closed, and records that it did"),
    Rule("witness-report", 1, "count", "Sunledger operating rule",
         "a witness report covers events recorded before it; a sign-off names an issued "
         "report by its hash"),
    # --- rights transactions by listing or online auction (39号令; state property: 32号令;
    #     RULES.md: article numbers to be checked against the official text before printing)
    Rule("listing-announcement", 20, "days", "39号令 §11",
         "a listing or auction is announced at least 20 days before it starts"),
    Rule("state-property-disclosure", 20, "working_days", "32号令 §13",
         "state property is disclosed for at least 20 working days before bidding"),
    Rule("listing-period", 10, "days", "39号令 §18",
         "a listing lasts at least 10 days; quotes are taken only while it lasts"),
    Rule("mining-announcement", 20, "days", "矿业权规则",
         "a mining right's listing or auction is announced at least 20 days before it starts"),
    Rule("mining-listing-period", 10, "working_days", "矿业权规则",
         "a mining right's listing lasts at least 10 working days"),
    Rule("listing-registration", 1, "count", "39号令 §11",
         "a bidder registers before the deadline the announcement sets, with at least the "
         "deposit it asks; only a registered bidder quotes"),
    Rule("reserve-sealed", 1, "count", "39号令 §10",
         "the reserve price is fixed by collective decision and stays secret until bidding "
         "ends: committed by hash before it starts, revealed after and checked against it"),
    Rule("quote-increment", 1, "count", "39号令 §18",
         "a quote is at least the highest so far plus the increment, which may be adjusted "
         "during the listing"),
    Rule("timed-round", 1, "count", "39号令 §19",
         "in the timed round each new highest quote restarts the countdown; a quote after a "
         "countdown ran out is refused, and the round ends then"),
    Rule("listing-outcome", 1, "count", "39号令 §19",
         "the highest quote wins, an equal quote losing to the earlier one; below the reserve "
         "nothing is sold"),
    Rule("deal-confirmation", 1, "count", "39号令 §20",
         "the winner signs the confirmation (成交确认书); its deposit becomes the down payment"),
    Rule("deposit-refund", 5, "working_days", "39号令 §21",
         "the other bidders' deposits are refunded within 5 working days, without interest"),
    Rule("result-publication", 10, "working_days", "39号令 §22",
         "the result is published within 10 working days"),
    # --- the platform's own bound (not a legal rule)
    Rule("refusal-records", 20, "count", "Sunledger operating rule",
         "at most 20 refused actions per actor, project and day are recorded; further "
         "refusals are answered but not recorded"),
    Rule("quote-refusal-records", 1000, "count", "Sunledger operating rule",
         "at most 1,000 refused quotes per bidder, listing and day are recorded (a timed "
         "round's lost races are its evidence); further refusals are answered but not "
         "recorded"),
)


@dataclass(frozen=True)
class RuleBook:
    """The rules in force: the national values, or a centre's adjusted copy."""

    rules: dict[str, Rule]

    @classmethod
    def national(cls) -> "RuleBook":
        return cls({rule.id: rule for rule in _RULES})

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def adjusted(self, rule_id: str, value: int | Decimal, article: str) -> "RuleBook":
        """A copy with one value changed, under the local article that changes it."""
        rule = self.rules[rule_id]
        return RuleBook({**self.rules, rule_id: replace(rule, value=value, article=article)})
