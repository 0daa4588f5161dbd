"""Who may record each step of a project: one table, used by the procedure before every step
and by the verifier over every stored event (docs/evidence-format.md §10.1).

For each project event type, the roles that may sign it, and for each role how the signer is
bound to the action (RULES.md, "Who may act"):

- `self:<member>`: the payload member names the party acting, and it must be the signer
  (a bidder posts, submits, withdraws, checks in, releases its key, objects and complains only
  for itself);
- `principal`: the project's own tenderee, or the agent it named at intake (法 §12–§13);
- `tenderee`: the project's own tenderee only (the contract is the tenderee's);
- `committee`: a member sitting on the project's evaluation committee;
- `assigned`: a witness officer the centre assigned to witness this project;
- `any`: any holder of the role (the centre's operator for the platform's own steps, the
  ledger itself as registrar, a supervision body, a witness officer);
- `ledger`: the ledger itself (actor `ledger`), whatever other registrar there is: only the
  ledger records a refusal.

The registry's own types (`ledger.*`, `actor.*`) are judged by the registry's rules
(evidence/registry.py, evidence-format §11.3), which the write path and the verifier share.

The verifier checks what a single event shows (the signer's roles in the registry, and the
`self:` members); `principal`, `committee` and `assigned` depend on the project's earlier events and are
judged by the procedure when the action is taken and again by `sunledger replay`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ledger.evidence.envelope import LEDGER_ACTOR

ANY, PRINCIPAL, TENDEREE, COMMITTEE, ASSIGNED, LEDGER = (
    "any", "principal", "tenderee", "committee", "assigned", "ledger")
_SCOPES = (ANY, PRINCIPAL, TENDEREE, COMMITTEE, ASSIGNED, LEDGER)


@dataclass(frozen=True)
class Authority:
    """Who may sign one event type: role → binding (`any`, `principal`, `tenderee`,
    `committee` or `self:<payload member>`)."""

    roles: Mapping[str, str]

    def __post_init__(self) -> None:
        for role, binding in self.roles.items():
            if binding not in _SCOPES and not binding.startswith("self:"):
                raise ValueError(f"{role}: {binding!r} is not a binding")

    def self_member(self, role: str) -> str | None:
        binding = self.roles.get(role, "")
        return binding[len("self:"):] if binding.startswith("self:") else None

    def describe(self) -> str:
        """In words, for refusals: 'a bidder for itself (payload.bidder) or …'."""
        words = {ANY: "", PRINCIPAL: " of this project (its tenderee or its agent)",
                 TENDEREE: " of this project", COMMITTEE: " sitting on this project's committee",
                 ASSIGNED: " assigned to witness this project",
                 LEDGER: " that is the ledger itself"}
        return " or ".join(
            ("an " if role[0] in "aeiou" else "a ") + role + (f" for itself (payload.{member})" if (member := self.self_member(role))
                           else words[binding])
            for role, binding in self.roles.items())


def _a(**roles: str) -> Authority:
    return Authority(roles)


BIDDER_SELF = _a(bidder="self:bidder")
PRINCIPALS = _a(tenderee=PRINCIPAL, agent=PRINCIPAL)
PLATFORM = _a(operator=ANY)
MEMBERS = _a(expert=COMMITTEE, tenderee=COMMITTEE)  # drawn experts and the tenderee's
#                                                     representatives (法 §37)
LEDGER_OR_PLATFORM = _a(registrar=ANY, operator=ANY)

AUTHORITY: dict[str, Authority] = {
    "project.intake/v1": _a(tenderee="self:tenderee", agent="self:agent"),
    "project.intake-accepted/v1": PLATFORM,
    "project.intake-refused/v1": PLATFORM,
    "project.announced/v1": PRINCIPALS,
    "project.documents-issued/v1": PRINCIPALS,
    "project.documents-obtained/v1": BIDDER_SELF,
    "project.clarification-issued/v1": PRINCIPALS,
    "project.objection-raised/v1": BIDDER_SELF,
    "project.objection-answered/v1": PRINCIPALS,
    "project.security-posted/v1": BIDDER_SELF,
    "project.bid-submitted/v1": BIDDER_SELF,
    "project.bid-withdrawn/v1": BIDDER_SELF,
    "project.submission-closed/v1": LEDGER_OR_PLATFORM,
    "project.checked-in/v1": BIDDER_SELF,
    "project.key-released/v1": BIDDER_SELF,
    "project.bid-decrypted/v1": PLATFORM,
    "project.decryption-failed/v1": PLATFORM,
    "project.opening-convened/v1": PLATFORM,
    "project.opening-objection-raised/v1": BIDDER_SELF,
    "project.draw-prepared/v1": PLATFORM,
    "project.experts-drawn/v1": PLATFORM,
    "project.draw-disclosed/v1": PLATFORM,
    "project.expert-replaced/v1": PLATFORM,
    "project.score-submitted/v1": MEMBERS,
    "project.bid-rejected/v1": MEMBERS,
    "project.bid-clarified/v1": MEMBERS,
    "project.evaluation-reported/v1": MEMBERS,
    "project.evaluation-report-signed/v1": MEMBERS,
    "project.evaluation-report-refused/v1": MEMBERS,
    "project.candidates-published/v1": PRINCIPALS,
    "project.publicity-objection-raised/v1": BIDDER_SELF,
    "project.challenge-raised/v1": BIDDER_SELF,
    "project.challenge-answered/v1": PRINCIPALS,
    "project.complaint-filed/v1": _a(bidder="self:complainant"),
    "project.complaint-accepted/v1": _a(supervisor=ANY),
    "project.complaint-decided/v1": _a(supervisor=ANY),
    "project.re-evaluation-ordered/v1": _a(supervisor=ANY),
    "project.candidate-declined/v1": BIDDER_SELF,
    "project.candidate-disqualified/v1": _a(tenderee=PRINCIPAL, agent=PRINCIPAL,
                                           supervisor=ANY),
    "project.awarded/v1": PRINCIPALS,
    "project.contract-signed/v1": _a(tenderee=TENDEREE),
    "project.supervision-report-filed/v1": PRINCIPALS,
    "project.security-refunded/v1": LEDGER_OR_PLATFORM,
    # rights transactions (procedures/rights.py): the seller (出让人, the project's tenderee)
    # or its agent announces, commits and reveals the reserve, confirms the deal and publishes
    # the result; bidders register and quote for themselves; the platform (or the ledger, when
    # the moment comes) closes the listing and ends the round, adjusts the increment
    "project.listing-announced/v1": PRINCIPALS,
    "project.reserve-committed/v1": PRINCIPALS,
    "project.bidder-registered/v1": BIDDER_SELF,
    "project.quote-submitted/v1": BIDDER_SELF,
    "project.increment-adjusted/v1": _a(operator=ANY, tenderee=PRINCIPAL, agent=PRINCIPAL),
    "project.continuation-requested/v1": BIDDER_SELF,
    "project.listing-closed/v1": LEDGER_OR_PLATFORM,
    "project.round-ended/v1": LEDGER_OR_PLATFORM,
    "project.reserve-revealed/v1": PRINCIPALS,
    "project.no-sale/v1": LEDGER_OR_PLATFORM,
    "project.deal-confirmed/v1": PRINCIPALS,
    "project.result-published/v1": PRINCIPALS,
    "project.witness-assigned/v1": LEDGER_OR_PLATFORM,
    "project.witness-observation/v1": _a(witness=ASSIGNED),
    "project.warning-referred/v1": _a(witness=ASSIGNED),
    "project.report-issued/v1": LEDGER_OR_PLATFORM,
    "project.report-signed-off/v1": _a(witness=ASSIGNED),
    "project.terminated/v1": _a(tenderee=TENDEREE, operator=ANY),
    "project.archived/v1": PLATFORM,
    "refusal.recorded/v1": _a(registrar=LEDGER),
    "register.centre-described/v1": _a(registrar=LEDGER),
    "register.number-assigned/v1": _a(registrar=LEDGER),
}


def role_problem(authority: Authority, roles: frozenset[str], actor: str,
                 payload: dict) -> str | None:
    """What is wrong with who signed, as far as the event itself shows (None: nothing): the
    signer holds none of the roles, or names another party where it must name itself. A
    signer holding several allowed roles passes when any one of them fits."""
    allowed = [role for role in authority.roles if role in roles]
    if not allowed:
        return (f"it is recorded by {authority.describe()}, and {actor!r} holds none of "
                "those roles")
    for role in allowed:
        member = authority.self_member(role)
        if authority.roles[role] == LEDGER and actor != LEDGER_ACTOR:
            continue
        if member is None or payload.get(member) == actor:
            return None
    if all(authority.roles[role] == LEDGER for role in allowed):
        return f"it is recorded by the ledger itself, and {actor!r} is not the ledger"
    members = sorted({f"payload.{authority.self_member(r)}" for r in allowed})
    return (f"{actor!r} acts only for itself: {' / '.join(members)} names "
            f"{', '.join(repr(payload.get(m.split('.', 1)[1])) for m in members)}")


def fitting_roles(authority: Authority, roles: frozenset[str], actor: str,
                  payload: dict) -> list[str]:
    """The signer's roles under which it may take this action, before the project's own
    bindings (`principal`, `tenderee`, `committee`) are judged."""
    return [role for role in authority.roles if role in roles
            and (authority.self_member(role) is None
                 or payload.get(authority.self_member(role)) == actor)]
