"""Hostile input to every command gives a clear message and a refusal, never a traceback.

A corpus of bad store URLs, hostile files, garbage keys and out-of-range numbers, each given to
the commands that take it (run in process with click's runner, so a Python exception that
escapes a command shows as such): junk, zip bombs and other files the bounded reader refuses
(tests/test_untrusted_files.py makes them), and real proofs, tlog-proofs, dossiers and bundles
with one member removed or given a value of another type. A command that judges a file
(check-proof, check-dossier, verify-report) may answer with its verdict, "does not hold" or
FAILS (exit 1); every other refusal is exit 2, and so is a file the bounded reader refuses
unread, whatever the command. Passwords in store URLs are never echoed. Last, a subset runs as
real `sunledger` processes in 512 MiB of address space."""

from __future__ import annotations

import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from ledger.evidence.keys import SigningKey, write_private_key
from test_untrusted_files import (
    BUNDLE_MANIFEST, DEEP, LOG_KEY, MEMORY, bomb, deep_pdf, deflated, directory_claiming,
    long_line_bundle, lying_bundle, raw_zip, stored, sunledger,
)

BAD_URLS = [
    "postgresql://u@127.0.0.1:99999/db", "postgresql://u:hunter2@[::1/db",
    "postgresql://u:hunter2@127.0.0.1:abc/db", "postgres://u:hunter2@127.0.0.1:0/db",
    "postgresql://u:hunter2@127.0.0.1:1/db", "postgresql:///db", "postgresql://127.0.0.1/",
    "postgresql://u@127.0.0.1:5432/db?schema=Robert'); DROP TABLE x;--", "mysql://x/y", "sqlite:",
    "sqlite:///", "sqlite:::memory:", "sqlite:{rnd}", "sqlite:{empty}", "sqlite:{folder}",
    "sqlite:{text}", "file:///etc/passwd", "",
]
READERS = [  # commands that read an existing store: none may create or accept a bad one
    ["verify"], ["export", "--out", "{out}/x.zip"], ["checkpoint"], ["log-key"],
    ["prove", "inclusion", "--index", "0"], ["prove", "consistency", "--old", "0"],
    ["prove", "completeness", "--project", "P-1"], ["replay", "--project", "P-1"], ["stats"],
    ["warnings"], ["dossier", "--project", "P-1", "--out", "{out}/d.zip"],
]
FILES = {
    "rnd": bytes(range(256)) * 40, "empty": b"", "text": "不是证据\n".encode() * 10,
    "nonutf8": b"\xff\xfe\xfa not utf-8 \xc3\x28", "json": b"null", "deep": b"[" * 100_000,
    "longline": b"a" * 2_000_000, "fakezip": b"PK\x03\x04 not really a zip",
}
VERDICTS = ["check-proof", "check-dossier", "verify-report"]
KEYS = ["", "junk", "a+b+c", "name+zzzzzzzz+AQ==", "x" * 10_000, "n+00000000+" + "A" * 60,
        "w.example/witness+12345678+BAAA"]


def bundle_with(**members: bytes) -> bytes:
    """A bundle with a good manifest and these members (stored)."""
    return raw_zip([stored("manifest.json", BUNDLE_MANIFEST)]
                   + [stored(n.replace("_", "."), d) for n, d in members.items()])


