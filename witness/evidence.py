"""The evidence a witness report is built from, and embedded in it: the project's events proved
complete under a signed checkpoint (ledger/log/proofs.py), its recorded refusals proved complete the
same way (or null), the log's key, and the names of the actors as registered (for display; the
signatures and proofs are what is proved).

A report is a pure function of this evidence: anyone can render it again and compare bytes.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.errors import NotInLog
from ledger.evidence.catalogue import EVENT_TYPES, REPORT_KINDS
from ledger.log.checkpoints import heads_at, latest_checkpoint, log_verifier_key
from ledger.log.proofs import completeness_proof, log_identity
from ledger.procedures.refusals import refusal_stream

EVIDENCE_FORMAT = "sunledger-report-evidence/v1"
KINDS = REPORT_KINDS


def actor_names(recorder: Any, actors: set[str]) -> dict[str, dict]:
    """{actor: {name, organisation, roles, certificates (CA serials)}} as each actor's
    stream states them."""
    import orjson

    from ledger.evidence.envelope import stream_uuid

    names = {}
    for actor in sorted(actors):
        events = [orjson.loads(e.state) for e in recorder.select_events(stream_uuid(f"actor:{actor}"))]
        if events:
            payload = events[0]["payload"]
            names[actor] = {"name": payload["name"], "organisation": payload["organisation"],
                            "roles": sorted(payload["roles"]),
                            "certificates": [e["payload"]["serial"] for e in events
                                             if e["type"] == "actor.certificate-added/v1"]}
    return names


def named_actors(events: list[dict]) -> set[str]:
    """Every actor the events' payloads name (the catalogue's `id` and `ids` members)."""
    found: set[str] = set()
    for e in events:
        for member in EVENT_TYPES[e["type"]].actor_members:
            value = e["payload"].get(member)
            found.update(v for v in (value if isinstance(value, list) else [value])
                         if isinstance(v, str))
    return found


def gather_evidence(recorder: Any, project: str, kind: str, lang: str = "zh",
                    issue: dict | None = None) -> dict:
    """The evidence of a report on `project` at the latest checkpoint (which must cover the
    project's events the report is about). `issue`: how the centre issues it (its document
    number, edition, and the centre's name and verification address), for display."""
    if kind not in KINDS:
        raise ValueError(f"report kind {kind!r} is not one of {', '.join(KINDS)}")
    last = latest_checkpoint(recorder)
    if last is None:
        raise NotInLog("no checkpoint covers the project yet; issue one first")
    heads = heads_at(recorder, last[0])
    proof = completeness_proof(recorder, project, last[0], heads)
    events = [json.loads(e) for e in proof["events"]]
    origin, public_key = log_identity(recorder)
    try:  # refused actions are evidence too (a late bid), proved complete the same way
        refusals = completeness_proof(recorder, refusal_stream(project), last[0], heads)
    except NotInLog:
        refusals = None
    actors = {e["actor"] for e in events} | named_actors(events) | {
        json.loads(e)["payload"]["action"]["actor"] for e in (refusals or {}).get("events", [])}
    names = actor_names(recorder, actors - {"ledger"})
    if not any(e["type"] == "project.awarded/v1" for e in events):
        # before the award the committee's names stay confidential (法 §37; 条例 §46)
        names = {a: n for a, n in names.items() if "expert" not in n["roles"]}
    return {"format": EVIDENCE_FORMAT, "kind": kind, "lang": lang, "project": project,
            "log_key": log_verifier_key(origin, public_key), "completeness": proof,
            "refusals": refusals, "actors": names, **(issue or {})}
