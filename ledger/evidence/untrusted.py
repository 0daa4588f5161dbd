"""Files from outside, read within bounds: a bundle, a dossier, a proof, a witness report or a
witness's state file may come from anyone, and none may exhaust the machine that checks it.

A ZIP's central directory is judged before any member is read (its size, the number of
members, their names, methods, declared sizes and compression ratios, the total), and each
member is held to its declared size while it is read; a member read line by line is streamed,
never held whole, and no line may exceed MAX_LINE_BYTES. JSON is ledger JSON (§2.1), parsed by
a parser that stops at 1024 levels, then held to 32. Every limit below is far above what real
files reach and far below what would exhaust a verifier (docs/evidence-format.md §13.1). A
file outside them is refused with UntrustedFileError, before any of it is judged; a file within
them that is not what it should be is the reader's to judge (a ValueError for JSON here).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Collection, Iterator

from ledger.errors import UntrustedFileError
from .canonical import NotLedgerJSON, parse_ledger_json

MiB = 1024 * 1024
MAX_DOCUMENT_BYTES = 64 * MiB  # read whole: a proof of 40,000 events, 90,000 checkpoints
MAX_LINE_BYTES = 1 * MiB  # an events.jsonl line: an event (payload ≤ 64 KiB), escaped twice
MAX_MEMBERS = 20_000  # a dossier: one per signer and per event in dispute; a bundle: a few
MAX_DIRECTORY_BYTES = 8 * MiB  # a ZIP's central directory: MAX_MEMBERS entries, long names
MAX_TOTAL_BYTES = 1024 * MiB  # the members of one ZIP that are read whole, together
MAX_RATIO = 200  # uncompressed ÷ compressed: JSON compresses 3–20×, a zip bomb about 1000×
RATIO_FLOOR = 1 * MiB  # smaller members are not judged by their ratio: they cannot hurt
MAX_NAME_BYTES = 1024  # a member name: actors/<id: 128 characters>.completeness.json
MAX_REPORT_BYTES = 64 * MiB  # a witness report PDF, read whole (hashed and rendered again)
MAX_CERTIFICATE_BYTES = 64 * 1024  # a CA or actor certificate: its event's payload limit

_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # what Sunledger writes; no other is read
# what zipfile raises on a damaged archive or member (RuntimeError: an encrypted one)
_ZIP_ERRORS = (OSError, EOFError, ValueError, RuntimeError, NotImplementedError,
               zipfile.BadZipFile, zlib.error)


def read_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a file read whole, refused beyond `limit` (only limit + 1 bytes are read)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise UntrustedFileError(f"cannot read {what} {path}: {error.strerror or error}") from None
    if len(data) > limit:
        raise UntrustedFileError(f"{what} {path} is larger than {limit:,} bytes, the most a "
                                 "real one reaches: it is not read")
    return data


def parse_json(data: bytes, what: str) -> object:
    """Ledger JSON text (§2.1: nested at most 32 levels, no floats, no repeated names); a
    NotLedgerJSON (a ValueError) naming `what` and the place when it is not."""
    try:
        return parse_ledger_json(data)
    except NotLedgerJSON as error:
        raise NotLedgerJSON(what + error.path.removeprefix("$"), error.reason) from None


class UntrustedZip:
    """A ZIP file from outside whose central directory passed every limit. Members named in
    `streamed` are read line by line only (unbounded in total, bounded by ratio and line
    length); every other member is read whole, within MAX_DOCUMENT_BYTES."""

    def __init__(self, path: Path, what: str, streamed: Collection[str] = ()):
        self.what = f"{what} {path}"
        self.streamed = frozenset(streamed)
        try:
            with open(path, "rb") as handle:
                end = zipfile._EndRecData(handle)  # the record zipfile itself goes by
                size = handle.seek(0, 2)
            if end is not None and end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES:
                self._refuse(f"its central directory is {end[zipfile._ECD_SIZE]:,} bytes, over "
                             f"{MAX_DIRECTORY_BYTES:,}")
            self.zip = zipfile.ZipFile(path)
        except _ZIP_ERRORS as error:
            raise UntrustedFileError(f"{self.what} is not a ZIP file: {error}") from None
        try:
            self._judge_directory(size)
        except UntrustedFileError:
            self.zip.close()
            raise

    def _refuse(self, problem: str) -> None:
        raise UntrustedFileError(f"{self.what}: {problem}; it is not read")

    def _judge_directory(self, file_size: int) -> None:
        members = self.zip.infolist()
        if len(members) > MAX_MEMBERS:
            self._refuse(f"{len(members):,} members, over {MAX_MEMBERS:,}")
        if len({m.filename for m in members}) != len(members):
            self._refuse("a member name appears twice")
        if sum(m.compress_size for m in members) > file_size:
            self._refuse("its members overlap (together they are larger than the file)")
        whole = 0
        for m in members:
            name = m.filename
            parts = name.removesuffix("/").split("/")
            if len(name.encode()) > MAX_NAME_BYTES or any(
                    p in ("", ".", "..") or "\\" in p or not p.isprintable() for p in parts):
                self._refuse(f"member name {name[:80]!r} is not a plain relative path")
            if m.flag_bits & 0x1 or m.compress_type not in _METHODS:
                self._refuse(f"member {name} is encrypted or compressed by a method Sunledger "
                             "does not write (stored and deflate only)")
            if m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * m.compress_size:
                self._refuse(f"member {name} would expand {m.compress_size:,} bytes to "
                             f"{m.file_size:,}, over {MAX_RATIO}× (a zip bomb)")
            if name not in self.streamed:
                self._judge_size(m)
                whole += m.file_size
        if whole > MAX_TOTAL_BYTES:
            self._refuse(f"its members would hold {whole:,} bytes, over {MAX_TOTAL_BYTES:,}")

    def _judge_size(self, member: zipfile.ZipInfo) -> None:
        if member.file_size > MAX_DOCUMENT_BYTES:
            self._refuse(f"member {member.filename} would be {member.file_size:,} bytes, over "
                         f"{MAX_DOCUMENT_BYTES:,}")

    def names(self) -> list[str]:
        return self.zip.namelist()

    def __contains__(self, name: str) -> bool:
        return name in self.zip.namelist()

    def read(self, name: str) -> bytes:
        """A member whole (KeyError if there is none), held to its declared size."""
        member = self.zip.getinfo(name)
        self._judge_size(member)
        try:
            with self.zip.open(member) as handle:
                data = handle.read(member.file_size + 1)
        except _ZIP_ERRORS as error:
            raise UntrustedFileError(f"{self.what}: member {name} is damaged: {error}") from None
        if len(data) != member.file_size:
            self._refuse(f"member {name} is not the size its header declares")
        return data

    def json(self, name: str) -> object:
        """A member that is ledger JSON (KeyError if there is none; ValueError if not JSON)."""
        return parse_json(self.read(name), name)

    def lines(self, name: str) -> Iterator[bytes]:
        """A member's lines, streamed (KeyError if there is none), each with its newline and
        at most MAX_LINE_BYTES; the member held to its declared size."""
        member = self.zip.getinfo(name)
        read = 0
        try:
            with self.zip.open(member) as handle:
                number = 0
                while line := handle.readline(MAX_LINE_BYTES + 1):
                    number += 1
                    read += len(line)
                    if len(line) > MAX_LINE_BYTES:
                        self._refuse(f"{name} line {number} is longer than {MAX_LINE_BYTES:,} "
                                     "bytes")
                    if read > member.file_size:
                        self._refuse(f"member {name} is longer than its header declares")
                    yield line
        except _ZIP_ERRORS as error:
            raise UntrustedFileError(f"{self.what}: member {name} is damaged: {error}") from None

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> "UntrustedZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
