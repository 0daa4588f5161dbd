"""Proofs from the Merkle log, as `sunledger prove` gives them (ledger/log/proofs.py): an
event's inclusion, the consistency of two tree sizes, and a stream's completeness, each
against a signed checkpoint (never a tree size no checkpoint has reached). JSON by default;
an inclusion proof also as C2SP tlog-proof text, with the signed, cosigned checkpoint
(`Accept: text/x.tlog.proof` or `?format=tlog-proof`).

Proofs are public, as checkpoints and tiles are, except where a proof would tell what the
visibility table keeps (docs/visibility.md): a proof by stream and version, or the
completeness of a project, says how many events the project holds and carries their hashes,
or (completeness) the events themselves. So for a project's stream (or its refusals'):
a project the caller may not see is answered as missing (404); before its opening its
versions are sealed (403, 法 §22); an event the caller may not see is missing too; and a
completeness proof, which carries every event whole, is given only to a caller who may see
every one of them whole."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from ledger.errors import BadTreeSize, LedgerError, NotInLog
from ledger.evidence.envelope import stream_uuid
from ledger.log.checkpoints import latest_checkpoint
from ledger.log.proofs import completeness_proof, consistency_proof, inclusion_proof, tlog_proof
from ledger.procedures.refusals import refusal_stream
from projections import visibility as v
from projections.project_state import project_events

from .problems import MalformedRequest, problem_responses, problem_type
from .projects import NotVisible, visible_project, project_stream_of, viewer
from .signed_requests import Caller, UNAUTHENTICATED, caller_or_public

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])

JSON, TLOG_PROOF = "application/json", "text/x.tlog.proof"
FORMATS = {"json": JSON, "tlog-proof": TLOG_PROOF}
FORMAT = Query(None, description="the answer's form instead of the Accept header's")
SIZE = Query(None, ge=1, description="a tree size no newer than the latest checkpoint "
                                     "(default: the latest checkpoint's)")
SEALED = (403, "a project's versions before its opening (法 §22), or a completeness proof "
               "of events the caller may not see whole")
MISSING = (404, "no such stream, event or checkpoint (visible to the caller)")
JSON_ONLY = (406, "the Accept header or format asks for a form this proof does not have", {
    "type": problem_type("not-acceptable"), "title": "not acceptable", "status": 406,
    "detail": "this proof has no tlog-proof form (a tlog-proof proves one entry's inclusion, "
              "c2sp.org/tlog-proof): ask for json"})
NOT_ACCEPTABLE = (406, "the Accept header takes neither JSON nor a tlog-proof", {
    "type": problem_type("not-acceptable"), "title": "not acceptable", "status": 406,
    "detail": "this proof is served as application/json or text/x.tlog.proof, which the "
              "Accept header does not take", "accept": "text/html"})


class NotAcceptable(LedgerError):
    code = "not-acceptable"
    status = 406


# --- the answers (examples: the demo's log, `sunledger demo`, at its checkpoint of 217 leaves,
# cosigned by the supervision body's witness) -------------------------------------------------

CHECKPOINT_EXAMPLE = (
    "sunledger.example/liling-demo\n217\nFL3LqZ2PxQZfHO7FfP7fRr0aGIbsrN0cgO7UZalT9ik=\n\n"
    "— sunledger.example/liling-demo 9CByy3EhWIndEB5vTsuqFZ5zas5OsaEY1vXyEuxnSIQAiZ4p6ejJY2AHFt/"
    "81go7t5QN6J+JEPp86+vDwcF0obq90Q4=\n"
    "— jgj.example/witness nptaCwAAAABn+Heg0IufCet+0MqC7fIze9HBwesy+do1yBJyZpLmWTNwgO4V4rQepcrt"
    "FYMB3QS3qB1YpXloXMznwIWnslhEJyfQAQ==\n")
# the inclusion of project:LILING-2025-SZ02 version 95 (project.awarded/v1), public
AUDIT_PATH_EXAMPLE = ["iPiw6t8tzJTePt+kGyFi3F1pCBvrXWb4WGBPC7DUHYE=",
                      "bd/+vBFO2zzXtQlL9f6sVnYJrI7iqAHe9Iubfw2pjb0=",
                      "dtHUah3cGlGQmtuplVY/V69Z47EfJYm9QdS4qkV4OEc=",
                      "QNF9fwyQJEThy3yuwXni4n01Oxv4ZsZrSSnEHdHD5KQ=",
                      "Yt1ybBDmmMX5xK5vXe4QcMNr8swqB0HHKyC9fYchyug=",
                      "il0++1MlVypWiQMA6RjL2h+6GEB1pffiITQzvUR3v+Q=",
                      "gyrQByOhRGmHMDwEjGtjl0L4z5vIx1CEOQlAS2mT5Gc="]
TLOG_PROOF_EXAMPLE = ("c2sp.org/tlog-proof@v1\nindex 196\n" + "".join(
    f"{h}\n" for h in AUDIT_PATH_EXAMPLE) + "\n" + CHECKPOINT_EXAMPLE)


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "leaf_index": 196, "tree_size": 217,
    "event_hash": "1c5fd1439c0bf9e6ee828b3d41eca202e73c491d984f7ae36d4f53ab83166763",
    "leaf_hash": "HKmuK4SJWXJ8VwqnPFuJmVtN/mWxWc11c92X7/JrplI=", "hashes": AUDIT_PATH_EXAMPLE}]}))
class InclusionProof(TypedDict):
    """An RFC 9162 inclusion proof (hashes base64): check it against the checkpoint of
    `tree_size` leaves (GET /log/checkpoint, or the tlog-proof form, which carries it)."""

    leaf_index: Annotated[int, Field(description="the event's leaf")]
    tree_size: Annotated[int, Field(description="the checkpoint's size it is proved at")]
    event_hash: Annotated[str, Field(description="the event's hash (hex)")]
    leaf_hash: Annotated[str, Field(description="SHA-256(0x00 ‖ event hash)")]
    hashes: Annotated[list[str], Field(description="the audit path, leaf to root")]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "old_size": 210, "new_size": 217, "hashes": [
        "hxu17FaF1D2rSb4JQEfRNm1umurqpj0R3m5cUHMYi1Y=",
        "dczOfDiL8U/Jw20mtJDgarlqFGnnGfuBRMqhiPpA/Ic=",
        "rW1j5xBdPY9Onxj6d4IgiBxXeoUW7MWLvIszft/pYBI=",
        "U/J+/h7p2KlN5K9K4LLqvqgafub7BOdmaLa4RuGROtI=",
        "4cTBXUhqOQvyRxwhuo9RdFcS1X1J2YjqgNEuul+E6Jc=",
        "il0++1MlVypWiQMA6RjL2h+6GEB1pffiITQzvUR3v+Q=",
        "gyrQByOhRGmHMDwEjGtjl0L4z5vIx1CEOQlAS2mT5Gc="]}]}))
class ConsistencyProof(TypedDict):
    """An RFC 9162 consistency proof (hashes base64) between two checkpoints' trees."""

    old_size: int
    new_size: int
    hashes: Annotated[list[str], Field(description="the consistency path")]


