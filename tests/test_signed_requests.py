"""Signed requests (RFC 9421 HTTP Message Signatures with the actors' registered Ed25519
keys, api/http/signed_requests.py) and the Python client (api/client.py).

Signatures here are made by an independent implementation: http-message-signatures' own
HTTPMessageSigner (its Ed25519 by pyca/cryptography), never by the server's code; the
verifier is also held to RFC 9421's Ed25519 example (Appendix B.2.6) byte for byte. The
refusal cases run in process (TestClient, on the test's clock); the main cases run against
real `sunledger serve` processes, two of them on one store, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from http_message_signatures import (
    HTTPMessageSigner, InvalidSignature, MappingKeyResolver, algorithms,
)

from api.client import LedgerClient, ProblemError, signature_headers
from api.client import request_key_id as client_key_id
from api.http.app import create_app
from api.http.signed_requests import (
    Caller, RequestView, _content_digest, parse_request_key_id, request_key_id,
    signature_base, signed_caller, verify_message, SignatureRefused,
)
from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.keys import SigningKey, encode_public_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from servers import SUNLEDGER, ledger_server

ROOT = Path(__file__).resolve().parent.parent
PROBLEM_JSON = "application/problem+json"
COVERED = ("@method", "@path", "@query")


# --- an independent RFC 9421 signer -------------------------------------------------------------

def keyid_of(signer: ActorSigner) -> str:
    """The keyid form of docs/api-signing.md, written out here from the text."""
    return quote(signer.actor, safe="/") + ":" + signer.key.key_id


def library_signed(signer: ActorSigner, method: str, url: str, *, at: datetime,
                   body: bytes | None = None, window: int = 60, ahead: int = 0,
                   components=COVERED, label: str = "sunledger", keyid: str | None = None,
                   nonce: str | None = None, headers: dict | None = None,
                   key: SigningKey | None = None) -> httpx.Request:
    """A request signed by http-message-signatures' HTTPMessageSigner (not by our code):
    created = `at` + `ahead` seconds, expires `window` seconds later; with a body, the
    library adds Content-Digest (sha-256) and covers it."""
    keyid = keyid or keyid_of(signer)
    private = Ed25519PrivateKey.from_private_bytes((key or signer.key).seed())
    request = httpx.Request(method, url, content=body, headers=headers)
    created = at + timedelta(seconds=ahead)
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={keyid: private}),
    ).sign(request, key_id=keyid, created=created, expires=created + timedelta(seconds=window),
           nonce=nonce or os.urandom(16).hex(), label=label, covered_component_ids=components,
           body=body)
    return request


def send(client: httpx.Client, request: httpx.Request, **changes) -> httpx.Response:
    """Send a signed request as it is, or with one thing changed behind the signature."""
    method = changes.get("method", request.method)
    url = changes.get("url", str(request.url))
    headers = httpx.Headers([(k, v) for k, v in request.headers.multi_items()
                             if k.lower() not in ("content-length", "host")])
    for name, value in changes.get("headers", {}).items():
        headers[name] = value  # replaces the field, whatever its case
    for name in changes.get("drop", ()):
        del headers[name]
    content = changes.get("body", request.content)
    return client.request(method, url, headers=headers, content=content)


def refused(response: httpx.Response, code: str) -> dict:
    """A 401 problem+json of type `code`, with no trace of a stack."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert "Traceback" not in response.text and 'File "' not in response.text
    problem = response.json()
    assert problem["type"] == f"urn:sunledger:error:{code}", problem
    assert problem["status"] == 401 and problem["detail"]
    return problem


# --- RFC 9421 Appendix B: the Ed25519 example, verified by our verifier -------------------------

def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# test-key-ed25519 (RFC 9421 B.1.4, as a JWK): public x and private d
RFC_X = _b64url("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs")
RFC_D = _b64url("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU")
# the test request of RFC 9421 B.2, with the signature of B.2.6
RFC_BODY = b'{"hello": "world"}'
RFC_HEADERS = [
    ("Host", "example.com"),
    ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNN"
                       "yealdVLvRwEmTHWXvJwew==:"),
    ("Content-Length", "18"),
    ("Signature-Input", 'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
                        '"content-length");created=1618884473;keyid="test-key-ed25519"'),
    ("Signature", "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6"
                  "vuQv5lIp5WPpBKRCw==:"),
]
RFC_B26_BASE = "\n".join([
    '"date": Tue, 20 Apr 2021 02:07:55 GMT',
    '"@method": POST',
    '"@path": /foo',
    '"@authority": example.com',
    '"content-type": application/json',
    '"content-length": 18',
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"',
]).encode("ascii")


