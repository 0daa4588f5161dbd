"""An independent check of docs/evidence-format.md.

The first half of this file is a small verifier written from the document alone, with
hashlib, uuid, base64, json, `rfc8785` (the reference RFC 8785 encoder) and `nacl.signing`:
it imports nothing from `ledger`. Section numbers in comments point into the document.

The second half creates real stores through the ledger's public API (the only use of
`ledger` here), reads their rows with plain SQL behind the library's back, and checks them
with the independent verifier: intact stores must verify clean, and each kind of tampering
must be found. The worked examples of the document are checked twice: against what the
current code produces, and with the independent code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nacl.exceptions
import nacl.signing
import pytest
import rfc8785

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "evidence-format.md"
POSTGRES = os.environ.get("SUNLEDGER_TEST_POSTGRES")


# =============================================================================================
# The independent verifier (from docs/evidence-format.md only)
# =============================================================================================

MAX_SAFE = 2**53 - 1
ZERO_HASH = "0" * 64  # §7: prev of version 1
RECEIPT_FORMAT = "sunledger/receipt/v1"  # §9
STREAM_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sunledger:stream")  # §5
EVENT_MEMBERS = {"actor", "hash", "key_id", "ledger_time", "nonce", "payload", "prev",
                 "signature", "signed_at", "stream", "type", "version"}  # §7
STRING_MEMBERS = EVENT_MEMBERS - {"payload", "version"}
REGISTRY_TYPES = {"ledger.started/v1", "ledger.ca-trusted/v1", "actor.registered/v1",
                  "actor.key-added/v1", "actor.certificate-added/v1", "actor.key-revoked/v1",
                  "actor.key-rotated/v1"}  # §10, §11
OWN_KEY_TYPES = {"actor.key-revoked/v1", "actor.key-rotated/v1"}  # §11.3
STREAM = re.compile(r"(ledger|(actor|project|refusal|register):\w[\w.\-/]{0,127})")  # §3, used with fullmatch
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")




def _signers_from_the_document() -> dict[str, dict[str, str]]:
    """§10.1's table: project type → {role: binding}."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### 10.1 "):text.index("## 11. The key registry")]
    return {m[1]: dict(part.split(": ") for part in m[2].split("; "))
            for m in re.finditer(r"^\| `((?:project|refusal|register)\.[^`]+)` \| ([^|]+?) \|$",
                                 section, re.M)}


SIGNERS = _signers_from_the_document()


class NotLedgerJSON(ValueError):
    pass


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise NotLedgerJSON("duplicate member name")
    if any(ord(ch) > 0xFFFF for name in names for ch in name):
        raise NotLedgerJSON("member name outside the BMP")
    return dict(pairs)


