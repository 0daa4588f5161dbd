"""A small Python client of the ledger's HTTP API, for integrators.

    from api.client import LedgerClient

    with LedgerClient.from_key_file("https://ledger.example.gov.cn", "bidder-hengtai",
                                    "hengtai.key") as ledger:
        recorded = ledger.sign_and_submit("project:GC2025-0001", "project.bid-submitted/v1",
                                          {"bidder": "bidder-hengtai", "bid_hash": digest},
                                          expected_version=None)  # a bid names none (§6)
        print(recorded.receipt["position"], recorded.leaf_index)
        print(ledger.get("/v1/whoami"))           # a signed read (RFC 9421)

Writes are signed actions (docs/evidence-format.md §6): the actor's key signs each action,
and the server passes it to the ledger, which decides. Reads that are not public are signed
HTTP requests (RFC 9421 HTTP Message Signatures, docs/api-signing.md) made with the same key.
A refusal raises ProblemError with the server's RFC 9457 problem+json.

The client knows the API, not the server: it signs with `ledger.evidence` (the key, the
action) and builds the RFC 9421 signature base itself, in the few lines `signature_headers`
shows, so that its bytes can be read beside docs/api-signing.md."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from ledger.evidence.envelope import SignedAction
from ledger.evidence.keys import read_private_key
from ledger.evidence.signer import ActorSigner

LABEL = "sunledger"
WINDOW_SECONDS = 60  # how long a signed request stays valid (the server accepts up to 300)


class ProblemError(Exception):
    """The server refused: `status` and its RFC 9457 problem (`type`, `title`, `detail`, and
    members such as a stale stream's current `version`)."""

    def __init__(self, status: int, problem: dict):
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('type', '')}: {problem.get('detail', '')}")

    @property
    def type(self) -> str:
        return self.problem.get("type", "about:blank")

    @property
    def detail(self) -> str:
        return self.problem.get("detail", "")


@dataclass(frozen=True)
class Recorded:
    """One recorded action: the ledger's receipt (evidence-format §9), its leaf in the Merkle
    log, and whether this submission recorded it (201) or it was recorded before (200, the
    same action sent again: the first receipt)."""

    receipt: dict
    leaf_index: int
    new: bool


class WallClock:
    """This machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class LedgerClient:
    """The API at `base_url`, over one keep-alive connection pool. With a `signer`, the
    client can sign actions and requests as that actor. `clock` (anything with `now()`, an
    aware datetime) dates what the client signs: this machine's clock unless a simulation
    gives its own (a server judges a signed request's `created` by the ledger's clock)."""

    def __init__(self, base_url: str, *, signer: ActorSigner | None = None,
                 timeout: float = 30.0, http: httpx.Client | None = None,
                 clock: Any = None):
        self.signer = signer
        self.clock = clock or WallClock()
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)

    @classmethod
    def from_key_file(cls, base_url: str, actor: str, key_file: str | os.PathLike,
                      **options: Any) -> "LedgerClient":
        """A client signing as `actor` with the key file `sunledger keygen --out` wrote
        (PEM, owner-only: a file others may read is refused, as the command line does)."""
        return cls(base_url, signer=ActorSigner(actor, read_private_key(Path(key_file))),
                   **options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "LedgerClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes: signed actions ----------------------------------------------------------

    def submit(self, *signed: SignedAction) -> list[Recorded]:
        """Submit signed actions: one to POST /v1/actions, several to /v1/actions/batch (all
        recorded or none). The same actions sent again answer with their first receipts."""
        if not signed:
            raise ValueError("submit at least one signed action")
        if len(signed) == 1:
            response = self._http.post("/v1/actions", json=signed[0].to_json())
            recorded = [self._json(response)]
        else:
            response = self._http.post("/v1/actions/batch", json=[s.to_json() for s in signed])
            recorded = self._json(response)["receipts"]
        return [Recorded(r["receipt"], r["leaf_index"], response.status_code == 201)
                for r in recorded]

    def sign_and_submit(self, stream: str, type: str, payload: dict,  # noqa: A002
                        expected_version: int | None, *,
                        signed_at: datetime | None = None) -> Recorded:
        """Sign one action as this client's actor (now, by the client's clock, unless
        `signed_at`) and submit it."""
        recorded, = self.submit(self._signer().sign(
            stream, type, payload, expected_version=expected_version,
            signed_at=signed_at or self.clock.now()))
        return recorded

    # --- reads -------------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` with query `params`: signed (RFC 9421) when the client has a signer.
        The answer's JSON, or its bytes when it is not JSON."""
        request = self._http.build_request("GET", path, params=params or None)
        if self.signer is not None:
            raw_path, _, query = request.url.raw_path.decode("ascii").partition("?")
            request.headers.update(signature_headers(self.signer, "GET", raw_path, query,
                                                     now=self.clock.now().timestamp()))
        response = self._http.send(request)
        if response.headers.get("content-type", "").split(";")[0].strip().endswith("json"):
            return self._json(response)
        if response.is_error:
            raise ProblemError(response.status_code, {"detail": response.text})
        return response.content

    # --- helpers -----------------------------------------------------------------------------

    def _signer(self) -> ActorSigner:
        if self.signer is None:
            raise ValueError("this client has no signer: give signer= or use from_key_file")
        return self.signer

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        if response.is_error:
            raise ProblemError(response.status_code, body if isinstance(body, dict) else
                               {"detail": str(body)})
        return body


def request_key_id(actor: str, key_id: str) -> str:
    """The RFC 9421 `keyid` of an actor's key: `<actor id>:<key id>`, the actor id's
    non-ASCII characters percent-encoded as UTF-8 (a structured-field string is ASCII)."""
    return f"{quote(actor, safe='/')}:{key_id}"


def signature_headers(signer: ActorSigner, method: str, path: str, query: str = "",
                      body: bytes | None = None, *, now: float | None = None,
                      window: int = WINDOW_SECONDS) -> dict[str, str]:
    """The headers that sign a request (RFC 9421) as docs/api-signing.md describes:
    Signature-Input, Signature and, with a body, Content-Digest (RFC 9530, sha-256).
    `path` and `query` exactly as they are sent (percent-encoding included, no '?')."""
    created = int(time.time() if now is None else now)
    components = ['"@method"', '"@path"', '"@query"']
    values = [method.upper(), path, f"?{query}"]
    headers = {}
    if body:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        headers["Content-Digest"] = f"sha-256=:{digest}:"
        components.append('"content-digest"')
        values.append(headers["Content-Digest"])
    params = (f'({" ".join(components)});created={created};expires={created + window};'
              f'nonce="{os.urandom(32).hex()}";alg="ed25519";'
              f'keyid="{request_key_id(signer.actor, signer.key.key_id)}"')
    base = "\n".join([f"{c}: {v}" for c, v in zip(components, values)]
                     + [f'"@signature-params": {params}'])
    signature = base64.b64encode(signer.key.sign(base.encode("ascii"))).decode("ascii")
    headers["Signature-Input"] = f"{LABEL}={params}"
    headers["Signature"] = f"{LABEL}=:{signature}:"
    return headers


__all__ = ["LedgerClient", "ProblemError", "Recorded", "signature_headers",
           "request_key_id"]