def _rfc_request(**replace: str) -> RequestView:
    headers = [(n, replace.get(n, v)) for n, v in RFC_HEADERS]
    return RequestView.of(replace.get("method", "POST"),
                          replace.get("url", "https://example.com/foo?param=Value&Pet=dog"), headers)


def test_rfc9421_b26_ed25519_example_verifies_with_our_verifier():
    """RFC 9421 B.2.6: our verifier (the library's signature base, libsodium's Ed25519)
    rebuilds the RFC's signature base byte for byte and accepts the RFC's signature with
    test-key-ed25519; the key pair and the signature agree with the RFC as printed."""
    assert SigningKey(RFC_D).public_key == RFC_X
    result = verify_message(_rfc_request(), "sig-b26", RFC_X)
    assert signature_base(result) == RFC_B26_BASE
    assert result.parameters == {"created": 1618884473, "keyid": "test-key-ed25519"}
    # Ed25519 is deterministic: the RFC's key signs the base into the RFC's signature
    assert SigningKey(RFC_D).sign(RFC_B26_BASE) == base64.b64decode(
        RFC_HEADERS[-1][1].removeprefix("sig-b26=:").removesuffix(":"))
    # the request's Content-Digest (RFC 9530, sha-512) is the body's
    _content_digest(RFC_HEADERS[3][1], RFC_BODY)


@pytest.mark.parametrize("change", [
    {"method": "PUT"},
    {"url": "https://example.com/fop?param=Value&Pet=dog"},
    {"url": "https://example.org/foo?param=Value&Pet=dog"},
    {"Date": "Tue, 20 Apr 2021 02:07:56 GMT"},
    {"Content-Length": "19"},
    {"Signature": "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6"
                  "vuQv5lIp5WPpBKRCg==:"},  # the last byte: 0x0b -> 0x0a
    {"Signature-Input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
                        '"content-length");created=1618884474;keyid="test-key-ed25519"'},
])
def test_rfc9421_b26_example_changed_anywhere_is_refused(change):
    with pytest.raises(InvalidSignature):
        verify_message(_rfc_request(**change), "sig-b26", RFC_X)
    with pytest.raises(InvalidSignature):
        verify_message(_rfc_request(), "sig-b26", SigningKey.generate().public_key)


def test_rfc9530_content_digest_of_a_changed_body_is_refused():
    with pytest.raises(SignatureRefused) as caught:
        _content_digest(RFC_HEADERS[3][1], RFC_BODY.replace(b"world", b"World"))
    assert caught.value.code == "content-digest-mismatch"
    for value in ("sha-512=:AAAA:", "md5=:AAAA:", "sha-256=abc", "sha-256=:" + "A" * 44 + ":"):
        with pytest.raises(SignatureRefused) as caught:
            _content_digest(value, RFC_BODY)
        assert caught.value.code in ("content-digest-malformed", "content-digest-mismatch")
    both = ("sha-256=:" + base64.b64encode(hashlib.sha256(RFC_BODY).digest()).decode()
            + ":, " + RFC_HEADERS[3][1])
    _content_digest(both, RFC_BODY)  # sha-256 and sha-512 both checked, both match


def test_the_keyid_names_the_actor_and_its_key_in_one_form():
    kid = "5f0c6ad1b0e3c2a4d9e8f7a6b5c4d3e2"
    for actor in ("bidder-0001", "GC/2025.a_b", "投标人-恒泰"):
        text = request_key_id(actor, kid)
        assert text == client_key_id(actor, kid) and text.isascii()
        assert parse_request_key_id(text) == (actor, kid)
    assert request_key_id("投标人", kid) == f"%E6%8A%95%E6%A0%87%E4%BA%BA:{kid}"
    for wrong in (f"bidder-1/{kid}", f"bidder-1:{kid}:x", f"bidder-1:{kid.upper()}",
                  f"%62idder-1:{kid}",  # an ASCII character encoded: not the one form
                  f"%e6%8a%95%e6%a0%87%e4%ba%ba:{kid}",  # lowercase hex
                  f"%FF:{kid}", f":{kid}", f"bidder 1:{kid}", "bidder-1:"):
        with pytest.raises(ValueError):
            parse_request_key_id(wrong)



