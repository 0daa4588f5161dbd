"""A lot sold by listing (挂牌) or online auction (网上竞价), as its ladder stood at any
instant (projections/quote_ladder.py): the quotes in the ledger's order, the highest and the
least next quote, the increment, each countdown of the timed round, and the reserve once
revealed.

Through the visibility table like every read (docs/visibility.md): the quotes' prices and
times are public as they come (a listing shows its highest quote), but who quoted is named
only to a caller who may see it (`quotes` in the project's state: the bidder itself is not
enough, the keepers always, the seller and the bidders from the listing's close, the public
never); the ladder is judged at the project's stage now, whatever instant is asked for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, TypedDict

from ledger.errors import NotInLog
from ledger.evidence.canonical import format_money, format_time
from projections import visibility as v
from projections.quote_ladder import Ladder, ladder, ladder_of

from .problems import problem_responses
from .projects import AT, PROJECT, moment_of, viewer, visible_now_in_thread, visible_project
from .signed_requests import Caller, UNAUTHENTICATED, caller_or_public

router = APIRouter(prefix="/v1", tags=["projects"])
NOT_VISIBLE = (404, "no such project visible to the caller, or not one sold by listing or "
                    "online auction")


class LadderQuote(TypedDict):
    """One quote accepted, in the ledger's order."""

    price: Annotated[str, Field(description="in yuan, two decimals")]
    at: Annotated[str, Field(description="its ledger time")]
    bidder: NotRequired[Annotated[str, Field(description="who quoted: only to a caller who "
                                                         "may see it (docs/visibility.md)")]]


class LadderCountdown(TypedDict):
    """One countdown of the timed round: from its opening, or restarted by a new highest quote."""

    started: str
    runs_out: str


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "project": "JIULANG-CONCESSION", "stage": "bidding-ended",
    "quotes": [{"price": "800000000.00", "at": "2025-03-26T01:00:00.000000Z"},
               {"price": "810000000.00", "at": "2025-04-07T09:02:00.000000Z"}],
    "highest": "810000000.00", "increment": "1000000.00",
    "countdowns": [{"started": "2025-04-07T09:00:00.000000Z",
                    "runs_out": "2025-04-07T09:05:00.000000Z"},
                   {"started": "2025-04-07T09:02:00.000000Z",
                    "runs_out": "2025-04-07T09:07:00.000000Z"}],
    "reserve": "810000000.00", "withheld": ["bidder"], "as_of": "2025-04-07T09:30:00.000000Z"}]}))
class QuoteLadder(TypedDict):
    """A listed lot as of an instant."""

    project: str
    stage: Annotated[str, Field(description="listing, timed-round, bidding-ended, awarded, …")]
    quotes: list[LadderQuote]
    highest: NotRequired[Annotated[str, Field(description="the highest quote, once there is one")]]
    least_next: NotRequired[Annotated[str, Field(description="the least quote accepted next, "
                                                             "while bidding goes on")]]
    increment: NotRequired[str]
    countdowns: Annotated[list[LadderCountdown], Field(description="the timed round's, in order "
                                                                   "(the last that ran out ended it)")]
    reserve: NotRequired[Annotated[str, Field(description="the reserve price, once revealed")]]
    withheld: Annotated[list[str], Field(description="`bidder` when who quoted is withheld from "
                                                     "the caller")]
    as_of: Annotated[str, Field(description="the instant the ladder stands at: `at`, or the "
                                            "server's clock (the ledger's) when it was read; a "
                                            "countdown's time left is `runs_out` minus this")]


@router.get("/projects/{project}/ladder", summary="A listed lot's quotes and countdowns, now or "
                                                  "as of a time",
            response_description="the ladder, as the caller may see it",
            responses={**UNAUTHENTICATED, **problem_responses(NOT_VISIBLE)})
def quote_ladder(request: Request, project: str = PROJECT, at: str | None = AT,
                 caller: Caller | None = Depends(caller_or_public)) -> QuoteLadder:
    """The quotes accepted in the ledger's order (their prices and times; who quoted only to a
    caller who may see it), the highest and the least next quote, the increment, each
    countdown of the timed round (restarted by each new highest quote) and the reserve once
    revealed, as they stood at `at` (ledger time; now without it), and the instant they stood at
    (`as_of`: the server's clock, which a client counts a countdown against, not its own)."""
    who = viewer(caller)
    if at is not None:
        moment = moment_of(at)
        stream, events, facts = visible_project(request, project, who)
        named = v.sees_field("quotes", who, facts)  # who quoted, judged at the stage now
        return {**ladder_answer(stream, ladder(events, moment), facts, named),
                "as_of": format_time(moment)}
    stream, now = visible_now_in_thread(request, project, who)  # the fold kept at the head
    named = v.sees_field("quotes", who, now.facts)
    # the answer is the fold's and whether the caller sees who quoted, nothing else: one
    # answer a fold for every caller who may not (the public, the bidders while bidding)
    answer = now.answers.get(("ladder", named))
    if answer is None:
        answer = now.answers[("ladder", named)] = ladder_answer(stream, ladder_of(now.state),
                                                                now.facts, named)
    # read after the fold: no quote in the answer is later than the instant it is as of
    return {**answer, "as_of": format_time(request.app.state.ledger.clock.now())}


def ladder_answer(stream: str, lot: Ladder, facts: v.ProjectFacts, named: bool) -> dict:
    """The ladder, who quoted in it if `named`, but for the instant it stands at."""
    if not facts.listing:
        project = stream.split(":", 1)[1]
        raise NotInLog(f"{project!r} is not sold by listing or online auction", project=project)
    answer: dict = {
        "project": stream.split(":", 1)[1], "stage": lot.stage,
        "quotes": [{"price": format_money(q.price), "at": format_time(q.at),
                    **({"bidder": q.bidder} if named else {})} for q in lot.quotes],
        "countdowns": [{"started": format_time(c.started), "runs_out": format_time(c.runs_out)}
                       for c in lot.countdowns],
        "withheld": [] if named else ["bidder"]}
    for name, value in (("highest", lot.highest and lot.highest.price),
                        ("least_next", lot.least_next), ("increment", lot.increment),
                        ("reserve", lot.reserve)):
        if value is not None:
            answer[name] = format_money(value)
    return answer
