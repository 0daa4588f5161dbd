"""The remaining reads over HTTP, each through the visibility table: witness reports and their
PDFs, the dispute dossier, the replay, collusion warnings, statistics, the registry, the log's
key and proofs. Four real tenders stand at the stages that matter (bids in before the
opening; opened; committee drawn and candidates published; awarded and contracted), and each
kind of caller asks: the public, a bidder, an expert, a witness officer not assigned and one
assigned, a supervision body. No answer to a caller who may not know a value carries it
(a bidder's id before the opening, an expert's before the award): not the JSON, not the PDF's
embedded evidence, not a member of the ZIP. The proofs handed out verify."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient

from api.client import signature_headers
from api.http.app import create_app
from ledger.evidence.keys import encode_public_key
from ledger.log import merkle
from ledger.log.checkpoints import log_verifier, log_verifier_key, open_checkpoint
from ledger.log.proofs import check_completeness, check_tlog_proof, log_identity
from ledger.ledger import Ledger
from projections.dossier import check_dossier
from projections.follower import Follower
from projections.project_state import project_events
from projections.warnings import CollusionWatch
from conftest import fresh_store, opened_world
from test_trading import Tender, cst, h
from witness.reports import InFolder, embedded_evidence, issue_report

DONE, DRAWN, OPENED, SEALED = "project:DONE-1", "project:DRAW-1", "project:OPEN-1", "project:SEAL-1"
PROJECTS = (DONE, DRAWN, OPENED, SEALED)
SERIES = ["41000000.00", "42000000.00", "43000000.00", "44000000.00"]  # a price-series warning
CALLERS = ("public", "bidder", "expert", "witness-off", "witness-on", "supervisor-1")


def pid(stream: str) -> str:
    return stream.split(":", 1)[1]


# --- the market: four tenders, each at its stage -------------------------------------------------

def tender(world, stream: str, control: str) -> Tender:
    return Tender(world, stream, category="construction", method="lowest-price", control=control,
                  bidders=4, experts=5)


def assign(world, stream: str, officer: str = "witness-on") -> None:
    world.submit(world.actors["operator-1"], stream, "project.witness-assigned/v1",
                 {"officer": officer})


# One market per engine for the whole module (building it and issuing its reports takes
# seconds): the tests read it; the three that write to it (a sign-off, a hidden project, a
# revoked key) come last, and write nothing the others read.
@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def place(request, tmp_path_factory):
    return request.param, tmp_path_factory.mktemp(request.param)


@pytest.fixture(scope="module")
def store_url(place):
    with fresh_store(*place) as url:
        yield url


@pytest.fixture(scope="module")
def world(store_url, place):
    with opened_world(store_url, place[1]) as w:
        yield w


@pytest.fixture(scope="module")
def market(world):
    """DONE-1 awarded and contracted; DRAW-1 with its committee drawn and its candidates
    published; OPEN-1 opened (bids decrypted, no draw yet); SEAL-1 with its bids in, two of
    them from one IP address (a warning before the opening). `witness-on` is assigned to each,
    `witness-off` to none. Ledger time only moves on: each tender comes after the last."""
    for officer, roles in (("witness-on", ("witness",)), ("witness-off", ("witness",)),
                           ("supervisor-1", ("supervisor",))):
        world.register(officer, roles=roles)
    tenders = {}
    for stream, control, deadline, until in (
            (DONE, "50000000.00", "2025-03-24T09:30:00", "award"),
            (DRAWN, "60000000.00", "2025-05-20T09:30:00", "publicity"),
            (OPENED, "70000000.00", "2025-06-16T09:30:00", "opened"),
            (SEALED, "80000000.00", "2025-07-15T09:30:00", "bids")):
        tenders[stream] = tender(world, stream, control)
        tenders[stream].run(SERIES, cst(deadline), until=until)
        assign(world, stream)
        world.ledger.checkpoint()
    for b in tenders[SEALED].bidders[:2]:  # a changed bid each, from one address
        world.submit(b, SEALED, "project.bid-submitted/v1",
                     {"bidder": b.actor, "bid_hash": h(f"again {b.actor}"), "ip": "10.9.8.7"})
    world.ledger.checkpoint()
    return tenders


@pytest.fixture(scope="module")
def folder(place):
    return place[1] / "reports"


@pytest.fixture(scope="module")
def issued(world, market, folder):
    """The reports the centre's reporter issued into its folder: the opening report of
    OPEN-1 (before any draw), the evaluation report of DRAW-1 (naming its committee), the
    full report of DONE-1."""
    folder.mkdir()
    into = InFolder(folder)
    found = {stream: issue_report(world.ledger, stream, kind, write_to=into)[1]
             for stream, kind in ((OPENED, "opening"), (DRAWN, "evaluation"), (DONE, "full"))}
    world.ledger.checkpoint()
    return found


def app_over(world, store_url, place, folder=None):
    return create_app(lambda: Ledger.open(store_url, key_path=place[1] / "ledger.key",
                                          clock=world.clock), reports_folder=folder)


@pytest.fixture
def http(world, store_url, place, folder):
    with TestClient(app_over(world, store_url, place, folder)) as client:
        yield client


def actor_of(stream: str, caller: str) -> str | None:
    """The caller's actor id for this project: its first bidder, its first expert (who sits
    on the committee once drawn), or the caller's own."""
    return {"public": None, "bidder": f"{pid(stream)}-b1",
            "expert": f"{pid(stream)}-e1"}.get(caller, caller)