def test_the_worked_example_of_the_signing_guide_verifies():
    """docs/api-signing.md §3 and §5: its request, signature base and example key agree with
    the verifier, and its keyid of a Chinese actor id is the one form."""
    doc = (ROOT / "docs" / "api-signing.md").read_text(encoding="utf-8")
    pem = doc.split("```\n-----BEGIN PRIVATE KEY-----")[1].split("-----END")[0]
    key = SigningKey.from_pem(b"-----BEGIN PRIVATE KEY-----" + pem.encode() + b"-----END PRIVATE KEY-----\n")
    assert key.seed() == hashlib.sha256(b"sunledger api-signing example").digest()
    assert f"key id\n`{key.key_id}`" in doc and encode_public_key(key.public_key) in doc
    http = doc.split("```http\n")[1].split("```")[0].splitlines()
    method, target, _ = http[0].split(" ")
    view = RequestView.of(method, f"https://ledger.example.gov.cn{target}",
                          [tuple(line.split(": ", 1)) for line in http[1:]])
    result = verify_message(view, "sunledger", key.public_key)
    base = doc.split("### 3.2 The signature base")[1].split("```\n")[1].split("```")[0]
    assert signature_base(result).decode() + "\n" == base
    assert request_key_id("投标人-恒泰", "k" * 32).split(":")[0] in doc

# --- in process: the dependency on a real store, the test's clock ------------------------------

echo = APIRouter()  # a signed route with a body, as later routes will have (no hint headers)


@echo.api_route("/v1/test-echo/{rest:path}", methods=["GET", "POST", "PUT"])
async def _echo(rest: str, caller: Caller = Depends(signed_caller)) -> dict:
    return {"actor": caller.actor, "rest": rest}


@pytest.fixture
def app(world, store_url, tmp_path):
    """The API over a second ledger of the world's store, on the world's clock."""
    application = create_app(lambda: Ledger.open(store_url, clock=world.clock,
                                                 key_path=tmp_path / "ledger.key"))
    application.include_router(echo)
    with TestClient(application) as client:
        yield client


BASE = "http://testserver"


def test_a_request_signed_by_an_independent_implementation_is_accepted(world, app):
    bidder = world.actors["bidder-1"]
    now = world.clock.now()
    answer = send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"actor": "bidder-1", "key_id": bidder.key.key_id,
                             "roles": ["bidder"], "organisation": "虚构测试单位（bidder-1）",
                             "name": "Fictional bidder-1"}
    # a query, a body (Content-Digest by the library), other covered fields
    signed = library_signed(bidder, "POST", f"{BASE}/v1/test-echo/a%2Fb?x=1&y=%E4%B8%AD", at=now,
                            body=b'{"n": 1}', headers={"X-Trace": "t-1", "Date": "today"},
                            components=COVERED + ("x-trace", "date"))
    assert "content-digest" in signed.headers["signature-input"]
    answer = send(app, signed)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"actor": "bidder-1", "rest": "a/b"}
    # the client's own signing (its own signature base) is accepted too
    headers = signature_headers(bidder, "GET", "/v1/whoami", "a=1", now=now.timestamp())
    assert app.get("/v1/whoami?a=1", headers=headers).json()["actor"] == "bidder-1"


def test_the_ledger_key_signs_as_the_registrar(world, app):
    signed = library_signed(world.registrar, "GET", f"{BASE}/v1/whoami", at=world.clock.now())
    assert send(app, signed).json()["roles"] == ["registrar"]


def test_an_actor_id_outside_ascii_is_percent_encoded(world, app):
    actor = world.register("投标人-恒泰")
    signed = library_signed(actor, "GET", f"{BASE}/v1/whoami", at=world.clock.now())
    assert send(app, signed).json()["actor"] == "投标人-恒泰"


