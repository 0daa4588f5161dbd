"""Actors identified by X.509 certificates from trusted CAs (跨区域互认)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from conftest import bid
from ledger import errors
from ledger.audit.verify import StoreSource, verify
from ledger.evidence.certificates import certificate_facts
from ledger.evidence.keys import SigningKey, key_id
from ledger.evidence.signer import ActorSigner

START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def make_ca(name: str):
    key = Ed25519PrivateKey.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(START).not_valid_after(START + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, None))
    return key, cert


def issue(ca_key, ca_cert, actor_key: SigningKey, days: int = 365):
    public = Ed25519PrivateKey.from_private_bytes(actor_key.seed()).public_key()
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "虚构投标人")]))
            .issuer_name(ca_cert.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(START).not_valid_after(START + timedelta(days=days))
            .sign(ca_key, None))


def der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def trust(world, ca_cert):
    facts = certificate_facts(der(ca_cert))
    world.submit(world.registrar, "ledger", "ledger.ca-trusted/v1", {
        "certificate": base64.b64encode(der(ca_cert)).decode(),
        "fingerprint": facts.fingerprint, "subject": facts.subject})


def certificate_payload(cert) -> dict:
    facts = certificate_facts(der(cert))
    return {"key_id": key_id(facts.public_key), "certificate": base64.b64encode(der(cert)).decode(),
            "fingerprint": facts.fingerprint, "serial": facts.serial, "issuer": facts.issuer}


def register_bare(world, actor: str):
    world.submit(world.registrar, f"actor:{actor}", "actor.registered/v1",
                 {"name": actor, "roles": ["bidder"], "organisation": "虚构单位"})


def test_certificate_from_a_trusted_ca_identifies_an_actor(world):
    ca_key, ca = make_ca("株洲虚构CA")
    trust(world, ca)
    key = SigningKey.derived(b"cert", "bidder-c")
    register_bare(world, "bidder-c")
    payload = certificate_payload(issue(ca_key, ca, key))
    world.submit(world.registrar, "actor:bidder-c", "actor.certificate-added/v1", payload)
    world.open_project("project:CERT-1")
    world.submit(ActorSigner("bidder-c", key), "project:CERT-1", "project.bid-submitted/v1",
                 bid("bidder-c"))
    report = verify(StoreSource(world.raw.url), workers=1)
    assert report.intact, report.findings
    record = world.ledger.stream("actor:bidder-c").actor.keys[payload["key_id"]]
    assert record.certificate.serial == payload["serial"]
    assert record.certificate.issuer == "CN=株洲虚构CA"


def test_certificate_from_an_untrusted_ca_is_refused(world):
    trust(world, make_ca("株洲虚构CA")[1])
    rogue_key, rogue = make_ca("Rogue CA")
    register_bare(world, "bidder-r")
    before = world.raw.counts()
    with pytest.raises(errors.BadCertificate, match="not issued by a CA this ledger trusts"):
        world.submit(world.registrar, "actor:bidder-r", "actor.certificate-added/v1",
                     certificate_payload(issue(rogue_key, rogue, SigningKey.generate())))
    assert world.raw.counts() == before


def test_expired_certificate_cannot_sign(world):
    ca_key, ca = make_ca("福州虚构CA")
    trust(world, ca)
    key = SigningKey.derived(b"cert", "bidder-e")
    register_bare(world, "bidder-e")
    # valid until 2025-03-10; the ledger clock is at 2025-03-03
    world.submit(world.registrar, "actor:bidder-e", "actor.certificate-added/v1",
                 certificate_payload(issue(ca_key, ca, key, days=68)))
    signer = ActorSigner("bidder-e", key)
    world.open_project("project:CERT-2")
    world.submit(signer, "project:CERT-2", "project.bid-submitted/v1", bid("bidder-e"))
    world.clock.advance(days=30)
    with pytest.raises(errors.KeyNotValid, match="expired"):
        world.submit(signer, "project:CERT-2", "project.bid-submitted/v1", bid("bidder-e", 1))


def test_payload_must_record_the_certificates_own_facts(world):
    ca_key, ca = make_ca("株洲虚构CA")
    trust(world, ca)
    register_bare(world, "bidder-f")
    payload = certificate_payload(issue(ca_key, ca, SigningKey.generate()))
    with pytest.raises(errors.MalformedAction, match="serial"):
        world.submit(world.registrar, "actor:bidder-f", "actor.certificate-added/v1",
                     {**payload, "serial": "1234"})


def test_a_non_ca_certificate_cannot_be_trusted(world):
    ca_key, ca = make_ca("株洲虚构CA")
    leaf = issue(ca_key, ca, SigningKey.generate())
    with pytest.raises(errors.BadCertificate, match="not a CA certificate"):
        trust(world, leaf)
