"""The verifier: re-derive everything a supervision body must be able to trust.

It reads the stored rows (from a store or a bundle) in global order and reports every
finding with the stream, version, global position and kind. It trusts nothing it reads:
hashes are recomputed, links followed, actor signatures checked against the key that was
valid at that point of the log, receipts checked against the ledger key.

Two passes. The first replays the key registry (few events, in order) so that every key's
history is known; the second checks all rows in parallel batches (the signatures dominate),
then sequences each stream's results in order in the main process (links, gaps, order).
"""

from __future__ import annotations

import base64
import binascii
import gc
import heapq
import itertools
import multiprocessing
import pickle
import signal
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Iterable, Iterator, Protocol, Sequence

import orjson
from nacl.exceptions import BadSignatureError

from ledger.errors import LedgerError
from ledger.evidence.canonical import (
    MAX_SAFE_INTEGER, canonical_json, is_ledger_json, parse_time, repeats_a_name,
)
from ledger.evidence.catalogue import EVENT_TYPES, REGISTRY_TYPES
from ledger.evidence.envelope import (
    EVENT_FIELDS, LEDGER_ACTOR, LEDGER_STREAM, STREAM, ZERO_HASH, action_bytes, decode_signature,
    hash_and_stored_bytes, stream_id_hex,
)
from ledger.evidence.keys import key_id, signature_ok, verify_key
from ledger.evidence.receipts import receipt_body, receipt_ok
from ledger.evidence.registry import (
    ActorRecord, TrustAnchors, apply_actor_event, apply_ledger_event, check_registry_change,
    ledger_actor, new_actor, start_problem, usable_key,
)
from ledger.log.checkpoints import log_verifier, open_checkpoint
from ledger.log.heads import SUBTREE_DEPTH, HeadsMap
from ledger.log.merkle import CompactTree
from ledger.procedures.authority import AUTHORITY, role_problem
from ledger.stores.tables import ReceiptRow, rows_of_type
from ledger.stores.url import StoreURL
from .log_check import StoredTreeCheck, TreeRebuild, check_log
from .trusted import TrustedCheckpoint, VerifierStateError

# Finding kinds: stable names, documented in docs/evidence-format.md ("Verification").
CONTENT_ALTERED = "content_altered"
LINK_BROKEN = "link_broken"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
KEY_REVOKED = "key_revoked"
KEY_NOT_VALID = "key_not_valid"
MISSING_EVENT = "missing_event"
DUPLICATE = "duplicate"
OUT_OF_ORDER = "out_of_order"
UNDECODABLE_ROW = "undecodable_row"
BAD_RECEIPT = "bad_receipt"
NOT_PERMITTED = "not_permitted"
MALFORMED_EVENT = "malformed_event"
NO_LEDGER_KEY = "no_ledger_key"
TIME_REVERSED = "time_reversed"

SMALL_LOG = 5_000  # events: below this, one process verifies faster than a pool
MAX_KEPT_FINDINGS = 10_000  # findings beyond this are counted, not kept (memory stays bounded)

Row = tuple  # (position, originator_id hex, version, topic, state bytes)


@dataclass(frozen=True)
class Finding:
    kind: str
    stream: str | None
    version: int | None
    position: int | None
    detail: str

    def __str__(self) -> str:
        where = self.stream or "?"
        if self.version is not None:
            where += f" v{self.version}"
        at = f"@{self.position}" if self.position is not None else ""
        return f"{self.kind:16} {where}{at}: {self.detail}"


@dataclass
class Verification:
    events: int = 0
    streams: int = 0
    receipts: int = 0
    # receipts whose signature was not verified: a verified checkpoint of this size covers
    # their events (§14.3 step 6); their contents were compared all the same
    receipts_covered: int = 0
    covered_by: int | None = None
    since: int | None = None  # the trusted checkpoint's size this run started after
    trusted: "TrustedCheckpoint | None" = None  # what to remember, after an intact run
    origin: str | None = None
    ledger_key_id: str | None = None
    tree_root: str | None = None  # base64 root of the tree rebuilt from all the events
    checkpoints: int = 0
    latest_checkpoint: int | None = None  # its tree size
    cosigned_by: list[str] = field(default_factory=list)  # witnesses of the latest checkpoint
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0

    @property
    def intact(self) -> bool:
        return self.findings_total == 0

    def add(self, finding: Finding) -> None:
        self.findings_total += 1
        if len(self.findings) < MAX_KEPT_FINDINGS:
            self.findings.append(finding)

    def to_json(self) -> dict:
        return {
            "intact": self.intact,
            "events": self.events,
            "streams": self.streams,
            "receipts": self.receipts,
            "receipts_covered": self.receipts_covered,
            "since": self.since,
            "covered_by": self.covered_by,
            "origin": self.origin,
            "ledger_key_id": self.ledger_key_id,
            "tree_root": self.tree_root,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "cosigned_by": self.cosigned_by,
            "findings_total": self.findings_total,
            "findings": [asdict(f) for f in self.findings],
        }