class HeadInclusion(TypedDict):
    leaf_index: Annotated[int, Field(description="the leaf of the stream's last event")]
    hashes: Annotated[list[str], Field(description="its audit path (base64)")]


@with_config(ConfigDict(json_schema_extra={"examples": [{
    "format": "sunledger/completeness/v1", "stream": "actor:bidder-02", "tree_size": 217,
    "checkpoint": CHECKPOINT_EXAMPLE,
    "heads": '{"signature":"i2RdLCUXvvBfJKJVs336+aWjHZpkZfIpxm2ux8Y2nrF+u/iatR8xMq2HdIGtqlG6c5Tz0L'
             'x4AzHD66uawXVXDQ==","statement":{"format":"sunledger/heads/v1","heads_root":"V0Fhr'
             'hFOMuXcuNGMGn7jgtt54VooNpmoqeWBQH8Motc=","origin":"sunledger.example/liling-demo",'
             '"streams":52,"tree_root":"FL3LqZ2PxQZfHO7FfP7fRr0aGIbsrN0cgO7UZalT9ik=","tree_size'
             '":217}}',
    "events": [
        '{"actor":"ledger","hash":"84042f56d0e30cc62eb151d49907759923594c0bb47ba03f2981c0b0788af5'
        '6c","key_id":"713047f077423c6104b2052f0bafa35c","ledger_time":"2025-03-01T01:00:00.0000'
        '00Z","nonce":"6a19ac8a3bf27e75c181f1f294e32c5f","payload":{"name":"虚构第2建筑工程有限公司'
        '","organisation":"虚构第2建筑工程有限公司","roles":["bidder"]},"prev":"0000000000000000000'
        '000000000000000000000000000000000000000000000","signature":"ZPkYvbltXRi4UNdlNLq2D1yf6rnp'
        'kJa1F8X1vk1UswbTgU+gaDQmYlyWYzzLtuiWx7yOizX9/iB4MuK7smMEAg==","signed_at":"2025-03-01T0'
        '1:00:00.000000Z","stream":"actor:bidder-02","type":"actor.registered/v1","version":1}',
        '{"actor":"ledger","hash":"b745998acfe127071298bec1e1f972a9388ba553e602ca7b68417a612e9646'
        '10","key_id":"713047f077423c6104b2052f0bafa35c","ledger_time":"2025-03-01T01:00:00.0000'
        '00Z","nonce":"e23456ffec544ac612a90be8b72d8b6c","payload":{"certificate":"MIIBGzCBzqADA'
        'gECAghzbjUIxYn1NjAFBgMrZXAwOzE5MDcGA1UEAwww5rmW5Y2X6Jma5p6E5pWw5a2X6K+B5Lmm6K6k6K+B5Lit5'
        'b+D77yI5ryU56S677yJMB4XDTI1MDExMjAzMDAwMFoXDTI3MDExMjAzMDAwMFowLTErMCkGA1UEAwwi6Jma5p6E5'
        '6ysMuW7uuetkeW3peeoi+aciemZkOWFrOWPuDAqMAUGAytlcAMhABbJ335ThmQ3L1HDGlcG56WJDZAB7Ab+pFA4L'
        'dRYF0huMAUGAytlcANBAG/NqBfwlwW6ZRqo4BhiIur5nErEhfAJFObq9699K9qjLhqFTTkpE6wkYRrgBQdROV0/w'
        '6jb2THbeiQfMQZ7RwI=","fingerprint":"881794fa7963fd2b44d37ff8e0a2132827e35d096109498893fc'
        '7a10473856b6","issuer":"CN=湖南虚构数字证书认证中心（演示）","key_id":"57525f8ac7f89ca8a9fc66'
        'e682d416ae","serial":"736e3508c589f536"},"prev":"84042f56d0e30cc62eb151d49907759923594c0'
        'bb47ba03f2981c0b0788af56c","signature":"b1JR00jyzZRb8Nj8tsnCFRmv+pwulzKI0bohQFbmU/hyZTj'
        'aWYVyCEPRv3E3IALJA1C4XJXrZyDwM2WFV1V9Cg==","signed_at":"2025-03-01T01:00:00.000000Z","s'
        'tream":"actor:bidder-02","type":"actor.certificate-added/v1","version":2}'],
    "head_siblings": ["GhVUEpiRbYWKn7WQcbtDE1OC9lOHHzpVes7NvqJijD8=",
                      "k6p8FCLfRy+EUGRri8lE5OejPXwzIMe3XOxrNfkJpqQ=",
                      "p4oXyw/ICb0XYXplj5FOY7hPmGPq0UdBaAwc111EaCo=",
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                      "f1AF/8Llk/2FXtfXkAC3cGVc3bE/bJt89u04j3IMm9A=",
                      "XbtjRJCVOTXxe0V0VqM0MfTUhd0KXfT8uUPflLbLVLY=",
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                      "ZSKbMpdOnN6tfPMLdpF6MoxBOysOKWme4a0QS9WYtHI="],
    "head_inclusion": {"leaf_index": 18, "hashes": [
        "FWN5pxJmCsCUdNi4qbGYS6H7UbhtMpDMFEIDd75gH6A=",
        "8b6rW/uEjOTmmWpNRxO3Nhnsa6bLObrd2VfbLn2LMk8=",
        "/vYTgD5V125QrTmN/KJ3LFC7+Y6bWuiUdvcSHpMOch0=",
        "YXpD0opWd6BK01Ad/QRPnK+z546NfXVM0Yl0j661i2M=",
        "LBsebWt29+7utCQ/M6Tf26Q+XrnSOt3ppc1xk/M+4ic=",
        "oqCkHRJ+oiQjmqvccjc6EB+D63qRbgNAn5BG+KKvVk4=",
        "72GG3vSRUN+JlPgSpoMHn9tSuC+uo1/2tCPQ6v4WH4Q=",
        "4VNp2ZiGYm7NtORual+qtJfmIFcQ7XU0Mqes/iorobo="]}}]}))