def test_a_changed_byte_anywhere_is_refused(world, app):
    """Method, path, query, a covered field, the Content-Digest, the signature: each changed
    after signing is a bad signature; a changed body under its digest is a digest mismatch."""
    bidder = world.actors["bidder-1"]
    url = f"{BASE}/v1/test-echo/doc-1?page=2"

    def fresh() -> httpx.Request:
        return library_signed(bidder, "POST", url, at=world.clock.now(), body=b'{"a": "b"}',
                              headers={"X-Trace": "t-1"}, components=COVERED + ("x-trace",))

    assert send(app, fresh()).status_code == 200
    signed = fresh()
    sig = signed.headers["signature"]
    raw = bytearray(base64.b64decode(sig.split(":")[1]))
    raw[10] ^= 1
    other_body = b'{"a": "c"}'
    other_digest = "sha-256=:" + base64.b64encode(hashlib.sha256(other_body).digest()).decode() + ":"
    for change in ({"method": "PUT"},
                   {"url": f"{BASE}/v1/test-echo/doc-2?page=2"},
                   {"url": f"{BASE}/v1/test-echo/doc-1?page=3"},
                   {"url": f"{BASE}/v1/test-echo/doc-1?page=2&x"},
                   {"url": f"{BASE}/v1/test-echo/doc-1"},
                   {"headers": {"X-Trace": "t-2"}},
                   {"headers": {"Content-Digest": other_digest}, "body": other_body},
                   {"headers": {"Signature": f"sunledger=:{base64.b64encode(raw).decode()}:"}}):
        refused(send(app, signed, **change), "signature-invalid")
    refused(send(app, signed, body=other_body), "content-digest-mismatch")
    refused(send(app, signed, body=b'{"a": "b"} '), "content-digest-mismatch")
    # none of these used up the nonce: the request as signed is accepted once
    assert send(app, signed).status_code == 200
    refused(send(app, signed), "signature-replayed")


def test_windows_too_long_expired_or_in_the_future_are_refused(world, app):
    bidder = world.actors["bidder-1"]
    now = world.clock.now()

    def get(**timing) -> httpx.Response:
        return send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now, **timing))

    assert get(window=300).status_code == 200
    assert get(ahead=59, window=60).status_code == 200
    assert get(ahead=-290, window=300).status_code == 200  # signed 290 s ago, expires in 10
    refused(get(window=301), "signature-window-too-long")
    refused(get(ahead=61, window=60), "signature-created-in-future")
    refused(get(ahead=-120, window=60), "signature-expired")
    signed = library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now, window=30)
    world.clock.advance(seconds=31)  # the server's clock passes expires
    refused(send(app, signed), "signature-expired")


def test_a_replayed_nonce_is_refused_even_with_another_signature(world, app):
    bidder = world.actors["bidder-1"]
    now = world.clock.now()
    signed = library_signed(bidder, "GET", f"{BASE}/v1/whoami?a=1", at=now)
    assert send(app, signed).status_code == 200
    problem = refused(send(app, signed), "signature-replayed")
    assert problem["keyid"] == keyid_of(bidder)
    # the same nonce in a new signature (another query) is refused; another key may use it
    nonce = signed.headers["signature-input"].split('nonce="')[1].split('"')[0]
    refused(send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami?a=2", at=now,
                                     nonce=nonce)), "signature-replayed")
    other = world.actors["bidder-2"]
    assert send(app, library_signed(other, "GET", f"{BASE}/v1/whoami", at=now,
                                    nonce=nonce)).status_code == 200
    query = "SELECT key_id, nonce, expires FROM {} WHERE nonce=?"
    if world.raw.url.startswith("sqlite:"):  # a file of their own beside the store
        with sqlite3.connect(world.ledger._request_nonces.path) as nonces:
            rows = nonces.execute(query.format("request_nonces"), (nonce,)).fetchall()
    else:
        rows = world.raw.execute(query.format(world.raw.table("sunledger_request_nonces")),
                                 (nonce,))
    assert sorted(rows) == sorted([(keyid_of(bidder), nonce, int(now.timestamp()) + 60),
                                   (keyid_of(other), nonce, int(now.timestamp()) + 60)])