class Source(Protocol):
    """Where the rows come from: a store or a bundle. Jobs are small and picklable; a worker
    process turns one into rows and receipts with `load` (the source is pickled to it)."""

    def count(self) -> int: ...  # about how many rows (a progress bar's total)
    def registry_rows(self, after: int = 0) -> Iterable[Row]: ...  # after a position
    def jobs(self, after: int = 0) -> Iterator[object]: ...  # the rows after a position
    def load(self, job: object) -> tuple[list[Row], list[ReceiptRow]]: ...
    def detached(self) -> "Source": ...
    def checkpoints(self, least: int = 0) -> list[tuple[int, str, str]]: ...  # (size, note,
    #   signed heads) of sizes from `least`
    def stored_tree(self, checkpoints: int) -> StoredTreeCheck | None: ...  # if it has one
    def cosignatures(self) -> list[tuple[int, str, str]]: ...
    # what the source states about itself beside the rows, against what the rows gave
    def described_findings(self, history: "RegistryHistory",
                           report: "Verification") -> list["Finding"]: ...
    # the position of the row that is leaf size−1, as the source states it (None: unknown)
    def covered_position(self, size: int) -> int | None: ...


# --- the registry as it stood at each position ------------------------------------------------

@dataclass
class RegistryHistory:
    anchors: TrustAnchors = field(default_factory=TrustAnchors)
    actors: dict[str, ActorRecord] = field(default_factory=dict)
    positions: set[int] = field(default_factory=set)  # where the registry events stand
    # the rows applied, (position, stored text) in order: what a verifier state remembers
    # (bytes as read from the store, str as a state remembered them)
    applied: list[tuple[int, bytes | str]] = field(default_factory=list)

    def signer(self, actor: str) -> ActorRecord | None:
        if actor == LEDGER_ACTOR:
            return ledger_actor(self.anchors) if self.anchors.public_key else None
        return self.actors.get(actor)

    def apply(self, event: dict, position: int) -> None:
        stream = event["stream"]
        if stream == LEDGER_STREAM:
            apply_ledger_event(self.anchors, event)
        elif event["type"] == "actor.registered/v1":
            self.actors.setdefault(stream.split(":", 1)[1], new_actor(event))
        else:
            record = self.actors.get(stream.split(":", 1)[1])
            if record is not None:
                apply_actor_event(record, event, position)


def replay_registry(rows: Iterable[Row], pinned_ledger_key: bytes | None,
                    report: Verification, *, check_signatures: bool = True,
                    trusted: Iterable[tuple[int, bytes | str]] = ()) -> RegistryHistory:
    """Pass one: fold the registry events in global order, applying only those that verify
    and that the ledger's own registry rules admit (the same rules the write path applies).

    Without `check_signatures` their signatures are taken on trust here: pass two checks
    every signature anyway, and `verify` replays strictly if it finds fault with any
    registry event.

    `trusted`: rows an earlier intact run applied (a verifier state, evidence-format §14.7),
    applied first and as they are; `rows` are then the registry rows after them."""
    history = RegistryHistory()
    for position, state in trusted:
        try:
            history.apply(orjson.loads(state), position)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise VerifierStateError(f"the verifier state's registry event at position {position}"
                                     " is not one an intact run applied; remove the state to "
                                     "verify from the first event") from None
        history.applied.append((position, state))
    if pinned_ledger_key is not None and history.anchors.public_key is not None \
            and pinned_ledger_key != history.anchors.public_key:
        report.add(Finding(NO_LEDGER_KEY, LEDGER_STREAM, 1, None,
                           "the ledger was started with another key than the one given to the "
                           "verifier"))
    for row in rows:
        history.positions.add(row[0])
        event, at, problems = _decode(row)
        if event is None or problems or _rule_findings(event):
            continue  # pass two reports it
        position = row[0]
        if event["type"] == "ledger.started/v1":
            if history.anchors.public_key is not None:
                continue  # the first valid one is the anchor (§14.2)
            problem = start_problem(event)
            if problem is not None:
                report.add(Finding(NOT_PERMITTED, LEDGER_STREAM, event["version"], position,
                                   f"not the ledger's self-signed start: {problem}"))
                continue
            if pinned_ledger_key is not None and key_id(pinned_ledger_key) != event["key_id"]:
                report.add(Finding(NO_LEDGER_KEY, LEDGER_STREAM, 1, position,
                                   "the ledger was started with another key than the one "
                                   "given to the verifier"))
                continue
            candidate = RegistryHistory()
            candidate.apply(event, position)
            if not check_signatures or _signature_finding(candidate, event, position, at) is None:
                history.apply(event, position)
                history.applied.append((position, row[4]))
            continue
        if check_signatures and _signature_finding(history, event, position, at):
            continue  # pass two reports it
        signer = history.signer(event["actor"])
        if signer is None:
            continue  # not registered (or no ledger key): pass two reports unknown_key
        stream = event["stream"]
        current = history.actors.get(stream.split(":", 1)[1]) if stream != LEDGER_STREAM else None
        try:
            check_registry_change(signer, event["type"], stream,
                                  event["payload"], current, history.anchors, at)
        except LedgerError as error:
            report.add(Finding(NOT_PERMITTED, stream, event["version"], position,
                               f"the registry rules refuse this event: {error.message}"))
            continue
        history.apply(event, position)
        history.applied.append((position, row[4]))
    return history


