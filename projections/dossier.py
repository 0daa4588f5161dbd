"""The dispute dossier (争议卷宗): everything a complaint about one project needs, in one ZIP,
checkable offline with the log's published key.

    manifest.json                 format, project, tree size, origin, members and digests
    project.completeness.json     every event of the project, proved complete (§17.4)
    refusals.completeness.json    every refused action recorded for it, if any
    actors/<id>.completeness.json each signer's registration and keys, proved complete; before
                                  the award, not the committee's (法 §37: their names are
                                  confidential until the result is fixed)
    receipts.json                 the ledger's receipt of every proved event: its position
    about/<version>.tlog-proof    the events the complaint is about, each with its tlog-proof
    replay.json, replay.txt       every transition of the project with the event behind it

Checking (`check_dossier`, docs/evidence-format.md §17.5): every completeness proof and
tlog-proof holds under the log key, at one tree size; every receipt is the ledger's; every
project event's signature verifies with the key its actor could use at the event's position,
judged as the verifier judges it (§11.4), except, before the award, the committee members'
(the events themselves say who sits on it and whether the award came; their signatures were
checked by the ledger and are proved in the log); the replay recomputed from the events is the
one in the dossier.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from ledger.errors import BadNote, LedgerError, NotInLog
from ledger.evidence.canonical import parse_time
from ledger.evidence.envelope import LEDGER_ACTOR, action_bytes, decode_signature, stream_uuid
from ledger.evidence.keys import signature_ok
from ledger.evidence.receipts import receipt_body, receipt_ok
from ledger.evidence.registry import ActorRecord, apply_actor_event, new_actor, usable_key
from ledger.evidence.untrusted import UntrustedZip
from ledger.log.checkpoints import heads_at, latest_checkpoint, log_verifier_key
from ledger.log.notes import Verifier
from ledger.log.proofs import (
    check_completeness, check_tlog_proof, completeness_proof, inclusion_proof, log_identity,
    tlog_proof,
)
from ledger.procedures.refusals import refusal_stream
from projections.project_state import WORDING, replay

DOSSIER_FORMAT = "sunledger-dossier/v2"
# how each format's replay.json words the changes (project_state.WORDING): v1's first step
# changed the state's defaults and showed a record (a quote) as Python writes it
REPLAY_WORDING = {"sunledger-dossier/v1": 1, DOSSIER_FORMAT: WORDING}
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _replay_json(events: list[dict], wording: int = WORDING) -> list[dict]:
    return [t.__dict__ | {"changes": list(t.changes)} for t in replay(events, wording=wording)[1]]


def _replay_text(steps: list[dict]) -> str:
    lines = []
    for t in steps:
        lines.append(f"v{t['version']:<4} {t['ledger_time']}  {t['type']:<38} {t['actor']}  "
                     f"{t['hash']}")
        lines.extend(f"        {c}" for c in t["changes"])
    return "\n".join(lines) + "\n"


def withheld_until_award(events: list[dict]) -> set[str]:
    """The committee members whose registrations (names, organisations) a party may not see
    yet: every member drawn, seated or replaced, as long as no award is recorded (法 §37)."""
    if any(e["type"] == "project.awarded/v1" for e in events):
        return set()
    members: set[str] = set()
    for e in events:
        if e["type"] == "project.experts-drawn/v1":
            members.update(e["payload"]["committee"], e["payload"].get("representatives", []))
        elif e["type"] == "project.expert-replaced/v1":
            members.update((e["payload"]["recused"], e["payload"]["replacement"]))
    return members


def write_dossier(recorder: Any, project: str, out: Path, about: list[int] | None = None) -> dict:
    """Write the dossier of `project` (a stream name) at the latest checkpoint; its manifest."""
    data, manifest = dossier_bytes(recorder, project, about)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_bytes(data)
    tmp.replace(out)
    return manifest


def dossier_bytes(recorder: Any, project: str,
                  about: list[int] | None = None) -> tuple[bytes, dict]:
    """The dossier of `project` (a stream name) at the latest checkpoint, as the bytes of its
    ZIP, and its manifest."""
    last = latest_checkpoint(recorder)
    if last is None:
        raise NotInLog("the log has no checkpoint yet; issue one with `sunledger checkpoint --issue`")
    size = last[0]
    members: dict[str, bytes] = {}

    def add_json(name: str, value: object) -> None:
        members[name] = (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
                         + "\n").encode()

    receipts: dict[str, list[dict]] = {}
    heads = heads_at(recorder, size)  # one map for every proof at this size

    def add_proof(name: str, stream: str) -> dict:
        proof = completeness_proof(recorder, stream, size, heads)
        add_json(name, proof)
        receipts[stream] = _receipts_of(recorder, [json.loads(e) for e in proof["events"]])
        return proof

    proof = add_proof("project.completeness.json", project)
    events = [json.loads(e) for e in proof["events"]]
    try:
        add_proof("refusals.completeness.json", refusal_stream(project))
    except NotInLog:
        pass
    withheld = withheld_until_award(events)
    for actor in sorted({e["actor"] for e in events} - {"ledger"} - withheld):
        add_proof(f"actors/{actor}.completeness.json", f"actor:{actor}")
    add_json("receipts.json", receipts)
    for version in about or []:
        included = inclusion_proof(recorder, stream=project, version=version, size=size)
        members[f"about/{version}.tlog-proof"] = tlog_proof(recorder, included).encode()
    steps = _replay_json(events)
    add_json("replay.json", steps)
    members["replay.txt"] = _replay_text(steps).encode()
    origin, public_key = log_identity(recorder)
    manifest = {"format": DOSSIER_FORMAT, "project": project, "tree_size": size,
                "origin": origin, "log_key": log_verifier_key(origin, public_key),
                "about": about or [], "events": len(events), "withheld": sorted(withheld),
                "members": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(members.items())}}
    add_json("manifest.json", manifest)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(members.items()):
            z.writestr(zipfile.ZipInfo(name, date_time=_FIXED_TIME), data)
    return zipped.getvalue(), manifest


def _receipts_of(recorder: Any, events: list[dict]) -> list[dict]:
    """The ledger's receipt of each event of one stream, in version order: each attests the
    event's global position (evidence-format §9), by which its signer's key is judged."""
    found = []
    for event in events:
        placed = recorder.leaf_of(stream_uuid(event["stream"]), event["version"])
        receipt = recorder.select_receipts(placed[1] - 1, placed[1]) if placed else []
        if not receipt:
            raise NotInLog(f"{event['stream']} v{event['version']} has no receipt in this store")
        r = receipt[0]
        found.append({"event_hash": r.event_hash, "ledger_time": r.ledger_time,
                      "position": r.position, "signature": r.signature, "stream": r.stream,
                      "version": r.version})
    return found


def _positions(stream: str, events: list[dict], receipts: object, ledger_key: bytes) -> list[int]:
    """The global position of each proved event of `stream`, from its receipt, which must be
    the ledger's, for exactly that event; BadNote otherwise."""
    if type(receipts) is not list or len(receipts) != len(events):
        raise BadNote(f"receipts.json does not hold one receipt per event of {stream}")
    positions = []
    for event, r in zip(events, receipts):
        if type(r) is not dict or (r.get("stream"), r.get("version"), r.get("event_hash"),
                                   r.get("ledger_time")) != (event["stream"], event["version"],
                                                             event["hash"], event["ledger_time"]):
            raise BadNote(f"receipts.json: {stream} v{event['version']} has no receipt of its own")
        if type(r.get("position")) is not int or type(r.get("signature")) is not str or \
                not receipt_ok(receipt_body(event["hash"], stream, event["version"],
                                            r["position"], event["ledger_time"]),
                               r["signature"], ledger_key):
            raise BadNote(f"receipts.json: the receipt of {stream} v{event['version']} is not "
                          "the ledger's")
        if positions and r["position"] <= positions[-1]:
            raise BadNote(f"receipts.json: {stream}'s positions do not increase with its versions")
        positions.append(r["position"])
    return positions