def test_unknown_revoked_and_expired_keys_are_refused(world, app):
    now = world.clock.now()
    stranger = ActorSigner("nobody-1", SigningKey.generate())
    refused(send(app, library_signed(stranger, "GET", f"{BASE}/v1/whoami", at=now)),
            "signature-key-unknown")
    unregistered = ActorSigner("bidder-1", SigningKey.generate())  # a key never added
    refused(send(app, library_signed(unregistered, "GET", f"{BASE}/v1/whoami", at=now)),
            "signature-key-unknown")
    # a key of bidder-2 used under bidder-1's name
    wrong = library_signed(world.actors["bidder-2"], "GET", f"{BASE}/v1/whoami", at=now,
                           keyid=f"bidder-1:{world.actors['bidder-2'].key.key_id}")
    refused(send(app, wrong), "signature-key-unknown")
    # bidder-1's key id with another key's signature
    forged = library_signed(world.actors["bidder-1"], "GET", f"{BASE}/v1/whoami", at=now,
                            key=world.actors["bidder-2"].key)
    refused(send(app, forged), "signature-invalid")

    bidder = world.actors["bidder-2"]
    assert send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami",
                                    at=world.clock.now())).status_code == 200
    world.submit(world.registrar, "actor:bidder-2", "actor.key-revoked/v1",
                 {"key_id": bidder.key.key_id, "reason": "the token was lost"})
    problem = refused(send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami",
                                               at=world.clock.now())), "signature-key-revoked")
    assert problem["actor"] == "bidder-2" and problem["key_id"] == bidder.key.key_id

    until = world.clock.now() + timedelta(hours=1)
    short = world.register("bidder-short", not_after=format_time(until))
    assert send(app, library_signed(short, "GET", f"{BASE}/v1/whoami",
                                    at=world.clock.now())).status_code == 200
    world.clock.advance(hours=2)
    refused(send(app, library_signed(short, "GET", f"{BASE}/v1/whoami", at=world.clock.now())),
            "signature-key-not-valid")


def test_missing_and_malformed_signatures_are_refused_with_a_hint(world, app):
    bidder = world.actors["bidder-1"]
    now = world.clock.now()
    answer = app.get("/v1/whoami")
    refused(answer, "signature-missing")
    assert answer.headers["www-authenticate"].startswith("Signature ")
    assert '"@query"' in answer.headers["accept-signature"]
    refused(send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now),
                 headers={"Signature": ""}), "signature-missing")

    def get(**options) -> httpx.Response:
        return send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now, **options))

    def edited(old: str, new: str) -> httpx.Response:
        signed = library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now)
        value = signed.headers["signature-input"]
        assert old in value
        return send(app, signed, headers={"Signature-Input": value.replace(old, new)})

    problem = refused(get(components=("@method", "@path")), "signature-component-missing")
    assert problem["missing"] == ["@query"]
    keyed = library_signed(bidder, "POST", f"{BASE}/v1/test-echo/x", at=now, body=b"{}",
                           components=COVERED + ('"content-digest";key="sha-256"',))
    refused(send(app, keyed), "signature-component-missing")  # the whole digest, bare
    signed = library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now,
                            headers={"X-Absent": "1"}, components=COVERED + ("x-absent",))
    refused(send(app, signed, drop=["X-Absent"]), "signature-component-missing")
    # a body whose digest is not covered
    signed = library_signed(bidder, "POST", f"{BASE}/v1/test-echo/x", at=now)
    refused(send(app, signed, body=b"{}"), "signature-component-missing")
    refused(edited('alg="ed25519"', 'alg="rsa-pss-sha512"'), "signature-input-malformed")
    refused(edited('alg="ed25519"', "alg=ed25519"), "signature-input-malformed")  # a token
    refused(edited(';alg="ed25519"', ""), "signature-input-malformed")
    refused(edited(";created=", ";tag=\"x\";foo=1;created="), "signature-input-malformed")
    refused(edited('keyid="bidder-1:', 'keyid="bidder-1/'), "signature-input-malformed")
    refused(get(nonce="short"), "signature-input-malformed")
    refused(get(nonce="a" * 20 + " " + "b" * 20), "signature-input-malformed")
    refused(get(window=0), "signature-input-malformed")
    for params in ("created", "expires", "nonce", "keyid"):
        signed = library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now)
        value = signed.headers["signature-input"]
        start = value.index(f";{params}=")
        end = value.find(";", start + 1)
        cut = value[:start] + (value[end:] if end > 0 else "")
        refused(send(app, signed, headers={"Signature-Input": cut}), "signature-input-malformed")
    refused(send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now),
                 headers={"Signature-Input": "sunledger=(\"@method\""}), "signature-input-malformed")
    refused(send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now),
                 headers={"Signature": "sunledger=:AAAA:"}), "signature-input-malformed")
    refused(send(app, library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now),
                 headers={"Signature": "other=:AAAA:"}), "signature-input-malformed")


