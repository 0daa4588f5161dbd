"""Files from outside are read within bounds (ledger/evidence/untrusted.py, evidence-format
§13.1): a zip bomb, a header that lies about a member's size, a line of 100 MB and JSON nested
a million deep are refused in seconds with exit 2 and a line that says why, and a bundle of
about 100 MB is verified by a `sunledger` process whose address space is limited to 512 MiB.

The hostile ZIPs are written by hand (`raw_zip`), so that their headers can say anything, and
their deflated zeros are one flushed block repeated, so that 10 GiB of zeros take 10 MB and no
time to make. tests/test_hostile_inputs.py gives the same files to every command that reads
one."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.errors import UntrustedFileError
from ledger.evidence import untrusted
from ledger.evidence.untrusted import UntrustedZip

MiB = 1024 * 1024
MEMORY = 512 * MiB  # the address space a `sunledger` process is given here


def a_log_key() -> str:
    """A well-formed log verifier key, so that a command goes on to read its file."""
    from ledger.evidence.keys import SigningKey
    from ledger.log.checkpoints import log_verifier_key

    return log_verifier_key("hostile.example/log", SigningKey.generate().public_key)


LOG_KEY = a_log_key()


# --- hostile files, made by hand -------------------------------------------------------------

def deflated_zeros(mib: int) -> bytes:
    """`mib` MiB of zeros as raw deflate (about 1000:1): one flushed block, repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + block * (mib - 1) + packer.flush()


def raw_zip(entries: list[tuple], *, offsets: list[int] | None = None) -> bytes:
    """A ZIP written byte by byte from (name, stored bytes, method, CRC-32, declared size[,
    flags]) entries: its headers say whatever the entries say (a size of 4 GiB or more in a
    ZIP64 extra field). `offsets` points central directory entries at other local headers
    (members that overlap)."""
    body, directory = b"", b""
    for i, (name, data, method, crc, size, *flags) in enumerate(entries):
        encoded, flag = name.encode(), 0x800 | (flags[0] if flags else 0)
        extra = struct.pack("<HHQ", 1, 8, size) if size >= 0xFFFFFFFF else b""
        size = min(size, 0xFFFFFFFF)
        offset = len(body) if offsets is None else offsets[i]
        if offsets is None or offsets[i] == len(body):
            body += struct.pack("<4s5H3I2H", b"PK\x03\x04", 45, flag, method, 0, 0x21, crc,
                                len(data), size, len(encoded), len(extra)) + encoded + extra + data
        directory += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 45, 45, flag, method, 0, 0x21,
                                 crc, len(data), size, len(encoded), len(extra), 0, 0, 0, 0,
                                 offset) + encoded + extra
    return body + directory + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries),
                                          len(entries), len(directory), len(body), 0)


def directory_claiming(size: int) -> bytes:
    """Only an end record, which says the central directory is `size` bytes."""
    return b"PK\x05\x06" + struct.pack("<4H2IH", 0, 0, 1, 1, size, 0, 0)