def _integer(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE:
        raise NotLedgerJSON("integer beyond ±(2^53 − 1)")
    return value


def _no(text: str):
    raise NotLedgerJSON(f"{text} is not ledger JSON")


def parse_ledger_json(data: bytes) -> object:
    """§2.1: JSON, integers only and in range, BMP member names, no duplicates."""
    return json.loads(data.decode("utf-8"), object_pairs_hook=_pairs, parse_int=_integer,
                      parse_float=_no, parse_constant=_no)


def jcs(value: object) -> bytes:
    """§2.2: the canonical encoding is RFC 8785."""
    return rfc8785.dumps(value)


def parse_time(text: str) -> datetime:
    """§3: RFC 3339, UTC, microseconds, Z, ASCII digits."""
    if not isinstance(text, str) or not TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a ledger time")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def stream_id(name: str) -> str:
    """§5: UUIDv5 of the stream name, as stored on SQLite (32 hex digits)."""
    return uuid.uuid5(STREAM_NAMESPACE, name).hex


def key_id(public_key: bytes) -> str:
    """§4: the first 16 bytes of SHA-256 of the raw key, hex."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def decode_signature(text: str) -> bytes:
    """§3: standard base64 with padding of exactly 64 bytes, in its one canonical form."""
    raw = base64.b64decode(text, validate=True)
    if len(text) != 88 or len(raw) != 64 or base64.b64encode(raw).decode() != text:
        raise ValueError("not a canonical base64 signature of 64 bytes")
    return raw


def signature_ok(public_key: bytes, message: bytes, signature_b64: str) -> bool:
    try:
        nacl.signing.VerifyKey(public_key).verify(message, decode_signature(signature_b64))
    except (ValueError, nacl.exceptions.BadSignatureError):
        return False
    return True


def event_hash(event: dict) -> str:
    """§7: SHA-256 over JCS of the event without `hash`."""
    return hashlib.sha256(jcs({k: v for k, v in event.items() if k != "hash"})).hexdigest()


# §6: a bidder's actions that may come before the opening name no version
NO_VERSION_TYPES = {"project.documents-obtained/v1", "project.objection-raised/v1",
                    "project.security-posted/v1", "project.bid-submitted/v1",
                    "project.bid-withdrawn/v1", "project.challenge-raised/v1",
                    "project.complaint-filed/v1", "project.bidder-registered/v1",
                    "project.quote-submitted/v1", "project.continuation-requested/v1"}


def signed_action(event: dict) -> dict:
    """§7: the action the actor signed, rebuilt from a stored event."""
    action = {k: event[k] for k in ("actor", "key_id", "nonce", "payload", "signed_at",
                                    "stream", "type")}
    action["expected_version"] = None if event["type"] in NO_VERSION_TYPES else event["version"] - 1
    return action


def receipt_body(position: int, stream: str, version: int, hash_: str, ledger_time: str) -> dict:
    """§9: the six members the ledger signs."""
    return {"event_hash": hash_, "ledger_time": ledger_time, "position": position,
            "receipt": RECEIPT_FORMAT, "stream": stream, "version": version}


@dataclass
class Key:
    public_key: bytes
    added: int | None  # global position; None for the ledger key (§11.4 rule 1)
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked: int | None = None


@dataclass
class Actor:
    roles: set[str]
    keys: dict[str, Key] = field(default_factory=dict)


@dataclass
class Registry:
    ledger_key: bytes | None = None
    origin: str | None = None
    actors: dict[str, Actor] = field(default_factory=dict)
    cas: set[str] = field(default_factory=set)

    def signer(self, actor: str) -> Actor | None:
        if actor == "ledger":  # §11.1: the built-in registrar with the ledger key
            if self.ledger_key is None:
                return None
            return Actor({"registrar"}, {key_id(self.ledger_key): Key(self.ledger_key, None)})
        return self.actors.get(actor)

    def judge(self, event: dict, position: int) -> str | None:
        """§11.4: the finding kind for this event's signature, or None when it holds."""
        record = self.signer(event["actor"])
        key = record.keys.get(event["key_id"]) if record else None
        if key is None or (key.added is not None and key.added >= position):
            return "unknown_key"
        if key.revoked is not None and key.revoked < position:
            return "key_revoked"
        at = parse_time(event["ledger_time"])
        if (key.not_before and at < key.not_before) or (key.not_after and at > key.not_after):
            return "key_not_valid"
        if not signature_ok(key.public_key, jcs(signed_action(event)), event["signature"]):
            return "bad_signature"
        return None

    def apply(self, event: dict, position: int) -> None:
        """§11.1: what a sound registry event does."""
        kind, payload = event["type"], event["payload"]
        if kind == "ledger.ca-trusted/v1":
            self.cas.add(payload["fingerprint"])
            return
        actor_id = event["stream"].split(":", 1)[1]
        if kind == "actor.registered/v1":
            self.actors.setdefault(actor_id, Actor(set(payload["roles"])))
            return
        record = self.actors.get(actor_id)
        if record is None:
            return
        if kind == "actor.certificate-added/v1":
            raise NotImplementedError("certificate keys need an X.509 parser; this small "
                                      "verifier has none, and the test stores hold none")
        if kind in ("actor.key-revoked/v1", "actor.key-rotated/v1"):
            old = payload["key_id" if kind == "actor.key-revoked/v1" else "old_key_id"]
            if old in record.keys and record.keys[old].revoked is None:
                record.keys[old].revoked = position
        if kind in ("actor.key-added/v1", "actor.key-rotated/v1"):
            record.keys[payload["key_id"]] = Key(
                base64.b64decode(payload["public_key"], validate=True), position,
                parse_time(payload["not_before"]) if "not_before" in payload else None,
                parse_time(payload["not_after"]) if "not_after" in payload else None)


@dataclass
class Report:
    findings: list[tuple[str, int | None, str | None, str]] = field(default_factory=list)
    events: int = 0
    signatures: int = 0  # actor signatures that verified
    receipts: int = 0  # receipt signatures that verified
    links: int = 0  # prev links that held
    streams: set[str] = field(default_factory=set)
    registry: Registry = field(default_factory=Registry)

    @property
    def kinds(self) -> set[str]:
        return {kind for kind, *_ in self.findings}

    def add(self, kind: str, position: int | None, stream: str | None, detail: str) -> None:
        self.findings.append((kind, position, stream, detail))


Row = tuple  # (position, originator_id hex, originator_version, topic, state bytes)
ReceiptRow = tuple  # (position, stream, version, event_hash, ledger_time, signature)


def decode(row: Row) -> tuple[dict | None, list[tuple[str, str]]]:
    """§14.1: one row on its own."""
    position, _, _, topic, state = row
    try:
        event = parse_ledger_json(state)
    except (ValueError, UnicodeDecodeError) as error:
        return None, [("undecodable_row", str(error))]
    if not isinstance(event, dict) or set(event) != EVENT_MEMBERS:
        return None, [("undecodable_row", "not an event envelope")]
    if not (isinstance(event["stream"], str) and STREAM.fullmatch(event["stream"])
            and type(event["version"]) is int and isinstance(event["payload"], dict)
            and all(isinstance(event[k], str) for k in STRING_MEMBERS)):
        return None, [("undecodable_row", "members of the wrong type")]
    try:
        parse_time(event["ledger_time"])
        canonical = jcs(event)
    except (ValueError, rfc8785.CanonicalizationError) as error:
        return None, [("undecodable_row", str(error))]
    problems = []
    if event_hash(event) != event["hash"]:
        problems.append(("content_altered", "hash does not recompute"))
    elif canonical != bytes(state):
        problems.append(("content_altered", "stored bytes are not canonical"))
    if topic != event["type"]:
        problems.append(("content_altered", "topic differs from type"))
    return event, problems


def verify_log(rows: list[Row], receipts: list[ReceiptRow],
               ledger_key_id: str | None = None) -> Report:
    """§14: the whole algorithm, single-threaded."""
    report = Report()
    registry = report.registry
    rows = sorted(rows, key=lambda r: r[0])

    # §14.2 pass one: the registry
    for row in rows:
        if row[3] not in REGISTRY_TYPES:
            continue
        event, problems = decode(row)
        if event is None or problems:
            continue
        position = row[0]
        if event["type"] == "ledger.started/v1":
            if registry.ledger_key is not None:
                continue
            if ledger_key_id is not None and event["key_id"] != ledger_key_id:
                report.add("no_ledger_key", position, "ledger", "another ledger key")
                continue
            announced = key_id(base64.b64decode(event["payload"]["public_key"]))
            if event["actor"] != "ledger" or event["key_id"] != announced \
                    or event["nonce"] != announced:
                report.add("not_permitted", position, "ledger", "not self-signed (§11.2)")
                continue
            candidate = Registry(ledger_key=base64.b64decode(event["payload"]["public_key"]))
            if candidate.judge(event, position) is None:  # §11.2: self-signed
                registry.ledger_key = candidate.ledger_key
                registry.origin = event["payload"]["origin"]
            continue
        if registry.judge(event, position) is not None:
            continue  # pass two reports it
        signer = registry.signer(event["actor"])
        own = event["stream"] == f"actor:{event['actor']}"
        if not ("registrar" in signer.roles or (own and event["type"] in OWN_KEY_TYPES)):
            report.add("not_permitted", position, event["stream"], event["type"])
            continue
        registry.apply(event, position)
    if registry.ledger_key is None:
        report.add("no_ledger_key", None, "ledger", "no valid ledger.started/v1")

    # §14.3 pass two: every row, in increasing position
    by_position = {r[0]: r for r in receipts}
    present = {r[0] for r in rows}
    streams: dict[str, tuple[int, str]] = {}  # stream id → (last version, its hash)
    last_time = ""  # step 7a: the ledger time of the last decodable row
    for row in rows:
        position, originator_id, row_version = row[0], row[1], row[2]
        report.events += 1
        event, problems = decode(row)
        for kind, detail in problems:
            report.add(kind, position, None, detail)
        if event is None:
            continue
        stream = event["stream"]
        verdict = registry.judge(event, position)
        if verdict is None:
            report.signatures += 1
        else:
            report.add(verdict, position, stream, "actor signature")
        signer, bindings = registry.signer(event["actor"]), SIGNERS.get(event["type"])
        if signer is not None and bindings is not None:  # §14.3 step 4b
            held = [bindings[role] for role in bindings if role in signer.roles]
            if not any((b == "ledger" and event["actor"] == "ledger") or (
                    b != "ledger" and (not b.startswith("self:")
                                       or event["payload"].get(b[5:]) == event["actor"]))
                       for b in held):
                report.add("not_permitted", position, stream, "who signed (§10.1)")
        misplaced = stream_id(stream) != originator_id or event["version"] != row_version
        if misplaced:
            kind = "duplicate" if not problems and verdict is None else "content_altered"
            report.add(kind, position, stream, "stored in another place")
        receipt = by_position.get(position)
        if receipt is None:
            report.add("bad_receipt", position, stream, "no receipt")
        elif (receipt[1], receipt[2]) != (stream, event["version"]):
            report.add("out_of_order", position, stream, "the receipt is for another event")
        elif (receipt[3], receipt[4]) != (event["hash"], event["ledger_time"]):
            report.add("content_altered", position, stream, "the receipt names another hash")
        if receipt is not None and registry.ledger_key is not None:
            if signature_ok(registry.ledger_key, jcs(receipt_body(*receipt[:5])), receipt[5]):
                report.receipts += 1
            else:
                report.add("bad_receipt", position, stream, "receipt signature")
        if event["ledger_time"] < last_time:  # step 7a
            report.add("time_reversed", position, stream, "ledger time goes back")
        last_time = event["ledger_time"]
        if misplaced:
            continue
        report.streams.add(stream)
        last, head = streams.get(originator_id, (0, ZERO_HASH))
        version = event["version"]
        if version == last + 1:
            if event["prev"] == head:
                report.links += 1
            else:
                report.add("link_broken", position, stream, "prev")
        elif version > last + 1:
            report.add("missing_event", position, stream, f"version {last + 1} missing")
        else:
            report.add("out_of_order", position, stream, f"version {version} after {last}")
            continue
        streams[originator_id] = (version, event["hash"])
    for receipt in receipts:  # step 8: receipts whose event is gone
        if receipt[0] in present:
            continue
        if registry.ledger_key is not None and signature_ok(
                registry.ledger_key, jcs(receipt_body(*receipt[:5])), receipt[5]):
            report.add("missing_event", receipt[0], receipt[1], "receipted, then gone")
        else:
            report.add("bad_receipt", receipt[0], receipt[1], "orphan receipt")
    return report


# --- forging, as an insider with the keys would (for tamper tests) ---------------------------

def seal_event(action: dict, actor_seed: bytes, *, ledger_time: str, prev: str,
               version: int | None = None) -> dict:
    """§6, §7: sign an action and seal it, exactly as the document says (an action that
    names no version goes at `version`)."""
    signature = nacl.signing.SigningKey(actor_seed).sign(jcs(action)).signature
    event = {k: v for k, v in action.items() if k != "expected_version"}
    placed = action["expected_version"]
    event.update(version=version if placed is None else placed + 1, ledger_time=ledger_time, prev=prev,
                 signature=base64.b64encode(signature).decode())
    event["hash"] = event_hash(event)
    return event


def sign_receipt(ledger_seed: bytes, position: int, event: dict) -> str:
    body = receipt_body(position, event["stream"], event["version"], event["hash"],
                        event["ledger_time"])
    return base64.b64encode(nacl.signing.SigningKey(ledger_seed).sign(jcs(body)).signature).decode()


# =============================================================================================
# Real stores, created through the ledger's public API, read back with plain SQL
# =============================================================================================

SECRET = b"evidence-format-test"
ROTATOR = "rotator-0001"
ROTATING_PROJECT = "project:EF-TEST-0001"


class StepClock:
    """The ledger's clock: a fixed start, one second further at every reading."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def actor_seed(label: str) -> bytes:
    """The seed of `SigningKey.derived(SECRET, label)` (§16 states the derivation)."""
    return hashlib.sha256(SECRET + b"\x00" + label.encode()).digest()


def public_b64(seed: bytes) -> str:
    return base64.b64encode(bytes(nacl.signing.SigningKey(seed).verify_key)).decode()


def populate(url: str, key_path: Path) -> bytes:
    """A simulated trading day plus key rotation and revocation; returns the ledger key seed."""
    from api.simulate import simulate
    from ledger.evidence.keys import SigningKey, encode_public_key
    from ledger.evidence.signer import ActorSigner
    from ledger.ledger import Ledger

    ledger = Ledger.open(url, clock=StepClock(), key_path=key_path)
    try:
        registrar = ActorSigner("ledger", ledger.key)
        a, b, c = (SigningKey.derived(SECRET, label) for label in ("a", "b", "c"))
        rotator_a, rotator_b = ActorSigner(ROTATOR, a), ActorSigner(ROTATOR, b)
        when = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)
        stream = f"actor:{ROTATOR}"

        def submit(*signed):
            return ledger.submit(*signed)

        # registration and a time-limited key, in one atomic append of two actions
        submit(registrar.sign(stream, "actor.registered/v1",
                              {"name": "Fictional rotator", "roles": ["tenderee", "operator"],
                               "organisation": "虚构轮换密钥测试单位"},
                              expected_version=0, signed_at=when),
               registrar.sign(stream, "actor.key-added/v1",
                              {"key_id": a.key_id, "public_key": encode_public_key(a.public_key),
                               "not_before": "2025-01-01T00:00:00.000000Z",
                               "not_after": "2030-01-01T00:00:00.000000Z"},
                              expected_version=1, signed_at=when))
        submit(rotator_a.sign(ROTATING_PROJECT, "project.intake/v1",
                              {"title": "轮换密钥测试项目", "category": "procurement",
                               "tenderee": ROTATOR, "control_price": "1000000.00"},
                              expected_version=0, signed_at=when))
        # the actor rotates its own key, signing with the old one
        submit(rotator_a.sign(stream, "actor.key-rotated/v1",
                              {"old_key_id": a.key_id, "key_id": b.key_id,
                               "public_key": encode_public_key(b.public_key),
                               "not_after": "2026-01-01T00:00:00.000000Z"},
                              expected_version=2, signed_at=when))
        submit(rotator_b.sign(ROTATING_PROJECT, "project.intake-accepted/v1", {},
                              expected_version=1, signed_at=when))
        # a registrar adds a third key and revokes it again
        submit(registrar.sign(stream, "actor.key-added/v1",
                              {"key_id": c.key_id, "public_key": encode_public_key(c.public_key)},
                              expected_version=3, signed_at=when))
        submit(registrar.sign(stream, "actor.key-revoked/v1",
                              {"key_id": c.key_id, "reason": "测试：吊销"},
                              expected_version=4, signed_at=when))
        submit(rotator_b.sign(ROTATING_PROJECT, "project.announced/v1",
                              {"documents_from": "2025-03-03T02:00:00.000000Z",
                               "documents_until": "2025-03-12T09:00:00.000000Z",
                               "bid_deadline": "2025-03-25T01:30:00.000000Z"},
                              expected_version=2, signed_at=when))
        simulate(ledger, projects=2, seed=3)  # from the Monday after: ledger time moves on
        return ledger.key.seed()
    finally:
        ledger.close()


class SQLiteRows:
    """The rows of a SQLite store, read with plain SQL (§12)."""

    def __init__(self, path: Path):
        self.path = path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple = ()) -> int:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql, params).lastrowid

    def rows(self) -> list[Row]:
        return [(p, o, v, t, bytes(s)) for p, o, v, t, s in self.query(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM sunledger_events ORDER BY rowid")]

    def receipts(self) -> list[ReceiptRow]:
        return self.query("SELECT position, stream, version, event_hash, ledger_time, signature "
                          "FROM sunledger_receipts ORDER BY position")

    def nonces(self) -> list[tuple[str, str]]:
        return self.query("SELECT actor, nonce FROM sunledger_nonces")

    def event(self, stream: str, version: int) -> tuple[int, dict]:
        position, state = self.query(
            "SELECT rowid, state FROM sunledger_events WHERE originator_id=? "
            "AND originator_version=?", (stream_id(stream), version))[0]
        return position, json.loads(state)

    def last_version(self, stream: str) -> int:
        return self.query("SELECT MAX(originator_version) FROM sunledger_events "
                          "WHERE originator_id=?", (stream_id(stream),))[0][0]


class PostgresRows:
    """The rows of a PostgreSQL schema, read with plain SQL (§12)."""

    def __init__(self, schema: str):
        self.schema = schema

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    def rows(self) -> list[Row]:
        return [(p, o.hex, v, t, bytes(s)) for p, o, v, t, s in self.query(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f'FROM "{self.schema}".sunledger_events ORDER BY notification_id')]

    def receipts(self) -> list[ReceiptRow]:
        return self.query("SELECT position, stream, version, event_hash, ledger_time, "
                          f'signature FROM "{self.schema}".sunledger_receipts ORDER BY position')

    def nonces(self) -> list[tuple[str, str]]:
        return self.query(f'SELECT actor, nonce FROM "{self.schema}".sunledger_nonces')


@pytest.fixture(params=["sqlite", "postgres"])
def populated(request, tmp_path):
    """A populated store of either engine, and its rows (read with plain SQL)."""
    if request.param == "sqlite":
        path = tmp_path / "l.db"
        seed = populate(f"sqlite:{path}", tmp_path / "ledger.key")
        yield SQLiteRows(path), seed
        return
    if not POSTGRES:
        pytest.skip("PostgreSQL tests need SUNLEDGER_TEST_POSTGRES (.ci/run sets it)")
    import psycopg

    schema = f"t_ef_{uuid.uuid4().hex[:12]}"
    try:
        seed = populate(f"{POSTGRES}?schema={schema}", tmp_path / "ledger.key")
        yield PostgresRows(schema), seed
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, bytes]:
    """One populated SQLite store, copied for each tamper test."""
    directory = tmp_path_factory.mktemp("template")
    seed = populate(f"sqlite:{directory / 'l.db'}", directory / "ledger.key")
    return directory / "l.db", seed


@pytest.fixture
def store(template, tmp_path) -> tuple[SQLiteRows, bytes]:
    path = tmp_path / "l.db"
    shutil.copyfile(template[0], path)
    return SQLiteRows(path), template[1]


def _report(rows) -> Report:
    return verify_log(rows.rows(), rows.receipts())


# --- intact stores -------------------------------------------------------------------------

def test_intact_store_checks_out_with_the_independent_verifier(populated):
    rows, ledger_seed = populated
    stored, receipts = rows.rows(), rows.receipts()
    assert len(stored) > 100

    report = verify_log(stored, receipts)
    assert report.findings == []
    # every check ran on every row, not just "no complaints"
    assert report.events == len(stored)
    assert report.signatures == len(stored)
    assert report.receipts == len(receipts) == len(stored)
    assert report.links == len(stored)
    assert [r[0] for r in receipts] == [r[0] for r in stored]

    ledger_public = bytes(nacl.signing.SigningKey(ledger_seed).verify_key)
    assert report.registry.ledger_key == ledger_public  # §11.2, from the log itself
    assert report.registry.origin == f"sunledger.invalid/{key_id(ledger_public)[:16]}"

    events = [json.loads(state) for *_, state in stored]
    for (position, originator_id, version, topic, state), event in zip(stored, events):
        assert jcs(event) == state  # §7 stored bytes
        assert event["hash"] == event_hash(event)
        assert originator_id == stream_id(event["stream"]) and version == event["version"]
        assert topic == event["type"]
    # §11.2: the first event is the self-signed start
    first = events[0]
    assert stored[0][0] == 1 and first["type"] == "ledger.started/v1"
    assert first["actor"] == "ledger" and first["version"] == 1 and first["prev"] == ZERO_HASH
    assert first["key_id"] == first["nonce"] == key_id(ledger_public)
    assert first["payload"]["public_key"] == base64.b64encode(ledger_public).decode()
    # §6: nonces are unique per actor, and are what the nonces table holds
    pairs = [(e["actor"], e["nonce"]) for e in events]
    assert len(set(pairs)) == len(pairs)
    assert sorted(rows.nonces()) == sorted(pairs)
    # §7: one append shares one ledger time (the registration with its key was one append)
    rotator = [e for e in events if e["stream"] == f"actor:{ROTATOR}"]
    assert rotator[0]["ledger_time"] == rotator[1]["ledger_time"]
    # §11.4: the rotated key was judged as it stood, and the revoked key is revoked
    keys = report.registry.actors[ROTATOR].keys
    a, b, c = (key_id(bytes(nacl.signing.SigningKey(actor_seed(x)).verify_key)) for x in "abc")
    assert keys[a].revoked is not None and keys[b].revoked is None and keys[c].revoked
    signers = [e["key_id"] for e in events if e["stream"] == ROTATING_PROJECT]
    assert signers == [a, b, b]


def test_sqlite_positions_are_rowids_without_gaps(store):
    rows, _ = store
    assert [r[0] for r in rows.rows()] == list(range(1, len(rows.rows()) + 1))


def test_bundle_holds_the_same_rows_and_checks_out(store, tmp_path):
    rows, ledger_seed = store
    from ledger.audit.bundle import export_bundle  # creating the bundle only
    from ledger.stores.url import parse_store_url

    out = tmp_path / "bundle.zip"
    export_bundle(parse_store_url(f"sqlite:{rows.path}"), out)

    with zipfile.ZipFile(out) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
        times = {info.date_time for info in zf.infolist()}
    assert times == {(2020, 1, 1, 0, 0, 0)}
    manifest = json.loads(members["manifest.json"])
    assert members["manifest.json"] == (json.dumps(manifest, indent=2, ensure_ascii=False,
                                                   sort_keys=True) + "\n").encode()
    ledger_public = bytes(nacl.signing.SigningKey(ledger_seed).verify_key)
    assert manifest["format"] == "sunledger-bundle/v1"
    assert manifest["ledger_public_key"] == base64.b64encode(ledger_public).decode()
    assert manifest["ledger_key_id"] == key_id(ledger_public)
    assert set(manifest["members"]) == set(members) - {"manifest.json"}
    for name, digest in manifest["members"].items():
        assert hashlib.sha256(members[name]).hexdigest() == digest, name

    bundle_rows, bundle_receipts = [], []
    for line in members["events.jsonl"].decode("utf-8").splitlines(keepends=True):
        assert line.endswith("\n")
        item = json.loads(line)
        assert line.encode() == (json.dumps(item, ensure_ascii=False, separators=(",", ":"),
                                            sort_keys=True) + "\n").encode()
        if item["receipt"] is not None:
            r = item["receipt"]
            bundle_receipts.append((r["position"], r["stream"], r["version"], r["event_hash"],
                                    r["ledger_time"], r["signature"]))
        state = item["state"].encode("utf-8")
        bundle_rows.append((item["position"], item["stream_id"], item["version"], item["type"],
                            state))
    assert bundle_rows == rows.rows()
    assert bundle_receipts == rows.receipts()
    assert manifest["events"] == manifest["receipts"] == len(bundle_rows)
    report = verify_log(bundle_rows, bundle_receipts)
    assert report.findings == [] and report.signatures == len(bundle_rows)
    pem = members["ledger-key.pem"].decode()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    assert der[-32:] == ledger_public  # SubjectPublicKeyInfo ends with the raw key
    registry = json.loads(members["registry.json"])
    assert ROTATOR in registry["actors"] and "ledger" not in registry["actors"]


# --- tampering: the independent verifier must find each change -------------------------------

def _set_state(rows: SQLiteRows, position: int, state: bytes) -> None:
    rows.execute("UPDATE sunledger_events SET state=? WHERE rowid=?", (state, position))


def _append_forged(rows: SQLiteRows, ledger_seed: bytes, signer_seed: bytes, key: str,
                   *, ledger_time: str = "2025-12-01T05:00:00.000000Z",
                   stream: str = ROTATING_PROJECT, type_: str = "project.score-submitted/v1",
                   payload: dict | None = None, actor: str = ROTATOR) -> int:
    """Append a correctly sealed, linked and receipted event behind the ledger's back."""
    version = rows.last_version(stream) or 0
    prev = rows.event(stream, version)[1]["hash"] if version else ZERO_HASH
    action = {"actor": actor,
              "expected_version": None if type_ in NO_VERSION_TYPES else version, "key_id": key,
              "nonce": hashlib.sha256(ledger_time.encode() + key.encode()).hexdigest()[:32],
              "payload": payload or {"bidder": actor, "score": 99},
              "signed_at": ledger_time, "stream": stream, "type": type_}
    event = seal_event(action, signer_seed, ledger_time=ledger_time, prev=prev,
                       version=version + 1)
    position = rows.execute("INSERT INTO sunledger_events (originator_id, originator_version, "
                            "topic, state) VALUES (?,?,?,?)",
                            (stream_id(stream), event["version"], event["type"], jcs(event)))
    rows.execute("INSERT INTO sunledger_receipts VALUES (?,?,?,?,?,?)",
                 (position, stream, event["version"], event["hash"], event["ledger_time"],
                  sign_receipt(ledger_seed, position, event)))
    return position


def _key(label: str) -> str:
    return key_id(bytes(nacl.signing.SigningKey(actor_seed(label)).verify_key))


def test_forgeries_with_correct_receipts_are_the_only_findings(store):
    """Control: a forged event signed with a usable key verifies (the forger held the keys)."""
    rows, ledger_seed = store
    _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"))
    assert _report(rows).findings == []


def test_payload_byte_changed(store):
    rows, _ = store
    position, event = rows.event(ROTATING_PROJECT, 3)
    state = rows.query("SELECT state FROM sunledger_events WHERE rowid=?", (position,))[0][0]
    _set_state(rows, position, state.replace(b"2025-03-12T09:00:00.000000Z",
                                             b"2025-03-12T09:00:00.000001Z"))
    report = _report(rows)
    # the hash no longer recomputes, and the actor never signed this payload (§14.1, §14.3)
    assert {(k, p) for k, p, *_ in report.findings} == {("content_altered", position),
                                                        ("bad_signature", position)}


def test_payload_changed_and_rehashed(store):
    rows, _ = store
    position, event = rows.event(ROTATING_PROJECT, 1)
    event["payload"]["title"] = "改过的标题"
    event["hash"] = event_hash(event)
    _set_state(rows, position, jcs(event))
    report = _report(rows)
    assert {"bad_signature", "content_altered", "link_broken"} == report.kinds
    assert ("bad_signature", position) in {(k, p) for k, p, *_ in report.findings}


def test_stored_bytes_not_canonical(store):
    rows, _ = store
    position, event = rows.event(ROTATING_PROJECT, 1)
    _set_state(rows, position, json.dumps(event, ensure_ascii=True, sort_keys=True).encode())
    assert _report(rows).kinds == {"content_altered"}


def test_topic_changed(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 1)
    rows.execute("UPDATE sunledger_events SET topic='project.opened/v1' WHERE rowid=?",
                 (position,))
    assert _report(rows).kinds == {"content_altered"}


def test_event_deleted(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 2)
    rows.execute("DELETE FROM sunledger_events WHERE rowid=?", (position,))
    findings = {(k, p) for k, p, *_ in _report(rows).findings}
    assert ("missing_event", position) in findings  # its receipt remains
    assert {k for k, _ in findings} == {"missing_event"}


def test_event_and_its_receipt_deleted(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 2)
    rows.execute("DELETE FROM sunledger_events WHERE rowid=?", (position,))
    rows.execute("DELETE FROM sunledger_receipts WHERE position=?", (position,))
    assert _report(rows).kinds == {"missing_event"}  # the gap in the stream's versions


def test_event_copied_to_another_version(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 3)
    rows.execute("UPDATE sunledger_events SET originator_version=9 WHERE rowid=?", (position,))
    assert "duplicate" in _report(rows).kinds


def test_two_events_of_a_stream_swapped(store):
    rows, _ = store
    p2, e2 = rows.event(ROTATING_PROJECT, 2)
    p3, e3 = rows.event(ROTATING_PROJECT, 3)
    rows.execute("UPDATE sunledger_events SET originator_version=-1 WHERE rowid=?", (p2,))
    rows.execute("UPDATE sunledger_events SET originator_version=2 WHERE rowid=?", (p3,))
    rows.execute("UPDATE sunledger_events SET originator_version=3 WHERE rowid=?", (p2,))
    _set_state(rows, p2, jcs(e3))
    _set_state(rows, p3, jcs(e2))
    rows.execute("UPDATE sunledger_events SET topic=? WHERE rowid=?", (e3["type"], p2))
    rows.execute("UPDATE sunledger_events SET topic=? WHERE rowid=?", (e2["type"], p3))
    assert "out_of_order" in _report(rows).kinds


def test_prev_changed_and_everything_resigned(store):
    rows, ledger_seed = store
    position, event = rows.event(ROTATING_PROJECT, 2)
    event["prev"] = "11" * 32
    event["hash"] = event_hash(event)
    _set_state(rows, position, jcs(event))
    rows.execute("UPDATE sunledger_receipts SET event_hash=?, signature=? WHERE position=?",
                 (event["hash"], sign_receipt(ledger_seed, position, event), position))
    report = _report(rows)
    assert report.kinds == {"link_broken"}
    assert {p for _, p, *_ in report.findings} == {position, rows.event(ROTATING_PROJECT, 3)[0]}


def test_receipt_signature_forged(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 1)
    signature = rows.query("SELECT signature FROM sunledger_receipts WHERE position=?",
                           (position,))[0][0]
    forged = base64.b64encode(bytes(64 - 1) + b"\x01").decode()
    assert forged != signature
    rows.execute("UPDATE sunledger_receipts SET signature=? WHERE position=?", (forged, position))
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("bad_receipt", position)}


