"""Signed requests: who asks. A read that is not public is an RFC 9421 HTTP Message Signature
made with a key the actor registered on the ledger (evidence-format §11), checked here as a
FastAPI dependency (`caller: Caller = Depends(signed_caller)`), which answers who signed or
refuses with 401 problem+json, one stable problem type per reason (REFUSALS).

A signed request carries (docs/api-signing.md shows how to make them):

    Signature-Input: sunledger=("@method" "@path" "@query" "content-digest");created=1741000000
                     ;expires=1741000060;nonce="<16 to 128 characters>";alg="ed25519"
                     ;keyid="<actor id>:<key id>"
    Signature: sunledger=:<base64 of the 64-byte Ed25519 signature>:
    Content-Digest: sha-256=:<base64 of SHA-256(body)>:          (when there is a body)

The rules, beyond RFC 9421's own:

* the covered components include "@method", "@path" and "@query" ("?" when the query is
  empty), and "content-digest" when the request has a body; each is named bare (no
  parameters), so that it covers the whole value. Other components may be covered too;
* Content-Digest (RFC 9530), when present, holds sha-256 and/or sha-512 (others are ignored,
  one of these two is needed) and every one of them must match the exact body bytes;
* `created`, `expires`, `nonce`, `keyid` and `alg="ed25519"` are required; `tag` is allowed
  and ignored; `expires` is after `created` by at most 300 s, `created` at most 60 s ahead of
  the server's clock, `expires` not past;
* `keyid` is `<actor id>:<key id>`: ':' never occurs in an identifier (evidence-format §3);
  an actor id's characters outside ASCII are percent-encoded as UTF-8 (RFC 3986, uppercase
  hex; a structured-field string holds ASCII only, '%' never occurs in an identifier either),
  every ASCII character of it is written as itself: one key has exactly one keyid text;
* the key is judged as the ledger stands now, as `usable_key` judges an action's key: the
  actor registered (or `ledger`, with the ledger key), the key added, not revoked, and the
  server's clock within its validity;
* a nonce is accepted once per keyid: the store keeps it until its request expires
  (PostgreSQL: the table `sunledger_request_nonces`; SQLite: the file `<db>.request-nonces`),
  so that every server process of the store refuses a replay;
* one signature is verified: the only one, or, when a request carries several (a proxy may
  add its own), the one labelled `sunledger`; several and none so labelled is refused.

What is the library's and what is ours. http-message-signatures builds the signature base
(RFC 9421 §2.5: component values, the "@signature-params" line) and checks its syntax; the
Ed25519 check is libsodium's (`signature_ok`, strict as evidence-format §4 asks), given to
the library as its algorithm. The policy above is checked here before the library is asked,
so that each refusal has its own type; the library's own time checks (its wall clock with a
5-second skew) are replaced by ours (the ledger's clock, 60 s ahead allowed).

A refusal is a LedgerError (status 401, its own code), so any route answers it as
problem+json, with the hint of what to sign (WWW-Authenticate and RFC 9421 §5.1
Accept-Signature) in its headers."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Iterable
from uuid import UUID
from urllib.parse import quote, unquote

import http_sf
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from http_message_signatures import (
    HTTPMessageSignaturesException, HTTPMessageVerifier, HTTPSignatureAlgorithm,
    HTTPSignatureKeyResolver, InvalidSignature, VerifyResult,
)
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from ledger.errors import KeyNotValid, KeyRevoked, LedgerError, UnknownActor, UnknownKey
from ledger.evidence.envelope import (
    IDENTIFIER, KEY_ID, LEDGER_ACTOR, actor_stream, stream_uuid,
)
from ledger.evidence.keys import signature_ok
from ledger.evidence.registry import ActorRecord, usable_key
from ledger.ledger import Ledger

from .problems import problem_responses


LABEL = "sunledger"  # the label verified when a request carries several signatures
REQUIRED = ("@method", "@path", "@query")  # covered by every signed request
DIGEST = "content-digest"  # covered too when the request has a body
ALGORITHM = "ed25519"
MAX_WINDOW = 300  # seconds from created to expires, at most
MAX_AHEAD = 60  # seconds `created` may be ahead of the server's clock
NONCE_FORM = re.compile(r"[A-Za-z0-9._~+/=-]{16,128}")  # hex, base64 or base64url, say
PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})
DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}  # RFC 9530 §5
PRUNE_SECONDS = 60  # how often one process drops the nonces of expired requests

ACCEPT_SIGNATURE = (f'{LABEL}=("@method" "@path" "@query" "content-digest");created;expires;'
                    f'nonce;keyid;alg="{ALGORITHM}"')  # RFC 9421 §5.1; content-digest: with a body
WWW_AUTHENTICATE = (f'Signature realm="sunledger", alg="{ALGORITHM}", '
                    'keyid="<actor id>:<key id>", '
                    'components="@method @path @query content-digest", '
                    f'max-window="{MAX_WINDOW}", docs="docs/api-signing.md"')

# code -> what it means (the problem type is urn:sunledger:error:<code>, status 401)
REFUSALS = {
    "signature-missing": "no Signature-Input or no Signature field (or an empty one)",
    "signature-input-malformed": "Signature-Input or Signature is not as RFC 9421 and these "
                                 "rules say (parameters, keyid, nonce, alg, labels)",
    "signature-ambiguous": "several signatures and none labelled 'sunledger'",
    "signature-component-missing": "a component the rules require is not covered, or a "
                                   "covered field is not in the request",
    "signature-window-too-long": "expires is more than 300 s after created",
    "signature-created-in-future": "created is more than 60 s ahead of the server's clock",
    "signature-expired": "expires is past",
    "signature-key-unknown": "the actor or its key is not registered",
    "signature-key-revoked": "the key was revoked",
    "signature-key-not-valid": "the server's clock is outside the key's validity",
    "signature-invalid": "the signature does not verify over the signature base",
    "content-digest-malformed": "Content-Digest is not a dictionary of sha-256/sha-512 digests",
    "content-digest-mismatch": "Content-Digest does not match the body",
    "signature-replayed": "the nonce was used already with this keyid",
}


class SignatureRefused(LedgerError):
    """A signed request refused: 401 with the reason's own code (REFUSALS)."""

    status = 401

    def __init__(self, code: str, message: str, **details: object):
        assert code in REFUSALS, code
        super().__init__(message, **details)
        self.code = code

    # the hint of what to sign, sent with the problem (problems.ledger_problem)
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE, "Accept-Signature": ACCEPT_SIGNATURE}


