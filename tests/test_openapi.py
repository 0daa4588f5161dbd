"""The HTTP API against its own reference (/openapi.json): Schemathesis sends every operation
of the document, unsigned and then signed by a registered actor, to a real `sunledger serve`
over a SQLite store holding registered actors and an announced project (the reference's own
example project, so that its examples find it), and checks each answer: no server error
(5xx), a status code, content type and body the document gives for that operation. Unsigned
requests to a signed-only operation are answered 401. The document itself must list every
route of the app, each with a summary, a description, examples and problem answers, and
/docs must render it without anything from elsewhere."""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import urlsplit

import fastapi.routing
import httpx
import hypothesis
import jsonschema_rs  # Schemathesis's own JSON Schema validator
import pytest
import requests
import schemathesis
from schemathesis.checks import (
    content_type_conformance, negative_data_rejection, not_a_server_error,
    response_headers_conformance, response_schema_conformance, status_code_conformance,
    unsupported_method,
)

from api.client import signature_headers
from api.http.actions import EXAMPLE_SIGNED
from api.http.app import create_app
from api.http.openapi import api_operations
from api.http.problems import PROBLEM_JSON
from api.http.witness_server import create_witness_app
from conftest import MovableClock, RawStore, World
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.keys import SigningKey, encode_public_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.log.checkpoints import log_verifier_key
from ledger.log.notes import split_note
from servers import ledger_server
from test_witness_http import WITNESS, WitnessProcess, make_witness

PROJECT = "project:LILING-2025-SZ02"  # the example of api/http/projects.py
EXAMPLE_KEY = SigningKey(hashlib.sha256(b"sunledger api-signing example").digest())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, unsupported_method]
SETTINGS = hypothesis.settings(max_examples=15, deadline=None, database=None, derandomize=True,
                               suppress_health_check=list(hypothesis.HealthCheck))
THE_DOCUMENT_ITSELF = {"/openapi.json", "/docs"}  # routes that serve the reference