def test_receipt_for_another_event(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 1)
    rows.execute("UPDATE sunledger_receipts SET version=7 WHERE position=?", (position,))
    assert {"out_of_order", "bad_receipt"} == _report(rows).kinds


def test_forged_event_signed_with_a_rotated_key(store):
    rows, ledger_seed = store
    position = _append_forged(rows, ledger_seed, actor_seed("a"), _key("a"))
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("key_revoked", position)}


def test_forged_event_signed_with_a_revoked_key(store):
    rows, ledger_seed = store
    position = _append_forged(rows, ledger_seed, actor_seed("c"), _key("c"))
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("key_revoked", position)}


def test_forged_event_signed_after_the_key_expired(store):
    rows, ledger_seed = store
    position = _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"),
                              ledger_time="2026-06-01T00:00:00.000000Z")
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("key_not_valid", position)}


def test_an_event_backdated_by_an_insider_is_time_reversed(store):
    """§8, §14.3 step 7a: an insider holding every key appends an event dated back into the
    bidding period (its key valid then): only its ledger time gives it away, to both
    verifiers, at that row alone (the row after it is not blamed)."""
    from ledger.audit.verify import StoreSource, verify

    rows, ledger_seed = store
    last = rows.receipts()[-1][4]
    backdated = _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"),
                               ledger_time="2025-03-10T02:00:00.000000Z")
    after = _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"),
                           ledger_time="2025-12-01T05:00:01.000000Z")
    assert "2025-03-10T02:00:00.000000Z" < last < "2025-12-01T05:00:01.000000Z"
    expected = {("time_reversed", backdated)}
    assert {(k, p) for k, p, *_ in _report(rows).findings} == expected
    reference = verify(StoreSource(f"sqlite:{rows.path}"), workers=1)
    assert {(f.kind, f.position) for f in reference.findings if f.stream != "log"} == expected
    assert after not in {f.position for f in reference.findings}


