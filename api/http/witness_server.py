"""A witness over HTTP (C2SP tlog-witness): `POST /add-checkpoint`, for a witness process of
its own (`sunledger witness serve`), beside the ledger's servers and not inside them.

    request  = "old " m "\\n" (base64 hash "\\n")* "\\n" signed checkpoint note
    200      the cosignature line(s), text/plain; charset=utf-8
    400      not a request (malformed lines, note or checkpoint), or old size > checkpoint size
    403      no signature by the log's key verifies
    404      a log this witness does not follow
    409      old size is not the size last cosigned: text/x.tlog.size, that size and "\\n";
             or the same size with another root (a fork): problem+json
    413      a body over MAX_REQUEST_BYTES
    422      the consistency proof does not verify

The witness logic is ledger/log/cosigning.py; this module orders its checks as the
specification does and maps each to its status. One lock (a thread lock, and a lock file
beside the state for the command line's writers) covers reading the state, judging the
request and writing the new size and root durably before the answer: two requests can never
roll the state back (the race tlog-witness describes). The state is read again for every
request, so a log added with `sunledger witness add-log` while the server runs is followed at
once and never overwritten. Every other answer is RFC 9457 problem+json; none holds a trace.
"""

from __future__ import annotations

import base64
import fcntl
import logging
import threading
import time
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger.errors import (
    BadNote, InconsistentCheckpoint, LedgerError, OldSizeMismatch, StoreUnavailable,
)
from ledger.evidence.keys import SigningKey
from ledger.log.checkpoints import open_checkpoint, parse_checkpoint
from ledger.log.cosigning import AddCheckpoint, Witness, parse_add_checkpoint
from ledger.log.notes import parse_verifier_key, split_note

from . import openapi, problems

TLOG_SIZE = "text/x.tlog.size"
COSIGNATURES = "text/plain; charset=utf-8"
# old line, 63 proof lines (45 bytes each), a checkpoint and up to 100 signature lines: a real
# request is a few KiB; anything near this bound is not one
MAX_REQUEST_BYTES = 64 * 1024
REQUEST_SECONDS = 10.0  # a client that has not sent its whole request by then is cut off (408)
log = logging.getLogger("sunledger.witness")


