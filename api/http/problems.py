"""Errors as RFC 9457 problem details (application/problem+json), and the limits on what a
client may send. Every error a client can cause has a stable `type` (urn:sunledger:error:<code>,
the ledger error's code); a refusal says its rule and article and where it was recorded; a
stale version says the stream's current version. Nothing a server does ever answers with a
stack trace: an unexpected failure is a 500 problem that says so, and is logged."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field, TypeAdapter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typing_extensions import NotRequired, TypedDict

from ledger.errors import LedgerError

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 72 * 1024 * 1024  # a batch of 1,000 actions of 64 KiB each, with room to spare
BODY_SECONDS = 30.0  # a client that has not sent its whole body by then is cut off (408)
log = logging.getLogger("sunledger.http")


def problem_type(code: str) -> str:
    return f"urn:sunledger:error:{code}"


def problem(status: int, code: str, detail: str, **members: object) -> JSONResponse:
    body = {"type": problem_type(code), "title": code.replace("-", " "), "status": status,
            "detail": detail, **{k: v for k, v in members.items() if v is not None}}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def ledger_problem(error: LedgerError) -> JSONResponse:
    """The error's problem+json, with any headers the error carries (`headers`: a refused
    signed request says what to sign)."""
    return JSONResponse(error.to_problem(), status_code=error.status, media_type=PROBLEM_JSON,
                        headers=getattr(error, "headers", None))


class MalformedRequest(LedgerError):
    """A request whose parameters are not what the route takes (the same answer as FastAPI's
    own validation: 422 malformed-request, `problems` listing each thing wrong)."""

    code = "malformed-request"
    status = 422

    def __init__(self, problem: str):
        super().__init__(problem, problems=[problem])


# the problems the HTTP layer itself raises, besides the ledger's own (ledger/errors.py)
HTTP_CODES = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 406: "not-acceptable", 408: "request-timeout",
              409: "conflict", 413: "body-too-large", 415: "unsupported-media-type",
              422: "malformed-request", 429: "too-many-requests", 500: "server-error",
              503: "unavailable"}


# why FastAPI could not read a JSON body, by the error it met (it answers 400 for these)
UNREADABLE = {UnicodeDecodeError: "not UTF-8; send JSON in UTF-8",
              RecursionError: "nested too deep to read; real actions nest a few levels"}


def install(app: FastAPI) -> None:
    """Every error of the app as problem+json."""

    @app.exception_handler(LedgerError)
    async def _ledger_error(request: Request, error: LedgerError) -> JSONResponse:
        return ledger_problem(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    + (f" ({e['ctx']['error']})" if e.get("type") == "json_invalid" else "")
                    for e in error.errors()]
        return problem(422, "malformed-request", "; ".join(problems) or "the request is malformed",
                       problems=problems)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400 and type(error.__cause__) in UNREADABLE:
            # FastAPI could not read a JSON body (JSON it cannot parse is a
            # RequestValidationError): malformed, as that is
            wrong = f"body: {UNREADABLE[type(error.__cause__)]}"
            return problem(422, "malformed-request", wrong, problems=[wrong])
        code = HTTP_CODES.get(error.status_code, "http-error")
        response = problem(error.status_code, code, str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected failure answering %s %s", request.method, request.url.path)
        return problem(500, "server-error", "the server failed to answer this request; nothing "
                       "was recorded by it that its answer did not report; try again, and tell "
                       "the centre's operator if it persists")


class BodyLimit:
    """ASGI middleware: a body larger than MAX_BODY_BYTES is refused with 413 (by its
    Content-Length before it is read, or as soon as the bytes read pass the limit), and a
    body not received within BODY_SECONDS is refused with 408: a slow client cannot hold a
    worker."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES, seconds: float = BODY_SECONDS):
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send, 413, "body-too-large",
                               f"a request body is at most {self.limit} bytes")
            return
        received = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        too_large = timed_out = False

        async def bounded() -> Message:
            nonlocal received, too_large, timed_out
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                timed_out = True
                raise _BodyRefused() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    raise _BodyRefused()
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, watched)
        except _BodyRefused:
            if not started:
                if too_large:
                    await self._refuse(scope, receive, watched, 413, "body-too-large",
                                       f"a request body is at most {self.limit} bytes")
                elif timed_out:
                    await self._refuse(scope, receive, watched, 408, "request-timeout",
                                       f"the request body did not arrive within {self.seconds:.0f} s")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                      detail: str) -> None:
        response = problem(status, code, detail)
        response.headers["connection"] = "close"
        await response(scope, receive, send)