REFUSED_UNREAD = {  # files the bounded reader refuses before judging anything
    "zipbomb": lambda: bomb(10 * 1024),  # 10 GiB of zeros in 10 MB
    "lyingzip": lying_bundle,  # events.jsonl: 1 MiB declared, 45 MB inside
    "longlinezip": lambda: long_line_bundle(8),  # one line of 8 MiB
    "overlapzip": lambda: raw_zip([stored(f"m{i}", b"{}" * 99) for i in range(3)],
                                  offsets=[0, 0, 0]),
    "traversalzip": lambda: raw_zip([stored("../../../etc/cron.d/x", b"{}")]),
    "absolutezip": lambda: raw_zip([stored("/etc/passwd", b"{}")]),
    "twicezip": lambda: raw_zip([stored("manifest.json", b"{}"), stored("manifest.json", b"[]")]),
    "encryptedzip": lambda: raw_zip([("manifest.json", b"{}", 0, 0, 2, 0x1)]),
    "bzip2zip": lambda: raw_zip([("manifest.json", b"BZh9", zipfile.ZIP_BZIP2, 0, 4)]),
    "manyzip": lambda: raw_zip([stored(f"{i}", b"") for i in range(20_001)]),
    "bigdirzip": lambda: directory_claiming(100 << 20),  # a central directory of 100 MiB
    "bombpdf": lambda: deep_pdf(b"{}", deflated_zeros_mib=10 * 1024),
}
MALFORMED = {  # read within bounds, and not what they should be
    "deep1m": lambda: DEEP,
    "deepmanifestzip": lambda: raw_zip([deflated("manifest.json", DEEP)]),
    "deeplinezip": lambda: bundle_with(events_jsonl=DEEP + b"\n"),
    "nestedzip": lambda: raw_zip([stored("manifest.json", bomb(64))]),  # a ZIP in a ZIP
    "listmanifestzip": lambda: raw_zip([stored("manifest.json", b"[]")]),
    "floatzip": lambda: bundle_with(events_jsonl=b'{"position": 1.5}\n'),
    "receiptzip": lambda: bundle_with(events_jsonl=b'{"position":1,"receipt":{"x":[]}}\n'),
    "statezip": lambda: bundle_with(events_jsonl=b'{"position":1,"stream_id":"a","version":1,'
                                                 b'"type":"actor.x","state":7}\n'),
    "checkpointszip": lambda: bundle_with(events_jsonl=b"",
                                          checkpoints_json=b'{"checkpoints":[{"tree_size":"9"}]}'),
    "deeppdf": lambda: deep_pdf(DEEP),
    "projectpdf": lambda: deep_pdf(b'{"project": "project:X-1", "kind": 7}'),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, data in [*FILES.items(),
                       *((n, make()) for n, make in {**REFUSED_UNREAD, **MALFORMED}.items())]:
        paths[name] = folder / name
        paths[name].write_bytes(data)
        write_private_key(folder / f"{name}.key", SigningKey.generate())  # read as a witness's
    junk_zip = folder / "junk.zip"
    with zipfile.ZipFile(junk_zip, "w") as z:
        z.writestr("manifest.json", "{\"format\": 7, \"members\": []}")
        z.writestr("events.jsonl", "not json\n")
    paths["junkzip"] = junk_zip
    manifest_zip = folder / "manifest.zip"
    with zipfile.ZipFile(manifest_zip, "w") as z:
        z.writestr("manifest.json", json.dumps({"format": "sunledger-dossier/v1",
                                                "members": {"missing.json": "00"}}))
    paths["manifestzip"] = manifest_zip
    paths["folder"] = folder / "a-folder"
    paths["folder"].mkdir()
    paths["out"] = folder / "out"
    paths["out"].mkdir()
    return paths


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError(f"{args}: an exception escaped: "
                             + "".join(traceback.format_exception(result.exception)))
    return result.exit_code, result.output


def fill(template: str, files: dict[str, Path]) -> str:
    return template.format(**{k: str(v) for k, v in files.items()})


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("command", READERS, ids=lambda c: "-".join(c[:2]))
def test_a_bad_store_is_refused_by_every_reader(files, command, url):
    code, output = run([fill(a, files) for a in command] + ["--store", fill(url, files)])
    assert code == 2, output
    assert output.strip() and "hunter2" not in output
    assert not (files["out"] / "x.zip").exists()


FILE_READERS = {
    "verify": ["verify", "--bundle", "{f}"],
    "check-proof": ["check-proof", "{f}", "--log-key", LOG_KEY],
    "check-tlog-proof": ["check-proof", "{f}", "--log-key", LOG_KEY, "--event-hash", "0" * 64],
    "check-dossier": ["check-dossier", "{f}", "--log-key", LOG_KEY],
    "verify-report": ["verify-report", "{f}"],
    "verify-report-key": ["verify-report", "{f}", "--log-key", LOG_KEY],
    "verify-report-bundle": ["verify-report", "{projectpdf}", "--bundle", "{f}"],
    "witness": ["witness", "add-checkpoint", "--state", "{f}", "{f}"],
    "witness-key": ["witness", "key", "--state", "{f}"],
    "trust-ca": ["trust-ca", "--store", "sqlite:{out}/ca.db", "{f}"],
    "add-key": ["actor", "add-key", "--store", "sqlite:{out}/k.db", "--id", "a",
                "--certificate", "{f}"],
}
IN_EVENTS = {"lyingzip", "longlinezip"}  # wrong in events.jsonl, which only a bundle reader reads


def expected_codes(command: list[str], name: str) -> tuple[int, ...]:
    """Exit 2, or for a verdict command 1 or 2; a ZIP the bounded reader refuses is exit 2
    for every command that reads it as a ZIP (it is not judged)."""
    bundle_reader = command[0] == "verify" or "--bundle" in command
    zip_reader = bundle_reader or (command[0] == "check-dossier" and name not in IN_EVENTS)
    if name in REFUSED_UNREAD and name.endswith("zip") and zip_reader:
        return (2,)
    return (1, 2) if command[0] in VERDICTS else (2,)


@pytest.mark.parametrize("name", [*FILES, *REFUSED_UNREAD, *MALFORMED, "junkzip", "manifestzip",
                                  "folder"])
@pytest.mark.parametrize("command", FILE_READERS.values(), ids=FILE_READERS.keys())
def test_a_hostile_file_is_refused_by_every_command_that_reads_one(files, command, name):
    args = [fill(a.replace("{f}", str(files[name])), files) for a in command]
    code, output = run(args)
    assert code in expected_codes(command, name), output
    assert output.strip()


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("command", [
    ["check-proof", "{text}", "--log-key"], ["check-dossier", "{junkzip}", "--log-key"],
    ["verify-report", "{rnd}", "--log-key"],
], ids=lambda c: c[0])
def test_a_garbage_log_key_is_refused(files, command, key):
    code, output = run([fill(a, files) for a in command] + [key])
    assert code in (1, 2), output
    assert output.strip()


@pytest.mark.parametrize("args", [
    ["prove", "inclusion", "--store", "sqlite:{out}/n.db", "--index", "-1"],
    ["prove", "inclusion", "--store", "sqlite:{out}/n.db", "--index", "9" * 40],
    ["prove", "inclusion", "--store", "sqlite:{out}/n.db", "--event", "no-version"],
    ["prove", "consistency", "--store", "sqlite:{out}/n.db", "--old", "-5"],
    ["prove", "completeness", "--store", "sqlite:{out}/n.db", "--size", "0", "--project", "x"],
    ["replay", "--store", "sqlite:{out}/n.db", "--project", "x", "--at", "yesterday"],
    ["replay", "--store", "sqlite:{out}/n.db", "--project", "x", "--at", "9" * 400],
    ["simulate", "--store", "sqlite:{out}/s.db", "--projects", "-1"],
    ["simulate", "--store", "sqlite:{out}/s.db", "--projects", "9" * 30],
    ["simulate", "--store", "sqlite:{out}/s.db", "--projects", "1", "--batch", "0"],
    ["verify", "--store", "sqlite:{out}/n.db", "--workers", "0"],
    ["verify", "--store", "sqlite:{out}/n.db", "--workers", "9" * 30],
    ["reports", "--store", "sqlite:{out}/n.db", "--out", "{out}/r", "--every", "-1"],
    ["keygen", "--out", "{folder}"],
    ["witness", "init", "--state", "{folder}", "--name", "w"],
    ["witness", "add-log", "--state", "{rnd}", "--log-key", "junk"],
    ["witness", "add-checkpoint", "--state", "{out}/none.json", "{rnd}"],
    ["actor", "register", "--store", "sqlite:{out}/a.db", "--id", "bad id!", "--name", "x",
     "--organisation", "y", "--role", "bidder"],
    ["actor", "register", "--store", "sqlite:{out}/a.db", "--id", "x", "--name", "x",
     "--organisation", "y", "--role", "emperor"],
    ["actor", "add-key", "--store", "sqlite:{out}/a.db", "--id", "x", "--public-key", "!!"],
    ["actor", "revoke-key", "--store", "sqlite:{out}/a.db", "--id", "x", "--key-id", "zz",
     "--reason", "r"],
    ["report", "--store", "sqlite:{out}/n.db", "--project", "x", "--kind", "half",
     "--out", "{out}/r.pdf"],
    ["reports", "--store", "sqlite:{out}/n.db", "--out", "{rnd}"],
])
def test_out_of_range_numbers_and_bad_arguments_are_refused(files, args):
    code, output = run([fill(a, files) for a in args])
    assert code == 2, output
    assert output.strip()


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> dict[str, str]:
    """A real store with a checkpoint, so that numbers reach the commands that use them."""
    from ledger.ledger import Ledger

    folder = tmp_path_factory.mktemp("started")
    ledger = Ledger.open(f"sqlite:{folder / 'l.db'}", key_path=folder / "k")
    ledger.checkpoint()
    ledger.close()
    big = folder / "big.pem"
    big.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * 200_000)
    return {"store": f"sqlite:{folder / 'l.db'}", "key": str(folder / "k"), "big": str(big),
            "out": str(folder)}