def ask(http, world, path: str, actor: str | None = None, headers: dict | None = None, **query):
    """A GET as the actor (signed) or the public (unsigned); `path` percent-encoded."""
    encoded = urlencode(query, doseq=True)
    signed = {} if actor is None else signature_headers(
        world.actors[actor], "GET", path, encoded, now=world.clock.now().timestamp())
    answer = http.get(path + (f"?{encoded}" if encoded else ""),
                      headers={**signed, **(headers or {})})
    if answer.status_code >= 400:  # every refusal is a problem, never a trace
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        assert "Traceback" not in answer.text and answer.json()["status"] == answer.status_code
    return answer


def statuses(http, world, of: str, path: str, **query) -> dict[str, int]:
    return {caller: ask(http, world, path, actor_of(of, caller), **query).status_code
            for caller in CALLERS}


def pdf_path(stream: str, report_id: str) -> str:
    return f"/v1/projects/{pid(stream)}/reports/{quote(report_id)}.pdf"


# --- what a caller may not know, searched for in everything it is given --------------------------

def readable(answer) -> str:
    """All an answer carries, as text: a JSON or problem body; a ZIP's every member; a PDF's
    embedded evidence (every page is rendered from it) and its raw bytes."""
    kind = answer.headers.get("content-type", "")
    if kind == "application/zip":
        with zipfile.ZipFile(io.BytesIO(answer.content)) as z:
            return "\n".join(z.read(n).decode() for n in z.namelist())
    if kind == "application/pdf":
        evidence = embedded_evidence(answer.content)
        return json.dumps(evidence, ensure_ascii=False) + answer.content.decode("latin-1")
    return answer.text


def everything(http, world, actor: str | None, report_ids: list[tuple[str, str]]) -> str:
    """Every answer of these routes to the actor, about every project, as one text."""
    paths = [("/v1/statistics", {}), ("/v1/warnings", {}), ("/v1/log-key", {}),
             ("/v1/actors/tenderee-1", {}), ("/v1/proofs/inclusion", {"index": 0})]
    for stream in PROJECTS:
        versions = len(project_events(world.ledger.recorder, stream))
        paths += [(f"/v1/projects/{pid(stream)}/{what}", {})
                  for what in ("reports", "dossier", "replay")]
        paths += [("/v1/proofs/completeness", {"project": pid(stream)}),
                  ("/v1/warnings", {"project": pid(stream)})]
        # an inclusion proof carries hashes, never a name: a sample of versions is enough
        paths += [("/v1/proofs/inclusion", {"stream": stream, "version": v})
                  for v in sorted({1, versions, *range(2, versions, 7)})]
    paths += [(pdf_path(stream, rid), {}) for stream, rid in report_ids]
    texts = []
    for path, query in paths:
        answer = ask(http, world, path, actor, **query)
        assert answer.status_code in (200, 401, 403, 404), (path, answer.text)
        texts.append(readable(answer))
    return "\n".join(texts)