@dataclass(frozen=True)
class Caller:
    """Who signed a request: the actor and its key, with its roles and organisation as
    registered on the ledger."""

    actor: str
    key_id: str
    roles: frozenset[str]
    organisation: str
    name: str

    def to_json(self) -> dict:
        return {"actor": self.actor, "key_id": self.key_id, "roles": sorted(self.roles),
                "organisation": self.organisation, "name": self.name}


# --- the keyid -------------------------------------------------------------------------------

def request_key_id(actor: str, key_id: str) -> str:
    """The `keyid` of an actor's key in a signed request: `<actor id>:<key id>`, the actor id
    with its non-ASCII characters percent-encoded as UTF-8."""
    return f"{quote(actor, safe='/')}:{key_id}"


def parse_request_key_id(text: str) -> tuple[str, str]:
    """(actor id, key id) of a keyid; ValueError if it is not one, or not in its one form."""
    actor_text, colon, kid = text.partition(":")
    actor = unquote(actor_text, errors="strict") if colon else ""
    if not (colon and IDENTIFIER.fullmatch(actor) and KEY_ID.fullmatch(kid)
            and request_key_id(actor, kid) == text):
        raise ValueError(f"keyid {text!r} is not '<actor id>:<key id>' (32 lowercase hex "
                         "digits; the actor id's non-ASCII characters percent-encoded as "
                         "UTF-8, uppercase hex, nothing else encoded)")
    return actor, kid


# --- RFC 9421 by the library, with libsodium's Ed25519 ---------------------------------------