def is_portal_page(path: str) -> bool:
    """The portal's web pages (api/portal/, for browsers, docs/portal.md), not the API."""
    return path == "/" or path == "/portal" or path.startswith("/portal/")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Registered actors (conftest's World) and the example project, announced (visible to
    the public), with a checkpoint over all of it: one store for the whole module."""
    folder = tmp_path_factory.mktemp("openapi")
    url, clock = f"sqlite:{folder / 'ledger.db'}", MovableClock()
    ledger = Ledger.open(url, clock=clock, key_path=folder / "ledger.key")
    world = World(ledger, clock, RawStore(url), ActorSigner(LEDGER_ACTOR, ledger.key))
    world.folder = folder
    for actor, role in (("tenderee-1", "tenderee"), ("operator-1", "operator"),
                        ("bidder-1", "bidder")):
        world.register(actor, roles=(role,))
    # the bidder of the reference's example action, with the example key of docs/api-signing.md
    world.submit(world.registrar, "actor:bidder-hengtai", "actor.registered/v1", {
        "name": "Hengtai (fictional)", "roles": ["bidder"], "organisation": "恒泰（虚构）"})
    world.submit(world.registrar, "actor:bidder-hengtai", "actor.key-added/v1", {
        "key_id": EXAMPLE_KEY.key_id, "public_key": encode_public_key(EXAMPLE_KEY.public_key)})
    world.open_project(PROJECT)
    ledger.checkpoint()
    yield world
    ledger.close()


@pytest.fixture(scope="module")
def served(world):
    """A real `sunledger serve` over that store; its log must hold no trace."""
    server = ledger_server(world.raw.url, world.folder / "ledger.key",
                           world.folder / "serve.log")
    yield server
    server.stop()
    output = server.output()
    assert "Traceback" not in output and "unexpected failure" not in output, output


# the document as the code makes it (test_the_server_serves_this_document: the same one);
# unsigned, every phase (the examples, the coverage phase's edge and invalid values and
# undocumented methods, then fuzzing); signed, the examples and fuzzing
DOCUMENT = create_app(lambda: None).openapi()
unsigned = schemathesis.openapi.from_dict(DOCUMENT)
signed = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(
    {"phases": {"coverage": {"enabled": False}}}))


def signed_only(case) -> bool:
    return case.operation.definition.raw.get("security") == [
        {"Signature-Input": [], "Signature": []}]


@unsigned.parametrize()
@SETTINGS
def test_every_operation_unsigned(case, served):
    response = case.call_and_validate(base_url=served.url,
                                      checks=[*CHECKS, negative_data_rejection])
    if signed_only(case) and response.request.method == case.operation.method.upper():
        assert response.status_code == 401, (case.operation.label, response.text)
        assert response.headers["content-type"] == [PROBLEM_JSON]


class Signed(requests.auth.AuthBase):
    """RFC 9421 signature headers of the request as it is sent (api/client.py's)."""

    def __init__(self, signer):
        self.signer = signer

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        request.headers.update(signature_headers(self.signer, request.method, url.path,
                                                 url.query, body or None, now=time.time()))
        return request


@signed.parametrize()
@SETTINGS
def test_every_operation_signed(case, world, served):
    response = case.call_and_validate(base_url=served.url, checks=CHECKS,
                                      auth=Signed(world.actors["tenderee-1"]))
    assert response.status_code != 401 or "signature" not in response.json()["type"], (
        case.operation.label, response.text)


# --- the witness's own app (sunledger witness serve) ----------------------------------------

WITNESS_DOCUMENT = create_witness_app(None).openapi()  # the document needs no witness
witness_api = schemathesis.openapi.from_dict(WITNESS_DOCUMENT)


@pytest.fixture(scope="module")
def witness(world, tmp_path_factory):
    """`sunledger witness serve`, following the log of the module's store."""
    state, _ = make_witness(tmp_path_factory.mktemp("witness"), log_verifier_key(
        world.ledger.origin, world.ledger.key.public_key))
    process = WitnessProcess(state)
    yield process
    code, err = process.stop()
    assert code == 0 and "Traceback" not in err, err


@witness_api.parametrize()
@SETTINGS
def test_every_witness_operation(case, witness):
    case.call_and_validate(base_url=witness.url, checks=[*CHECKS, negative_data_rejection])


def test_the_witness_answers_as_its_document_says(world, witness):
    """A real add-checkpoint: cosigned (200, the cosignature line), then the same again: 409
    with the size it cosigned (text/x.tlog.size); each answer as the document says."""
    add = witness_api["/add-checkpoint"]["POST"]
    note = world.ledger.checkpoint()
    answers = [add.Case(body=f"old 0\n\n{note}", media_type="text/plain").call_and_validate(
        base_url=witness.url, checks=CHECKS) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 409], [a.text for a in answers]
    assert answers[0].text.startswith("— " + WITNESS)
    assert answers[1].text == f"{split_note(note)[0].split(chr(10))[1]}\n"


# --- the document ---------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["ledger", "witness"])
def app(request):
    """The ledger's app and the witness's (the document needs no store, no witness)."""
    return create_app(lambda: None) if request.param == "ledger" else create_witness_app(None)


# error answers that are not problems, by the specification they implement
NOT_PROBLEMS = {("/add-checkpoint", "409", "text/x.tlog.size")}  # C2SP tlog-witness


def examples_of(media: dict, doc: dict) -> list:
    """The examples of a media type object: its own, or its schema's (through $refs; an
    array's, or its items')."""
    if "example" in media or media.get("examples"):
        return [media.get("example")] + list(media.get("examples", {}))

    def resolved(schema: dict) -> dict:
        while "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    schema = resolved(media.get("schema", {}))
    return schema.get("examples", []) or resolved(schema.get("items", {})).get("examples", [])


def binary(media_type: str) -> bool:
    """Bytes (a tile, a PDF, a zip): described, with no example in the document."""
    return not (media_type.startswith("text/") or "json" in media_type)


def test_the_document_lists_every_route_with_summary_description_and_examples(app):
    doc = app.openapi()
    routes = {(path, method) for path, methods in doc["paths"].items() for method in methods}
    missing = []
    every = getattr(fastapi.routing, "iter_route_contexts", list)  # FastAPI ≥ 0.130 nests them
    for route in every(app.routes):  # every route the app answers, documented or not
        path = getattr(route, "path_format", None) or getattr(route, "path", repr(route))
        for method in getattr(route, "methods", None) or {"(any method)"}:
            if path not in THE_DOCUMENT_ITSELF and not is_portal_page(path) and method != "HEAD" and (
                    path, method.lower()) not in routes:
                missing.append(f"{method} {path}")
    assert not missing, f"routes missing from /openapi.json: {missing}"
    operations = list(api_operations(app))
    assert len(operations) == len(routes)

    wrong = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            if not op.get("summary") or not op.get("description"):
                wrong.append(f"{where}: no summary or no description")
            body = op.get("requestBody", {}).get("content", {})
            for media_type, media in body.items():
                if not media.get("schema") or not examples_of(media, doc):
                    wrong.append(f"{where}: request body {media_type} without schema or example")
            for status, response in op["responses"].items():
                if response.get("description") in (None, "", "Successful Response"):
                    wrong.append(f"{where} {status}: no description of its own")
                content = response.get("content")
                if not content:
                    wrong.append(f"{where} {status}: no content")
                    continue
                for media_type, media in content.items():
                    if not media.get("schema"):
                        wrong.append(f"{where} {status} {media_type}: no schema")
                    if not binary(media_type) and not examples_of(media, doc):
                        wrong.append(f"{where} {status} {media_type}: no example")
                others = {m for m in content if (path, status, m) not in NOT_PROBLEMS}
                if int(status) >= 400 and others != {PROBLEM_JSON}:
                    wrong.append(f"{where} {status}: not only {PROBLEM_JSON}")
                if int(status) >= 400 and content.get(PROBLEM_JSON, {}).get("schema") != {
                        "$ref": "#/components/schemas/Problem"}:
                    wrong.append(f"{where} {status}: not the Problem schema")
            for status in ("408", "413", "500"):
                if status not in op["responses"]:
                    wrong.append(f"{where}: no {status}")
            if op.get("security") and "401" not in op["responses"]:
                wrong.append(f"{where}: signed but no 401")
    assert not wrong, "\n".join(wrong)
    assert not {"HTTPValidationError", "ValidationError"} & set(doc["components"]["schemas"])


def validator(schema: dict, doc: dict):
    """A JSON Schema 2020-12 validator of `schema`, its $refs to the document's schemas."""
    whole = dict(schema, **{"$defs": doc["components"]["schemas"]})
    return jsonschema_rs.validator_for(json.loads(json.dumps(whole).replace(
        "#/components/schemas/", "#/$defs/")))


def test_every_example_is_valid_by_its_schema(app):
    """An example in the reference is an answer or a request the API would take: valid by
    the schema beside it (FastAPI drops nulls from examples: none may have one)."""
    doc = app.openapi()
    wrong = []
    for name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            if not validator(schema, doc).is_valid(example):
                wrong.append(f"schema {name}: {example}")
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            contents = [("body", op.get("requestBody", {}).get("content", {}))] + [
                (status, r.get("content", {})) for status, r in op["responses"].items()]
            for where, content in contents:
                for media_type, media in content.items():
                    examples = [media["example"]] if "example" in media else []
                    examples += [e["value"] for e in media.get("examples", {}).values()]
                    examples += media.get("schema", {}).get("examples", [])
                    for example in examples:
                        errors = [e.message for e in validator(media["schema"], doc)
                                  .iter_errors(example)]
                        if errors:
                            wrong.append(f"{method.upper()} {path} {where} {media_type}: {errors}")
    assert not wrong, "\n".join(wrong)


def test_signed_routes_carry_the_signature_scheme():
    doc = DOCUMENT
    signed = {f"{m.upper()} {p}": op.get("security") for p, ms in doc["paths"].items()
              for m, op in ms.items() if op.get("security")}
    both = {"Signature-Input": [], "Signature": []}
    assert signed["GET /v1/whoami"] == [both]
    assert signed["GET /v1/projects/{project}/version"] == [both]
    assert signed["GET /v1/projects"] == [{}, both]  # unsigned: the public
    assert "POST /v1/actions" not in signed  # an action carries its own signature
    schemes = doc["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"Signature-Input", "Signature"}
    assert all(s["type"] == "apiKey" and s["in"] == "header" and "docs/api-signing.md"
               in s["description"] for s in schemes.values())


def test_tiles_answer_as_the_document_says(served):
    """Tiles, whose paths Schemathesis cannot send (a path parameter holds no '/'): a hash
    tile and an entry bundle of the latest checkpoint's tree, checked by the document."""
    size = int(httpx.get(f"{served.url}/log/checkpoint").text.split("\n")[1])
    assert 0 < size < 256
    case = unsigned["/log/tile/{path}"]["GET"].Case(path_parameters={"path": "0/000"})
    for path, length in ((f"0/000.p/{size}", 32 * size), (f"entries/000.p/{size}", 34 * size),
                         ("0/000", None)):
        answer = httpx.get(f"{served.url}/log/tile/{path}")
        case.validate_response(answer, checks=CHECKS[:-1])  # all but unsupported_method
        assert answer.status_code == (200 if length else 404), answer.text
        assert length is None or len(answer.content) == length


def test_the_example_action_is_signed_by_the_example_key(served):
    """The reference's example action verifies (its actor and key are registered here): the
    ledger gets as far as the trading rules, which refuse a bid dated long after the
    example's deadline, and tell the bidder where the refusal was recorded without the
    refusal stream's version (法 §22)."""
    answer = httpx.post(f"{served.url}/v1/actions", json=EXAMPLE_SIGNED)
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:sunledger:error:rule-refused", problem
    # recorded once (other tests post the example too): never with the refusal's version
    assert set(problem.get("recorded_in", {"stream": 0, "position": 0})) == {"stream", "position"}


def test_the_server_serves_this_document(served):
    assert httpx.get(f"{served.url}/openapi.json").json() == json.loads(json.dumps(DOCUMENT))


def test_problem_answers_match_the_problem_schema(served):
    """The problems the app itself makes (not found, method not allowed, malformed) are
    what the Problem schema says, with their media type."""
    problem = validator({"$ref": "#/components/schemas/Problem"}, DOCUMENT)
    json_body = {"content-type": "application/json"}
    answers = [httpx.get(f"{served.url}/nowhere"), httpx.delete(f"{served.url}/v1/whoami"),
               httpx.get(f"{served.url}/v1/projects", params={"limit": 0}),
               httpx.get(f"{served.url}/v1/projects/LILING-2025-SZ02", params={"at": "soon"}),
               httpx.get(f"{served.url}/v1/projects/LILING-2025-SZ02",
                         params={"at": "2025-13-01T00:00:00.000000Z"}),
               httpx.get(f"{served.url}/v1/whoami")] + [
        httpx.post(f"{served.url}/v1/actions", content=body, headers=json_body)
        for body in (b"\x0b\xc3\x28", b"[" * 100_000, b"{not json")]
    assert [a.status_code for a in answers] == [404, 405, 422, 422, 422, 401, 422, 422, 422]
    for answer in answers:
        assert answer.headers["content-type"] == PROBLEM_JSON
        problem.validate(answer.json())
    assert answers[1].headers["allow"] == "GET"


def test_docs_is_one_page_that_needs_nothing_from_elsewhere(served):
    page = httpx.get(f"{served.url}/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    doc = httpx.get(f"{served.url}/openapi.json").json()
    for path, methods in doc["paths"].items():
        for method in methods:
            assert f"{method.upper()}</span><code>{path}</code>" in page.text
    for loads in ("<script", "<link", "<img", "<iframe", "src=", "@import", "url("):
        assert loads not in page.text, loads
    assert httpx.get(f"{served.url}/redoc").status_code == 404