def _rule_findings(event: dict) -> list[tuple[str, str]]:
    """What the ledger would have refused about an event's type and payload."""
    kind = EVENT_TYPES.get(event["type"])
    if kind is None:
        return [(MALFORMED_EVENT, f"{event['type']!r} is not a known event type")]
    if kind.stream_kind != event["stream"].split(":", 1)[0]:
        return [(MALFORMED_EVENT, f"{event['type']} does not belong in {event['stream']}")]
    if kind.starts_stream is not None and kind.starts_stream != (event["version"] == 1):
        return [(MALFORMED_EVENT, f"{event['type']} at version {event['version']}: a stream "
                                  "opens with its opening event, once")]
    return [(MALFORMED_EVENT, problem) for problem in kind.problems(event["payload"])]


# --- row-local checks (run in worker processes) -----------------------------------------------

def _decode(row: Row) -> tuple[dict | None, datetime | None, list[tuple[str, str]]]:
    """The envelope of a row, its ledger time, and what is wrong with it on its own."""
    position, originator_id, version, topic, state = row
    try:
        event = orjson.loads(state)
    except orjson.JSONDecodeError as error:
        if str(error).startswith("Not enough memory"):  # orjson's words: the machine's fault,
            raise MemoryError(str(error)) from None      # never a finding about the row
        return None, None, [(UNDECODABLE_ROW, f"state is not JSON text: {error}")]
    if type(event) is not dict or event.keys() != EVENT_FIELDS:
        return None, None, [(UNDECODABLE_ROW, "state is not an event envelope (members differ)")]
    if not (type(event["stream"]) is str and STREAM.fullmatch(event["stream"])
            and type(event["version"]) is int and type(event["payload"]) is dict
            # one chained comparison: every text member is a str
            and str is type(event["actor"]) is type(event["key_id"]) is type(event["nonce"])
            is type(event["signed_at"]) is type(event["ledger_time"]) is type(event["prev"])
            is type(event["signature"]) is type(event["type"]) is type(event["hash"])):
        return None, None, [(UNDECODABLE_ROW, "envelope members have the wrong types")]
    # ledger JSON all through: the payload, and the envelope's one integer and its texts
    # (its member names are the fixed ones); cheaper than judging the envelope as a value
    if not (is_ledger_json(event["payload"]) and -MAX_SAFE_INTEGER <= event["version"]
            <= MAX_SAFE_INTEGER and all(v.isascii() or is_ledger_json(v) for v in (
                event["actor"], event["stream"], event["type"], event["key_id"],
                event["nonce"], event["signed_at"], event["ledger_time"], event["prev"],
                event["signature"], event["hash"]))):
        return None, None, [(UNDECODABLE_ROW, "not ledger JSON (a float, an integer beyond "
                                              "±(2^53 − 1) or a member name outside the BMP)")]
    try:
        at = parse_time(event["ledger_time"])
    except ValueError:
        return None, None, [(UNDECODABLE_ROW, "ledger_time is not a ledger time")]
    problems = []
    recomputed, canonical = hash_and_stored_bytes(event)
    if canonical != state and repeats_a_name(state):  # canonical bytes cannot repeat one
        return None, None, [(UNDECODABLE_ROW, "an object repeats a member name")]
    if recomputed != event["hash"]:
        problems.append((CONTENT_ALTERED, f"hash recomputes to {recomputed}, stored {event['hash']}"))
    elif canonical != state:
        problems.append((CONTENT_ALTERED, "stored bytes are not the canonical encoding"))
    if topic != event["type"]:
        problems.append((CONTENT_ALTERED, f"row type {topic!r} differs from the event's "
                                          f"{event['type']!r}"))
    return event, at, problems


Check = tuple  # (public key, message, signature, the finding if it does not verify)


def _authority_findings(history: RegistryHistory, event: dict) -> list[tuple[str, str]]:
    """§10.1: a project event signed by an actor without one of its type's roles, or naming
    another party where the signer acts for itself."""
    authority = AUTHORITY.get(event["type"])
    signer = history.signer(event["actor"])
    if authority is None or signer is None:  # not a project step, or unknown_key says it
        return []
    problem = role_problem(authority, signer.roles, event["actor"], event["payload"])
    return [] if problem is None else [(NOT_PERMITTED, f"{event['type']}: {problem}")]


def _signature_check(history: RegistryHistory, event: dict, position: int,
                     at: datetime) -> tuple[tuple[str, str] | None, Check | None]:
    """The key question answered now, the signature left to verify: (finding, check)."""
    try:
        key = usable_key(history.signer(event["actor"]), event["actor"], event["key_id"], at,
                         position)
    except LedgerError as error:
        kind = {"unknown-actor": UNKNOWN_KEY, "unknown-key": UNKNOWN_KEY,
                "key-revoked": KEY_REVOKED, "key-not-valid": KEY_NOT_VALID}[error.code]
        return (kind, error.message), None
    try:
        signature = decode_signature(event["signature"])
    except ValueError as error:
        return (BAD_SIGNATURE, str(error)), None
    return None, (key.public_key, action_bytes(event), signature,
                  (BAD_SIGNATURE, f"the signature of {event['actor']} does not verify with "
                                  f"key {event['key_id']}"))


