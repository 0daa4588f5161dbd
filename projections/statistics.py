"""Statistics of the trading: projects, amounts and savings rates, by category and period.

    savings rate = (control price − award price) / control price

A group's rate weighs each project by its control price: (Σ control − Σ award) / Σ control
over the awarded projects that have a control price. Periods are months of the award (China
Standard Time). Pure: computed from the project states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ledger.evidence.canonical import parse_time
from ledger.procedures.calendar import local_date
from projections.project_state import ProjectStates


@dataclass
class Group:
    projects: int = 0
    awarded: int = 0
    failed: int = 0
    control_total: Decimal = Decimal(0)  # of the awarded projects with a control price
    award_total: Decimal = Decimal(0)
    rates: list[Decimal] = field(default_factory=list)

    @property
    def savings_rate(self) -> Decimal | None:
        if not self.control_total:
            return None
        return (self.control_total - self.award_total) / self.control_total


def statistics(projects: ProjectStates) -> dict[tuple[str, str], Group]:
    """Groups keyed (category, "YYYY-MM" of the award, or "-" for projects not awarded)."""
    groups: dict[tuple[str, str], Group] = {}
    for stream, state in sorted(projects.states.items()):
        awarded = projects.awarded_at.get(stream)
        month = local_date(parse_time(awarded)).strftime("%Y-%m") if awarded else "-"
        group = groups.setdefault((state.kind, month), Group())
        group.projects += 1
        if state.stage == "failed" or (state.stage == "archived" and state.winner is None):
            group.failed += 1
        if state.winner is not None and state.award_price is not None:
            group.awarded += 1
            if state.estimated_price:
                group.control_total += state.estimated_price
                group.award_total += state.award_price
                group.rates.append(state.savings_rate())  # type: ignore[arg-type]
    return groups