class _BodyRefused(Exception):
    pass


# --- the problem document in the API's reference (/openapi.json) ----------------------------

class RecordedIn(TypedDict):
    """Where the ledger recorded a refused action (its refusal stream, the version there, the
    global position): a refused late bid is evidence too. A bidder's refused sealed-stage
    action is not told the version, which counts the project's refusals (法 §22)."""

    stream: Annotated[str, Field(examples=["refusal:project:LILING-2025-SZ02"])]
    version: NotRequired[int]
    position: int


class Problem(TypedDict):
    """An error, as RFC 9457 problem details (application/problem+json). `type` is stable
    (urn:sunledger:error:<code>): match on it, not on `title` or `detail`. Members beyond the
    four standard ones say more about the error; those listed here are the ones the ledger
    uses, and others may be added."""

    type: Annotated[str, Field(pattern=r"^urn:sunledger:error:[a-z0-9]+(-[a-z0-9]+)*$",
                               description="urn:sunledger:error:<code>, the error's stable "
                                           "code (docs/api.md, Errors)")]
    title: Annotated[str, Field(description="the code in words")]
    status: Annotated[int, Field(ge=400, le=599, description="the HTTP status, repeated")]
    detail: Annotated[str, Field(description="what was wrong, where, and what to do")]
    problems: NotRequired[Annotated[list[str], Field(description="422: each thing wrong")]]
    rule: NotRequired[Annotated[str, Field(description="rule-refused: the trading rule's id")]]
    article: NotRequired[Annotated[str, Field(description="rule-refused: the article of law")]]
    recorded: NotRequired[Annotated[bool, Field(description="rule-refused: whether the ledger "
                                                            "recorded the refusal")]]
    recorded_in: NotRequired[RecordedIn]
    stream: NotRequired[Annotated[str, Field(description="the stream concerned")]]
    version: NotRequired[Annotated[int, Field(description="stale-version: the stream's current "
                                                          "version")]]
    event_type: NotRequired[Annotated[str, Field(description="the event type concerned")]]
    project: NotRequired[Annotated[str, Field(description="the project asked for")]]
    actor: NotRequired[Annotated[str, Field(description="the actor concerned")]]
    key_id: NotRequired[Annotated[str, Field(description="the key concerned")]]
    keyid: NotRequired[Annotated[str, Field(description="a signed request's RFC 9421 keyid")]]
    missing: NotRequired[Annotated[list[str], Field(description="signature-component-missing: "
                                                                "the components to cover")]]
    absent: NotRequired[Annotated[list[str], Field(description="signature-component-missing: "
                                                               "covered fields not sent")]]
    size: NotRequired[Annotated[int, Field(description="oversized-payload: the payload's "
                                                       "canonical bytes")]]
    limit: NotRequired[Annotated[int, Field(description="oversized-payload: the limit")]]
    checkpoint_size: NotRequired[Annotated[int, Field(description="a tile: the latest "
                                                                  "checkpoint's tree size")]]
    known_size: NotRequired[Annotated[int, Field(description="a witness: the size it "
                                                             "cosigned last")]]


def problem_schemas(ref_prefix: str = "#/components/schemas/") -> dict[str, Any]:
    """The JSON Schemas of Problem and what it holds, by name, referring to each other
    under `ref_prefix`."""
    schema = TypeAdapter(Problem).json_schema(ref_template=ref_prefix + "{model}")
    return {**schema.pop("$defs", {}), "Problem": schema}