def _signature_finding(history: RegistryHistory, event: dict, position: int,
                       at: datetime) -> tuple[str, str] | None:
    finding, check = _signature_check(history, event, position, at)
    if check is not None and not signature_ok(*check[:3]):
        return check[3]
    return finding


def examine(row: Row, receipt: ReceiptRow | None, history: RegistryHistory,
            checks: list[tuple[int, Check]], index: int, covered: int = 0) -> tuple:
    """All checks of one row that need no other row, except the Ed25519 verifications,
    which are appended to `checks` (with `index`) for the caller to run together:
    (position, originator_id, row version, stream, version, prev, hash, findings,
    what to say if the row is misplaced, ledger time)."""
    position, originator_id, row_version = row[0], row[1], row[2]
    event, at, problems = _decode(row)
    findings = list(problems)
    if event is None:
        return (position, originator_id, row_version, None, None, None, None, findings, None,
                None)
    findings.extend(_rule_findings(event))
    finding, check = _signature_check(history, event, position, at)
    if finding is not None:
        findings.append(finding)
    if check is not None:
        checks.append((index, check))
    findings.extend(_authority_findings(history, event))
    sound = not findings  # so far: for telling a copied sound event from a changed one
    ledger_key = history.anchors.public_key
    if receipt is None:
        findings.append((BAD_RECEIPT, "no receipt for this position"))
    else:
        if (receipt.stream, receipt.version) != (event["stream"], event["version"]):
            findings.append((OUT_OF_ORDER, f"the receipt for this position is for "
                                           f"{receipt.stream} v{receipt.version}"))
        elif receipt.event_hash != event["hash"] or receipt.ledger_time != event["ledger_time"]:
            findings.append((CONTENT_ALTERED, "the receipt for this position names another "
                                              "hash or time"))
        if ledger_key is not None and position > covered:  # else a checkpoint vouches
            try:
                signature = decode_signature(receipt.signature)
            except ValueError:
                findings.append((BAD_RECEIPT, "the receipt's signature is not 64 bytes of base64"))
            else:
                body = canonical_json(receipt_body(receipt.event_hash, receipt.stream,
                                                   receipt.version, receipt.position,
                                                   receipt.ledger_time))
                checks.append((index, (ledger_key, body, signature, (
                    BAD_RECEIPT, "the receipt's signature does not verify with the ledger key"))))
    if stream_id_hex(event["stream"]) != originator_id or event["version"] != row_version:
        # not sequenced (no stream), but its stored hash is its leaf, as for every event
        return (position, originator_id, row_version, None, None, None, event["hash"], findings,
                (sound, f"event {event['stream']} v{event['version']} is stored as version "
                        f"{row_version} of another stream or place"), event["ledger_time"])
    return (position, originator_id, row_version, event["stream"], event["version"],
            event["prev"], event["hash"], findings, None, event["ledger_time"])


def examine_all(rows: list[Row], receipts: dict[int, ReceiptRow],
                history: RegistryHistory, covered: int = 0) -> list[tuple]:
    """Examine rows, then run their Ed25519 verifications in one tight loop (the primitive's
    code and tables stay in the processor's caches: about 15% faster than interleaved)."""
    checks: list[tuple[int, Check]] = []
    results = [examine(row, receipts.get(row[0]), history, checks, i, covered)
               for i, row in enumerate(rows)]
    for index, (public_key, message, signature, finding) in checks:
        try:
            verify_key(public_key).verify(message, signature)
        except (BadSignatureError, ValueError, TypeError):
            results[index][7].append(finding)
    for result in results:
        if result[8] is not None:  # misplaced: a sound event copied, or a changed one
            sound, detail = result[8]
            copied = sound and not any(kind == BAD_SIGNATURE for kind, _ in result[7])
            result[7].append((DUPLICATE if copied else CONTENT_ALTERED, detail))
    return results


_worker: tuple["Source", RegistryHistory, int] | None = None


def _init_worker(source: "Source | None", history: RegistryHistory | None,
                 covered: int = 0) -> None:
    global _worker
    _worker = (source, history, covered) if source is not None else None


def _check_job(job: object) -> tuple[list[tuple], list[Finding], int]:
    """In a worker: load one job's rows and receipts, and check all that needs no order."""
    assert _worker is not None
    source, history, covered = _worker
    rows, receipts = source.load(job)
    by_position = {r.position: r for r in receipts}
    present = {row[0] for row in rows}
    orphans = [_orphan_receipt(r, history) for r in receipts if r.position not in present]
    return examine_all(rows, by_position, history, covered), orphans, len(receipts)


# --- pass two: everything, in order ----------------------------------------------------------