def test_only_the_sunledger_label_counts_among_several(world, app):
    bidder = world.actors["bidder-1"]
    now = world.clock.now()
    ours = library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now, label="mine")
    theirs = library_signed(world.actors["bidder-2"], "GET", f"{BASE}/v1/whoami", at=now,
                            label="proxy")
    both = {"Signature-Input": ours.headers["signature-input"] + ", "
            + theirs.headers["signature-input"],
            "Signature": ours.headers["signature"] + ", " + theirs.headers["signature"]}
    refused(send(app, ours, headers=both), "signature-ambiguous")
    ours = library_signed(bidder, "GET", f"{BASE}/v1/whoami", at=now)  # labelled sunledger
    garbage = 'proxy=("@method");created=1;keyid="x"'
    answer = send(app, ours, headers={
        "Signature-Input": garbage + ", " + ours.headers["signature-input"],
        "Signature": "proxy=:AAAA:, " + ours.headers["signature"]})
    assert answer.status_code == 200 and answer.json()["actor"] == "bidder-1"


def test_the_nonce_table_is_kept_and_pruned_on_every_store(world, store_url, tmp_path):
    recorder = world.ledger.recorder
    assert recorder.remember_request_nonce("a:k", "n-1", 1000)
    assert not recorder.remember_request_nonce("a:k", "n-1", 2000)
    assert recorder.remember_request_nonce("b:k", "n-1", 1000)
    assert recorder.remember_request_nonce("a:k", "n-2", 3000)
    assert recorder.forget_request_nonces(2000) == 2
    assert recorder.remember_request_nonce("a:k", "n-1", 1000)  # forgotten: new again
    assert not recorder.remember_request_nonce("a:k", "n-2", 3000)
    if store_url.startswith("sqlite:"):
        # SQLite keeps them in a file of their own beside the store (owner-only), shared by
        # every process of the store: another ledger on the file sees them
        nonces = world.ledger._request_nonces.path
        assert nonces.name.endswith(".request-nonces") and nonces.stat().st_mode & 0o777 == 0o600
        other = Ledger.open(store_url, clock=world.clock, key_path=tmp_path / "ledger.key",
                            create=False)
        assert not other.recorder.remember_request_nonce("a:k", "n-2", 3000)
        assert other.recorder.remember_request_nonce("a:k", "n-3", 3000)
        assert not recorder.remember_request_nonce("a:k", "n-3", 3000)
        other.close()
        return
    # a store made before the table existed gets it when a ledger next opens it
    world.raw.execute(f"DROP TABLE {world.raw.table('sunledger_request_nonces')}")
    again = Ledger.open(store_url, clock=world.clock, key_path=tmp_path / "ledger.key",
                        create=False)
    assert again.recorder.remember_request_nonce("a:k", "n-1", 1000)
    again.close()


# --- real servers: two `sunledger serve` processes on one store ----------------------------------

@pytest.fixture
def servers(world, store_url, tmp_path):
    started = []
    try:
        for name in ("a", "b"):
            started.append(ledger_server(store_url, tmp_path / "ledger.key",
                                         tmp_path / f"serve-{name}.log"))
        yield started
    finally:
        for server in started:
            server.stop()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def test_real_servers_verify_independent_signatures_and_refuse_replays_across_processes(
        world, servers):
    a, b = servers
    bidder = world.actors["bidder-1"]
    with httpx.Client() as http:
        signed = library_signed(bidder, "GET", f"{a.url}/v1/whoami?page=1&q=%E4%B8%AD",
                                at=utc_now())
        answer = send(http, signed)
        assert answer.status_code == 200, answer.text
        assert answer.json()["actor"] == "bidder-1" and answer.json()["roles"] == ["bidder"]
        # the very same bytes to the second process of the store: a replay
        problem = refused(send(http, signed, url=f"{b.url}/v1/whoami?page=1&q=%E4%B8%AD"),
                          "signature-replayed")
        assert problem["keyid"] == "bidder-1:" + bidder.key.key_id
        refused(send(http, signed), "signature-replayed")
        # a fresh signature to the second process is accepted; a changed byte refused
        signed = library_signed(bidder, "GET", f"{b.url}/v1/whoami?page=1", at=utc_now())
        refused(send(http, signed, url=f"{b.url}/v1/whoami?page=2"), "signature-invalid")
        assert send(http, signed).status_code == 200
        refused(send(http, library_signed(bidder, "GET", f"{b.url}/v1/whoami",
                                          at=utc_now() - timedelta(seconds=400), window=300)),
                "signature-expired")
        answer = send(http, library_signed(bidder, "GET", f"{a.url}/v1/whoami", at=utc_now(),
                                           ahead=120))
        refused(answer, "signature-created-in-future")
        assert answer.headers["accept-signature"].startswith("sunledger=(")
        refused(send(http, library_signed(bidder, "GET", f"{a.url}/v1/whoami", at=utc_now(),
                                          window=600)), "signature-window-too-long")


