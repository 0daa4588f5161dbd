"""The dispute dossier (争议卷宗): everything a complaint about one project needs, in one ZIP,
checkable offline with the log's published key.

    manifest.json                 format, project, tree size, origin, members and digests
    project.completeness.json     every event of the project, proved complete (§17.4)
    refusals.completeness.json    every refused action recorded for it, if any
    actors/<id>.completeness.json each signer's registration and keys, proved complete; before
                                  the award, not the committee's (法 §37: their names are
                                  confidential until the result is fixed)
    about/<version>.tlog-proof    the events the complaint is about, each with its tlog-proof
    replay.json, replay.txt       every transition of the project with the event behind it

Checking (`check_dossier`): every completeness proof and tlog-proof holds under the log key;
every project event's signature verifies with a key its actor had registered (and not revoked)
by then, except, before the award, the committee members' (the events themselves say who sits
on it and whether the award came; their signatures were checked by the ledger and are proved
in the log); the replay recomputed from the events is the one in the dossier.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from ledger.errors import BadNote, NotInLog
from ledger.evidence.canonical import parse_time
from ledger.evidence.envelope import action_bytes, decode_signature
from ledger.evidence.keys import decode_public_key, signature_ok
from ledger.evidence.untrusted import UntrustedZip
from ledger.log.checkpoints import latest_checkpoint, log_verifier_key
from ledger.log.notes import Verifier
from ledger.log.proofs import (
    check_completeness, check_tlog_proof, completeness_proof, inclusion_proof, log_identity,
    tlog_proof,
)
from ledger.procedures.refusals import refusal_stream
from projections.project_state import replay

DOSSIER_FORMAT = "sunledger-dossier/v1"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _replay_json(events: list[dict]) -> list[dict]:
    return [t.__dict__ | {"changes": list(t.changes)} for t in replay(events)[1]]


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
    """Write the dossier of `project` (a stream name) at the latest checkpoint."""
    last = latest_checkpoint(recorder)
    if last is None:
        raise NotInLog("the log has no checkpoint yet; issue one with `sunledger checkpoint --issue`")
    size = last[0]
    members: dict[str, bytes] = {}

    def add_json(name: str, value: object) -> None:
        members[name] = (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
                         + "\n").encode()

    proof = completeness_proof(recorder, project, size)
    add_json("project.completeness.json", proof)
    events = [json.loads(e) for e in proof["events"]]
    try:
        add_json("refusals.completeness.json",
                 completeness_proof(recorder, refusal_stream(project), size))
    except NotInLog:
        pass
    withheld = withheld_until_award(events)
    for actor in sorted({e["actor"] for e in events} - {"ledger"} - withheld):
        add_json(f"actors/{actor}.completeness.json",
                 completeness_proof(recorder, f"actor:{actor}", size))
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
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(members.items()):
            z.writestr(zipfile.ZipInfo(name, date_time=_FIXED_TIME), data)
    tmp.replace(out)
    return manifest


def _keys_of(actor_events: list[dict]) -> dict[str, tuple[bytes, str, str | None]]:
    """key id -> (public key, ledger time added, ledger time revoked) from an actor's events."""
    import base64

    from ledger.evidence.certificates import certificate_facts

    keys: dict[str, tuple[bytes, str, str | None]] = {}
    for e in actor_events:
        p = e["payload"]
        if e["type"] in ("actor.key-added/v1", "actor.key-rotated/v1"):
            keys[p["key_id"]] = (decode_public_key(p["public_key"]), e["ledger_time"], None)
        elif e["type"] == "actor.certificate-added/v1":
            keys[p["key_id"]] = (certificate_facts(base64.b64decode(p["certificate"])).public_key,
                                 e["ledger_time"], None)
        if e["type"] == "actor.key-revoked/v1" or e["type"] == "actor.key-rotated/v1":
            old = p.get("old_key_id", p.get("key_id"))
            if old in keys and (e["type"] == "actor.key-revoked/v1" or old != p["key_id"]):
                key, added, _ = keys[old]
                keys[old] = (key, added, e["ledger_time"])
    return keys


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
    if manifest.get("format") != DOSSIER_FORMAT:
        raise BadNote(f"unknown dossier format {manifest.get('format')!r}")
    for name, digest in manifest["members"].items():
        if hashlib.sha256(z.read(name)).hexdigest() != digest:
            raise BadNote(f"{name} is not the member the manifest names")
    proof = z.json("project.completeness.json")
    events = check_completeness(proof, log)
    actors: dict[str, dict] = {}
    for name in z.names():
        if name.startswith("actors/"):
            actor_proof = z.json(name)
            actors[actor_proof["stream"][len("actor:"):]] = _keys_of(
                check_completeness(actor_proof, log))
    if "refusals.completeness.json" in z:
        check_completeness(z.json("refusals.completeness.json"), log)
    withheld = withheld_until_award(events)  # from the proved events, not from the manifest
    unchecked = 0
    for event in events:
        if event["actor"] in withheld and event["actor"] not in actors:
            unchecked += 1  # a committee member's, before the award: proved in the log only
            continue
        if event["actor"] == "ledger":
            key = log.public_key
        else:
            known = actors.get(event["actor"], {}).get(event["key_id"])
            if known is None or parse_time(known[1]) > parse_time(event["ledger_time"]) or (
                    known[2] is not None and parse_time(known[2]) <= parse_time(event["ledger_time"])):
                raise BadNote(f"v{event['version']}: {event['actor']} had no usable key "
                              f"{event['key_id']} then")
            key = known[0]
        if not signature_ok(key, action_bytes(event), decode_signature(event["signature"])):
            raise BadNote(f"v{event['version']}: the signature of {event['actor']} does not verify")
    by_version = {e["version"]: e for e in events}
    for version in manifest["about"]:
        check_tlog_proof(z.read(f"about/{version}.tlog-proof").decode(),
                         by_version[version]["hash"], log)
    if z.json("replay.json") != _replay_json(events):
        raise BadNote("the replay in the dossier is not what the events give")
    return {"project": manifest["project"], "events": len(events),
            "tree_size": proof["tree_size"], "actors": sorted(actors), "about": manifest["about"],
            "withheld": sorted(withheld), "unchecked": unchecked}
