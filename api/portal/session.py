"""Sign-in to the portal with the actor's own key. The page reads the actor's key file (as
`sunledger keygen` wrote it) in the browser, imports it into WebCrypto as a non-extractable
Ed25519 key (kept in IndexedDB for the session), and signs a challenge from the server; the
private key never leaves the browser. The server checks the signature with the key the actor
registered (as a signed request's key is judged: registered, not revoked, valid now) and
answers with a short-lived session cookie.

Tokens are stateless, so that every server process of the store accepts them: a challenge
and a session are each `<base64url JSON>.<base64url HMAC-SHA256>`, the HMAC key derived from
the ledger key (every process of the store has it; nothing else uses this derivation). A
challenge is good for CHALLENGE_SECONDS and once only (its nonce is kept in the request-nonce
store every process shares); a session for SESSION_SECONDS, and is refused as soon as its
key is revoked. The cookie is HttpOnly, SameSite=Strict, Secure behind TLS; a change made
through the portal also carries the CSRF token (double submit: the `sunledger-csrf` cookie's
value in the X-CSRF-Token header)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ledger.errors import LedgerError
from ledger.evidence.keys import signature_ok
from ledger.evidence.registry import usable_key
from ledger.ledger import Ledger

SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER = "sunledger-session", "sunledger-csrf", "x-csrf-token"
CHALLENGE_SECONDS = 120
SESSION_SECONDS = 30 * 60
SIGN_IN_CONTEXT = b"sunledger portal sign-in v1\n"  # what the key signs: this, origin, challenge

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Session:
    actor: str
    key_id: str
    roles: frozenset[str]
    name: str
    expires: int


def _secret(ledger: Ledger) -> bytes:
    return hashlib.sha256(b"sunledger portal tokens v1\x00" + ledger.key.seed()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(ledger: Ledger, claims: dict) -> str:
    body = _b64(orjson.dumps(claims))
    return f"{body}.{_b64(hmac.new(_secret(ledger), body.encode(), hashlib.sha256).digest())}"


def read_token(ledger: Ledger, token: str | None, kind: str) -> dict | None:
    """The claims of a token of `kind` this store's servers made, unexpired; None otherwise."""
    if not token or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    expected = _b64(hmac.new(_secret(ledger), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        claims = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(claims, dict) or claims.get("kind") != kind \
            or not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
        return None
    return claims


def sign_in_message(origin: str, challenge: str) -> bytes:
    """The bytes the actor's key signs to sign in: a fixed context, the log's origin (so a
    signature made for one centre's portal is no use at another's) and the challenge."""
    return SIGN_IN_CONTEXT + origin.encode() + b"\n" + challenge.encode()


def current_session(request: Request) -> Session | None:
    """The session of the request's cookie, if its token holds and its key may still sign
    now; None for the public."""
    ledger = request.app.state.ledger
    claims = read_token(ledger, request.cookies.get(SESSION_COOKIE), "session")
    if claims is None:
        return None
    record = ledger.registered(claims["actor"])
    try:
        usable_key(record, claims["actor"], claims["key_id"], ledger.clock.now())
    except LedgerError:
        return None  # revoked, expired or gone since: signed out
    assert record is not None
    return Session(claims["actor"], claims["key_id"], frozenset(record.roles), record.name,
                   claims["exp"])


def csrf_holds(request: Request) -> bool:
    """A change made through the portal carries the CSRF cookie's value in its header."""
    cookie, header = request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)
    return bool(cookie) and bool(header) and hmac.compare_digest(cookie, header)


@router.post("/portal/session/challenge")
def challenge(request: Request) -> JSONResponse:
    """A fresh challenge to sign, and the log's origin the signed message names."""
    ledger = request.app.state.ledger
    nonce = secrets.token_hex(16)
    expires = int(time.time()) + CHALLENGE_SECONDS
    token = make_token(ledger, {"kind": "challenge", "nonce": nonce, "exp": expires})
    return JSONResponse({"challenge": token, "origin": ledger.origin, "expires": expires},
                        headers={"Cache-Control": "no-store"})


@router.post("/portal/session")
async def sign_in(request: Request) -> JSONResponse:
    """{actor, key_id, challenge, signature (base64 of the Ed25519 signature of
    sign_in_message)} -> the session cookie; 401 with the reason otherwise."""
    try:
        body = orjson.loads(await request.body())
        actor, kid, token, signature = (body["actor"], body["key_id"], body["challenge"],
                                        base64.b64decode(body["signature"], validate=True))
        if not all(isinstance(x, str) for x in (actor, kid, token)):
            raise TypeError("actor, key_id and challenge are strings")
    except (ValueError, TypeError, LookupError, orjson.JSONDecodeError) as error:
        return _refused(400, "bad-request", f"not a sign-in: {error}")
    return await run_in_threadpool(_sign_in, request, actor, kid, token, signature)


def _sign_in(request: Request, actor: str, kid: str, token: str, signature: bytes) -> JSONResponse:
    ledger = request.app.state.ledger
    claims = read_token(ledger, token, "challenge")
    if claims is None:
        return _refused(401, "challenge-refused", "the challenge is not this portal's or has "
                        "expired: ask for a new one")
    record = ledger.registered(actor)
    try:
        key = usable_key(record, actor, kid, ledger.clock.now())
    except LedgerError as error:
        return _refused(401, "key-refused", error.message)
    if not signature_ok(key.public_key, sign_in_message(ledger.origin, token), signature):
        return _refused(401, "signature-invalid", "the signature does not verify with the key "
                        "registered: choose the key file of this actor")
    if not ledger.recorder.remember_request_nonce(f"portal:{actor}", claims["nonce"],
                                                  claims["exp"]):
        return _refused(401, "challenge-used", "this challenge was used already: sign in again")
    assert record is not None
    expires = int(time.time()) + SESSION_SECONDS
    session = make_token(ledger, {"kind": "session", "actor": actor, "key_id": kid,
                                  "exp": expires})
    secure = request.url.scheme == "https"
    response = JSONResponse({"actor": actor, "name": record.name, "roles": sorted(record.roles),
                             "expires": expires})
    response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), max_age=SESSION_SECONDS,
                        httponly=False, samesite="strict", secure=secure, path="/")
    return response


@router.post("/portal/session/end")
def sign_out(request: Request) -> JSONResponse:
    if not csrf_holds(request):
        return _refused(403, "csrf", "a change made through the portal carries its CSRF token")
    response = JSONResponse({"signed_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def _refused(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status,
                        headers={"Cache-Control": "no-store"})