class CompletenessProof(TypedDict):
    """Every event of a stream in the tree of a checkpoint (evidence-format §17.4): check it
    with `sunledger check-proof`."""

    format: Literal["sunledger/completeness/v1"]
    stream: str
    tree_size: Annotated[int, Field(description="the checkpoint's size")]
    checkpoint: Annotated[str, Field(description="the signed checkpoint of that size, with "
                                                 "its cosignatures (C2SP signed note)")]
    heads: Annotated[str, Field(description="the signed heads map statement at that size "
                                            "(JSON text, as signed)")]
    events: Annotated[list[str], Field(description="each event of the stream, in order, as "
                                                   "the JSON text whose hash it carries")]
    head_siblings: Annotated[list[str], Field(description="the stream's head's path in the "
                                                          "heads map (base64)")]
    head_inclusion: Annotated[HeadInclusion, Field(description="the inclusion of the stream's "
                                                               "last event in the tree")]


# --- the answer's form ------------------------------------------------------------------------

def _media_type(request: Request, format: str | None, offered: tuple[str, ...]) -> str:
    """The form of the answer: `format` if given, else the first of the Accept header's media
    ranges (in the order listed) that one of `offered` matches; JSON without a header."""
    if format is not None:
        if FORMATS[format] not in offered:
            raise NotAcceptable(f"this proof has no {format} form (a tlog-proof proves one "
                                "entry's inclusion, c2sp.org/tlog-proof): ask for json")
        return FORMATS[format]
    ranges = [item.split(";", 1)[0].strip().lower()
              for item in request.headers.get("accept", "").split(",")]
    for media in ranges:
        for form in offered:
            if media in ("", "*/*", form, form.split("/")[0] + "/*"):
                return form
    raise NotAcceptable(f"this proof is served as {' or '.join(offered)}, which the Accept "
                        "header does not take", accept=request.headers.get("accept"))


