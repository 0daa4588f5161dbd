"""Evidence bundles: everything needed to verify a ledger with no database, in one ZIP file.

    manifest.json      format, origin, ledger public key, counts, member digests
    events.jsonl       one stored row per line, in global order, with its receipt
                       (a line with a receipt and no event: the event is gone)
    registry.json      actors, roles and keys as the registry events state them (for reading;
                       the verifier rebuilds it from the events)
    trusted-cas/*.pem  the CA certificates the ledger trusts
    ledger-key.pem     the ledger's public key
    checkpoints.json   the kept checkpoints (signed notes) and their witnesses' cosignatures

docs/evidence-format.md ("Bundles") states each member byte for byte.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import zipfile
from array import array
from pathlib import Path
from typing import Callable, Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography import x509

from ledger.errors import BundleError
from ledger.evidence.catalogue import REGISTRY_TYPES
from ledger.evidence.keys import key_id
from ledger.evidence.untrusted import UntrustedZip, parse_json
from ledger.stores.tables import ReceiptRow
from ledger.stores.url import StoreURL
from .verify import RegistryHistory, Row, Verification, replay_registry

BUNDLE_FORMAT = "sunledger-bundle/v1"
BUNDLE_ALTERED = "bundle_altered"  # a finding kind: a member that is not what the events give
EVENTS = "events.jsonl"  # the member that is streamed, line by line
JOB_BYTES = 8 * 1024 * 1024  # a verifier's job: 1000 rows, or fewer large ones (memory stays low)
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # ZIP member times: the bundle's bytes depend on content only


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def _state_field(state: bytes) -> dict:
    try:
        return {"state": state.decode("utf-8")}
    except UnicodeDecodeError:
        return {"state_base64": base64.b64encode(state).decode()}


def _receipt_json(r: ReceiptRow) -> dict:
    return {"event_hash": r.event_hash, "ledger_time": r.ledger_time, "position": r.position,
            "signature": r.signature, "stream": r.stream, "version": r.version}


def export_bundle(url: StoreURL, out: Path, *,
                  on_progress: Callable[[int], None] | None = None) -> dict:
    """Write the bundle of a store to `out` (atomically: a partial file is never left)."""
    from .verify import StoreSource

    source = StoreSource(url)
    history = replay_registry(source.registry_rows(), None, Verification())
    tmp = out.with_name(out.name + ".partial")
    digests: dict[str, str] = {}
    counts = {"events": 0, "receipts": 0}
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            with bundle.open(_info("events.jsonl"), "w") as handle:
                digest = hashlib.sha256()
                for job in source.jobs():
                    rows, receipts = source.load(job)
                    by_position = {r.position: r for r in receipts}
                    counts["receipts"] += len(receipts)
                    present = set()
                    for position, oid, version, topic, state in rows:
                        present.add(position)
                        receipt = by_position.get(position)
                        line = _line({"position": position, "stream_id": oid, "version": version,
                                      "type": topic, **_state_field(state),
                                      "receipt": _receipt_json(receipt) if receipt else None})
                        digest.update(line)
                        handle.write(line)
                    for r in receipts:
                        if r.position not in present:
                            line = _line({"position": r.position, "receipt": _receipt_json(r)})
                            digest.update(line)
                            handle.write(line)
                    counts["events"] += len(rows)
                    if on_progress:
                        on_progress(len(rows))
                digests["events.jsonl"] = digest.hexdigest()
            members = _registry_members(history)
            members["checkpoints.json"] = _checkpoints_member(source)
            for name, data in members.items():
                bundle.writestr(_info(name), data)
                digests[name] = hashlib.sha256(data).hexdigest()
            anchors = history.anchors
            manifest = {
                "format": BUNDLE_FORMAT,
                "origin": anchors.origin,
                "ledger_public_key": base64.b64encode(anchors.public_key).decode() if anchors.public_key else None,
                "ledger_key_id": key_id(anchors.public_key) if anchors.public_key else None,
                **counts,
                "members": digests,
            }
            bundle.writestr(_info("manifest.json"), json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _registry_members(history: RegistryHistory) -> dict[str, bytes]:
    actors = {
        actor_id: {
            "name": r.name, "roles": sorted(r.roles), "organisation": r.organisation,
            "keys": [{"key_id": k.key_id, "public_key": base64.b64encode(k.public_key).decode(),
                      "revoked_at": k.revoked_at,
                      "certificate_serial": k.certificate.serial if k.certificate else None,
                      "certificate_issuer": k.certificate.issuer if k.certificate else None}
                     for k in r.keys.values()],
        }
        for actor_id, r in sorted(history.actors.items())
    }
    members = {"registry.json": (json.dumps({"actors": actors}, indent=2, ensure_ascii=False,
                                            sort_keys=True) + "\n").encode()}
    for fingerprint, der in sorted(history.anchors.cas.items()):
        pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
        members[f"trusted-cas/{fingerprint}.pem"] = pem
    if history.anchors.public_key:
        members["ledger-key.pem"] = Ed25519PublicKey.from_public_bytes(
            history.anchors.public_key).public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    return members


def _checkpoints_member(source) -> bytes:
    cosignatures: dict[int, list[dict]] = {}
    for size, witness, line in source.cosignatures():
        cosignatures.setdefault(size, []).append({"line": line, "witness": witness})
    kept = [{"cosignatures": cosignatures.get(size, []), "heads": heads, "note": note,
             "tree_size": size} for size, note, heads in source.checkpoints()]
    return (json.dumps({"checkpoints": kept}, indent=2, ensure_ascii=False, sort_keys=True)
            + "\n").encode()


class BundleSource:
    """Rows from a bundle, streamed (memory stays bounded whatever its size), read within the
    limits of ledger/evidence/untrusted.py: a file beyond them, or not shaped as §13 says, is
    a BundleError or an UntrustedFileError, never a crash."""

    def __init__(self, path: Path):
        self.zip = UntrustedZip(path, "the bundle", streamed={EVENTS})
        try:
            self.manifest = self.zip.json("manifest.json")
        except (KeyError, ValueError) as error:
            raise BundleError(f"{path} is not a Sunledger evidence bundle: {error}") from None
        found = self.manifest.get("format") if type(self.manifest) is dict else None
        if found != BUNDLE_FORMAT:
            raise BundleError(f"{path}: unknown bundle format {found!r}")

    def count(self) -> int:
        events = self.manifest.get("events")
        return events if type(events) is int and events >= 0 else 0

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            yield from enumerate(self.zip.lines(EVENTS), 1)
        except KeyError:
            raise BundleError(f"{self.zip.what} has no {EVENTS}") from None

    def registry_rows(self, after: int = 0) -> Iterator[Row]:
        for number, line in self._lines():
            if b'"type":"actor.' in line or b'"type":"ledger.' in line:
                item = _item(number, line)
                if "stream_id" in item:
                    row = _row(item, number)
                    if row[3] in REGISTRY_TYPES and row[0] > after:
                        yield row

    def load(self, job: tuple[list[Row], list[ReceiptRow]]) -> tuple[list[Row], list[ReceiptRow]]:
        return job  # the main process read it: a ZIP member is read in order

    def _checkpoints(self) -> list[dict]:
        try:
            document = self.zip.json("checkpoints.json")
        except KeyError:  # a bundle written before checkpoints existed
            return []
        except ValueError as error:
            raise BundleError(str(error)) from None
        kept = document.get("checkpoints") if type(document) is dict else None
        if type(kept) is not list or not all(map(_is_checkpoint, kept)):
            raise BundleError("checkpoints.json is not a list of checkpoints, each with its "
                              "tree_size, note, heads and cosignatures (§13)")
        return kept

    def stored_tree(self, checkpoints: int) -> None:
        """A bundle carries no tree: the verifier rebuilds it from the events."""
        return None

    def checkpoints(self, least: int = 0) -> list[tuple[int, str, str]]:
        return [(c["tree_size"], c["note"], c["heads"]) for c in self._checkpoints()
                if c["tree_size"] >= least]

    def cosignatures(self) -> list[tuple[int, str, str]]:
        return [(c["tree_size"], s["witness"], s["line"])
                for c in self._checkpoints() for s in c["cosignatures"]]

    def __getstate__(self) -> dict:
        return {"manifest": self.manifest}  # workers only call load()

    def detached(self) -> "BundleSource":
        """This source for a worker process, which only calls load()."""
        worker = BundleSource.__new__(BundleSource)
        worker.manifest = self.manifest
        return worker

    def jobs(self, after: int = 0,
             size: int = 1000) -> Iterator[tuple[list[Row], list[ReceiptRow]]]:
        """The rows in jobs of `size` rows, or fewer when they hold over JOB_BYTES. The lines
        must be the two tables a store holds (§13): event lines in increasing position, each
        receipt at the position of its line, a receipt-only line only where no event line
        is, one per position; a bundle that is not is refused (BundleError), as no store
        could have been exported so. Rows and receipts at positions up to `after` are read
        and judged for their form, and left out of the jobs."""
        rows: list[Row] = []
        receipts: list[ReceiptRow] = []
        held = 0
        digest = hashlib.sha256()
        events = array("q")  # every event line's position, increasing: 8 bytes an event
        orphans: dict[int, int] = {}  # a receipt-only line's position -> its line number
        for number, line in self._lines():
            digest.update(line)
            item = _item(number, line)
            if "stream_id" in item:
                row = _row(item, number)
                if events and row[0] <= events[-1]:
                    raise BundleError(f"{EVENTS} line {number}: position {row[0]} does not "
                                      f"follow {events[-1]}: event lines are in increasing "
                                      "position (§13)")
                events.append(row[0])
                rows.append(row)
                held += len(row[4])
            elif type(item.get("position")) is not int or item.get("receipt") is None:
                raise BundleError(f"{EVENTS} line {number} is neither an event line nor a "
                                  "receipt-only line (§13)")
            elif orphans.setdefault(item["position"], number) != number:
                raise BundleError(f"{EVENTS} line {number}: a second receipt-only line for "
                                  f"position {item['position']}: a position has one receipt")
            if item.get("receipt") is not None:
                receipt = _receipt(item["receipt"], number)
                if receipt.position != item.get("position"):
                    raise BundleError(f"{EVENTS} line {number}: its receipt is for position "
                                      f"{receipt.position}, not the line's {item.get('position')}")
                receipts.append(receipt)
            if rows and rows[-1][0] <= after:
                rows.pop()
                held = 0
            if receipts and receipts[-1].position <= after:
                receipts.pop()
            if len(rows) >= size or held > JOB_BYTES:
                yield rows, receipts
                rows, receipts, held = [], [], 0
        for position, number in orphans.items():
            found = bisect.bisect_left(events, position)
            if found < len(events) and events[found] == position:
                raise BundleError(f"{EVENTS} line {number}: a receipt-only line for position "
                                  f"{position}, which has its event line: a position has one "
                                  "receipt (§13)")
        self.events_digest = digest.hexdigest()
        if rows or receipts:
            yield rows, receipts

    def covered_position(self, size: int) -> int | None:
        """The position of the size-th event line (a pass over the lines, parsing one)."""
        seen = 0
        for number, line in self._lines():
            if b'"stream_id":' in line:  # only an event line has the member (state is escaped)
                seen += 1
                if seen == size:
                    position = _item(number, line).get("position")
                    return position if type(position) is int else None
        return None

    def described_findings(self, history: RegistryHistory, report: Verification) -> list:
        """What the bundle says about itself beside the rows (§13), against what the rows
        gave: the ledger key, the registry and the trusted CAs rebuilt from the events, the
        counts, and the manifest's digest of every member. Call it after every job was read."""
        from .verify import Finding

        found: list[str] = []
        expected = _registry_members(history)
        held = {n for n in self.zip.names() if n == "ledger-key.pem" or n == "registry.json"
                or n.startswith("trusted-cas/")}
        for name in sorted(held | set(expected)):
            if name not in held:
                found.append(f"{name} is missing: the events give it")
            elif name not in expected:
                found.append(f"{name} is not given by the events (no such key, registry or "
                             "trusted CA)")
            elif self.zip.read(name) != expected[name]:
                found.append(f"{name} is not what the events give "
                             + {"ledger-key.pem": "(the key of ledger.started/v1)",
                                "registry.json": "(the registry rebuilt from them)"}.get(
                                 name, "(the CA a ledger.ca-trusted/v1 event trusts)"))
        anchors, manifest = history.anchors, self.manifest
        stated = {"origin": anchors.origin,
                  "ledger_public_key": base64.b64encode(anchors.public_key).decode()
                  if anchors.public_key else None,
                  "ledger_key_id": key_id(anchors.public_key) if anchors.public_key else None,
                  "events": report.events, "receipts": report.receipts}
        if report.since is not None:  # the rows before it were not counted this run
            del stated["events"], stated["receipts"]
        for member, value in stated.items():
            if manifest.get(member) != value:
                found.append(f"manifest.json states {member} {manifest.get(member)!r}, the "
                             f"events give {value!r}")
        digests = manifest.get("members")
        digests = digests if type(digests) is dict else {}
        for name in sorted(set(self.zip.names()) - {"manifest.json"} | set(digests)):
            if name not in self.zip:
                found.append(f"manifest.json names {name}, which the bundle does not hold")
                continue
            actual = (self.events_digest if name == EVENTS
                      else hashlib.sha256(self.zip.read(name)).hexdigest())
            if digests.get(name) != actual:
                found.append(f"manifest.json's digest of {name} is not its SHA-256"
                             if name in digests else f"manifest.json has no digest of {name}")
        return [Finding(BUNDLE_ALTERED, "bundle", None, None, text) for text in found]