def stored(name: str, data: bytes) -> tuple:
    return (name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


def deflated(name: str, data: bytes) -> tuple:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (name, packer.compress(data) + packer.flush(), zipfile.ZIP_DEFLATED,
            zlib.crc32(data), len(data))


BUNDLE_MANIFEST = json.dumps({"format": "sunledger-bundle/v1", "events": 1}).encode()


def bomb(mib: int = 2048) -> bytes:
    """A bundle (or dossier) whose manifest.json is `mib` MiB of zeros in ~mib KiB."""
    data = deflated_zeros(mib)
    return raw_zip([("manifest.json", data, zipfile.ZIP_DEFLATED, 0, mib * MiB)])


def lying_bundle() -> bytes:
    """A bundle whose events.jsonl says 1 MiB in both headers and holds 45 MB of lines,
    each a well-formed receipt-only line (so that only the lie stops the reader)."""
    receipt = ('{"position":%d,"receipt":{"event_hash":"%s","ledger_time":'
               '"2025-03-03T01:00:00.000000Z","position":%d,"signature":"%s","stream":"ledger",'
               '"version":1}}\n')
    lines = "".join(receipt % (n, "0" * 64, n, "A" * 88) for n in range(1, 230_000)).encode()
    assert len(lines) > 45_000_000
    name, data, method, crc, _ = deflated("events.jsonl", lines)
    return raw_zip([stored("manifest.json", BUNDLE_MANIFEST),
                    (name, data, method, crc, MiB)])


def long_line_bundle(mib: int = 100) -> bytes:
    """A bundle whose events.jsonl is one line of `mib` MiB without a newline (stored)."""
    return raw_zip([stored("manifest.json", BUNDLE_MANIFEST),
                    stored("events.jsonl", b"a" * (mib * MiB))])


DEEP = b"[" * 1_000_000  # JSON nested a million deep


def deep_pdf(attachment: bytes, *, deflated_zeros_mib: int = 0) -> bytes:
    """A one-page PDF carrying `attachment` as the report's evidence, or instead, with
    `deflated_zeros_mib`, a FlateDecode stream of that many MiB of zeros (a PDF bomb)."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("sunledger-evidence.json", attachment)
    if deflated_zeros_mib:
        spec = writer._root_object["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
        stream = spec["/EF"]["/F"].get_object()
        packed = deflated_zeros(deflated_zeros_mib)
        stream._data = b"\x78\xda" + packed  # a zlib header before the raw deflate
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- running sunledger under a memory limit --------------------------------------------------

@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    peak: int | None  # the process's peak resident memory (bytes), None if it did not exit


def sunledger(*args: str, memory: int = MEMORY) -> Run:
    """`sunledger ARGS` in a process whose address space is limited to `memory` (and its CPU
    time to two minutes, so that a reader that is not bounded fails instead of hanging). Its
    peak resident memory is the kernel's count at its exit (VmHWM); a child's ru_maxrss would
    count this test's own memory too, which the child has until it runs Python."""
    with tempfile.TemporaryDirectory() as folder:
        status = Path(folder) / "status"
        code = ("import atexit, resource; "
                f"resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory})); "
                "resource.setrlimit(resource.RLIMIT_CPU, (120, 120)); "
                f"atexit.register(lambda: open({str(status)!r}, 'w').write("
                "open('/proc/self/status').read())); "
                "from api.cli import main; main()")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, errors="replace", timeout=300)
        seconds = time.perf_counter() - started
        peak = re.search(r"VmHWM:\s+(\d+) kB", status.read_text()) if status.exists() else None
        return Run(done.returncode, done.stdout, done.stderr, seconds,
                   int(peak[1]) * 1024 if peak else None)


def refused(run: Run, *words: str, seconds: float = 10) -> None:
    """The command refused its file: exit 2, one line on stderr that names the problem, no
    traceback, within `seconds`."""
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err and run.err.startswith("sunledger: "), run.err
    assert len(run.err.strip().splitlines()) == 1, run.err
    for word in words:
        assert word in run.err, run.err
    assert run.seconds < seconds, run.seconds


# --- the bounded reader, in process ----------------------------------------------------------

def test_a_zip_is_judged_by_its_central_directory_before_any_member_is_read(tmp_path):
    cases = [
        ("not a ZIP file", b"PK\x03\x04 but nothing more"),
        ("over 200×", bomb(64)),
        ("a member name appears twice", raw_zip([stored("a.json", b"{}"),
                                                 stored("a.json", b"[]")])),
        ("overlap", raw_zip([stored(f"m{i}.json", b"{}" * 100) for i in range(3)],
                            offsets=[0, 0, 0])),
        ("plain relative path", raw_zip([stored("../../etc/passwd", b"x")])),
        ("plain relative path", raw_zip([stored("/etc/passwd", b"x")])),
        ("plain relative path", raw_zip([stored("a\\..\\b", b"x")])),
        ("encrypted", raw_zip([("a.json", b"{}", zipfile.ZIP_STORED, 0, 2, 0x1)])),
        ("stored and deflate only", raw_zip([("a.json", b"BZh9", zipfile.ZIP_BZIP2, 0, 4)])),
        ("over 20,000", raw_zip([stored(f"{i}", b"") for i in range(untrusted.MAX_MEMBERS + 1)])),
        ("would be 104,857,600 bytes", raw_zip([("a.json", os.urandom(600_000),
                                                 zipfile.ZIP_DEFLATED, 0, 100 * MiB)])),
        ("central directory", directory_claiming(100 * MiB)),
    ]
    for words, data in cases:
        path = tmp_path / "hostile.zip"
        path.write_bytes(data)
        started = time.perf_counter()
        with pytest.raises(UntrustedFileError, match=words):
            UntrustedZip(path, "the file")
        assert time.perf_counter() - started < 5, words