def verify(source: Source, *, pinned_ledger_key: bytes | None = None, workers: int | None = None,
           progress: bool = False, all_receipts: bool = False,
           since: TrustedCheckpoint | None = None) -> Verification:
    """Verify everything. The registry's own signatures are first taken on trust in pass
    one (pass two checks them with all the others); if anything is wrong with a registry
    event, the whole verification runs again with pass one checking every signature, so
    that no forged key can vouch for anything.

    A receipt's signature is verified only where no checkpoint covers its event (unless
    `all_receipts`): the checkpoint, signed by the same key, commits to the event's hash in
    its place in the global order (evidence-format §14.3 step 6). If that checkpoint turns
    out not to hold over the events, the run is repeated verifying every receipt.

    With `since`, a checkpoint an earlier run verified (evidence-format §14.7), only the rows
    after it are verified, from what was remembered of it (the registry's events included:
    only later ones are read).
    An intact run sets `report.trusted` to what to remember of its latest checkpoint."""
    report, history, vouched = _verify(source, pinned_ledger_key, workers, progress,
                                       strict=False, all_receipts=all_receipts, since=since)
    strict = any(f.position in history.positions
                 or (f.position is None and f.stream not in ("log", "bundle"))
                 for f in report.findings) or report.findings_total > len(report.findings)
    if strict or not vouched:
        report, history, _ = _verify(source, pinned_ledger_key, workers, progress, strict=strict,
                                     all_receipts=all_receipts or not vouched, since=since)
    return report


def _covering(source: Source, checkpoints: list[tuple[int, str, str]],
              anchors: TrustAnchors) -> tuple[int, int, bytes]:
    """The largest kept checkpoint whose signature verifies with the ledger key, the position
    of its last event as the source states it, and its root: (0, 0, b"") if none.
    Both are confirmed after the run (the rebuilt tree must give its root, and its last
    leaf must be the row at that position), or the run is repeated with every receipt."""
    if anchors.public_key is None or anchors.origin is None:
        return 0, 0, b""
    verifier = log_verifier(anchors.origin, anchors.public_key)
    for size, note, _ in sorted(checkpoints, reverse=True):
        try:
            checkpoint = open_checkpoint(note, verifier)
        except LedgerError:
            continue
        if size > 0 and checkpoint.size == size:
            position = source.covered_position(size)
            return (size, position, checkpoint.root) if position else (0, 0, b"")
    return 0, 0, b""


def _verify(source: Source, pinned_ledger_key: bytes | None, workers: int | None,
            progress: bool, strict: bool, all_receipts: bool,
            since: TrustedCheckpoint | None) -> tuple[Verification, RegistryHistory, bool]:
    early = _WaitingPool.fork(source, workers) if workers != 1 else None
    collecting = gc.isenabled()
    try:
        return _run(source, pinned_ledger_key, workers, progress, strict, all_receipts, since,
                    early)
    finally:
        if early is not None:
            early.close()  # unused (the log was small), or done
        gc.unfreeze()
        if collecting:
            gc.enable()


def _run(source: Source, pinned_ledger_key: bytes | None, workers: int | None,
         progress: bool, strict: bool, all_receipts: bool, since: TrustedCheckpoint | None,
         early: "_WaitingPool | None") -> tuple[Verification, RegistryHistory, bool]:
    report = Verification()
    last = source.count()  # the store opened (and judged a ledger's): while this process
    if early is not None:  # reads the registry, waiting workers open it too
        early.open()
    elif workers != 1:  # or a fork server, if one is needed, imports
        _pool_context(start=True)
    # What is loaded now (the registry, a remembered state's streams and heads) lives for the
    # whole run and holds no cycle: the collector would scan it again and again while it
    # grows (a fifth of a run after a remembered checkpoint); it is loaded with the collector
    # off and then set aside (frozen), and the collector runs as usual on what comes after.
    gc.disable()
    # after a remembered checkpoint, the registry rows it remembers and those after it
    resumed = since is not None and since.registry is not None
    history = replay_registry(
        source.registry_rows(since.position if resumed else 0), pinned_ledger_key, report,
        check_signatures=strict,
        trusted=since.registry if resumed else ())
    if history.anchors.public_key is None:
        report.add(Finding(NO_LEDGER_KEY, LEDGER_STREAM, 1, None,
                           "no valid ledger.started/v1 event: receipts cannot be checked"))
    else:
        report.origin = history.anchors.origin
        report.ledger_key_id = key_id(history.anchors.public_key)

    order, tree, heads, after = _start_after(since, history.anchors)
    gc.freeze()
    gc.enable()
    start = tree.size  # the leaves verified before this run: 0, or the remembered checkpoint's
    report.since = since.size if since else None
    total = max(0, last - start)  # the rows this run reads
    if workers is None:  # one process per core, unless starting them costs more than it saves
        workers = 1 if total < SMALL_LOG else max(1, multiprocessing.cpu_count())
    bar = None

    checkpoints = source.checkpoints(start)  # the remembered one and later ones only
    rebuild = TreeRebuild([size for size, _, _ in checkpoints], tree=tree, heads=heads)
    stored = source.stored_tree(len(checkpoints))
    remember_at = max((size for size, _, _ in checkpoints), default=0)
    remembered: list[TrustedCheckpoint] = []
    covered_size, covered, covered_root = (0, 0, b"") if all_receipts else _covering(
        source, checkpoints, history.anchors)
    reached = [0]  # the position of the covering checkpoint's last leaf, as rebuilt

    def consume(checked: tuple[list[tuple], list[Finding], int]) -> None:
        results, orphans, receipts = checked
        report.receipts += receipts
        for finding in orphans:
            report.add(finding)
        # up to the latest checkpoint's last leaf, then remember, then the rest
        cut = remember_at - rebuild.tree.size
        for part in ((results[:cut], results[cut:]) if 0 < cut <= len(results) else (results,)):
            _sequence(part, order, report, bar)
            for result in part:
                created = rebuild.add(result[3], result[6])
                if rebuild.tree.size == covered_size:
                    reached[0] = result[0]
                if stored is not None:
                    stored.expect(rebuild.tree.size - 1, result[0], created)
            if part and rebuild.tree.size == remember_at and history.anchors.public_key:
                remembered.append(_remember(rebuild, order, part[-1][0], history))
        if stored is not None:
            stored.flush()

    if workers > 1:
        # At most a few jobs in flight: Pool.imap would otherwise read the whole log ahead.
        in_flight = threading.BoundedSemaphore(2 * workers + 2)
        stopped = threading.Event()  # this process stopped taking results (Ctrl-C, an error):
        #   the pool's task thread must not wait for room forever, or the pool never ends

        def jobs() -> Iterator[object]:
            for job in source.jobs(after):
                while not in_flight.acquire(timeout=0.2):
                    if stopped.is_set():
                        return
                yield job

        keys = RegistryHistory(history.anchors, history.actors)  # what workers judge with
        if early is not None and early.size == workers:
            pool = early.begin(keys, covered)
        else:
            pool = _pool_context().Pool(workers, initializer=_init_worker,
                                        initargs=(source.detached(), keys, covered))
        with pool:
            bar = _progress_bar(total) if progress else None  # its thread after the fork
            try:
                for checked in pool.imap(_check_job, jobs(), chunksize=1):
                    in_flight.release()
                    consume(checked)
            finally:
                stopped.set()
    else:
        bar = _progress_bar(total) if progress else None
        _init_worker(source, history, covered)
        try:
            for job in source.jobs(after):
                consume(_check_job(job))
        finally:
            _init_worker(None, None)  # hold no store open in this module
    if bar is not None:
        bar.close()
    report.streams = len(order.streams)
    if stored is not None:
        _report_tree_rows(report, stored.finish(rebuild.tree.size))
    _check_log(report, rebuild, checkpoints,
               [c for c in source.cosignatures() if c[0] >= start],
               history.anchors)
    for finding in source.described_findings(history, report):
        report.add(finding)
    # the checkpoint vouched for the receipts it covers only if the events give its root
    # and its last leaf is the row the source said
    vouched = covered == 0 or (reached[0] == covered
                               and rebuild.roots.get(covered_size, (b"",))[0] == covered_root)
    if covered and vouched:
        report.covered_by = covered_size
        report.receipts_covered = covered_size - start
    if report.intact and remembered:
        report.trusted = remembered[-1]
    return report, history, vouched