_RECEIPT_TYPES = {"position": int, "stream": str, "version": int, "event_hash": str,
                  "ledger_time": str, "signature": str}  # ReceiptRow's fields


def _item(number: int, line: bytes) -> dict:
    try:
        item = parse_json(line.removesuffix(b"\n"), f"{EVENTS} line {number}")
    except ValueError as error:
        raise BundleError(str(error)) from None
    if type(item) is not dict:
        raise BundleError(f"{EVENTS} line {number} is not a JSON object")
    return item


def _row(item: dict, number: int) -> Row:
    if "state" in item:
        state = item["state"].encode("utf-8") if type(item["state"]) is str else None
    else:
        try:
            state = base64.b64decode(item.get("state_base64", ""), validate=True)
        except (TypeError, ValueError):
            state = None
    row = (item.get("position"), item.get("stream_id"), item.get("version"), item.get("type"),
           state)
    if tuple(map(type, row)) != (int, str, int, str, bytes):
        raise BundleError(f"{EVENTS} line {number} is not an event line: position, stream_id, "
                          "version, type and state (or state_base64) of the wrong types (§13)")
    return row


def _receipt(receipt: object, number: int) -> ReceiptRow:
    if type(receipt) is not dict or receipt.keys() != _RECEIPT_TYPES.keys() or any(
            type(receipt[name]) is not kind for name, kind in _RECEIPT_TYPES.items()):
        raise BundleError(f"{EVENTS} line {number}: its receipt is not "
                          f"{{{', '.join(sorted(_RECEIPT_TYPES))}}} of the right types (§13)")
    return ReceiptRow(**receipt)


def _is_checkpoint(kept: object) -> bool:
    return (type(kept) is dict and type(kept.get("tree_size")) is int
            and type(kept.get("note")) is str and type(kept.get("heads")) is str
            and type(kept.get("cosignatures")) is list
            and all(type(s) is dict and type(s.get("witness")) is str
                    and type(s.get("line")) is str for s in kept["cosignatures"]))