def test_forged_event_signed_with_an_unregistered_key(store):
    rows, ledger_seed = store
    position = _append_forged(rows, ledger_seed, actor_seed("z"), _key("z"))
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("unknown_key", position)}


def test_forged_registration_by_a_non_registrar(store):
    rows, ledger_seed = store
    stream = f"actor:{ROTATOR}"
    position = _append_forged(
        rows, ledger_seed, actor_seed("b"), _key("b"), stream=stream,
        type_="actor.key-added/v1",
        payload={"key_id": _key("z"), "public_key": public_b64(actor_seed("z"))})
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("not_permitted", position)}
    # the key it tried to add is not usable afterwards
    later = _append_forged(rows, ledger_seed, actor_seed("z"), _key("z"),
                           ledger_time="2025-12-01T05:00:01.000000Z")
    assert ("unknown_key", later) in {(k, p) for k, p, *_ in _report(rows).findings}


def test_a_project_step_signed_for_another_party_or_without_its_role(store):
    """§10.1, §14.3 step 4b: the rotator (a tenderee and operator) takes in a project for
    another tenderee, and withdraws a bid it is not a bidder for: both not_permitted, found
    by both verifiers."""
    from ledger.audit.verify import StoreSource, verify

    rows, ledger_seed = store
    other = _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"),
                           stream="project:EF-FORGED-0001", type_="project.intake/v1",
                           payload={"title": "代他人登记", "category": "construction",
                                    "tenderee": "tenderee-somebody-else"})
    no_role = _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"),
                             ledger_time="2025-12-01T05:00:01.000000Z",
                             type_="project.bid-withdrawn/v1", payload={"bidder": ROTATOR})
    expected = {("not_permitted", other), ("not_permitted", no_role)}
    assert {(k, p) for k, p, *_ in _report(rows).findings} == expected
    reference = verify(StoreSource(f"sqlite:{rows.path}"), workers=1)
    # (the forged rows have no leaves: the reference also reports the store's own tree)
    assert {(f.kind, f.position) for f in reference.findings if f.stream != "log"} == expected