def test_a_member_is_held_to_its_declared_size_while_it_is_read(tmp_path):
    path = tmp_path / "lying.zip"
    path.write_bytes(lying_bundle())
    with UntrustedZip(path, "the bundle", streamed={"events.jsonl"}) as z:
        read = 0
        with pytest.raises(UntrustedFileError, match="events.jsonl is damaged: Bad CRC-32"):
            for line in z.lines("events.jsonl"):
                read += len(line)
        assert read <= MiB  # not one byte past what the headers declare
    short = raw_zip([("a.json", b"{}", zipfile.ZIP_STORED, zlib.crc32(b"{}"), 1000)])
    path.write_bytes(short)
    with UntrustedZip(path, "the file") as z, pytest.raises(UntrustedFileError):
        z.read("a.json")


def test_lines_are_streamed_and_a_long_one_is_refused(tmp_path):
    path = tmp_path / "long.zip"
    path.write_bytes(long_line_bundle(8))
    with UntrustedZip(path, "the bundle", streamed={"events.jsonl"}) as z, \
            pytest.raises(UntrustedFileError, match="line 1 is longer than 1,048,576 bytes"):
        list(z.lines("events.jsonl"))


def test_json_is_ledger_json_at_most_32_deep():
    for text, words in [(DEEP, "depth limit exceeded"), (b"[" * 40 + b"]" * 40, "deeper than 32"),
                        (b'{"a": 1.5}', "floats"), (b'{"a": 1, "a": 2}', "repeats")]:
        with pytest.raises(ValueError, match=words):
            untrusted.parse_json(text, "manifest.json")
    assert untrusted.parse_json(b"[" * 32 + b"]" * 32, "x") == \
        json.loads(b"[" * 32 + b"]" * 32)


# --- the commands, as processes under a memory limit -----------------------------------------