class SodiumEd25519(HTTPSignatureAlgorithm):
    """RFC 9421 §3.3.6 `ed25519`, verified by libsodium (the ledger's own check)."""

    algorithm_id = ALGORITHM

    def __init__(self, public_key: bytes | None = None, private_key: Any = None):
        if not isinstance(public_key, bytes) or len(public_key) != 32:
            raise HTTPMessageSignaturesException("an Ed25519 public key is 32 raw bytes")
        self.public_key = public_key

    def sign(self, message: bytes) -> bytes:
        raise HTTPMessageSignaturesException("this algorithm only verifies")

    def verify(self, signature: bytes, message: bytes) -> None:
        if not signature_ok(self.public_key, message, signature):
            raise InvalidSignature("the Ed25519 signature does not verify over the signature base")


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, keyid: str, public_key: bytes):
        self.keyid, self.public_key = keyid, public_key

    def resolve_public_key(self, key_id: str) -> bytes | None:
        return self.public_key if key_id == self.keyid else None


class _Verifier(HTTPMessageVerifier):
    def validate_created_and_expires(self, sig_input, max_age=None) -> None:
        """The window is judged by `authenticate`, on the ledger's clock."""


class _Fields:
    """Header field lines in wire order, as the library reads a message's headers."""

    def __init__(self, lines: Iterable[tuple[str, str]]):
        self.lines = list(lines)

    def items(self) -> list[tuple[str, str]]:
        return self.lines

    def __iter__(self):
        return iter(dict.fromkeys(name for name, _ in self.lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self.lines)

    def get(self, name: str) -> str | None:
        """The field's lines combined (RFC 9110 §5.3), or None without any."""
        values = [v.strip(" \t") for n, v in self.lines if n.lower() == name]
        return ", ".join(values) if values else None


@dataclass
class RequestView:
    """A request as the signature sees it: method, absolute URL (path and query as sent), and
    header field lines (names any case, values as sent)."""

    method: str
    url: str
    headers: _Fields

    @classmethod
    def of(cls, method: str, url: str, headers: Iterable[tuple[str, str]]) -> "RequestView":
        return cls(method, url, _Fields(headers))


def request_view(request: Request) -> RequestView:
    """The view of a request as this server received it: the path and query exactly as sent
    (`raw_path`, the query string), never as decoded."""
    scope = request.scope
    path = (scope.get("raw_path") or quote(scope["path"]).encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    lines = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers.raw]
    host = next((v for n, v in lines if n.lower() == "host"), None)
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")
    return RequestView.of(request.method, url, lines)


def verify_message(view: RequestView, label: str, public_key: bytes,
                   parsed: tuple[dict, dict] | None = None) -> VerifyResult:
    """RFC 9421 alone (§3.2): the signature `label` of the request verifies with
    `public_key` (Ed25519) over the signature base the library builds; the result's
    `covered_components` are the base's lines. None of this module's rules are applied here:
    `authenticate` applies them first (and gives its `parsed` Signature-Input and Signature
    dictionaries). InvalidSignature if it does not verify."""
    sig_inputs, signatures = parsed or (
        _dictionary(view.headers.get("signature-input"), "Signature-Input"),
        _dictionary(view.headers.get("signature"), "Signature"))
    if label not in sig_inputs or label not in signatures:
        raise InvalidSignature(f"no signature labelled {label!r}")
    keyid = sig_inputs[label][1].get("keyid")
    if type(keyid) is not str:
        raise InvalidSignature("the signature has no keyid")
    signed = view.headers.items()
    message = view
    if len(sig_inputs) > 1 or len(signatures) > 1 or sum(
            n.lower() in ("signature-input", "signature") for n, _ in signed) != 2:
        # the one label alone, on one line each, as the library reads one signature
        only = [(n, v) for n, v in signed if n.lower() not in ("signature-input", "signature")]
        only += [("Signature-Input", http_sf.ser({label: sig_inputs[label]})),
                 ("Signature", http_sf.ser({label: signatures[label]}))]
        message = RequestView.of(view.method, view.url, only)
    verifier = _Verifier(signature_algorithm=SodiumEd25519,
                         key_resolver=_OneKey(keyid, public_key))
    try:
        result, = verifier.verify(message, max_age=None)
    except HTTPMessageSignaturesException as error:  # InvalidSignature is one
        raise InvalidSignature(str(error)) from None
    return result


def signature_base(result: VerifyResult) -> bytes:
    """The signature base a verified signature covered (RFC 9421 §2.5)."""
    return "\n".join(f"{k}: {v}" for k, v in result.covered_components.items()).encode("ascii")


def _dictionary(value: str | None, name: str) -> dict:
    """A Dictionary structured field (RFC 8941 §3.2), a repeated label refused."""
    if value is None:
        raise InvalidSignature(f"the request has no {name} field")

    def repeated(key: str, context: str) -> None:
        if context == "dictionary":
            raise ValueError(f"label {key!r} occurs twice")

    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary",
                               on_duplicate_key=repeated)
    except (ValueError, TypeError, UnicodeEncodeError) as error:  # StructuredFieldError too
        raise InvalidSignature(f"{name} is not a structured-field dictionary: {error}") from None
    return parsed


