"""Ed25519 keys: actor keys, key ids, signature checks, and the ledger's own key file."""

from __future__ import annotations

import base64
import errno
import functools
import hashlib
import os
import stat
import tempfile
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import LedgerKeyError


def key_id(public_key: bytes) -> str:
    """Key id of an Ed25519 public key: the first 16 bytes of SHA-256(raw key), in hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def encode_public_key(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode("ascii")


def decode_public_key(text: str) -> bytes:
    """32 raw bytes from canonical standard base64 (44 characters); ValueError otherwise."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError("a public key is standard base64") from None
    if len(raw) != 32 or encode_public_key(raw) != text:
        raise ValueError("an Ed25519 public key is 32 bytes in canonical standard base64")
    return raw


def signature_ok(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 (RFC 8032) verification, via libsodium."""
    try:
        verify_key(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


@functools.lru_cache(maxsize=65536)
def verify_key(public_key: bytes) -> nacl.signing.VerifyKey:
    """The (cached) libsodium verifier of a public key."""
    return nacl.signing.VerifyKey(public_key)


class SigningKey:
    """An Ed25519 private key with its public half and key id."""

    def __init__(self, seed: bytes):
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._seed = seed
        # libsodium's key pair; signing with it directly skips PyNaCl's SignedMessage, a
        # third of a signature's time (22 µs instead of 32: the ledger signs every receipt)
        self.public_key, self._secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        self.key_id: str = key_id(self.public_key)

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(os.urandom(32))

    @classmethod
    def derived(cls, secret: bytes, label: str) -> "SigningKey":
        """A key derived deterministically (for simulations and tests, never for real actors)."""
        return cls(hashlib.sha256(secret + b"\x00" + label.encode("utf-8")).digest())

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message` (RFC 8032)."""
        return nacl.bindings.crypto_sign(message, self._secret)[:nacl.bindings.crypto_sign_BYTES]

    def seed(self) -> bytes:
        return self._seed

    def to_pem(self) -> bytes:
        private = Ed25519PrivateKey.from_private_bytes(self.seed())
        return private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> "SigningKey":
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(private.private_bytes_raw())

    def __repr__(self) -> str:  # never show private material
        return f"SigningKey(key_id={self.key_id})"


def write_private_key(path: Path, key: SigningKey) -> None:
    """Write a PEM private key readable by its owner only, never overwriting an existing file
    (FileExistsError). The key is written to a temporary file beside it, flushed to disk, and
    only then linked to its name: a reader finds a whole key or none, and of two processes
    that write one at once, the second finds the first one's."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.to_pem())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
    finally:
        os.unlink(temporary)
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder_fd)  # the new name is on disk too
    finally:
        os.close(folder_fd)


def read_private_key(path: Path) -> SigningKey:
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise LedgerKeyError(f"cannot read the key file {path}: {error.strerror or error}",
                             path=str(path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerKeyError(
            f"key file {path} can be read by others (mode {stat.filemode(mode)}); "
            f"run 'chmod 600 {path}' and check who has seen it",
            path=str(path),
        )
    try:
        return SigningKey.from_pem(path.read_bytes())
    except OSError as error:
        raise LedgerKeyError(f"cannot read the key file {path}: {error.strerror or error}",
                             path=str(path)) from None
    except ValueError as error:
        raise LedgerKeyError(f"key file {path} does not hold an Ed25519 private key: {error}",
                             path=str(path)) from None


def load_or_create_key(path: Path) -> SigningKey:
    """The ledger's key for a new store: the key in `path`, or a new one saved there
    (owner-only, never printed). Of processes that start one store at once, the first to
    save its key wins, and every other one reads and uses that key."""
    if path.exists():
        return read_private_key(path)
    key = SigningKey.generate()
    try:
        write_private_key(path, key)
    except FileExistsError:  # another process saved its key first: use theirs
        return read_private_key(path)
    except OSError as error:
        raise LedgerKeyError(f"cannot create the ledger key file {path}: {error.strerror}",
                             path=str(path)) from None
    return key