def test_a_refusal_signed_by_anyone_but_the_ledger(store):
    """§10.1: a refusal.recorded/v1 signed by an actor (not the ledger) is not_permitted,
    for both verifiers."""
    from ledger.audit.verify import StoreSource, verify

    rows, ledger_seed = store
    action = {"actor": ROTATOR, "expected_version": 0, "key_id": _key("b"), "nonce": "0" * 32,
              "payload": {}, "signed_at": "2025-03-03T05:00:00.000000Z",
              "stream": ROTATING_PROJECT, "type": "project.intake-accepted/v1"}
    position = _append_forged(rows, ledger_seed, actor_seed("b"), _key("b"),
                              stream="refusal:EF-TEST-0001", type_="refusal.recorded/v1",
                              payload={"action": action, "signature": "AAAA", "rule": "late-bid",
                                       "article": "法 §28", "message": "a refusal it made up"})
    assert {(k, p) for k, p, *_ in _report(rows).findings} == {("not_permitted", position)}
    reference = verify(StoreSource(f"sqlite:{rows.path}"), workers=1)
    assert {(f.kind, f.position) for f in reference.findings
            if f.stream != "log"} == {("not_permitted", position)}


SIM_BIDDER = "sim3-bidder-0000"  # a bidder of the simulation in the store (seed 3)


