"""Errors as RFC 9457 problem details (application/problem+json), and the limits on what a
client may send. Every error a client can cause has a stable `type` (urn:sunledger:error:<code>,
the ledger error's code); a refusal says its rule and article and where it was recorded; a
stale version says the stream's current version. Nothing a server does ever answers with a
stack trace: an unexpected failure is a 500 problem that says so, and is logged."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# the problems the HTTP layer itself raises, besides the ledger's own (ledger/errors.py)
HTTP_CODES = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 406: "not-acceptable", 408: "request-timeout",
              409: "conflict", 413: "body-too-large", 415: "unsupported-media-type",
              422: "malformed-request", 429: "too-many-requests", 500: "server-error",
              503: "unavailable"}


def install(app: FastAPI) -> None:
    """Every error of the app as problem+json."""

    @app.exception_handler(LedgerError)
    async def _ledger_error(request: Request, error: LedgerError) -> JSONResponse:
        return ledger_problem(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in error.errors()]
        return problem(422, "malformed-request", "; ".join(problems) or "the request is malformed",
                       problems=problems)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
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