HUGE = "9" * 40  # beyond any integer a store holds (SQLite's and PostgreSQL's are 64-bit)


@pytest.mark.parametrize("args", [
    ["prove", "inclusion", "--index", HUGE],
    ["prove", "inclusion", "--index", "0", "--size", HUGE],
    ["prove", "consistency", "--old", "1", "--new", HUGE],
    ["prove", "consistency", "--old", HUGE],
    ["prove", "completeness", "--project", "x", "--size", HUGE],
    ["dossier", "--project", "x", "--about", HUGE, "--out", "{out}/d.zip"],
    ["simulate", "--projects", "1", "--seed", "-1"],
    ["simulate", "--projects", "1", "--seed", HUGE],
    ["trust-ca", "--ledger-key", "{key}", "{big}"],
    ["actor", "add-key", "--ledger-key", "{key}", "--id", "x", "--certificate", "{big}"],
])
def test_numbers_and_files_too_large_for_a_real_store_are_refused(started, args):
    """The class of an integer that overflows the store's: refused by the option itself."""
    code, output = run([a.format(**started) for a in args] + ["--store", started["store"]])
    assert code == 2, output
    assert output.strip()


def test_a_key_that_cannot_be_written_is_refused():
    code, output = run(["keygen", "--out", "/proc/no-such-process/key.pem"])
    assert code == 2 and "cannot write the key" in output