@contextmanager
def locked_state(state_path: Path) -> Iterator[None]:
    """Hold the witness's state for one read-judge-write: an exclusive lock on STATE.lock
    beside it (the state file itself is replaced on every write, so it cannot carry the
    lock). The server and the command line's writers take it."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        handle = open(lock_path, "a")
    except OSError as error:
        raise StoreUnavailable(f"cannot lock the witness's state: {lock_path}: "
                               f"{error.strerror or error}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Refused(Exception):
    """A request the witness answers with `status` and says why."""

    def __init__(self, status: int, code: str, detail: str, known_size: int | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.known_size = status, code, detail, known_size


class HttpWitness:
    """The witness of one state file and key, judging add-checkpoint requests one at a time."""

    def __init__(self, state_path: Path, key: SigningKey, clock=time.time):
        self.state_path, self.key, self.clock = state_path, key, clock
        self._lock = threading.Lock()
        self.verifier_key = Witness(state_path, key).verifier_key  # a witness state, or BadNote

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line(s) for an add-checkpoint request body, or Refused."""
        try:
            request = parse_add_checkpoint(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise Refused(400, "bad-request", "an add-checkpoint request is UTF-8 text") from None
        except BadNote as error:
            raise Refused(400, error.code, error.message) from None
        with self._lock, locked_state(self.state_path):
            return self._judge(Witness(self.state_path, self.key), request)

    def _judge(self, witness: Witness, request: AddCheckpoint) -> str:
        # in the order of tlog-witness: origin, signature, old size, then the state
        origin = request.note.split("\n", 1)[0]
        followed = witness.logs.get(origin)
        if followed is None:
            raise Refused(404, "unknown-log", f"this witness does not follow the log {origin!r}")
        try:
            checkpoint = parse_checkpoint(split_note(request.note)[0])
        except BadNote as error:
            raise Refused(400, error.code, f"not a signed checkpoint: {error.message}") from None
        try:
            open_checkpoint(request.note, parse_verifier_key(followed["vkey"]))
        except BadNote as error:
            raise Refused(403, "bad-signature", f"{error.message} (the log key this witness "
                          f"follows: {followed['vkey']})") from None
        if request.old_size > checkpoint.size:
            raise Refused(400, "bad-request", f"old size {request.old_size} is larger than the "
                          f"checkpoint's size {checkpoint.size}")
        root = base64.b64encode(checkpoint.root).decode()
        if request.old_size == followed["size"] == checkpoint.size and root != followed["root"]:
            self._evidence(request, "the same size with another root")
            raise Refused(409, "inconsistent-checkpoint",
                          f"this witness cosigned size {checkpoint.size} of {origin} with root "
                          f"{followed['root']}, not {root}: the log forked or was rewritten; "
                          "refused", known_size=followed["size"])
        try:
            return witness.add_checkpoint(request, int(self.clock()))
        except OldSizeMismatch as error:
            raise Refused(409, error.code, error.message,
                          known_size=error.details["known_size"]) from None
        except InconsistentCheckpoint as error:
            self._evidence(request, "a consistency proof that does not verify")
            raise Refused(422, error.code, error.message) from None

    @staticmethod
    def _evidence(request: AddCheckpoint, what: str) -> None:
        """A validly signed checkpoint that contradicts what this witness cosigned is
        evidence of the log's misbehaviour: kept in the server's log, request and all."""
        log.warning("refused %s, validly signed by the log; the request was:\n%s", what,
                    request.text())


# the reference of the witness's one operation (/openapi.json, /docs: api/http/openapi.py)
_refused = problems.problem_example
ADD_CHECKPOINT_EXAMPLE = """old 8
mV3ZyqyBq0pR8bE4d0a0S1Hnq3n3Qb7b3l3cT0qG5y0=
8c5w3NBFWnhAw3LdTZc6lyfs15KPsLmNKZqCmMfF2Go=

sunledger.invalid/ebfbad0f0e5eb09f
12
TkaXv5E7Yy3YdN4p0hMZ8j0bTHgFKcLm3M1hJvK6bUE=

— sunledger.invalid/ebfbad0f0e5eb09f bHWKdQKEz9WqdZTFOfcBGNn1rE4cuDE4RmcUHtxmcsJEgCjAX8mxxh6Xny7caix2xZMuia4+JIsrT/GwE94/aSScDwk=
"""
REQUEST_BODY = {"required": True, "description": "tlog-witness: 'old <size>', the consistency "
                "proof from that size (one base64 hash a line), a blank line, the signed "
                "checkpoint", "content": {"text/plain": {"schema": {"type": "string"},
                                                         "example": ADD_CHECKPOINT_EXAMPLE}}}
ADD_CHECKPOINT_RESPONSES = {
    200: {"description": "the witness's cosignature line(s) over the checkpoint "
                         "(C2SP tlog-cosignature)",
          "content": {COSIGNATURES: {"schema": {"type": "string"}, "example": "— jgj.test/"
                                     "witness eL6QJgAAAABn9HxWxRvXbIdsWnPQKsCt7sB4r6P2SMd9rgtmWo8PtT"
                                     "v9L8ldSTAH8S8DFbRm8OMmzGmIDmXmr0KlEL6p0TVNNAUhCg==\n"}}},
    409: {"description": "the old size is not the size this witness cosigned last: that size "
                         f"({TLOG_SIZE}); or the same size with another root, a fork "
                         "(inconsistent-checkpoint, problem+json)",
          "content": {TLOG_SIZE: {"schema": {"type": "string", "pattern": "^[0-9]+\n$"},
                                  "example": "1180\n"},
                      **problems.problem_responses((409, "", _refused(
                          409, "inconsistent-checkpoint", "this witness cosigned size 12 of "
                          "sunledger.invalid/ebfbad0f0e5eb09f with root 8c5w3NBFWnhAw3LdTZc6lyfs15KPs"
                          "LmNKZqCmMfF2Go=, not TkaXv5E7Yy3YdN4p0hMZ8j0bTHgFKcLm3M1hJvK6bUE=: the log "
                          "forked or was rewritten; refused", known_size=12)))[409]["content"]}},
    **problems.problem_responses(
        (400, "not an add-checkpoint request (its lines, note or checkpoint), or an old size "
              "larger than the checkpoint's", _refused(400, "bad-note", "an add-checkpoint "
              "request starts with 'old <size>', proof lines, then a blank line and the "
              "checkpoint")),
        (403, "no signature by the log's key verifies", _refused(
            403, "bad-signature", "no signature by sunledger.invalid/ebfbad0f0e5eb09f verifies "
            "(the log key this witness follows: sunledger.invalid/ebfbad0f0e5eb09f+…)")),
        (404, "a log this witness does not follow", _refused(
            404, "unknown-log", "this witness does not follow the log 'example.org/other'")),
        (408, f"the request did not arrive within {REQUEST_SECONDS:.0f} s", _refused(
            408, "request-timeout", f"the request body did not arrive within "
            f"{REQUEST_SECONDS:.0f} s")),
        (413, f"a request over {MAX_REQUEST_BYTES} bytes", _refused(
            413, "body-too-large", f"a request body is at most {MAX_REQUEST_BYTES} bytes")),
        (422, "the consistency proof does not verify", _refused(
            422, "inconsistent-checkpoint", "the consistency proof from size 8 to 12 does not "
            "verify")),
        (500, "the witness could not read or record its state; nothing was cosigned",
         _refused(500, "server-error", "the witness could not read or record its state; "
                  "nothing was cosigned; try again later"))),
}


def create_witness_app(witness: HttpWitness) -> FastAPI:
    """The witness's own small app: POST /add-checkpoint, and its reference (/openapi.json,
    /docs)."""
    app = FastAPI(title="Sunledger witness", version=version("sunledger"),
                  description="A witness of transparency logs (C2SP tlog-witness): it cosigns "
                              "each checkpoint a followed log sends it that is consistent with "
                              "the last it cosigned.", docs_url=None, redoc_url=None)
    problems.install(app)
    openapi.install(app, tags=[{"name": "witness", "description": "C2SP tlog-witness"}])
    app.add_middleware(problems.BodyLimit, limit=MAX_REQUEST_BYTES, seconds=REQUEST_SECONDS)
    app.state.witness = witness

    @app.post("/add-checkpoint", tags=["witness"], response_class=Response,
              summary="Cosign a checkpoint (C2SP tlog-witness add-checkpoint)",
              openapi_extra={"requestBody": REQUEST_BODY}, responses=ADD_CHECKPOINT_RESPONSES)
    async def add_checkpoint(request: Request) -> Response:
        """The witness checks, in the order tlog-witness gives, that it follows the log, that
        the log's key signed the checkpoint, that the old size is the size it cosigned last,
        and that the proof shows the checkpoint extends that tree; then it records the new
        size and root and answers its cosignature. A validly signed checkpoint that
        contradicts what it cosigned is kept in its log as evidence."""
        body = await request.body()
        try:
            lines = await run_in_threadpool(witness.add_checkpoint, body)
        except Refused as refused:
            return refusal(refused)
        except (LedgerError, OSError) as error:  # the state could not be read or written
            log.error("add-checkpoint failed: %s", getattr(error, "message", error))
            return problems.problem(500, "server-error", "the witness could not read or record "
                                    "its state; nothing was cosigned; try again later")
        return PlainTextResponse(lines, media_type=COSIGNATURES)

    return app


def refusal(refused: Refused) -> Response:
    if refused.status == 409 and refused.code == OldSizeMismatch.code:
        # exactly this type, no charset: clients compare it as it stands
        return Response(f"{refused.known_size}\n", status_code=409,
                        headers={"content-type": TLOG_SIZE})
    return problems.problem(refused.status, refused.code, refused.detail,
                            known_size=refused.known_size)