@pytest.mark.parametrize("type_, payload", [
    ("project.security-refunded/v1", {"bidder": SIM_BIDDER, "amount": "100000.00"}),
    ("project.report-issued/v1", {"kind": "full", "report_id": "EF-FORGED-1", "last_version": 3,
                                  "pdf_hash": "a" * 64, "evidence_hash": "b" * 64}),
])
def test_a_refund_or_a_report_issue_signed_by_a_bidder(store, type_, payload):
    """§10.1: the ledger or the platform refunds a security and issues a report; a bidder
    signing either (for itself, with its own valid key) is not_permitted, for both."""
    rows, ledger_seed = store
    seed = hashlib.sha256(b"sunledger-simulation/3\x00" + SIM_BIDDER.encode()).digest()
    bidder_key = key_id(bytes(nacl.signing.SigningKey(seed).verify_key))
    position = _append_forged(rows, ledger_seed, seed, bidder_key, type_=type_,
                              payload=payload, actor=SIM_BIDDER)
    assert _both(rows) == {("not_permitted", position)}


def test_undecodable_row(store):
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 3)
    _set_state(rows, position, b'{"price": 987654.32}')
    assert {(k, p) for k, p, *_ in _report(rows).findings if k == "undecodable_row"} == {
        ("undecodable_row", position)}


def test_ledger_start_altered(store):
    rows, _ = store
    _, event = rows.event("ledger", 1)
    event["payload"]["origin"] = "somewhere.else/sunledger"
    _set_state(rows, 1, jcs(event))
    report = _report(rows)
    assert "no_ledger_key" in report.kinds and report.registry.ledger_key is None
    assert ("no_ledger_key", None) in _both(rows)  # the reference agrees, and does not crash


def _both(rows) -> set[tuple[str, int | None]]:
    """The (kind, position) findings of rows, which this file's verifier and the reference
    verifier must agree on (the reference's log findings aside: this one has no log)."""
    from ledger.audit.verify import StoreSource, verify

    ours = {(k, p) for k, p, *_ in _report(rows).findings}
    reference = verify(StoreSource(f"sqlite:{rows.path}"), workers=1)
    assert {(f.kind, f.position) for f in reference.findings if f.stream != "log"} == ours
    return ours


@pytest.mark.parametrize("change", [
    (b'"type":', b'"version":0,"type":'),  # a second `version`, its value resolving nothing
    (b'"type":', b'"payload":{},"type":'),  # a second, empty payload
])
def test_an_envelope_that_repeats_a_member_is_undecodable(store, change):
    """§2.1, §14.1 step 1: a repeated member name in the envelope, not only the payload,
    makes the row undecodable, for both verifiers: no parser's choice decides the event."""
    rows, _ = store
    position, _ = rows.event(ROTATING_PROJECT, 3)
    state = bytes(rows.query("SELECT state FROM sunledger_events WHERE rowid=?", (position,))[0][0])
    _set_state(rows, position, state.replace(*change, 1))
    found = _both(rows)
    assert ("undecodable_row", position) in found
    assert not {p for k, p in found if k == "content_altered"} & {position}


def test_an_envelope_integer_beyond_the_safe_range_is_undecodable(store):
    rows, _ = store
    position, event = rows.event(ROTATING_PROJECT, 3)
    state = bytes(rows.query("SELECT state FROM sunledger_events WHERE rowid=?", (position,))[0][0])
    _set_state(rows, position, state.replace(b'"version":3', b'"version":9007199254740995'))
    assert ("undecodable_row", position) in _both(rows)


@pytest.mark.parametrize("member", ["nonce", "key_id", "actor"])
def test_a_start_event_that_is_not_self_signed_as_section_11_2_says(store, member):
    """§11.2, §14.2: the start re-signed with the ledger key by an insider, but with another
    nonce, key id or actor: not the ledger's start (not_permitted), so no ledger key."""
    rows, ledger_seed = store
    _, event = rows.event("ledger", 1)
    action = signed_action(event)
    action[member] = {"nonce": "ab" * 16, "key_id": "0" * 32, "actor": "registrar-0001"}[member]
    forged = seal_event(action, ledger_seed, ledger_time=event["ledger_time"], prev=ZERO_HASH)
    _set_state(rows, 1, jcs(forged))
    rows.execute("UPDATE sunledger_receipts SET event_hash=?, signature=? WHERE position=1",
                 (forged["hash"], sign_receipt(ledger_seed, 1, forged)))
    found = _both(rows)
    assert ("not_permitted", 1) in found and ("no_ledger_key", None) in found


def test_pinned_ledger_key_id(store):
    rows, ledger_seed = store
    right = key_id(bytes(nacl.signing.SigningKey(ledger_seed).verify_key))
    assert verify_log(rows.rows(), rows.receipts(), ledger_key_id=right).findings == []
    assert "no_ledger_key" in verify_log(rows.rows(), rows.receipts(),
                                         ledger_key_id="0" * 32).kinds