def _start_after(since: TrustedCheckpoint | None,
                 anchors: TrustAnchors) -> tuple["_Order", CompactTree, HeadsMap, int]:
    """Where a run starts: from the first event, or from what an earlier run remembered of a
    checkpoint (its streams' heads, its last ledger time, its compact range), after its last
    leaf's position."""
    if since is None:
        return _Order(), CompactTree(), HeadsMap(), 0
    if (since.origin, since.ledger_key_id) != (anchors.origin, anchors.public_key and
                                               key_id(anchors.public_key)):
        raise VerifierStateError(f"the verifier state is of the log {since.origin} (ledger key "
                                 f"{since.ledger_key_id}), not of this one; give this log's "
                                 "state, or none to verify from the first event")
    tree = CompactTree(since.size, [base64.b64decode(node) for node in since.frontier])
    if base64.b64encode(tree.root()).decode() != since.root:
        raise VerifierStateError("the verifier state's compact range does not give its root")
    heads = _resumed_heads(since)
    order = _Order({oid: (v, h, n) for oid, (v, h, n) in since.streams.items()}, since.last_time)
    return order, tree, heads, since.position


def _resumed_heads(since: TrustedCheckpoint) -> HeadsMap:
    """The heads map of a remembered checkpoint, with its remembered nodes where the state
    has them (a state of another SUBTREE_DEPTH, or none: the map is hashed whole once)."""
    kept = since.heads_subtrees
    subtrees = None
    if kept is not None and kept["depth"] == SUBTREE_DEPTH:
        subtrees = {int(prefix): base64.b64decode(node) for prefix, node in kept["nodes"].items()}
    heads = HeadsMap.of(((name, bytes.fromhex(head)) for _, head, name in since.streams.values()),
                        subtrees)
    if subtrees is not None and base64.b64encode(heads.root()).decode() != kept["root"]:
        raise VerifierStateError("the verifier state's heads map nodes do not give its heads "
                                 "root; remove the state to verify from the first event")
    return heads


def _remember(rebuild: TreeRebuild, order: "_Order", position: int,
              history: RegistryHistory) -> TrustedCheckpoint:
    anchors = history.anchors
    subtrees = rebuild.heads.subtrees()
    return TrustedCheckpoint(
        origin=anchors.origin or "", ledger_key_id=key_id(anchors.public_key or b""),
        size=rebuild.tree.size, root=base64.b64encode(rebuild.tree.root()).decode(),
        frontier=[base64.b64encode(node).decode() for node in rebuild.tree.frontier],
        position=position, last_time=order.last_time,
        streams={oid: list(state) for oid, state in order.streams.items()},
        registry=[[p, state if type(state) is str else state.decode()]
                  for p, state in history.applied if p <= position],
        heads_subtrees={"depth": SUBTREE_DEPTH,
                        "root": base64.b64encode(rebuild.heads.root()).decode(),
                        "nodes": {str(prefix): base64.b64encode(node).decode()
                                  for prefix, node in subtrees.items()}})


