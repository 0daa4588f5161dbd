"""What supervision reads: the collusion warnings (围标串标预警, projections/warnings.py), for
the supervision body and the witness officers of each project, through the visibility table;
and the trading's statistics (projections/statistics.py), which are public.

A warning names bidders and the events behind it: it is shown to a supervision body, or to a
witness officer assigned to its project, who may see every one of those events; before a
project's opening none is (who bid is secret, 法 §22). Warnings inform; they decide nothing.

The statistics are aggregates over the projects whose result is fixed (an award is
recorded, or the tender failed): their control prices were announced and their award prices
published, so no sum or rate can move with a value still sealed (a bid, a project not yet
announced)."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, TypedDict

from ledger.evidence.envelope import stream_uuid
from projections import visibility as v
from projections.follower import Follower
from projections.project_state import concluded_projects, project_events
from projections.statistics import as_rows, grouped
from projections.warnings import CollusionWarning, CollusionWatch

from .problems import problem_responses
from .projects import NotVisible, project_stream_of, viewer
from .signed_requests import Caller, UNAUTHENTICATED, signed_caller

router = APIRouter(prefix="/v1", tags=["supervision"])
OVER = ("the projects whose result is fixed: an award is recorded (by the month of the "
        "award), or the tender failed (流标, by the month it closed)")
_following = threading.Lock()  # one request at a time moves a process's watch forward


# --- the answers (examples: the demo's project, `sunledger demo`) -------------------------------

class WarningView(TypedDict):
    """One collusion indicator raised on a project (projections/warnings.py)."""

    indicator: Annotated[str, Field(description="the rule that raised it")]
    article: Annotated[str, Field(description="the article it follows (条例 §39–§40)")]
    text: Annotated[str, Field(description="what it found")]
    bidders: Annotated[list[str], Field(description="the bidders it names")]
    events: Annotated[list[int], Field(description="the global positions of the events "
                                                   "behind it")]
    detail: Annotated[str, Field(description="what the bidders share or how they line up")]


class ProjectWarnings(TypedDict):
    project: str
    warnings: list[WarningView]


@with_config(ConfigDict(json_schema_extra={"examples": [{"projects": [{
    "project": "LILING-2025-SZ02", "warnings": [
        {"indicator": "same-machine", "article": "条例 §40(一)",
         "text": "different bidders used the same machine fingerprint (bids prepared by the "
                 "same unit or person) (m-7f3a)",
         "bidders": ["bidder-09", "bidder-10", "bidder-11"],
         "events": [114, 115, 116, 129, 130, 131, 140, 141, 142, 154, 155, 156, 164, 165, 166,
                    175, 176, 177, 208, 209, 210], "detail": "m-7f3a"},
        {"indicator": "price-series", "article": "条例 §40(四)",
         "text": "3 prices differ by a regular pattern (95000000.00, 95500000.00, 96000000.00)",
         "bidders": ["bidder-09", "bidder-10", "bidder-11"],
         "events": [114, 115, 116, 129, 130, 131, 140, 141, 142, 154, 155, 156, 164, 165, 166,
                    175, 176, 177, 208, 209, 210],
         "detail": "95000000.00, 95500000.00, 96000000.00"}]}]}]}))
class Warnings(TypedDict):
    """Per project with any, the collusion warnings the caller may see."""

    projects: list[ProjectWarnings]


class StatisticsRow(TypedDict):
    """The projects concluded in one category and month (China Standard Time)."""

    category: str
    month: Annotated[str, Field(description="YYYY-MM, of the award (of the close, for a "
                                            "failed tender)")]
    projects: Annotated[int, Field(description="the projects of the group")]
    awarded: Annotated[int, Field(description="those with a winner and an award price")]
    failed: Annotated[int, Field(description="those whose tender failed (流标): closed without "
                                             "enough bids and not tendered again")]
    control_total: Annotated[str, Field(description="Σ control price of the awarded tenders "
                                                    "and procurements that have one, in yuan "
                                                    "(a right's reserve is a floor: see "
                                                    "premium_rate)")]
    award_total: Annotated[str, Field(description="Σ award price of those, in yuan")]
    savings_rate: Annotated[str | None, Field(description="(Σ control − Σ award) / Σ control, "
                                                          "to four places; null without a "
                                                          "control price")]
    premium_rate: NotRequired[Annotated[str, Field(
        description="溢价率 of the rights sold to the highest price: (Σ price − Σ base) / Σ "
                    "base, the base a listing's starting price or a tender's reserve, to four "
                    "places; only in a group that sold one")]]
    sold_total: NotRequired[Annotated[str, Field(
        description="Σ price of those rights, in yuan; with premium_rate")]]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "over": OVER,
    "groups": [{"category": "construction", "month": "2025-03", "projects": 1, "awarded": 1,
                "failed": 0, "control_total": "167014800.00", "award_total": "83760800.00",
                "savings_rate": "0.4985"}]}]}))  # a rights group: savings_rate null (no example
#   may hold a null: FastAPI drops them), premium_rate "0.0125", sold_total "810000000.00"
class Statistics(TypedDict):
    """The trading's statistics, by category and month of the award."""

    over: Annotated[str, Field(description="the projects counted")]
    groups: list[StatisticsRow]


