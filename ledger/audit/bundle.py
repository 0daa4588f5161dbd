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
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography import x509

from ledger.errors import BundleError
from ledger.evidence.catalogue import REGISTRY_TYPES
from ledger.evidence.keys import key_id
from ledger.stores.tables import ReceiptRow
from ledger.stores.url import StoreURL
from .verify import RegistryHistory, Row, Verification, replay_registry

BUNDLE_FORMAT = "sunledger-bundle/v1"
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
    """Rows from a bundle, streamed (memory stays bounded whatever its size)."""

    def __init__(self, path: Path):
        try:
            self.zip = zipfile.ZipFile(path)
            self.manifest = json.loads(self.zip.read("manifest.json"))
        except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise BundleError(f"{path} is not a Sunledger evidence bundle: {error}") from None
        if self.manifest.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{path}: unknown bundle format {self.manifest.get('format')!r}")

    def count(self) -> int:
        return int(self.manifest.get("events", 0))

    def _lines(self) -> Iterator[dict]:
        with self.zip.open("events.jsonl") as raw:
            for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):
                try:
                    yield json.loads(line)
                except ValueError as error:
                    raise BundleError(f"events.jsonl line {number} is not JSON: {error}") from None

    def registry_rows(self) -> Iterator[Row]:
        with self.zip.open("events.jsonl") as raw:
            for line in io.TextIOWrapper(raw, encoding="utf-8"):
                if '"type":"actor.' in line or '"type":"ledger.' in line:
                    item = json.loads(line)
                    if item.get("type") in REGISTRY_TYPES:
                        yield _row(item)

    def load(self, job: tuple[list[Row], list[ReceiptRow]]) -> tuple[list[Row], list[ReceiptRow]]:
        return job  # the main process read it: a ZIP member is read in order

    def _checkpoints(self) -> list[dict]:
        try:
            return json.loads(self.zip.read("checkpoints.json"))["checkpoints"]
        except KeyError:  # a bundle written before checkpoints existed
            return []
        except ValueError as error:
            raise BundleError(f"checkpoints.json is not JSON: {error}") from None

    def stored_tree(self, checkpoints: int) -> None:
        """A bundle carries no tree: the verifier rebuilds it from the events."""
        return None

    def checkpoints(self) -> list[tuple[int, str, str]]:
        return [(int(c["tree_size"]), c["note"], c["heads"]) for c in self._checkpoints()]

    def cosignatures(self) -> list[tuple[int, str, str]]:
        return [(int(c["tree_size"]), s["witness"], s["line"])
                for c in self._checkpoints() for s in c["cosignatures"]]

    def __getstate__(self) -> dict:
        return {"manifest": self.manifest}  # workers only call load()

    def detached(self) -> "BundleSource":
        """This source for a worker process, which only calls load()."""
        worker = BundleSource.__new__(BundleSource)
        worker.manifest = self.manifest
        return worker

    def jobs(self, size: int = 1000) -> Iterator[tuple[list[Row], list[ReceiptRow]]]:
        rows: list[Row] = []
        receipts: list[ReceiptRow] = []
        for item in self._lines():
            if item.get("receipt"):
                receipts.append(ReceiptRow(**item["receipt"]))
            if "stream_id" in item:
                rows.append(_row(item))
            if len(rows) >= size:
                yield rows, receipts
                rows, receipts = [], []
        if rows or receipts:
            yield rows, receipts


def _row(item: dict) -> Row:
    if "state" in item:
        state = item["state"].encode("utf-8")
    else:
        state = base64.b64decode(item.get("state_base64", ""))
    return (item["position"], item["stream_id"], item["version"], item["type"], state)