def _size(recorder, size: int | None) -> int:
    """The tree size a proof is made at: `size`, at most the latest checkpoint's, or that."""
    last = latest_checkpoint(recorder)
    if last is None:
        raise NotInLog("the log has no checkpoint yet: a proof is made against one")
    if size is not None and size > last[0]:
        raise BadTreeSize(f"tree size {size} is beyond the latest checkpoint's ({last[0]}): a "
                          "proof is made against a signed checkpoint", checkpoint_size=last[0])
    return last[0] if size is None else size


# --- which streams' positions the caller may learn -------------------------------------------

def _project_of(stream: str) -> str | None:
    """The project a stream belongs to (itself, or the project of a refusal stream); None for
    the public streams (the registry, the ledger's own, the centre's register)."""
    kind, _, name = stream.partition(":")
    if kind in v.PUBLIC_STREAM_KINDS:
        return None
    if kind in ("project", "refusal") and name:
        return f"project:{name}"
    raise NotInLog(f"no stream {stream!r} is in this log", stream=stream)


def _opened_project(request: Request, project: str,
                    who: v.Caller) -> tuple[list[dict], v.ProjectFacts]:
    """The project's events and facts, if the caller may learn its versions: 404 if it may
    not see the project, 403 before the opening."""
    stream, events, facts = visible_project(request, project, who)
    if v.sealed_positions(facts):
        raise NotVisible(f"{stream}'s versions count its bidders' events until the opening "
                         "(法 §22): its proofs by version are given from the opening",
                         project=stream.split(":", 1)[1])
    return events, facts


def _check_event_seen(request: Request, stream: str, version: int, who: v.Caller) -> None:
    """An event of a public stream, or of a project's stream (or its refusals') the caller
    may see at all."""
    project = _project_of(stream)
    if project is None:
        head = request.app.state.ledger.recorder.stream_head(stream_uuid(stream))
        if head is None or version > head[0]:
            raise NotInLog(f"{stream} has no version {version}", stream=stream, version=version)
        return
    events, facts = _opened_project(request, project, who)
    if stream != project:
        events = project_events(request.app.state.ledger.recorder, stream)
    event = events[version - 1] if 0 < version <= len(events) else None
    seen = event is not None and (v.project_view(event, who, facts) if stream == project
                                  else v.refusal_view(event, who, facts)) is not None
    if not seen:
        raise NotInLog(f"{stream} has no version {version} visible to this caller",
                       stream=stream, version=version)