def _report_tree_rows(report: Verification, found: list[tuple]) -> None:
    for kind, index, position, detail in found:
        report.add(Finding(kind, "log", index, position, detail + "; rebuild the derived tables "
                           "with `sunledger rebuild-log`"))


def _check_log(report: Verification, rebuild: TreeRebuild,
               checkpoints: list[tuple[int, str, str]],
               cosignatures: list[tuple[int, str, str]], anchors: TrustAnchors) -> None:
    report.tree_root = base64.b64encode(rebuild.tree.root()).decode()
    report.checkpoints = len(checkpoints)
    findings, cosigned = check_log(rebuild, checkpoints, cosignatures, anchors.origin,
                                   anchors.public_key)
    for finding in findings:
        report.add(Finding(finding.kind, "log", finding.tree_size, None, finding.detail))
    if checkpoints:
        report.latest_checkpoint = checkpoints[-1][0]
        report.cosigned_by = sorted(cosigned.get(report.latest_checkpoint, ()))


class _WaitingPool:
    """Workers forked before this process opens the store (while it has one thread, so a fork
    is safe and they share its imports): each waits for the registry history this process
    replays, then opens its own store and takes jobs. A fork server (the other way, once
    a store's connection pool has started threads) costs some 0.3 s of start-up, a fifth of a
    run over a day's events."""

    def __init__(self, source: Source, size: int):
        context = multiprocessing.get_context("fork")
        self.size, self.waiting = size, context.SimpleQueue()
        self.pool = context.Pool(size, initializer=_init_waiting_worker,
                                 initargs=(source.detached(), self.waiting))

    @classmethod
    def fork(cls, source: Source, workers: int | None) -> "_WaitingPool | None":
        if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        if isinstance(source, StoreSource):  # the store's driver, imported once for all
            import importlib

            env = source.url.eventsourcing_env()
            for module in (env["PERSISTENCE_MODULE"],
                           env["APPLICATION_RECORDER_TOPIC"].split(":", 1)[0]):
                importlib.import_module(module)
        return cls(source, workers or max(1, multiprocessing.cpu_count()))

    def open(self) -> None:
        """The store was judged a ledger's: the workers may open it."""
        for _ in range(self.size):
            self.waiting.put(OPEN)

    def begin(self, history: RegistryHistory, covered: int):
        """The pool, its workers given what they wait for (pickled once for all: a large
        registry takes a tenth of a second to pickle); the caller closes it."""
        message = pickle.dumps((history, covered), protocol=pickle.HIGHEST_PROTOCOL)
        for _ in range(self.size):
            self.waiting.put(message)
        pool, self.pool = self.pool, None
        return pool

    def close(self) -> None:
        if self.pool is not None:  # never begun: its workers wait, nothing is lost
            self.pool.terminate()
            self.pool = None


OPEN = "open"  # what a waiting worker is told once the store was judged a ledger's


def _init_waiting_worker(source: "Source", waiting) -> None:
    # Ctrl-C reaches the whole process group: the main process stops the pool, its workers
    # say nothing (as a fork server's children do)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # never before the main process has judged the store a ledger's (a worker opening it
    # earlier wrote to an empty file that is no store)
    told = waiting.get()
    while told == OPEN:  # the queue is shared: a worker may take another's word too
        if isinstance(source, StoreSource) and source._recorder is None:
            try:
                source.recorder  # noqa: B018 - opened while the main process reads the registry
            except Exception:  # noqa: BLE001 - a worker never prints: the first job opens it
                pass  # again, and its failure reaches the main process
        told = waiting.get()
    history, covered = pickle.loads(told)
    _init_worker(source, history, covered)