def test_no_answer_names_a_bidder_before_the_opening_or_an_expert_before_the_award(
        world, market, issued, http):
    reports = [(stream, issue["report_id"]) for stream, issue in issued.items()]
    sealed_bidders = {b.actor for b in market[SEALED].bidders}
    drawn_experts = {e.actor for e in market[DRAWN].experts}
    actors = {actor_of(stream, caller) for stream in PROJECTS for caller in CALLERS}
    for actor in sorted(actors, key=str):
        text = everything(http, world, actor, reports)
        named = {b for b in sealed_bidders if b != actor and b in text}
        assert not named, (actor, named)
        # the committee knows itself (法 §37), and so do the officers witnessing its evaluation
        if actor not in drawn_experts and actor != "witness-on":
            assert not {e for e in drawn_experts if e in text}, actor
        if actor == "witness-on":  # assigned to every project here: it may read the names
            assert all(e in text for e in drawn_experts)
        if actor == "supervisor-1":  # the search finds what may be given: after the award
            assert all(b.actor in text for b in market[DONE].bidders)
            assert all(e.actor in text for e in market[DONE].experts)


# --- witness reports ---------------------------------------------------------------------------

def test_reports_are_listed_and_given_to_who_may_see_all_they_carry(world, market, issued, http):
    opening, evaluation, full = issued[OPENED], issued[DRAWN], issued[DONE]
    # after the opening, before the draw: the keepers who see every bid whole
    listed = {c: [r["report_id"] for r in ask(http, world, f"/v1/projects/{pid(OPENED)}/reports",
                                               actor_of(OPENED, c)).json()["reports"]]
              for c in CALLERS}
    assert listed == {"public": [], "bidder": [], "expert": [], "witness-off": [],
                      "witness-on": [opening["report_id"]],
                      "supervisor-1": [opening["report_id"]]}
    assert statuses(http, world, OPENED, pdf_path(OPENED, opening["report_id"])) == {
        "public": 404, "bidder": 404, "expert": 404, "witness-off": 404, "witness-on": 200,
        "supervisor-1": 200}
    # the committee is drawn, the result not fixed: the evaluation report names its members,
    # whom the officer witnessing the evaluation knows, and the supervision body not yet
    assert statuses(http, world, DRAWN, pdf_path(DRAWN, evaluation["report_id"])) == {
        "public": 404, "bidder": 404, "expert": 404, "witness-off": 404, "witness-on": 200,
        "supervisor-1": 403}
    refused = ask(http, world, pdf_path(DRAWN, evaluation["report_id"]), "supervisor-1").json()
    assert refused["type"] == "urn:sunledger:error:not-visible"
    assert "project.experts-drawn/v1" in refused["detail"] and "法 §37" in refused["detail"]
    assert {c: [r["report_id"] for r in ask(http, world, f"/v1/projects/{pid(DRAWN)}/reports",
                                            actor_of(DRAWN, c)).json()["reports"]]
            for c in CALLERS} == {**dict.fromkeys(CALLERS, []),
                                  "witness-on": [evaluation["report_id"]]}
    # after the award
    assert statuses(http, world, DONE, pdf_path(DONE, full["report_id"])) == {
        "public": 404, "bidder": 404, "expert": 404, "witness-off": 404, "witness-on": 200,
        "supervisor-1": 200}
    # before the opening there is no report to give, and the project is no secret
    assert statuses(http, world, SEALED, f"/v1/projects/{pid(SEALED)}/reports") == dict.fromkeys(
        CALLERS, 200)
    assert ask(http, world, "/v1/projects/NO-SUCH/reports").status_code == 404


def test_a_server_without_a_reports_folder_says_so(world, market, issued, store_url, place):
    with TestClient(app_over(world, store_url, place)) as client:
        answer = ask(client, world, pdf_path(DONE, issued[DONE]["report_id"]), "supervisor-1")
    assert answer.status_code == 404 and "--reports" in answer.json()["detail"]


# --- the replay ----------------------------------------------------------------------------------

def steps_of(http, world, stream: str, caller: str) -> list[dict]:
    answer = ask(http, world, f"/v1/projects/{pid(stream)}/replay", actor_of(stream, caller))
    assert answer.status_code == 200, answer.text
    return answer.json()["steps"]