# --- the rules -----------------------------------------------------------------------------

_pruned: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()
_prune_lock = threading.Lock()


@dataclass(frozen=True)
class _Verified:
    """A request whose signature verified with the key as this process knew it, before its
    nonce is kept and its key judged as the ledger stands."""

    actor: str
    kid: str
    keyid: str
    nonce: str
    expires: int
    moment: datetime
    public_key: bytes


def authenticate(ledger: Ledger, view: RequestView, body: bytes) -> Caller:
    """Who signed this request, by the rules of this module; SignatureRefused otherwise.
    The nonce is kept only once the signature verifies, with the key as this process last
    read it: a forged or changed request never uses up the nonce of the real one. The key is
    then judged again with the signer as the ledger stands, read with the nonce's keeping."""
    verified = _verify(ledger, view, body, reading=True)
    assert verified is not None
    if verified.actor == LEDGER_ACTOR:  # the trust anchors, read afresh
        kept = ledger.recorder.remember_request_nonce(verified.keyid, verified.nonce,
                                                      verified.expires)
        return _caller(verified, kept, ledger.registered(LEDGER_ACTOR))
    kept, head = ledger.recorder.remember_request_nonce_and_head(
        verified.keyid, verified.nonce, verified.expires, _signer(verified))
    return _caller(verified, kept, ledger.registered(verified.actor, head=head))


async def authenticate_on_loop(request: Request, body: bytes) -> Caller:
    """`authenticate`, on the event loop: the checks and the signature with the signer this
    process keeps, then one loop read (store_reads.LoopReads) that keeps the nonce and reads
    the signer's head; a worker thread only when the store must be read more (an actor not
    kept yet or refused as kept, the ledger's own key, a signer whose registration moved)."""
    ledger, view = request.app.state.ledger, request_view(request)
    verified = _verify(ledger, view, body, reading=False)
    if verified is None:
        return await run_in_threadpool(authenticate, ledger, view, body)
    kept, head = await request.app.state.loop_reads.remember_request_nonce_and_head(
        verified.keyid, verified.nonce, verified.expires, _signer(verified))
    record = ledger.registered_kept(verified.actor, head)
    if record is None:  # moved since this process read it: refolded from the head just read
        record = await run_in_threadpool(lambda: ledger.registered(verified.actor, head=head))
    return _caller(verified, kept, record)


