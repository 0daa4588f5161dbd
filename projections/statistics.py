"""Statistics of the trading: projects, amounts and savings rates, by category and period.

    savings rate = (control price − award price) / control price

A group's rate weighs each project by its control price: (Σ control − Σ award) / Σ control
over the awarded projects that have a control price. A rights transaction, sold to the
highest price, saves nothing: it has a premium instead (溢价率), (Σ award − Σ base) / Σ base,
each weighed by its base: the starting price of a lot sold by listing or online auction, the
reserve (the intake's control price, a floor) of one sold by tender. Periods are months of the award, or of
the close for a tender that failed (流标), in China Standard Time. Pure: computed from the
project states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from ledger.evidence.canonical import parse_time
from ledger.procedures.calendar import local_date
from ledger.procedures.tender import ProjectState
from projections.project_state import ProjectStates, tender_failed


def premium_rate(price: Decimal, base: Decimal) -> Decimal:
    """A price's premium over its base (溢价率: over a listing's starting price, a rights
    tender's reserve), as a fraction."""
    return (price - base) / base


@dataclass
class Group:
    projects: int = 0
    awarded: int = 0
    failed: int = 0
    control_total: Decimal = Decimal(0)  # of the awarded projects with a control price
    award_total: Decimal = Decimal(0)
    rates: list[Decimal] = field(default_factory=list)
    starting_total: Decimal = Decimal(0)  # of the rights sold: the premium's base (starting
    sold_total: Decimal = Decimal(0)  # price, or a tender's reserve) and their prices

    @property
    def savings_rate(self) -> Decimal | None:
        if not self.control_total:
            return None
        return (self.control_total - self.award_total) / self.control_total

    @property
    def premium_rate(self) -> Decimal | None:
        """(Σ price sold − Σ base) / Σ base of the rights sold."""
        if not self.starting_total:
            return None
        return premium_rate(self.sold_total, self.starting_total)


def statistics(projects: ProjectStates) -> dict[tuple[str, str], Group]:
    """Groups keyed (category, "YYYY-MM" of the award, or "-" for projects not awarded)."""
    return grouped((stream, state, projects.awarded_at.get(stream))
                   for stream, state in sorted(projects.states.items()))


def grouped(projects: Iterable[tuple[str, ProjectState, str | None]]) -> dict[tuple[str, str], Group]:
    """The groups of (stream, state, ledger time of its award) of each project (a failed
    tender counted by the month it closed), taken one at a time (`project_state.each_project` or
    `concluded_projects` over a store: memory holds one project)."""
    groups: dict[tuple[str, str], Group] = {}
    for _, state, awarded in projects:
        failed = tender_failed(state)
        when = parse_time(awarded) if awarded else state.closed_at if failed else None
        month = local_date(when).strftime("%Y-%m") if when else "-"
        group = groups.setdefault((state.kind, month), Group())
        group.projects += 1
        if failed:
            group.failed += 1
        if state.winner is not None and state.award_price is not None:
            group.awarded += 1
            base = (state.starting_price or state.estimated_price) if state.kind == "rights" else None
            if base:  # a right sold to the highest price: its premium over its base
                group.starting_total += base
                group.sold_total += state.award_price
            elif state.estimated_price:
                group.control_total += state.estimated_price
                group.award_total += state.award_price
                group.rates.append(state.savings_rate())  # type: ignore[arg-type]
    return groups


def as_rows(groups: dict[tuple[str, str], Group]) -> list[dict]:
    """The groups as rows of JSON values, by category and month: amounts in yuan with two
    decimals, the savings rate to four places, and the premium (to four places) and the sum
    sold of a group that sold rights."""
    return [{"category": c, "month": m, "projects": g.projects, "awarded": g.awarded,
             "failed": g.failed, "control_total": str(g.control_total),
             "award_total": str(g.award_total),
             "savings_rate": str(round(g.savings_rate, 4)) if g.savings_rate is not None else None,
             **({"premium_rate": str(round(g.premium_rate, 4)), "sold_total": str(g.sold_total)}
                if g.premium_rate is not None else {})}  # only where rights were sold
            for (c, m), g in sorted(groups.items())]