def warnings_now(request: Request, project: str | None) -> dict[str, list[CollusionWarning]]:
    """The warnings of every project (or of one), from the app's collusion watch brought up
    to the newest event: its follower keeps its position, so a request reads only the
    events recorded since the last."""
    state = request.app.state
    with _following:
        follower = getattr(state, "collusion_follower", None)
        if follower is None:
            follower = state.collusion_follower = Follower(state.ledger.recorder,
                                                           CollusionWatch())
        follower.follow()
        watch = follower.projections[0]
        if project is None:
            return watch.all_warnings()
        stream = project_stream_of(project)
        return {stream: watch.warnings(stream)}


def _unseen_positions(recorder, stream: str, events: list[dict], who: v.Caller,
                      facts: v.ProjectFacts) -> set[int]:
    """The global positions of the project's events that name a bidder (those warnings are
    drawn from) and that the caller may not see."""
    hidden = set()
    for event in events:
        if "bidder" in event["payload"] and v.project_view(event, who, facts) is None:
            found = recorder.leaf_of(stream_uuid(stream), event["version"])
            if found is not None:
                hidden.add(found[1])
    return hidden


def warnings_seen(recorder, stream: str, warnings: list[CollusionWarning],
                   who: v.Caller, events: list[dict] | None = None) -> list[dict]:
    """The project's warnings the caller may see, as JSON (`events`: the project's, when the
    caller has read them already)."""
    if events is None:
        events = project_events(recorder, stream)
    facts = v.facts_of(events)
    if not warnings or not v.sees_warnings(who, facts) or v.sealed_positions(facts):
        return []
    hidden = _unseen_positions(recorder, stream, events, who, facts)
    return [{"indicator": w.indicator, "article": w.article, "text": w.text,
             "bidders": list(w.bidders), "events": list(w.events), "detail": w.detail}
            for w in warnings if hidden.isdisjoint(w.events)]


@router.get("/warnings",
            summary="Collusion warnings, for supervision and the projects' witness officers",
            response_description="the warnings the caller may see, by project",
            responses={**UNAUTHENTICATED, **problem_responses(
                (403, "the caller is neither a supervision body nor a witness officer"))})
def collusion_warnings(request: Request,
                       project: str | None = Query(None, description="one project's only"),
                       caller: Caller = Depends(signed_caller)) -> Warnings:
    """Each collusion indicator raised (条例 §39–§40): its rule, article, the bidders it names,
    the global positions of the events behind it, and what they share. To a supervision body
    (role supervisor), for every project; to a witness officer, for the projects it is
    assigned to; in both cases from the project's opening, and only a warning whose every
    event the caller may see."""
    who = viewer(caller)
    if not v.may_be_warned(who):
        raise NotVisible("collusion warnings inform the supervision body, and the witness "
                         "officers of the projects they are assigned to (电子办法 §53): this "
                         "caller is neither", actor=caller.actor)
    recorder = request.app.state.ledger.recorder
    found = []
    for stream, warnings in warnings_now(request, project).items():
        shown = warnings_seen(recorder, stream, warnings, who)
        if shown:
            found.append({"project": stream.split(":", 1)[1], "warnings": shown})
    return {"projects": found}


@router.get("/statistics", summary="Projects, amounts and savings rates, of the projects awarded",
            response_description="the statistics, by category and month of the award")
def statistics(request: Request) -> Statistics:
    """By category and month of the award (China Standard Time): how many projects were
    awarded, the sums of their control and award prices in yuan, and the savings rate
    (Σ control − Σ award) / Σ control, over the projects whose result is fixed; and how
    many tenders failed (流标), by the month they closed. Public."""
    groups = grouped(concluded_projects(request.app.state.ledger.recorder))
    return {"over": OVER,
            "groups": as_rows(groups)}