# --- real files, each with one thing wrong ---------------------------------------------------

WRONG = [None, -1, "x", [], {}]  # a value of each other JSON type


def broken(document: dict, wrong: list = WRONG) -> dict[str, dict]:
    """The document with each member removed, and with each given each wrong value."""
    found = {}
    for key, value in document.items():
        found[f"{key} removed"] = {k: v for k, v in document.items() if k != key}
        found.update({f"{key}={w!r}": {**document, key: w} for w in wrong if w != value})
    return found


def cli_output(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict:
    """A simulated project's real proof, tlog-proof, dossier and bundle, and the log key."""
    folder = tmp_path_factory.mktemp("real")
    store = f"sqlite:{folder / 'ledger.db'}"
    cli_output(["simulate", "--store", store, "--projects", "1", "--seed", "3"])
    project = "project:sim3-00001"
    cli_output(["dossier", "--store", store, "--project", project, "--about", "3",
                "--out", str(folder / "dossier.zip")])
    cli_output(["export", "--store", store, "--out", str(folder / "bundle.zip")])
    tlog = cli_output(["prove", "inclusion", "--store", store, "--event", f"{project}:3",
                       "--tlog-proof"])
    with zipfile.ZipFile(folder / "dossier.zip") as z:
        dossier = {name: z.read(name) for name in z.namelist()}
    with zipfile.ZipFile(folder / "bundle.zip") as z:
        bundle = {name: z.read(name) for name in z.namelist()}
    proof = json.loads(cli_output(["prove", "completeness", "--store", store,
                                   "--stream", project]))
    return {"folder": folder, "log_key": cli_output(["log-key", "--store", store]).strip(),
            "proof": proof, "tlog": tlog, "event_hash": json.loads(proof["events"][2])["hash"],
            "dossier": dossier, "bundle": bundle}


def broken_proofs(proof: dict) -> dict[str, bytes]:
    event = json.loads(proof["events"][0])
    found = {name: json.dumps(p) for name, p in broken(proof).items()}
    found.update({f"head_inclusion {name}": json.dumps({**proof, "head_inclusion": p})
                  for name, p in broken(proof["head_inclusion"]).items()})
    found.update({f"event 1 {name}": json.dumps({**proof, "events": [json.dumps(e)]
                                                 + proof["events"][1:]})
                  for name, e in broken(event).items()})
    found.update({f"event 1 is {text[:8]}": json.dumps({**proof, "events": [text]})
                  for text in ["[", "[]", "[" * 300 + "]" * 300, '{"payload": 1.5}']})
    return {name: text.encode() for name, text in found.items()}


def broken_tlog_proofs(text: str) -> dict[str, bytes]:
    lines = text.split("\n")
    found = {}
    for i, line in enumerate(lines[:-1]):
        for name, replaced in [("removed", []), ("junk", ["x"]), ("twice", [line, line]),
                               ("long", [line * 1000])]:
            changed = "\n".join(lines[:i] + replaced + lines[i + 1:])
            if changed != text:
                found[f"line {i} {name}"] = changed.encode()
    return found


def broken_dossiers(members: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    found = {}
    manifest = json.loads(members["manifest.json"])
    for name, m in broken(manifest, [None, []]).items():
        found[f"manifest {name}"] = {**members, "manifest.json": json.dumps(m).encode()}
    first_actor = next(n for n in members if n.startswith("actors/"))
    for member in [n for n in members if not n.startswith("actors/")] + [first_actor]:
        found[f"{member} removed"] = {n: d for n, d in members.items() if n != member}
        for what, data in [("[]", b"[]"), ("junk", b"\xff junk"), ("deep", DEEP)]:
            found[f"{member} is {what}"] = {**members, member: data}
    return found


def broken_bundles(members: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    lines = members["events.jsonl"].split(b"\n")
    found = {}

    def with_line(item: dict) -> dict[str, bytes]:
        line = json.dumps(item, separators=(",", ":"), sort_keys=True).encode()
        return {**members, "events.jsonl": b"\n".join([line] + lines[1:])}

    first = json.loads(lines[0])
    for name, item in broken(first, [None, "x", []]).items():
        found[f"line 1 {name}"] = with_line(item)
    for name, receipt in broken(first["receipt"], [None, "x"]).items():
        found[f"line 1 receipt {name}"] = with_line({**first, "receipt": receipt})
    manifest = json.loads(members["manifest.json"])
    for name, m in broken(manifest, [None, []]).items():
        found[f"manifest {name}"] = {**members, "manifest.json": json.dumps(m).encode()}
    for what, data in [("[]", b"[]"), ("deep", DEEP), ('{"checkpoints": [7]}',
                                                       b'{"checkpoints": [7]}')]:
        found[f"checkpoints.json is {what}"] = {**members, "checkpoints.json": data}
    return found


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_real_files_each_with_one_thing_wrong_are_judged_and_never_crash(real):
    """Each member of a real proof, tlog-proof, dossier or bundle removed, or of another type,
    or junk: the command answers (exit 1 or 2, or 0 where the member is only for reading,
    such as a bundle manifest's counts), never with a traceback."""
    folder, key = real["folder"], real["log_key"]
    corpus: list[tuple[str, list[str], tuple[int, ...]]] = []
    for name, data in broken_proofs(real["proof"]).items():
        path = folder / f"proof-{len(corpus)}.json"
        path.write_bytes(data)
        corpus.append((f"proof: {name}", ["check-proof", str(path), "--log-key", key], (1, 2)))
    signature_twice = f"line {len(real['tlog'].split(chr(10))) - 2} twice"  # still signed
    for name, data in broken_tlog_proofs(real["tlog"]).items():
        path = folder / f"tlog-{len(corpus)}.txt"
        path.write_bytes(data)
        corpus.append((f"tlog-proof: {name}", ["check-proof", str(path), "--log-key", key,
                                               "--event-hash", real["event_hash"]],
                       (0, 1, 2) if name == signature_twice else (1, 2)))
    for name, members in broken_dossiers(real["dossier"]).items():
        path = write_zip(folder / f"dossier-{len(corpus)}.zip", members)
        corpus.append((f"dossier: {name}", ["check-dossier", str(path), "--log-key", key],
                       (0, 1, 2) if name.startswith("manifest ") else (1, 2)))
    for name, members in broken_bundles(real["bundle"]).items():
        path = write_zip(folder / f"bundle-{len(corpus)}.zip", members)
        corpus.append((f"bundle: {name}", ["verify", "--bundle", str(path)],
                       (0, 1, 2) if name.startswith("manifest ") else (1, 2)))
    assert len(corpus) > 300, len(corpus)
    for name, args, codes in corpus:
        code, output = run(args)
        assert code in codes and output.strip(), (name, code, output)


# --- the same, as real processes in 512 MiB of address space ---------------------------------

PROCESS_COMMANDS = {
    "verify": ["verify", "--bundle", "{f}"],
    "check-proof": ["check-proof", "{f}", "--log-key", LOG_KEY],
    "check-dossier": ["check-dossier", "{f}", "--log-key", LOG_KEY],
    "verify-report": ["verify-report", "{f}"],
    "verify-report --bundle": ["verify-report", "{projectpdf}", "--bundle", "{f}"],
    "witness": ["witness", "add-checkpoint", "--state", "{f}", "{f}"],
}
PROCESS_FILES = ["zipbomb", "lyingzip", "bombpdf", "deep1m", "rnd"]


def test_hostile_files_given_to_sunledger_processes_in_512_mib(files, tmp_path):
    """Every file-reading command and the worst files, as `sunledger` processes whose address
    space is limited to 512 MiB (plus a 100 MB line): an exit code as documented, a message,
    no traceback, within seconds."""
    (tmp_path / "longline.zip").write_bytes(long_line_bundle(100))
    cases = [(command, name, [a.replace("{f}", str(files[name])).replace(
                  "{projectpdf}", str(files["projectpdf"])) for a in args])
             for command, args in PROCESS_COMMANDS.items() for name in PROCESS_FILES]
    cases.append(("verify", "longlinezip", ["verify", "--bundle", str(tmp_path / "longline.zip")]))
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda case: sunledger(*case[2]), cases))
    for (command, name, args), done in zip(cases, runs):
        assert "Traceback" not in done.err and (done.out + done.err).strip(), (args, done.err)
        assert done.code in expected_codes(args, name), (args, done.code, done.out, done.err)
        assert done.peak is not None and done.peak < MEMORY and done.seconds < 30, (
            args, done.peak, done.seconds)


@pytest.mark.parametrize("args", [
    [b"verify", b"--store", b"sqlite:/tmp/\xff\xfe.db"],
    [b"stats", b"--store", b"\xff\xfe"],
    [b"replay", b"--store", b"sqlite:/nonexistent/x.db", b"--project", b"\xfe\xff"],
    [b"check-proof", b"/tmp/\xff.json", b"--log-key", b"x"],
    [b"check-dossier", b"/tmp/\xff.zip", b"--log-key", b"\xff"],
    [b"verify", b"--bundle", b"/tmp/\xff/b.zip"],
    [b"\xff\xfe"],
    [b"init", b"--store", b"sqlite:/proc/\xff/x.db"],
])
def test_arguments_that_are_not_utf_8_are_refused_without_a_traceback(args):
    """A shell hands a program bytes: a path or an id in another encoding (GBK, say) is not
    text to Python, and must still end in a message and exit 2."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable.encode(), b"-c", b"from api.cli import main; main()",
                           *args], capture_output=True, timeout=120)
    assert b"Traceback" not in done.stderr, done.stderr[-600:]
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.strip()
