"""X.509 certificates as an alternative to registered raw keys (跨区域互认: centres trust each
other's CAs). A certificate is accepted when a trusted CA issued it directly, its key is
Ed25519, and the ledger time lies in its validity period."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import BadCertificate


@dataclass(frozen=True)
class CertificateFacts:
    fingerprint: str  # SHA-256 of the DER, hex
    serial: str  # hex
    issuer: str  # RFC 4514
    subject: str
    not_before: datetime
    not_after: datetime
    public_key: bytes  # raw Ed25519 key, 32 bytes
    is_ca: bool


def load_der_or_pem(data: bytes) -> bytes:
    """The DER bytes of a certificate given as DER or PEM."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
        return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    except ValueError as error:
        raise BadCertificate(f"not an X.509 certificate: {error}") from None


def certificate_facts(der: bytes) -> CertificateFacts:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as error:
        raise BadCertificate(f"not a DER X.509 certificate: {error}") from None
    key = cert.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise BadCertificate(
            f"certificate {cert.serial_number:x} holds a {type(key).__name__}; "
            "the ledger verifies Ed25519 signatures only"
        )
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateFacts(
        fingerprint=hashlib.sha256(der).hexdigest(),
        serial=f"{cert.serial_number:x}",
        issuer=cert.issuer.rfc4514_string(),
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        public_key=key.public_bytes_raw(),
        is_ca=is_ca,
    )


def issued_by(der: bytes, ca_der: bytes) -> bool:
    """True when `ca_der` signed `der` (one level: trusted CAs issue actor certificates)."""
    cert = x509.load_der_x509_certificate(der)
    ca = x509.load_der_x509_certificate(ca_der)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