# =============================================================================================
# The worked examples (§16)
# =============================================================================================

def doc_examples() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"<!-- example: ([\w-]+) -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    blocks = dict(found)
    assert len(blocks) == len(found), "example names repeat"
    return blocks


def test_worked_examples_are_what_the_code_produces():
    """The document's examples are exactly what docs/examples/make_examples.py prints now."""
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "examples" / "make_examples.py"),
                           "--check"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout


def test_worked_examples_check_out_independently():
    ex = doc_examples()
    # §16.1: the canonical encoding is RFC 8785, and on this subset sorted compact JSON
    value = parse_ledger_json(ex["canonical-input"].encode())
    assert jcs(value).decode() == ex["canonical-output"]
    assert json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True) == ex["canonical-output"]
    assert hashlib.sha256(ex["canonical-output"].encode()).hexdigest() == \
        ex["canonical-output-sha256"]
    # §16.2 keys, §16.3 stream ids
    bidder_public = base64.b64decode(ex["bidder-public-key"], validate=True)
    assert len(bidder_public) == 32 and key_id(bidder_public) == ex["bidder-key-id"]
    seed = hashlib.sha256(b"evidence-format-example\x00bidder-0001").digest()
    assert bytes(nacl.signing.SigningKey(seed).verify_key) == bidder_public
    assert ex["stream-namespace"] == str(STREAM_NAMESPACE) == \
        "0e8e04f6-f062-5fa1-9b75-0265ed09ad3f"
    assert ex["project-stream-uuid"] == str(uuid.uuid5(STREAM_NAMESPACE, "project:GC2025-0001"))

    # §16.4: the ledger's start is self-signed; the ledger key comes from it
    started = parse_ledger_json(ex["ledger-started-stored"].encode())
    assert jcs(started).decode() == ex["ledger-started-stored"]
    ledger_public = base64.b64decode(started["payload"]["public_key"])
    assert Registry(ledger_key=ledger_public).judge(started, 1) is None
    assert started["nonce"] == started["key_id"] == key_id(ledger_public)
    assert started["hash"] == event_hash(started) and started["prev"] == ZERO_HASH

    key_added = parse_ledger_json(ex["bidder-key-added-stored"].encode())
    assert key_added["payload"] == {"key_id": ex["bidder-key-id"],
                                    "public_key": ex["bidder-public-key"]}
    assert key_added["hash"] == event_hash(key_added)
    assert signature_ok(ledger_public, jcs(signed_action(key_added)), key_added["signature"])

    intake = parse_ledger_json(ex["intake-stored"].encode())
    assert jcs(intake).decode() == ex["intake-stored"]
    assert intake["version"] == 1 and intake["prev"] == ZERO_HASH
    assert event_hash(intake) == intake["hash"] == ex["intake-hash"]

    # §16.5: the bid, step by step
    action = parse_ledger_json(ex["bid-action"].encode())
    assert set(action) == {"actor", "expected_version", "key_id", "nonce", "payload",
                           "signed_at", "stream", "type"}
    assert jcs(action).decode() == ex["bid-action"]
    assert action["key_id"] == ex["bidder-key-id"]
    assert signature_ok(bidder_public, ex["bid-action"].encode(), ex["bid-signature"])
    without_hash = ex["bid-event-without-hash"].encode()
    assert hashlib.sha256(without_hash).hexdigest() == ex["bid-hash"]
    stored = parse_ledger_json(ex["bid-stored"].encode())
    assert set(stored) == EVENT_MEMBERS
    assert jcs(stored).decode() == ex["bid-stored"]
    assert jcs({k: v for k, v in stored.items() if k != "hash"}) == without_hash
    assert stored["hash"] == ex["bid-hash"] and stored["signature"] == ex["bid-signature"]
    documents = parse_ledger_json(ex["documents-stored"].encode())
    assert documents["version"] == 4 and documents["hash"] == event_hash(documents)
    assert action["expected_version"] is None and stored["version"] == 5  # placed at the head
    assert stored["prev"] == documents["hash"]
    assert jcs(signed_action(stored)).decode() == ex["bid-action"]
    body = parse_ledger_json(ex["bid-receipt-body"].encode())
    assert body == receipt_body(12, stored["stream"], stored["version"], stored["hash"],
                                stored["ledger_time"])
    assert jcs(body).decode() == ex["bid-receipt-body"]
    assert signature_ok(ledger_public, ex["bid-receipt-body"].encode(),
                        ex["bid-receipt-signature"])
    # §9.1: the sealed receipt is the receipt without its version, under its own constant
    sealed = parse_ledger_json(ex["bid-sealed-receipt-body"].encode())
    assert sealed == {**{k: v for k, v in body.items() if k != "version"},
                      "receipt": "sunledger/sealed-receipt/v1"}
    assert jcs(sealed).decode() == ex["bid-sealed-receipt-body"]
    assert signature_ok(ledger_public, ex["bid-sealed-receipt-body"].encode(),
                        ex["bid-sealed-receipt-signature"])
    assert not signature_ok(ledger_public, ex["bid-receipt-body"].encode(),
                            ex["bid-sealed-receipt-signature"])

    # §16.6: the bundle
    manifest = json.loads(ex["bundle-manifest"])
    assert manifest["format"] == "sunledger-bundle/v1"
    assert manifest["ledger_public_key"] == started["payload"]["public_key"]
    assert manifest["ledger_key_id"] == key_id(ledger_public)
    assert manifest["origin"] == started["payload"]["origin"]
    line = json.loads(ex["bundle-events-line"])
    assert line["state"].encode("utf-8") == ex["bid-stored"].encode("utf-8")
    assert line["stream_id"] == stream_id("project:GC2025-0001") and line["position"] == 12
    receipt = line["receipt"]
    assert {**{k: v for k, v in receipt.items() if k != "signature"},
            "receipt": RECEIPT_FORMAT} == body
    assert receipt["signature"] == ex["bid-receipt-signature"]
    registry = json.loads(ex["bundle-registry"])
    assert registry["actors"]["bidder-0001"]["keys"][0]["public_key"] == ex["bidder-public-key"]


def test_document_names_every_finding_kind_and_table():
    """§12, §14.5 and §15.1 list what the code has: every finding constant, every table."""
    text = DOC.read_text(encoding="utf-8")
    source = "".join((ROOT / "ledger" / "audit" / name).read_text(encoding="utf-8")
                     for name in ("verify.py", "log_check.py"))
    kinds = dict(re.findall(r'^([A-Z_]+) = "([a-z_]+)"$', source, re.M))
    assert len(kinds) >= 13
    for constant, kind in kinds.items():
        assert f"| `{kind}` | `{constant}`" in text, kind
    store = (ROOT / "ledger" / "stores" / "tables.py").read_text(encoding="utf-8")
    tables = re.findall(r'^(?:EVENTS|RECEIPTS|NONCES|LEAVES|TREE|CHECKPOINTS|COSIGNATURES|'
                        r'HEADS_MAP) = "(\w+)"', store, re.M)
    assert len(tables) == 8
    for table in tables:
        assert f"`{table}`" in text, table


# --- the Merkle log examples (§15–§18, §21.7–§21.8), checked with code written from the text --