def problem_example(status: int, code: str, detail: str, **members: Any) -> dict[str, Any]:
    """A problem for the reference's examples, as `problem` makes it."""
    return {"type": problem_type(code), "title": code.replace("-", " "), "status": status,
            "detail": detail, **members}


# one typical answer per status (a route may name its own: problem_responses)
_ = problem_example
EXAMPLES: dict[int, dict[str, Any]] = {
    400: _(400, "bad-request", "not a tile path: 0/x1; tile paths are <L>/<N>[.p/<W>] or "
           "entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)"),
    401: _(401, "signature-missing", "this request must be signed (RFC 9421): send "
           "Signature-Input and Signature, as docs/api-signing.md shows"),
    403: _(403, "not-permitted", "actor 'bidder-hengtai' may not sign "
           "project.documents-issued/v1 (the tenderee or its agent does)", actor="bidder-hengtai"),
    404: _(404, "not-in-log", "no project 'LILING-2025-SZ02' is visible to this caller",
           project="LILING-2025-SZ02"),
    405: _(405, "method-not-allowed", "Method Not Allowed"),
    406: _(406, "not-acceptable", "this answer is JSON only: accept application/json"),
    408: _(408, "request-timeout", f"the request body did not arrive within {BODY_SECONDS:.0f} s"),
    409: _(409, "stale-version", "project:LILING-2025-SZ02 is at version 12, the action expected "
           "11; read the stream and sign again", stream="project:LILING-2025-SZ02", version=12),
    413: _(413, "body-too-large", f"a request body is at most {MAX_BODY_BYTES} bytes"),
    422: _(422, "malformed-request", "query.limit: Input should be greater than or equal to 1",
           problems=["query.limit: Input should be greater than or equal to 1"]),
    500: _(500, "server-error", "the server failed to answer this request; nothing was recorded "
           "by it that its answer did not report; try again, and tell the centre's operator if "
           "it persists"),
    503: _(503, "store-unavailable", "the store does not answer: connection refused"),
}

# what each status means when a route says no more
MEANINGS = {400: "a malformed request", 401: "the request is not signed as "
            "docs/api-signing.md says (the type names the reason)", 403: "the caller may not",
            404: "nothing here (an unknown path, or nothing the caller may see)",
            405: "the path does not take this method (Allow names those it takes)",
            406: "no media type the request accepts",
            408: f"the request body did not arrive within {BODY_SECONDS:.0f} s",
            409: "a conflict", 413: f"a body over {MAX_BODY_BYTES // 2**20} MiB",
            422: "the request's parameters or body are malformed (problems: each thing wrong)",
            500: "an unexpected failure (the server's log has the details; no trace is sent)",
            503: "the store does not answer"}

# the fields a problem answer of that status always carries
HEADERS = {401: {
    "WWW-Authenticate": {"required": True, "schema": {"type": "string"}, "description":
                         'Signature realm="sunledger", with the algorithm, keyid form, '
                         "components and window to sign with (docs/api-signing.md §4)"},
    "Accept-Signature": {"required": True, "schema": {"type": "string"}, "description":
                         "what to sign, as RFC 9421 §5.1 says"}}}

Answer = int | tuple[int, str] | tuple[int, str, dict]


def problem_responses(*answers: Answer) -> dict[int, dict[str, Any]]:
    """The OpenAPI `responses` of a route's problem answers, each a status (described by
    MEANINGS, with the example of EXAMPLES), (status, description) or (status, description,
    example): `responses=problem_responses(401, (404, "no such project"))`."""
    responses = {}
    for answer in answers:
        status, description, example = (*((answer,) if isinstance(answer, int) else answer),
                                        None, None)[:3]
        code = HTTP_CODES.get(status, "http-error")
        description = description or MEANINGS.get(status, code.replace("-", " "))
        responses[status] = {"description": f"{description} (problem+json)",
                             "content": {PROBLEM_JSON: {
                                 "schema": {"$ref": "#/components/schemas/Problem"},
                                 "example": example or EXAMPLES.get(status) or problem_example(
                                     status, code, description)}}}
        if status in HEADERS:
            responses[status]["headers"] = HEADERS[status]
    return responses