def _registration(actor_events: list[dict], positions: list[int]) -> ActorRecord:
    """An actor's registration and keys as its proved events state them, each key with the
    positions it was added and revoked at, as the verifier keeps them (§11.4)."""
    record = new_actor(actor_events[0])
    for event, position in zip(actor_events[1:], positions[1:]):
        apply_actor_event(record, event, position)
    return record


def check_dossier(path: Path, log: Verifier) -> dict:
    """What the dossier proves, if everything in it holds; raises BadNote naming what fails
    (and for a file that is not a well-formed dossier, says so), UntrustedFileError for a file
    the bounded reader refuses (not a ZIP, or beyond its limits: nothing of it is judged)."""
    try:
        with UntrustedZip(path, "the dossier") as z:
            return _check_dossier(z, path, log)
    except BadNote:
        raise
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise BadNote(f"{path} is not a well-formed dossier: {error}") from None


def _check_dossier(z: UntrustedZip, path: Path, log: Verifier) -> dict:
    manifest = z.json("manifest.json")
    form = manifest.get("format")
    wording = REPLAY_WORDING.get(form) if isinstance(form, str) else None
    if wording is None:
        raise BadNote(f"unknown dossier format {manifest.get('format')!r}")
    for name, digest in manifest["members"].items():
        if hashlib.sha256(z.read(name)).hexdigest() != digest:
            raise BadNote(f"{name} is not the member the manifest names")
    receipts = z.json("receipts.json")
    if type(receipts) is not dict:
        raise BadNote("receipts.json is not the receipts of the proved streams")

    project = z.json("project.completeness.json")
    tree_size = project["tree_size"]

    def proved(name: str, proof: dict) -> tuple[str, list[dict], list[int]]:
        """A completeness proof's stream, its events, and their positions."""
        events = check_completeness(proof, log)
        if proof["tree_size"] != tree_size:
            raise BadNote(f"{name} is proved at tree size {proof['tree_size']}, the project "
                          f"at {tree_size}: a dossier is of one tree")
        stream = proof["stream"]
        return stream, events, _positions(stream, events, receipts.get(stream), log.public_key)

    project_stream, events, positions = proved("project.completeness.json", project)
    actors: dict[str, ActorRecord] = {}
    for name in z.names():
        if name.startswith("actors/"):
            stream, actor_events, actor_positions = proved(name, z.json(name))
            actors[stream[len("actor:"):]] = _registration(actor_events, actor_positions)
    if "refusals.completeness.json" in z:
        proved("refusals.completeness.json", z.json("refusals.completeness.json"))
    withheld = withheld_until_award(events)  # from the proved events, not from the manifest
    unchecked = 0
    for event, position in zip(events, positions):
        actor = event["actor"]
        if actor in withheld and actor not in actors:
            unchecked += 1  # a committee member's, before the award: proved in the log only
            continue
        if actor == LEDGER_ACTOR:
            public_key = log.public_key
        elif actor not in actors:
            raise BadNote(f"v{event['version']}: the registration of {actor} is not in the "
                          "dossier: its key cannot be judged")
        else:
            try:  # the key as it stood just before the event's position (§11.4)
                public_key = usable_key(actors[actor], actor, event["key_id"],
                                        parse_time(event["ledger_time"]), position).public_key
            except LedgerError as error:
                raise BadNote(f"v{event['version']} (position {position}): {error.message}") \
                    from None
        if not signature_ok(public_key, action_bytes(event), decode_signature(event["signature"])):
            raise BadNote(f"v{event['version']}: the signature of {actor} does not verify")
    by_version = {e["version"]: e for e in events}
    for version in manifest["about"]:
        check_tlog_proof(z.read(f"about/{version}.tlog-proof").decode(),
                         by_version[version]["hash"], log)
    if z.json("replay.json") != _replay_json(events, wording):
        raise BadNote("the replay in the dossier is not what the events give")
    return {"project": project_stream, "events": len(events),
            "tree_size": tree_size, "actors": sorted(actors), "about": manifest["about"],
            "withheld": sorted(withheld), "unchecked": unchecked}