def _check_stream_whole(request: Request, stream: str, who: v.Caller) -> None:
    """A stream whose every event the caller may see whole (a completeness proof carries
    them all)."""
    project = _project_of(stream)
    if project is None:
        return
    events, facts = _opened_project(request, project, who)
    if stream == project:
        why = v.why_not_whole(events, [], who, facts)
    else:
        records = project_events(request.app.state.ledger.recorder, refusal_stream(project))
        why = v.why_not_whole([], records, who, facts)
    if why is not None:
        raise NotVisible(f"a completeness proof carries every event of {stream} whole, and {why}",
                         stream=stream)


# --- the routes ---------------------------------------------------------------------------------

@router.get("/inclusion", summary="An event's inclusion in the log (RFC 9162 audit path)",
            response_model=InclusionProof, responses={
                200: {"content": {TLOG_PROOF: {"schema": {"type": "string"},
                                               "example": TLOG_PROOF_EXAMPLE}},
                      "description": "the proof: JSON, or a C2SP tlog-proof with the signed, "
                                     "cosigned checkpoint"},
                **UNAUTHENTICATED, **problem_responses(400, SEALED, MISSING, NOT_ACCEPTABLE, 422)})
def inclusion(request: Request,
              stream: str | None = Query(None, description="the event's stream, e.g. "
                                         "project:LILING-2025-SZ02 (with version)"),
              version: int | None = Query(None, ge=1, description="the event's version"),
              index: int | None = Query(None, ge=0, description="the leaf index instead"),
              size: int | None = SIZE,
              format: Literal["json", "tlog-proof"] | None = FORMAT,
              caller: Caller | None = Depends(caller_or_public)) -> InclusionProof | Response:
    """That one event is in the log at a tree size: by its stream and version (a project's
    through the visibility table), or by its leaf index (public, as the tiles are)."""
    by_event = stream is not None or version is not None
    if by_event == (index is not None) or (by_event and (stream is None or version is None)):
        raise MalformedRequest("query: give stream and version, or index, not both")
    recorder = request.app.state.ledger.recorder
    form = _media_type(request, format, (JSON, TLOG_PROOF))
    if by_event:
        _check_event_seen(request, stream, version, viewer(caller))
    at = _size(recorder, size)
    if index is not None and index >= at:
        raise BadTreeSize(f"leaf {index} is not in the tree of {at} leaves", index=index)
    proof = inclusion_proof(recorder, index=index, stream=stream, version=version, size=at)
    if form == TLOG_PROOF:
        return Response(tlog_proof(recorder, proof), media_type=TLOG_PROOF)
    return proof


@router.get("/consistency", summary="That a newer tree extends an older one (RFC 9162)",
            response_description="the consistency proof",
            responses={**problem_responses(400, MISSING, JSON_ONLY, 422)})
def consistency(request: Request,
                old: int = Query(..., ge=0, description="the older tree size"),
                new: int | None = Query(None, ge=1, description="the newer size (default: the "
                                        "latest checkpoint's)"),
                format: Literal["json", "tlog-proof"] | None = FORMAT) -> ConsistencyProof:
    """The audit path that shows the tree of `new` leaves extends the tree of `old` leaves.
    Public. JSON only: a tlog-proof proves an entry's inclusion."""
    recorder = request.app.state.ledger.recorder
    _media_type(request, format, (JSON,))
    return consistency_proof(recorder, old, _size(recorder, new))


@router.get("/completeness", summary="Every event of a stream up to a checkpoint",
            response_description="the completeness proof",
            responses={**UNAUTHENTICATED, **problem_responses(
                400, SEALED, MISSING, JSON_ONLY, 422)})
def completeness(request: Request,
                 project: str | None = Query(None, description="a project's id"),
                 stream: str | None = Query(None, description="any stream by name instead, "
                                            "e.g. actor:bidder-hengtai"),
                 size: int | None = SIZE,
                 format: Literal["json", "tlog-proof"] | None = FORMAT,
                 caller: Caller | None = Depends(caller_or_public)) -> CompletenessProof:
    """That these events are every event of the stream in the tree of a checkpoint's size
    (evidence-format §17.4; `sunledger check-proof` checks it): the events themselves, the
    stream's head in the signed heads map, and its inclusion. A project's only to a caller
    who may see all its events whole."""
    if (project is None) == (stream is None):
        raise MalformedRequest("query: give exactly one of project and stream")
    recorder = request.app.state.ledger.recorder
    _media_type(request, format, (JSON,))
    name = project_stream_of(project) if project is not None else stream
    _check_stream_whole(request, name, viewer(caller))
    return completeness_proof(recorder, name, _size(recorder, size))