def _verify(ledger: Ledger, view: RequestView, body: bytes, reading: bool) -> _Verified | None:
    """Every check up to the nonce: the form, the window, the key as this process keeps the
    signer, the signature and the digest; SignatureRefused if one fails. `reading`: the
    store is read for a signer this process does not keep, and again before the key is
    refused; otherwise None says the store must be read (nothing decided)."""
    if not view.headers.get("signature-input") or not view.headers.get("signature"):
        raise SignatureRefused("signature-missing", "this request must be signed (RFC 9421): "
                               "send Signature-Input and Signature, as docs/api-signing.md shows")
    label, covered, params, keyid, actor, kid, parsed = _signature_input(view)
    _coverage(view, covered, body)
    moment = ledger.clock.now()
    now = moment.timestamp()
    created, expires = params["created"], params["expires"]
    if expires - created > MAX_WINDOW:
        raise SignatureRefused("signature-window-too-long", f"expires is {expires - created} s "
                               f"after created; at most {MAX_WINDOW} s are accepted")
    if created > now + MAX_AHEAD:
        raise SignatureRefused("signature-created-in-future", f"created is {created - now:.0f} s "
                               f"ahead of the server's clock; at most {MAX_AHEAD} s are "
                               "accepted: check the signer's clock", created=created)
    if expires < now:
        raise SignatureRefused("signature-expired", f"the signature expired {now - expires:.0f} s "
                               "ago; sign the request again", expires=expires)
    if reading:
        try:  # the key as this process last read it; read again before a refusal
            public_key = _key(ledger.registered(actor, fresh=False), actor, kid, moment)
        except SignatureRefused:
            public_key = _key(ledger.registered(actor), actor, kid, moment)
    else:
        record = ledger.registered_kept(actor)
        if record is None:
            return None
        try:
            public_key = _key(record, actor, kid, moment)
        except SignatureRefused:
            return None
    try:
        verify_message(view, label, public_key, parsed)
    except InvalidSignature as error:
        raise SignatureRefused("signature-invalid", f"the signature {label!r} does not verify "
                               f"with key {kid} of {actor!r}: {error}; sign the request as it "
                               "is sent (method, path, query as sent, the covered fields)",
                               keyid=keyid) from None
    _content_digest(view.headers.get(DIGEST), body)
    _prune(ledger, now)
    return _Verified(actor, kid, keyid, params["nonce"], expires, moment, public_key)


def _signer(verified: _Verified) -> UUID:
    return stream_uuid(actor_stream(verified.actor))


def _caller(verified: _Verified, kept: bool, record: ActorRecord | None) -> Caller:
    """Who signed, once the nonce is kept (`kept` False: a replay) and the signer read as the
    ledger stands (`record`). A request whose key another server revoked since this process
    last read the signer has used up its nonce and is refused: no other request of that key
    is accepted either."""
    actor, kid = verified.actor, verified.kid
    if _key(record, actor, kid, verified.moment) != verified.public_key:
        raise SignatureRefused("signature-key-unknown", f"key {kid} of {actor!r} is not the "
                               "key the request was checked with", actor=actor, key_id=kid)
    if not kept:
        raise SignatureRefused("signature-replayed", f"nonce {verified.nonce!r} was used "
                               f"already with keyid {verified.keyid!r}; sign every request "
                               "with a fresh nonce", keyid=verified.keyid)
    assert record is not None  # _key refused otherwise
    return Caller(actor, kid, frozenset(record.roles), record.organisation, record.name)


def _signature_input(view: RequestView) -> tuple[str, list, dict, str, str, str, tuple]:
    """(label, covered components, parameters, keyid, actor, key id, the Signature-Input and
    Signature dictionaries) of the signature to verify, each of the form the rules ask."""
    def malformed(detail: str) -> SignatureRefused:
        return SignatureRefused("signature-input-malformed", detail)

    try:
        sig_inputs = _dictionary(view.headers.get("signature-input"), "Signature-Input")
        signatures = _dictionary(view.headers.get("signature"), "Signature")
    except InvalidSignature as error:
        raise malformed(str(error)) from None
    if not sig_inputs:
        raise malformed("Signature-Input holds no signature")
    if len(sig_inputs) == 1:
        label, = sig_inputs
    elif LABEL in sig_inputs:
        label = LABEL
    else:
        raise SignatureRefused("signature-ambiguous", f"the request carries {len(sig_inputs)} "
                               f"signatures ({', '.join(sorted(sig_inputs))}) and none labelled "
                               f"{LABEL!r}: label the one to verify {LABEL!r}")
    if label not in signatures:
        raise malformed(f"Signature has no member {label!r} for Signature-Input's")
    covered, params = sig_inputs[label]
    signature = signatures[label][0]
    if not isinstance(covered, list) or not all(type(c) is str for c, _ in covered):
        raise malformed(f"Signature-Input {label!r} is not an inner list of component names")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise malformed(f"Signature {label!r} is not a byte sequence of 64 bytes (:base64:)")
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise malformed(f"unknown signature parameters: {', '.join(unknown)}")
    for name, kind in (("created", int), ("expires", int), ("keyid", str), ("nonce", str),
                       ("alg", str)):
        if name not in params:
            raise malformed(f"the signature parameter {name!r} is required")
        if type(params[name]) is not kind:
            raise malformed(f"{name} must be a structured-field "
                            f"{'integer' if kind is int else 'string (in quotes)'}")
    if params["alg"] != ALGORITHM:
        raise malformed(f'alg must be "{ALGORITHM}", not {params["alg"]!r}')
    if params["expires"] <= params["created"]:
        raise malformed("expires must be after created")
    if not NONCE_FORM.fullmatch(params["nonce"]):
        raise malformed("nonce must be 16 to 128 characters of A-Z a-z 0-9 . _ ~ + / = - "
                        "(e.g. 32 random bytes in hex)")
    try:
        actor, kid = parse_request_key_id(params["keyid"])
    except ValueError as error:
        raise malformed(str(error)) from None
    seen = [(name, tuple(sorted(p.items()))) for name, p in covered]
    if len(set(seen)) != len(seen):
        raise malformed("a component is covered twice")
    return label, covered, params, params["keyid"], actor, kid, (sig_inputs, signatures)


