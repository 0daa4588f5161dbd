"""A bundle is checked whole (evidence-format §13): beside the rows, its ledger key, registry,
trusted CAs, counts and digests must be what the events give (`bundle_altered`), and its lines
must be the two tables a store holds, or it is refused (exit 2)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.simulate import simulate
from conftest import MovableClock
from ledger.audit.bundle import BundleSource, export_bundle
from ledger.audit.verify import verify
from ledger.errors import BundleError
from ledger.ledger import Ledger
from ledger.stores.url import parse_store_url


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    url = f"sqlite:{folder / 'l.db'}"
    ledger = Ledger.open(url, clock=MovableClock(), key_path=folder / "k")
    simulate(ledger, projects=2, seed=11, batch=20)
    ledger.checkpoint()
    ledger.close()
    bundle = folder / "evidence.zip"
    export_bundle(parse_store_url(url), bundle)
    return bundle


def rewrite(source: Path, out: Path, changes: dict[str, bytes | None],
            manifest: dict | None = None, digests: bool = True) -> Path:
    """A copy of a bundle with members replaced (None: removed), its manifest's digests made
    to fit (unless told not to) and its fields updated by `manifest`."""
    with zipfile.ZipFile(source) as z:
        members = {n: z.read(n) for n in z.namelist()}
    for name, data in changes.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    stated = json.loads(members["manifest.json"])
    if digests:
        stated["members"] = {n: hashlib.sha256(d).hexdigest()
                             for n, d in sorted(members.items()) if n != "manifest.json"}
    stated.update(manifest or {})
    members["manifest.json"] = json.dumps(stated, indent=2, sort_keys=True).encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out


def described(bundle: Path) -> list[str]:
    report = verify(BundleSource(bundle), workers=1)
    assert {f.kind for f in report.findings} <= {"bundle_altered"}, report.findings[:3]
    return [f.detail for f in report.findings]


def member(bundle: Path, name: str) -> bytes:
    with zipfile.ZipFile(bundle) as z:
        return z.read(name)


def test_an_exported_bundle_is_intact_whole(exported):
    assert described(exported) == []


def test_a_ledger_key_that_is_not_the_started_one(exported, tmp_path):
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    found = described(rewrite(exported, tmp_path / "b.zip", {"ledger-key.pem": other}))
    assert len(found) == 1 and "ledger-key.pem" in found[0] and "ledger.started" in found[0]
    found = described(rewrite(exported, tmp_path / "c.zip", {"ledger-key.pem": None}))
    assert len(found) == 1 and "ledger-key.pem is missing" in found[0]


def test_a_registry_that_is_not_the_one_the_events_give(exported, tmp_path):
    registry = json.loads(member(exported, "registry.json"))
    actor = sorted(registry["actors"])[0]
    registry["actors"][actor]["roles"] = ["registrar"]  # a party made a registrar on paper
    edited = json.dumps(registry, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    found = described(rewrite(exported, tmp_path / "b.zip", {"registry.json": edited.encode()}))
    assert len(found) == 1 and "registry.json" in found[0]


def test_a_trusted_ca_no_event_trusts(exported, tmp_path):
    forged = "trusted-cas/" + "ab" * 32 + ".pem"
    found = described(rewrite(exported, tmp_path / "b.zip", {forged: b"-----BEGIN CERTIFICATE-----\n"}))
    assert len(found) == 1 and forged in found[0] and "not given by the events" in found[0]


def test_a_manifest_that_does_not_describe_the_bundle(exported, tmp_path):
    stated = json.loads(member(exported, "manifest.json"))
    wrong = dict(stated["members"], **{"registry.json": "0" * 64})
    found = described(rewrite(exported, tmp_path / "b.zip", {}, {"members": wrong}, digests=False))
    assert found == ["manifest.json's digest of registry.json is not its SHA-256"]
    found = described(rewrite(exported, tmp_path / "c.zip", {},
                              {"events": stated["events"] + 1, "ledger_key_id": "0" * 32}))
    assert len(found) == 2 and all(f.startswith("manifest.json states") for f in found)
    events = member(exported, "events.jsonl")  # a line changed, the digest left as it was
    changed = events.replace(b'{"position":', b'{ "position":', 1)
    assert changed != events
    report = verify(BundleSource(rewrite(exported, tmp_path / "d.zip", {"events.jsonl": changed},
                                         digests=False)), workers=1)
    assert "manifest.json's digest of events.jsonl is not its SHA-256" in {
        f.detail for f in report.findings}


def _lines(bundle: Path) -> list[dict]:
    return [json.loads(line) for line in member(bundle, "events.jsonl").splitlines()]


def _with_lines(bundle: Path, out: Path, lines: list[dict]) -> Path:
    text = "".join(json.dumps(line, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
                   + "\n" for line in lines)
    return rewrite(bundle, out, {"events.jsonl": text.encode()})


def _refused(bundle: Path) -> str:
    with pytest.raises(BundleError) as caught:
        verify(BundleSource(bundle), workers=1)
    return caught.value.message


def test_a_receipt_only_line_for_a_position_that_has_its_event_is_refused(exported, tmp_path):
    """Two receipts for one position: no store holds that (a position has one receipt)."""
    lines = _lines(exported)
    lines.append({"position": lines[5]["position"], "receipt": lines[5]["receipt"]})
    assert "which has its event line" in _refused(_with_lines(exported, tmp_path / "b.zip", lines))
    lines = _lines(exported)
    lines.insert(3, {"position": lines[5]["position"], "receipt": lines[5]["receipt"]})  # before it
    assert "which has its event line" in _refused(_with_lines(exported, tmp_path / "c.zip", lines))


def test_event_lines_out_of_position_order_are_refused(exported, tmp_path):
    lines = _lines(exported)
    lines[4], lines[5] = lines[5], lines[4]
    assert "does not follow" in _refused(_with_lines(exported, tmp_path / "b.zip", lines))


def test_a_receipt_for_another_position_than_its_line_is_refused(exported, tmp_path):
    lines = _lines(exported)
    lines[4]["receipt"] = lines[6]["receipt"]
    assert "not the line's" in _refused(_with_lines(exported, tmp_path / "b.zip", lines))


def test_an_orphan_receipt_where_no_event_is_stays_a_finding(exported, tmp_path):
    """The other side: a receipt-only line where no event line is, is what §13 allows: its
    event is gone (missing_event, the receipt being the ledger's)."""
    lines = _lines(exported)
    gone = lines.pop(7)
    report = verify(BundleSource(_with_lines(exported, tmp_path / "b.zip",
                                             lines + [{"position": gone["position"],
                                                       "receipt": gone["receipt"]}])), workers=1)
    assert ("missing_event", gone["position"]) in {(f.kind, f.position) for f in report.findings}
    assert "bundle_altered" in {f.kind for f in report.findings}  # the manifest's count