def _pool_context(start: bool = False):
    """Fork when this process has a single thread (workers start at once and share its
    imports); otherwise a fork server, since forking a threaded process (a PostgreSQL
    connection pool, a progress bar) can copy a lock some thread holds. With `start`, the
    fork server is started now, to import while this process goes on."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ledger.audit.verify"])
    if start:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    return context


def _orphan_receipt(receipt: ReceiptRow, history: RegistryHistory) -> Finding:
    """A receipt whose position holds no event."""
    key = history.anchors.public_key
    body = receipt_body(receipt.event_hash, receipt.stream, receipt.version, receipt.position,
                        receipt.ledger_time)
    if key is not None and receipt_ok(body, receipt.signature, key):
        return Finding(MISSING_EVENT, receipt.stream, receipt.version, receipt.position,
                       f"the ledger receipted event {receipt.event_hash} here; it is gone")
    return Finding(BAD_RECEIPT, receipt.stream, receipt.version, receipt.position,
                   "a receipt with no event and no valid ledger signature")


@dataclass
class _Order:
    """What sequencing carries from row to row: each stream's last accepted (version, hash,
    name) by originator id, and the ledger time of the last decodable row."""

    streams: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    last_time: str = ""  # times in the one fixed format order as their strings do


def _sequence(results: Sequence[tuple], order: _Order, report: Verification, bar) -> None:
    """Global and per-stream order, in increasing position: ledger time, links, gaps and
    regressions."""
    report.events += len(results)
    streams = order.streams
    for (position, originator_id, row_version, stream, version, prev, hash_, findings, _,
         ledger_time) in results:
        if ledger_time is not None:
            if ledger_time < order.last_time:
                findings.append((TIME_REVERSED, f"ledger time {ledger_time} is earlier than "
                                                f"{order.last_time}, the time of the row before"))
            order.last_time = ledger_time
        state = streams.get(originator_id)
        if not findings and state is not None and version == state[0] + 1 and prev == state[1]:
            streams[originator_id] = (version, hash_, stream)  # the common case: all is well
            continue
        name = stream or (state[2] if state else f"(stream {originator_id})")
        for kind, detail in findings:
            report.add(Finding(kind, name, version if version is not None else row_version,
                               position, detail))
        if stream is None:
            continue  # undecodable or misplaced: the next event of its stream shows the gap
        last, head = (state[0], state[1]) if state else (0, ZERO_HASH)
        if version == last + 1:
            if prev != head:
                report.add(Finding(LINK_BROKEN, stream, version, position,
                                   f"prev is {prev}, but version {last} hashes to {head}"
                                   if last else "the first event of a stream must have a zero prev"))
        elif version > last + 1:
            missing = f"version {last + 1}" if version == last + 2 else f"versions {last + 1}–{version - 1}"
            report.add(Finding(MISSING_EVENT, stream, last + 1, position,
                               f"{missing} of {stream} missing before this event"))
        else:
            report.add(Finding(OUT_OF_ORDER, stream, version, position,
                               f"version {version} comes after version {last} in the global order"))
            continue
        streams[originator_id] = (version, hash_, stream)
    if bar is not None:
        bar.update(len(results))


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="event", unit_scale=True, desc="verifying", leave=False)


# --- sources ---------------------------------------------------------------------------------

class StoreSource:
    """Rows straight from a store's tables. Each worker opens the store itself and reads its
    own ranges of positions, so rows never pass through the main process."""

    def __init__(self, url: "StoreURL | str", recorder=None, job_size: int = 500,
                 judged: bool = False):
        from ledger.stores.url import parse_store_url

        self.url = parse_store_url(url) if isinstance(url, str) else url
        self.job_size = job_size
        self._recorder = recorder
        self._judged = judged  # a process that opened the store judged it a ledger's

    def __getstate__(self) -> dict:
        return self.detached().__dict__

    def detached(self) -> "StoreSource":
        """The same source without this process's connections (for a worker process)."""
        return StoreSource(self.url, None, self.job_size, judged=True)

    @property
    def recorder(self):
        if self._recorder is None:
            from ledger.stores.url import open_recorder

            self._recorder = open_recorder(self.url, judged=self._judged)
        return self._recorder

    def count(self) -> int:
        """The last position: about the number of rows, read from an index (counting
        a large PostgreSQL table's rows costs a scan of it)."""
        return self.recorder.max_position()

    def registry_rows(self, after: int = 0) -> Iterator[Row]:
        """The registry's rows after a position in global order: each type's read along its
        index and merged (a read of several types at once would scan the log past its last
        registry row)."""
        return heapq.merge(*(rows_of_type(self.recorder, topic, after)
                             for topic in sorted(REGISTRY_TYPES)))

    def jobs(self, after: int = 0) -> Iterator[tuple[int, int]]:
        """Ranges (after, up to] of positions, up to the last event or receipt at the start."""
        end = self.recorder.max_position()
        start = after
        # the first few small, so that the workers' first results come soon (a run over a
        # day's events is a second: waiting for two full batches before the first result
        # was a tenth of it)
        for size in itertools.chain([max(1, self.job_size // 5)] * 4,
                                    itertools.repeat(self.job_size)):
            if start >= end:
                return
            yield start, min(start + size, end)
            start += size

    def load(self, job: tuple[int, int]) -> tuple[list[Row], list[ReceiptRow]]:
        after, upto = job
        return self.recorder.select_rows(after, upto), self.recorder.select_receipts(after, upto)

    def stored_tree(self, checkpoints: int) -> StoredTreeCheck:
        """The store's Merkle tables, checked against the tree the events give."""
        return StoredTreeCheck(self.recorder, checkpoints)

    def checkpoints(self, least: int = 0) -> list[tuple[int, str, str]]:
        return [(size, note, heads)
                for size, note, _, heads in self.recorder.checkpoints(least)]

    def cosignatures(self) -> list[tuple[int, str, str]]:
        return self.recorder.cosignatures()

    def covered_position(self, size: int) -> int | None:
        from ledger.log.tree import StoredLog

        try:
            return StoredLog(self.recorder).position_of_leaf(size - 1)
        except LedgerError:
            return None

    def described_findings(self, history: RegistryHistory, report: Verification) -> list[Finding]:
        return []  # a store states nothing beside its rows but its Merkle tables (stored_tree)