def test_replay_steps_are_shown_as_their_events_are(world, market, http):
    # before the opening: no version, no hash; no bid but the caller's own
    public = steps_of(http, world, SEALED, "public")
    assert public and all("version" in s["withheld"] and "hash" in s["withheld"] for s in public)
    assert not any(s["type"].startswith("project.bid") for s in public)
    mine = [s for s in steps_of(http, world, SEALED, "bidder")
            if s["type"] == "project.bid-submitted/v1"]
    assert mine and all(s["actor"] == f"{pid(SEALED)}-b1" and "version" in s["withheld"]
                        for s in mine)  # its own, but no position: a bid names no version
    # after the award: the supervision body sees every step, with what it changed
    events = project_events(world.ledger.recorder, DONE)
    steps = steps_of(http, world, DONE, "supervisor-1")
    assert [(s["version"], s["hash"]) for s in steps] == [(e["version"], e["hash"]) for e in events]
    awarded = next(s for s in steps if s["type"] == "project.awarded/v1")
    assert any(c.startswith("winner:") for c in awarded["changes"])
    assert "withheld" not in awarded
    # between: the committee's step is shown, its names and what it changed withheld
    drawn = {c: next((s for s in steps_of(http, world, DRAWN, c)
                      if s["type"] == "project.experts-drawn/v1"), None) for c in CALLERS}
    assert drawn["public"] is None  # the public sees the draw once the result is fixed
    for caller in ("bidder", "supervisor-1"):
        assert drawn[caller]["withheld"] == ["changes"], caller
    for caller in ("expert", "witness-on"):  # on the committee, or witnessing its evaluation
        assert drawn[caller]["changes"] and "withheld" not in drawn[caller], caller
    reported = next(s for s in steps_of(http, world, DRAWN, "public")
                    if s["type"] == "project.evaluation-reported/v1")
    assert reported["withheld"] == ["actor", "changes"]
    # the changes listed are those of the state the caller may see
    public_done = [c for s in steps_of(http, world, DONE, "public")
                   if type(s["changes"]) is list for c in s["changes"]]
    assert public_done and not any(c.startswith(("bids", "security", "deadlines"))
                                   for c in public_done)
    assert ask(http, world, f"/v1/projects/{pid(DONE)}/replay", "supervisor-1", after_version=30,
               limit=2).json()["steps"][0]["version"] == 31