def _coverage(view: RequestView, covered: list, body: bytes) -> None:
    """The required components are covered bare; every covered field is in the request."""
    bare = {name for name, p in covered if not p}
    needed = list(REQUIRED) + ([DIGEST] if body else [])
    missing = [name for name in needed if name not in bare]
    if missing:
        raise SignatureRefused("signature-component-missing", "the signature must cover "
                               + ", ".join(f'"{m}"' for m in missing)
                               + (" (the request has a body)" if DIGEST in missing else "")
                               + "; each named bare, without parameters",
                               missing=missing)
    absent = sorted({name for name, _ in covered
                     if not name.startswith("@") and name not in view.headers})
    if absent:
        raise SignatureRefused("signature-component-missing", "the signature covers "
                               + ", ".join(absent) + ", which the request does not carry",
                               absent=absent)


def _key(record: ActorRecord | None, actor: str, kid: str, now: datetime) -> bytes:
    """The public half of the actor's key, if the key may sign at `now`."""
    try:
        key = usable_key(record, actor, kid, now)
    except (UnknownActor, UnknownKey) as error:
        raise SignatureRefused("signature-key-unknown", error.message, actor=actor,
                               key_id=kid) from None
    except KeyRevoked as error:
        raise SignatureRefused("signature-key-revoked", error.message, actor=actor,
                               key_id=kid) from None
    except KeyNotValid as error:
        raise SignatureRefused("signature-key-not-valid", error.message, actor=actor,
                               key_id=kid) from None
    return key.public_key


def _content_digest(value: str | None, body: bytes) -> None:
    """Content-Digest (RFC 9530), when present, matches the exact body: each sha-256 and
    sha-512 member (at least one), other algorithms ignored."""
    if value is None:
        return  # no body (else "content-digest" would be covered, and so present)
    try:
        members = _dictionary(value, "Content-Digest")
    except InvalidSignature as error:
        raise SignatureRefused("content-digest-malformed", str(error)) from None
    known = {name: member[0] for name, member in members.items() if name in DIGESTS}
    if not known:
        raise SignatureRefused("content-digest-malformed", "Content-Digest holds neither "
                               "sha-256 nor sha-512")
    for name, digest in known.items():
        expected = DIGESTS[name](body).digest()
        if not isinstance(digest, bytes) or len(digest) != len(expected):
            raise SignatureRefused("content-digest-malformed", f"the {name} member of "
                                   f"Content-Digest is not a byte sequence of {len(expected)} "
                                   "bytes (:base64:)")
        if not hmac.compare_digest(digest, expected):
            raise SignatureRefused("content-digest-mismatch", f"the {name} digest of "
                                   "Content-Digest does not match the body received; digest "
                                   "the exact bytes sent")


