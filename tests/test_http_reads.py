"""Reads of projects over HTTP, through the visibility table: what each kind of caller gets at
each stage of a real tender, and that no answer to a caller names what it may not know (a
bidder before the opening, an expert before the award)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.client import signature_headers
from api.http.app import create_app
from ledger.ledger import Ledger
from test_trading import Tender, cst

PROJECT = "project:READ-1"
DEADLINE = cst("2025-06-10T09:30:00")


@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


@pytest.fixture
def tender(world):
    t = Tender(world, PROJECT, category="construction", method="lowest-price",
               control="50000000.00", bidders=4, experts=5)
    world.register("witness-on", roles=("witness",))
    world.register("witness-off", roles=("witness",))
    world.register("supervisor-1", roles=("supervisor",))
    return t


@pytest.fixture
def http(world, store_url, tmp_path):
    app = create_app(lambda: Ledger.open(store_url, key_path=tmp_path / "ledger.key",
                                         clock=world.clock))
    with TestClient(app) as client:
        yield client


def get(http, world, path: str, actor: str | None = None, **query) -> dict:
    encoded = urlencode(query)
    headers = {} if actor is None else signature_headers(
        world.actors[actor], "GET", path, encoded, now=world.clock.now().timestamp())
    answer = http.get(path + (f"?{encoded}" if encoded else ""), headers=headers)
    return {"status": answer.status_code, "body": answer.json(), "text": answer.text}


def everything(http, world, actor: str | None) -> str:
    """Every project answer the caller gets, as one text."""
    texts = []
    for path in ("/v1/projects", f"/v1/projects/{PROJECT[8:]}",
                 f"/v1/projects/{PROJECT[8:]}/events", f"/v1/projects/{PROJECT[8:]}/refusals"):
        answer = get(http, world, path, actor)
        assert answer["status"] in (200, 404), answer
        texts.append(answer["text"])
    return "\n".join(texts)


def test_before_the_opening_nobody_learns_who_bid_or_how_many(world, tender, http):
    tender.run(["41000000.00", "40500000.00", "43900000.00", "42000000.00"], DEADLINE,
               until="bids")
    bidders = [b.actor for b in tender.bidders]
    public = get(http, world, f"/v1/projects/{PROJECT[8:]}")
    assert public["status"] == 200 and "version" not in public["body"]
    assert {"obtained", "bids", "security"} <= set(public["body"]["withheld"])
    for caller in (None, "tenderee-1", "operator-1", "supervisor-1", "witness-off", *bidders):
        text = everything(http, world, caller)
        assert not {b for b in bidders if b != caller and b in text}, caller
        events = get(http, world, f"/v1/projects/{PROJECT[8:]}/events", caller)["body"]["events"]
        for item in events:  # no position, except on the caller's own events
            event = item["event"]
            assert event["actor"] == caller or "withheld" in json.dumps(event["version"]), caller
    own = get(http, world, f"/v1/projects/{PROJECT[8:]}/events", bidders[0])["body"]["events"]
    assert {e["event"]["type"] for e in own} >= {"project.bid-submitted/v1"}
    assert get(http, world, f"/v1/projects/{PROJECT[8:]}", None, version=3)["status"] == 403


def test_after_the_opening_and_until_the_award_no_expert_is_named(world, tender, http):
    tender.run(["41000000.00", "40500000.00", "43900000.00", "42000000.00"], DEADLINE,
               until="publicity")
    experts = [e.actor for e in tender.experts]
    state = world.ledger.stream(PROJECT).state
    for caller in (None, "tenderee-1", "supervisor-1", "witness-off",
                   *[b.actor for b in tender.bidders]):
        text = everything(http, world, caller)
        assert not {e for e in experts if e in text}, caller
    sitting = state.committee[0]
    assert get(http, world, f"/v1/projects/{PROJECT[8:]}", sitting)["body"]["state"]["committee"] \
        == state.committee
    public = get(http, world, f"/v1/projects/{PROJECT[8:]}")["body"]
    assert public["state"]["ranking"] == state.ranking and "prices" in public["withheld"]
    assert public["version"] == world.ledger.stream_version(PROJECT)


def test_after_the_award_the_keepers_see_it_all_and_the_public_the_result(world, tender, http):
    tender.run(["41000000.00", "40500000.00", "43900000.00", "42000000.00"], DEADLINE)
    world.clock.moment = cst("2025-07-30T09:00:00")
    world.submit(world.actors["operator-1"], PROJECT, "project.witness-assigned/v1",
                 {"officer": "witness-on"})
    version = world.ledger.stream_version(PROJECT)
    for caller in ("supervisor-1", "witness-on"):
        answer = get(http, world, f"/v1/projects/{PROJECT[8:]}/events", caller, limit=1000)
        events = answer["body"]["events"]
        assert len(events) == version, caller
        assert all("withheld" not in item["event"] and item["receipt"]["version"]
                   == item["event"]["version"] for item in events), caller
        assert get(http, world, f"/v1/projects/{PROJECT[8:]}", caller)["body"]["withheld"] == []
    public = get(http, world, f"/v1/projects/{PROJECT[8:]}/events")["body"]["events"]
    types = {item["event"]["type"] for item in public}
    assert "project.awarded/v1" in types and "project.bid-submitted/v1" not in types
    assert "project.witness-assigned/v1" not in types
    off = get(http, world, f"/v1/projects/{PROJECT[8:]}/events", "witness-off")["body"]["events"]
    assert {item["event"]["type"] for item in off} == types
    # as of a version: the state then, seen as the caller may see it now
    middle = get(http, world, f"/v1/projects/{PROJECT[8:]}", "supervisor-1", version=12)["body"]
    assert middle["version"] == 12 and middle["state"]["stage"] == "announced"


def test_a_project_nobody_may_see_is_answered_as_missing(world, http):
    world.submit(world.actors["tenderee-1"], "project:SECRET-9", "project.intake/v1",
                 {"title": "未公告项目（虚构）", "category": "construction", "tenderee": "tenderee-1"})
    assert get(http, world, "/v1/projects/SECRET-9")["status"] == 404
    assert get(http, world, "/v1/projects/NO-SUCH")["status"] == 404
    assert get(http, world, "/v1/projects/SECRET-9", "tenderee-1")["status"] == 200
    listed = get(http, world, "/v1/projects")["body"]["projects"]
    assert "SECRET-9" not in [p["project"] for p in listed]
    version = get(http, world, "/v1/projects/SECRET-9/version", "tenderee-1")["body"]
    assert version["version"] == 1
    assert get(http, world, "/v1/projects/SECRET-9/version")["status"] == 401