def test_the_replay_stops_at_a_time_as_the_command_does(world, market, http):
    events = project_events(world.ledger.recorder, DONE)
    middle = events[len(events) // 2]["ledger_time"]
    upto = [e for e in events if e["ledger_time"] <= middle]
    steps = ask(http, world, f"/v1/projects/{pid(DONE)}/replay", "supervisor-1",
                at=middle).json()["steps"]
    assert [s["version"] for s in steps] == [e["version"] for e in upto] and len(upto) < len(events)
    answer = ask(http, world, f"/v1/projects/{pid(DONE)}/replay", "supervisor-1", at="soon")
    assert answer.status_code == 422 and answer.json()["type"].endswith("malformed-request")


def test_who_obtained_the_documents_shows_in_the_replay_from_the_opening_to_the_keepers(
        world, market, http):
    for stream in (SEALED, OPENED, DONE):
        everyone = {b.actor for b in market[stream].bidders}
        for caller in CALLERS:
            obtained = {s["actor"] for s in steps_of(http, world, stream, caller)
                        if s["type"] == "project.documents-obtained/v1"}
            expected = ({actor_of(stream, caller)} if caller == "bidder" else
                        everyone if caller in ("witness-on", "supervisor-1") and stream != SEALED
                        else set())
            assert obtained == expected, (stream, caller)


# --- collusion warnings and statistics -----------------------------------------------------------

def test_warnings_go_to_supervision_and_assigned_officers_from_the_opening(world, market, http):
    watch = CollusionWatch()
    Follower(world.ledger.recorder, watch).follow()
    assert "same-ip" in {w.indicator for w in watch.warnings(SEALED)}  # it exists, sealed
    assert ask(http, world, "/v1/warnings").status_code == 401
    for caller in ("bidder", "expert"):
        refused = ask(http, world, "/v1/warnings", actor_of(DONE, caller))
        assert refused.status_code == 403 and refused.json()["type"].endswith("not-visible")
    assert ask(http, world, "/v1/warnings", "witness-off").json() == {"projects": []}
    for caller in ("witness-on", "supervisor-1"):
        found = {p["project"]: p["warnings"] for p in ask(http, world, "/v1/warnings",
                                                          caller).json()["projects"]}
        assert set(found) == {pid(DONE), pid(DRAWN), pid(OPENED)}, caller
        series = next(w for w in found[pid(DONE)] if w["indicator"] == "price-series")
        assert series["indicator"] == "price-series" and series["article"] == "条例 §40(四)"
        assert series["bidders"] == sorted(b.actor for b in market[DONE].bidders)
        one = ask(http, world, "/v1/warnings", caller, project=pid(SEALED)).json()
        assert one == {"projects": []}


def test_statistics_are_public_and_over_the_projects_awarded(world, market, http):
    answer = ask(http, world, "/v1/statistics").json()
    state = world.ledger.stream(DONE).state
    group, = answer["groups"]
    assert (group["category"], group["projects"], group["awarded"]) == ("construction", 1, 1)
    assert (group["control_total"], group["award_total"]) == ("50000000.00", str(state.award_price))
    assert group["savings_rate"] == str(round(state.savings_rate(), 4))
    assert ask(http, world, "/v1/statistics", "supervisor-1").json() == answer


# --- proofs --------------------------------------------------------------------------------------

def checkpoint(http):
    """The latest checkpoint, as the server publishes it, opened with the log's key."""
    return open_checkpoint(http.get("/log/checkpoint").text, log_verifier(*log_identity_of(http)))


def log_identity_of(http):
    return log_identity(http.app.state.ledger.recorder)


def test_proofs_verify_and_say_nothing_of_what_is_sealed(world, market, http):
    latest = checkpoint(http)
    log = log_verifier(*log_identity_of(http))
    # by leaf index: public; JSON verifies against the signed root
    proof = ask(http, world, "/v1/proofs/inclusion", index=3).json()
    assert proof["tree_size"] == latest.size
    assert merkle.inclusion_ok(3, latest.size, base64.b64decode(proof["leaf_hash"]),
                               [base64.b64decode(x) for x in proof["hashes"]], latest.root)
    # by stream and version: a project's through the visibility table
    done = project_events(world.ledger.recorder, DONE)
    bid = next(e for e in done if e["type"] == "project.bid-submitted/v1")
    assert statuses(http, world, DONE, "/v1/proofs/inclusion", stream=DONE,
                    version=bid["version"]) == {"public": 404, "bidder": 200, "expert": 200,
                                                "witness-off": 404, "witness-on": 200,
                                                "supervisor-1": 200}
    assert statuses(http, world, SEALED, "/v1/proofs/inclusion", stream=SEALED,
                    version=1) == dict.fromkeys(CALLERS, 403)
    text = ask(http, world, "/v1/proofs/inclusion", "witness-on", stream=DONE,
               version=bid["version"], headers={"Accept": "text/x.tlog.proof"})
    assert text.headers["content-type"].startswith("text/x.tlog.proof")
    assert check_tlog_proof(text.text, bid["hash"], log).size == latest.size
    same = ask(http, world, "/v1/proofs/inclusion", stream=DONE, version=1, format="tlog-proof")
    assert check_tlog_proof(same.text, done[0]["hash"], log).size == latest.size
    # consistency: public, JSON only
    older = world.ledger.recorder.checkpoints()[0]
    old = open_checkpoint(older[1], log)
    consistent = ask(http, world, "/v1/proofs/consistency", old=old.size).json()
    assert merkle.consistency_ok(old.size, latest.size, old.root, latest.root,
                                 [base64.b64decode(x) for x in consistent["hashes"]])
    assert ask(http, world, "/v1/proofs/consistency", old=old.size,
               format="tlog-proof").status_code == 406
    # completeness: a file of events whole
    assert statuses(http, world, DONE, "/v1/proofs/completeness", project=pid(DONE)) == {
        "public": 403, "bidder": 403, "expert": 403, "witness-off": 403, "witness-on": 200,
        "supervisor-1": 200}
    complete = ask(http, world, "/v1/proofs/completeness", "supervisor-1", project=pid(DONE))
    proved = check_completeness(complete.json(), log)
    assert [e["hash"] for e in proved] == [e["hash"] for e in done]
    actor = ask(http, world, "/v1/proofs/completeness", stream="actor:tenderee-1").json()
    assert check_completeness(actor, log)[0]["type"] == "actor.registered/v1"
    # never past the latest checkpoint; a malformed question is a problem, not a trace
    beyond = ask(http, world, "/v1/proofs/inclusion", index=0, size=latest.size + 1)
    assert beyond.status_code == 400 and beyond.json()["type"].endswith("bad-tree-size")
    assert ask(http, world, "/v1/proofs/inclusion", stream=DONE).status_code == 422
    for query in ({"index": 10**20}, {"stream": "actor:tenderee-1", "version": 10**20}):
        assert ask(http, world, "/v1/proofs/inclusion", **query).status_code in (400, 404)
    assert ask(http, world, "/v1/proofs/inclusion", stream="nothing:x",
               version=1).status_code == 404


# --- last: the tests that write (a hidden project, a sign-off, a revoked key) ---------------

def test_a_dossier_goes_to_who_may_see_every_event_whole_and_checks_offline(
        world, market, http, tmp_path):
    for stream, given in ((SEALED, set()), (OPENED, {"witness-on", "supervisor-1"}),
                          (DRAWN, {"witness-on"}), (DONE, {"witness-on", "supervisor-1"})):
        path = f"/v1/projects/{pid(stream)}/dossier"
        assert statuses(http, world, stream, path) == {
            c: 200 if c in given else 403 for c in CALLERS}, stream
    sealed = ask(http, world, f"/v1/projects/{pid(SEALED)}/dossier", "supervisor-1").json()
    assert "法 §22" in sealed["detail"] and "SEAL-1-b" not in sealed["detail"]
    answer = ask(http, world, f"/v1/projects/{pid(DONE)}/dossier", "supervisor-1", about=[5, 9])
    assert answer.headers["content-type"] == "application/zip"
    out = tmp_path / "dossier.zip"
    out.write_bytes(answer.content)
    log = log_verifier(*log_identity(world.ledger.recorder))
    result = check_dossier(out, log)
    assert result["project"] == DONE and result["about"] == [5, 9]
    assert result["events"] == len(project_events(world.ledger.recorder, DONE))
    world.submit(world.actors["tenderee-1"], "project:HIDDEN-1", "project.intake/v1",
                 {"title": "未公告项目（虚构）", "category": "construction", "tenderee": "tenderee-1"})
    assert ask(http, world, "/v1/projects/HIDDEN-1/dossier").status_code == 404


def test_a_report_pdf_is_the_issued_one_and_a_witness_signs_it_off_by_a_signed_action(
        world, market, issued, http, folder):
    full = issued[DONE]
    answer = ask(http, world, pdf_path(DONE, full["report_id"]), "witness-on")
    assert answer.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(answer.content).hexdigest() == full["pdf_hash"]
    assert embedded_evidence(answer.content)["project"] == DONE
    entry, = ask(http, world, f"/v1/projects/{pid(DONE)}/reports", "supervisor-1").json()["reports"]
    assert entry["signed_off_by"] == [] and entry["pdf"] == pdf_path(DONE, full["report_id"])
    assert (entry["kind"], entry["lang"], entry["edition"], entry["pdf_hash"]) == (
        "full", "zh", "draft", full["pdf_hash"])
    # the officer signs the PDF's hash off with its own key, through POST /v1/actions
    signed = world.sign(world.actors["witness-on"], DONE, "project.report-signed-off/v1",
                        {"report_id": full["report_id"], "pdf_hash": full["pdf_hash"]})
    assert http.post("/v1/actions", json=signed.to_json()).status_code == 201
    entry, = ask(http, world, f"/v1/projects/{pid(DONE)}/reports", "supervisor-1").json()["reports"]
    assert [s["officer"] for s in entry["signed_off_by"]] == ["witness-on"]
    # a file changed on the server is not handed out as the report; a missing one is missing
    kept, = folder.glob(f"{pid(DONE)}-full-*.pdf")
    kept.write_bytes(answer.content + b"%")
    changed = ask(http, world, pdf_path(DONE, full["report_id"]), "witness-on")
    assert changed.status_code == 500 and changed.json()["type"].endswith("report-file-altered")
    kept.unlink()
    gone = ask(http, world, pdf_path(DONE, full["report_id"]), "witness-on")
    assert gone.status_code == 404 and gone.json()["type"].endswith("report-not-kept")


def test_the_registry_and_the_log_key_are_public(world, market, http):
    bidder = world.actors["bidder-1"]
    world.submit(world.registrar, "actor:bidder-1", "actor.key-revoked/v1",
                 {"key_id": bidder.key.key_id, "reason": "密钥介质遗失（虚构）"})
    found = ask(http, world, "/v1/actors/bidder-1").json()
    assert (found["actor"], found["name"], found["roles"]) == ("bidder-1", "Fictional bidder-1",
                                                                ["bidder"])
    key, = found["keys"]
    assert key["key_id"] == bidder.key.key_id
    assert key["public_key"] == encode_public_key(bidder.key.public_key)
    revoked = project_events(world.ledger.recorder, "actor:bidder-1")[-1]
    assert key["added_at"] < key["revoked_at"] == revoked["ledger_time"]
    assert ask(http, world, "/v1/actors/no-one").status_code == 404
    expected = log_verifier_key(*log_identity(world.ledger.recorder))
    assert ask(http, world, "/v1/log-key").json()["verifier_key"] == expected
    assert ask(http, world, "/v1/actors/ledger").json()["log_key"] == expected