def _rfc9162_inclusion_root(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, step by step."""
    def node(a, b):
        return hashlib.sha256(b"\x01" + a + b).digest()
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r


def _rfc9162_consistent(m: int, n: int, old: bytes, new: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step."""
    def node(a, b):
        return hashlib.sha256(b"\x01" + a + b).digest()
    if m & (m - 1) == 0:
        proof = [old] + proof
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old and sr == new


def _note_parts(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    text, _, sigs = note.rpartition("\n\n")
    lines = [line[2:].split(" ", 1) for line in sigs.split("\n") if line]
    return text + "\n", [(name, base64.b64decode(b64)) for name, b64 in lines]


def doc_log_rows() -> list[str]:
    """The rows of the example log's table (§21.4)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### 21.4 The example log"):text.index("#### Position 1:")]
    return re.findall(r"^\| (\d+) \| `", section, re.M)


def test_log_examples_check_out_independently():
    ex = doc_examples()
    started = parse_ledger_json(ex["ledger-started-stored"].encode())
    origin = started["payload"]["origin"]
    ledger_public = base64.b64decode(started["payload"]["public_key"])
    # §16.1: the verifier key
    key_hash = hashlib.sha256(origin.encode() + b"\n\x01" + ledger_public).digest()[:4]
    encoded_key = base64.b64encode(b"\x01" + ledger_public).decode()
    assert ex["log-verifier-key"] == f"{origin}+{key_hash.hex()}+{encoded_key}"
    # §16.1–16.2: the checkpoint and its signatures
    text, signatures = _note_parts(ex["checkpoint-cosigned"] + "\n")
    origin_line, size, root_b64 = text.split("\n")[:3]
    assert origin_line == origin and size == str(len(doc_log_rows()))
    root = base64.b64decode(root_b64)
    (log_name, log_sig), (witness_name, cosig) = signatures
    assert log_name == origin and log_sig[:4] == key_hash
    nacl.signing.VerifyKey(ledger_public).verify(text.encode(), log_sig[4:])
    # §18: the cosignature
    name, hash_hex, raw = ex["witness-verifier-key"].split("+", 2)
    witness_public = base64.b64decode(raw)[1:]
    assert base64.b64decode(raw)[0] == 4 and name == witness_name
    assert cosig[:4].hex() == hash_hex == \
        hashlib.sha256(name.encode() + b"\n\x04" + witness_public).digest()[:4].hex()
    stamp = int.from_bytes(cosig[4:12], "big")
    nacl.signing.VerifyKey(witness_public).verify(
        f"cosignature/v1\ntime {stamp}\n{text}".encode(), cosig[12:])
    # §17.1: inclusion of the bid, whose hash is that of §21.5
    proof = json.loads(ex["inclusion-proof"])
    assert proof["event_hash"] == ex["bid-hash"]
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(ex["bid-hash"])).digest()
    assert leaf.hex() == ex["bid-leaf-hash"] and base64.b64decode(proof["leaf_hash"]) == leaf
    path = [base64.b64decode(h) for h in proof["hashes"]]
    n = int(size)
    assert _rfc9162_inclusion_root(proof["leaf_index"], n, leaf, path) == root
    # §17.2: consistency 4 → 7
    consistency = json.loads(ex["consistency-proof"])
    assert _rfc9162_consistent(4, n, base64.b64decode(ex["root-of-4"]), root,
                               [base64.b64decode(h) for h in consistency["hashes"]])
    # §17.3: the tlog-proof carries the same path and the checkpoint verbatim
    head, _, note = ex["tlog-proof"].partition("\n\n")
    assert head.split("\n") == ["c2sp.org/tlog-proof@v1", f"index {proof['leaf_index']}",
                                *proof["hashes"]]
    assert note == ex["checkpoint-cosigned"]
    # §17.4: the heads statement is signed for this checkpoint, and the bid is its stream's
    # head (the intake is version 1, the bid version 2)
    heads = json.loads(ex["heads-statement"])
    statement = heads["statement"]
    assert statement["tree_root"] == root_b64 and statement["tree_size"] == n
    assert statement["origin"] == origin and statement["format"] == "sunledger/heads/v1"
    nacl.signing.VerifyKey(ledger_public).verify(jcs(statement),
                                                 base64.b64decode(heads["signature"]))
    rest = json.loads(ex["completeness-proof-rest"])
    key = hashlib.sha256(rest["stream"].encode()).digest()
    h = hashlib.sha256(b"\x00" + key + bytes.fromhex(ex["bid-hash"])).digest()
    siblings = [base64.b64decode(s) for s in rest["head_siblings"]]
    for depth in reversed(range(len(siblings))):
        bit = int.from_bytes(key, "big") >> (255 - depth) & 1
        pair = (siblings[depth], h) if bit else (h, siblings[depth])
        h = hashlib.sha256(b"\x01" + pair[0] + pair[1]).digest()
    assert base64.b64encode(h).decode() == statement["heads_root"]


def test_document_lists_every_event_type_with_its_fields():
    """§10 lists what the catalogue admits: every type, every field."""
    from ledger.evidence.catalogue import EVENT_TYPES

    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 10. Event types"):text.index("## 11. The key registry")]
    for name, kind in EVENT_TYPES.items():
        line = next((ln for ln in section.splitlines() if ln.startswith(f"| `{name}`")), None)
        assert line is not None, name
        for field_name in kind.fields:
            assert f"`{field_name}`" in line, (name, field_name)


def test_document_lists_the_sealed_stage_types():
    """§6's table of sealed-stage types is the envelope's, and the one this verifier uses."""
    from ledger.evidence.envelope import SEALED_STAGE_TYPES

    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 6. The action"):text.index("## 7. The event envelope")]
    listed = set(re.findall(r"^\| `(project\.[a-z-]+/v\d+)` \|", section, re.M))
    assert listed == set(SEALED_STAGE_TYPES) == NO_VERSION_TYPES


def test_document_states_who_may_sign_every_project_step():
    """§10.1 is the authority table itself: every project type of the catalogue, with the
    same roles and bindings, and nothing else."""
    from ledger.evidence.catalogue import EVENT_TYPES
    from ledger.procedures.authority import AUTHORITY

    judged = {name for name, kind in EVENT_TYPES.items()
              if kind.stream_kind in ("project", "refusal", "register")}
    assert set(AUTHORITY) == judged
    assert SIGNERS == {name: dict(a.roles) for name, a in AUTHORITY.items()}


def test_document_states_who_may_record_every_registry_event():
    """§11.3's "who may record it" column is the registry's signer table, and the two tables
    (§10.1 and §11.3) together name the signers of every type of the catalogue."""
    from ledger.evidence.catalogue import EVENT_TYPES, REGISTRY_TYPES
    from ledger.evidence.registry import REGISTRY_SIGNERS

    words = {"the ledger itself": ("ledger",),  # the longer wording first: it starts alike
             "a registrar, **or the actor itself**": ("registrar", "own actor"),
             "a registrar": ("registrar",)}
    section = DOC.read_text(encoding="utf-8").split("### 11.3")[1].split("### 11.4")[0]
    stated = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if cells and re.fullmatch(r"`[a-z]+\.[a-z-]+/v\d+`", cells[0]):
            stated[cells[0].strip("`")] = next(v for k, v in words.items()
                                                if cells[1].startswith(k))
    assert stated == REGISTRY_SIGNERS
    assert set(REGISTRY_SIGNERS) == REGISTRY_TYPES
    assert set(EVENT_TYPES) == REGISTRY_TYPES | {n for n, k in EVENT_TYPES.items()
                                                 if k.stream_kind in ("project", "refusal",
                                                                      "register")}
