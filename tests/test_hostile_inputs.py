"""Hostile input to every command gives a clear message and a refusal, never a traceback.

A corpus of bad store URLs, hostile files, garbage keys and out-of-range numbers, each given to
the commands that take it (run in process with click's runner, so a Python exception that
escapes a command shows as such). A command that judges a file (check-proof, check-dossier,
verify-report) may answer with its verdict, "does not hold" or FAILS (exit 1); every other
refusal is exit 2. Passwords in store URLs are never echoed."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli

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


def _a_real_log_key() -> str:
    """A well-formed log verifier key, so that commands read the hostile file itself."""
    from ledger.evidence.keys import SigningKey
    from ledger.log.checkpoints import log_verifier_key

    return log_verifier_key("hostile.example/log", SigningKey.generate().public_key)


LOG_KEY = _a_real_log_key()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, data in FILES.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
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


@pytest.mark.parametrize("name", [*FILES, "junkzip", "manifestzip", "folder"])
@pytest.mark.parametrize("command", [
    ["verify", "--bundle", "{f}"], ["check-proof", "{f}", "--log-key", LOG_KEY],
    ["check-proof", "{f}", "--log-key", LOG_KEY, "--event-hash", "0" * 64],
    ["check-dossier", "{f}", "--log-key", LOG_KEY], ["verify-report", "{f}"],
    ["verify-report", "{f}", "--log-key", LOG_KEY],
    ["witness", "add-checkpoint", "--state", "{f}", "{f}"],
    ["trust-ca", "--store", "sqlite:{out}/ca.db", "{f}"],
    ["actor", "add-key", "--store", "sqlite:{out}/k.db", "--id", "a", "--certificate", "{f}"],
], ids=lambda c: "-".join(c[:2]))
def test_a_hostile_file_is_refused_by_every_command_that_reads_one(files, command, name):
    args = [fill(a.replace("{f}", str(files[name])), files) for a in command]
    code, output = run(args)
    assert code in ((1, 2) if command[0] in VERDICTS else (2,)), output
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