def test_a_zip_bomb_is_refused_in_seconds_by_every_command_that_reads_a_zip(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(bomb(10 * 1024))  # 10 GiB of zeros in 10 MB
    refused(sunledger("verify", "--bundle", str(path)), "over 200×", "zip bomb")
    refused(sunledger("check-dossier", str(path), "--log-key", LOG_KEY), "over 200×")
    pdf = tmp_path / "report.pdf"  # evidence that names a project: its bundle is read next
    pdf.write_bytes(deep_pdf(b'{"project": "project:BOMB-1"}'))
    refused(sunledger("verify-report", str(pdf), "--bundle", str(path)), "over 200×")


def test_a_pdf_whose_attachment_is_a_bomb_is_refused(tmp_path):
    pdf = tmp_path / "bomb.pdf"
    pdf.write_bytes(deep_pdf(b"{}", deflated_zeros_mib=10 * 1024))
    refused(sunledger("verify-report", str(pdf)), "expands beyond 67,108,864 bytes")


def test_a_lying_header_and_a_100_mb_line_are_stopped_while_streaming(tmp_path):
    path = tmp_path / "lying.zip"
    path.write_bytes(lying_bundle())
    refused(sunledger("verify", "--bundle", str(path)), "events.jsonl is damaged")
    path.write_bytes(long_line_bundle(100))
    run = sunledger("verify", "--bundle", str(path))
    refused(run, "events.jsonl line 1 is longer than 1,048,576 bytes")
    assert run.peak is not None and run.peak < 100 * MiB  # the line was never held


def test_json_nested_a_million_deep_is_refused_by_every_reader(tmp_path):
    bundle, dossier, proof, pdf = (tmp_path / n for n in ("b.zip", "d.zip", "p.json", "r.pdf"))
    bundle.write_bytes(raw_zip([stored("manifest.json", DEEP)]))
    dossier.write_bytes(raw_zip([deflated("manifest.json", DEEP)]))
    proof.write_bytes(DEEP)
    pdf.write_bytes(deep_pdf(DEEP))
    for args, code in [(["verify", "--bundle", str(bundle)], 2),
                       (["check-proof", str(proof), "--log-key", LOG_KEY], 2),
                       (["check-dossier", str(dossier), "--log-key", LOG_KEY], 1),
                       (["verify-report", str(pdf)], 1)]:
        run = sunledger(*args)
        assert run.code == code and "Traceback" not in run.err, (args, run.out, run.err)
        assert "depth limit exceeded" in run.out + run.err and run.seconds < 10, args


# --- a bundle of about 100 MB, verified within 512 MiB ---------------------------------------

def big_bundle(folder: Path, events: int) -> Path:
    """A real ledger's bundle (its start event, registry, key and checkpoints) with `events`
    more events of ~60 KiB payloads, signed by the ledger key and receipted, appended to
    events.jsonl: each is sound, but no rule admits it, so the verifier reports each."""
    from ledger.audit.bundle import _line, export_bundle
    from ledger.evidence.envelope import action_bytes, hash_and_stored_bytes, stream_id_hex
    from ledger.evidence.keys import read_private_key
    from ledger.evidence.receipts import sign_receipt
    from ledger.ledger import Ledger
    from ledger.stores.url import parse_store_url

    store, key_file = f"sqlite:{folder / 'ledger.db'}", folder / "ledger.key"
    Ledger.open(store, key_path=key_file)
    small = folder / "small.zip"
    export_bundle(parse_store_url(store), small)
    key = read_private_key(key_file)
    with zipfile.ZipFile(small) as z:
        members = {name: z.read(name) for name in z.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    lines = members.pop("events.jsonl")
    digest = hashlib.sha256(lines)
    out = folder / "big.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("events.jsonl", "w") as handle:
            handle.write(lines)
            prev, position = "0" * 64, manifest["events"]
            for version in range(1, events + 1):
                position += 1
                when = f"2099-01-01T00:{version // 60 % 60:02d}:{version % 60:02d}.000000Z"
                event = {"actor": "ledger", "key_id": key.key_id, "ledger_time": when,
                         "nonce": f"{version:032x}", "prev": prev, "signed_at": when,
                         "payload": {"text": base64.b64encode(os.urandom(48_000)).decode()},
                         "stream": "project:BIG-0001", "type": "project.note/v1",
                         "version": version}
                event["signature"] = base64.b64encode(key.sign(action_bytes(event))).decode()
                prev, state = hash_and_stored_bytes(event)
                event["hash"] = prev
                receipt = sign_receipt(key, event, position).to_json()
                del receipt["receipt"]
                line = _line({"position": position, "stream_id": stream_id_hex(event["stream"]),
                              "version": version, "type": event["type"],
                              "state": state.decode(), "receipt": receipt})
                digest.update(line)
                handle.write(line)
        for name, data in members.items():
            z.writestr(name, data)
        manifest.update(events=manifest["events"] + events,
                        receipts=manifest["receipts"] + events)
        manifest["members"]["events.jsonl"] = digest.hexdigest()
        z.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def test_a_100_mb_bundle_is_verified_in_512_mib_of_address_space(tmp_path):
    bundle = big_bundle(tmp_path, events=2150)
    assert bundle.stat().st_size > 95 * MiB
    run = sunledger("verify", "--bundle", str(bundle), "--json")
    assert run.code == 1 and "Traceback" not in run.err, run.err[-2000:]
    report = json.loads(run.out)
    assert report["events"] == 2151 and report["receipts"] == 2151
    assert {f["kind"] for f in report["findings"]} <= {"malformed_event", "not_permitted"}
    assert run.peak is not None and run.peak < MEMORY
    print(f"verified a {bundle.stat().st_size / MiB:.0f} MiB bundle in {run.seconds:.1f} s, "
          f"peak resident memory {run.peak / MiB:.0f} MiB (address space limited to "
          f"{MEMORY // MiB} MiB)")


def test_the_verifier_out_of_memory_fails_rather_than_report_a_false_finding():
    """A row the parser cannot hold in memory is the machine's limit, not a damaged row:
    `_decode` raises MemoryError (the command says so, exit 2), never undecodable_row."""
    script = (
        "import resource\n"
        "from ledger.audit.verify import _decode\n"
        "state = b'{\"a\":\"' + b'x' * (120 * 1024 * 1024) + b'\"}'\n"
        "size = next(int(l.split()[1]) for l in open('/proc/self/status') "
        "if l.startswith('VmSize')) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 200 * 1024 * 1024,) * 2)\n"
        "try:\n"
        "    print(_decode((1, '0' * 32, 1, 't', state)))\n"
        "except MemoryError:\n"
        "    print('MemoryError')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "MemoryError", done.stdout[:300] + done.stderr[-300:]