def test_real_servers_with_the_client(world, servers, tmp_path):
    """The client against real servers: submit (201, then 200 with the same receipt, 409 with
    the current version), a batch, signed reads with a key file from `sunledger keygen`,
    a key added through one process accepted by the other, which had read the actor before,
    and a key revoked through one process refused by the other."""
    a, b = servers
    key_file = tmp_path / "keys" / "zhang.key"
    made = subprocess.run([SUNLEDGER, "keygen", "--out",
                           str(key_file)], capture_output=True, text=True, check=True)
    public_key = made.stdout.split("public key:")[1].split()[0]
    key_id = made.stdout.split("key id:")[1].split()[0]

    with LedgerClient(a.url, signer=ActorSigner(LEDGER_ACTOR, world.ledger.key)) as registrar:
        stream = "actor:expert-zhang"
        registration = registrar.signer.sign(
            stream, "actor.registered/v1", {"name": "张专家", "roles": ["expert"],
                                            "organisation": "虚构评标专家库"},
            expected_version=0, signed_at=utc_now())
        first, = registrar.submit(registration)
        assert first.new and first.receipt["stream"] == stream and first.receipt["version"] == 1
        again, = registrar.submit(registration)  # the answer was lost: sent again
        assert not again.new and again.receipt == first.receipt
        assert again.leaf_index == first.leaf_index
        with pytest.raises(ProblemError) as caught:  # another action at the same version
            registrar.sign_and_submit(stream, "actor.registered/v1",
                                      {"name": "张专家", "roles": ["expert"],
                                       "organisation": "虚构评标专家库"}, expected_version=0)
        assert caught.value.status == 409
        assert caught.value.type == "urn:sunledger:error:stale-version"
        assert caught.value.problem["version"] == 1
        # process b reads the expert before the key is added (and keeps what it read)
        with LedgerClient.from_key_file(b.url, "expert-zhang", key_file) as zhang:
            with pytest.raises(ProblemError) as caught:
                zhang.get("/v1/whoami")
            assert caught.value.type == "urn:sunledger:error:signature-key-unknown"
        # a batch: both recorded, in consecutive leaves
        other = SigningKey.generate()
        batch = registrar.submit(
            registrar.signer.sign(stream, "actor.key-added/v1",
                                  {"key_id": key_id, "public_key": public_key},
                                  expected_version=1, signed_at=utc_now()),
            registrar.signer.sign(stream, "actor.key-added/v1",
                                  {"key_id": other.key_id,
                                   "public_key": encode_public_key(other.public_key)},
                                  expected_version=2, signed_at=utc_now()))
        assert [r.receipt["version"] for r in batch] == [2, 3] and all(r.new for r in batch)
        assert batch[1].leaf_index == batch[0].leaf_index + 1
        assert registrar.get("/v1/whoami")["roles"] == ["registrar"]

    # the key file from keygen signs reads, on either process
    for server in (a, b):
        with LedgerClient.from_key_file(server.url, "expert-zhang", key_file) as zhang:
            assert zhang.get("/v1/whoami", page=1, q="中") == {
                "actor": "expert-zhang", "key_id": key_id, "roles": ["expert"],
                "organisation": "虚构评标专家库", "name": "张专家"}
    # revoked through process a, refused by process b
    with LedgerClient(a.url, signer=ActorSigner(LEDGER_ACTOR, world.ledger.key)) as registrar:
        registrar.sign_and_submit("actor:expert-zhang", "actor.key-revoked/v1",
                                  {"key_id": key_id, "reason": "the expert left the pool"},
                                  expected_version=3)
    with LedgerClient.from_key_file(b.url, "expert-zhang", key_file) as zhang:
        with pytest.raises(ProblemError) as caught:
            zhang.get("/v1/whoami")
        assert caught.value.status == 401
        assert caught.value.type == "urn:sunledger:error:signature-key-revoked"
    with LedgerClient(b.url) as anonymous:
        with pytest.raises(ProblemError) as caught:
            anonymous.get("/v1/whoami")
        assert caught.value.type == "urn:sunledger:error:signature-missing"