def _prune(ledger: Ledger, now: float) -> None:
    """Now and then (every PRUNE_SECONDS in a process), drop the nonces of requests that
    expired: those of the last MAX_WINDOW seconds are kept too, for servers whose clocks are
    behind this one's. In a thread of its own, so that no request waits for it; a prune
    that fails (the store closing, say) is done by the next one."""
    recorder = ledger.recorder
    with _prune_lock:
        last = _pruned.get(recorder)
        if last is not None and time.monotonic() - last < PRUNE_SECONDS:
            return
        _pruned[recorder] = time.monotonic()

    def prune() -> None:
        try:
            recorder.forget_request_nonces(int(now) - MAX_WINDOW)
        except Exception:  # noqa: BLE001 - housekeeping: the next prune drops them
            pass

    threading.Thread(target=prune, name="sunledger-nonce-prune", daemon=True).start()


# --- the FastAPI face --------------------------------------------------------------------------

async def request_body(request: Request) -> bytes:
    """The exact body bytes (read once; FastAPI and the route see the same bytes)."""
    return await request.body()


async def signed_caller(request: Request) -> Caller:
    """The dependency of a signed route: who signed the request, or 401 problem+json, judged
    on the event loop (authenticate_on_loop)."""
    return await authenticate_on_loop(request, await request_body(request))


async def caller_or_public(request: Request) -> Caller | None:
    """The dependency of a read that is public in part: who signed the request, or None for
    an unsigned request (the public), answered without leaving the event loop. A request
    that is signed must be signed right."""
    if "signature" not in request.headers and "signature-input" not in request.headers:
        return None
    return await signed_caller(request)


UNAUTHENTICATED = problem_responses((401, "the request is not signed as docs/api-signing.md "
                                           "says, or its signature is refused (the type names "
                                           "the reason; WWW-Authenticate and Accept-Signature "
                                           "say what to sign)"))

# OpenAPI has no RFC 9421 scheme: two apiKey fields, both required together (one security
# requirement naming both); api/http/openapi.py adds them to each route that depends on
# signed_caller (required) or caller_or_public (optional)
_HOW = ("RFC 9421 HTTP Message Signature made with the actor's registered Ed25519 key: "
        "docs/api-signing.md §3 says how. ")
SECURITY_SCHEMES = {
    "Signature-Input": {
        "type": "apiKey", "in": "header", "name": "Signature-Input",
        "description": _HOW + "What is signed: `sunledger=(\"@method\" \"@path\" \"@query\" "
                       "[\"content-digest\"]);created=…;expires=…;nonce=\"…\";alg=\"ed25519\";"
                       "keyid=\"<actor id>:<key id>\"`; `content-digest` (RFC 9530) is covered "
                       "and sent when the request has a body.",
        "x-rfc9421": {"label": LABEL, "alg": ALGORITHM, "keyid": "<actor id>:<key id>",
                      "components": [*REQUIRED, DIGEST + " (with a body)"],
                      "max-window-seconds": MAX_WINDOW, "max-ahead-seconds": MAX_AHEAD,
                      "nonce": NONCE_FORM.pattern, "docs": "docs/api-signing.md"}},
    "Signature": {
        "type": "apiKey", "in": "header", "name": "Signature",
        "description": _HOW + "The signature: `sunledger=:<base64 of the 64-byte Ed25519 "
                       "signature over the signature base>:`. Sent with Signature-Input."},
}
SIGNED = [{name: [] for name in SECURITY_SCHEMES}]  # both fields, together
SIGNED_OR_PUBLIC = [{}, *SIGNED]  # unsigned: read as the public


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "actor": "bidder-hengtai", "key_id": "f8bd904d2ddd2b5946eef1b6209b68ab",
    "roles": ["bidder"], "organisation": "湖南恒泰建设有限公司（虚构）",
    "name": "Hengtai Construction (fictional)"}]}))
class WhoAmI(TypedDict):
    """Who signed the request, as the ledger has the actor registered now."""

    actor: str
    key_id: Annotated[str, Field(description="the key that signed (32 lowercase hex digits)")]
    roles: list[str]
    organisation: str
    name: str


router = APIRouter(prefix="/v1", tags=["signed requests"])


@router.get("/whoami", summary="Who signed this request", responses=UNAUTHENTICATED,
            response_description="the actor and key that signed the request")
def whoami(caller: Caller = Depends(signed_caller)) -> WhoAmI:
    """The actor and key that signed the request (RFC 9421, docs/api-signing.md), with the
    roles and organisation the actor registered: a way to check a client's signing."""
    return caller.to_json()
