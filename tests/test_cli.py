"""The command line as an operator and a supervision body meet it: simulate, verify, export,
verify a bundle offline; exit codes 0 intact, 1 findings, 2 cannot run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import RawStore

SUNLEDGER = [sys.executable, "-c", "from api.cli import main; main()"]


def sunledger(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([*SUNLEDGER, *args], capture_output=True, text=True, timeout=300)
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> str:
    url = f"sqlite:{tmp_path_factory.mktemp('sim') / 'ledger.db'}"
    out = sunledger("simulate", "--store", url, "--projects", "3", "--seed", "5").stdout
    assert "simulated 3 projects (seed 5)" in out
    return url


def test_simulate_then_verify_is_intact(simulated):
    out = sunledger("verify", "--store", simulated).stdout
    assert "INTACT" in out
    result = json.loads(sunledger("verify", "--store", simulated, "--json").stdout)
    assert result["intact"] and result["findings"] == [] and result["events"] > 150


def test_simulate_refuses_to_repeat_a_seed_in_the_same_store(simulated):
    done = sunledger("simulate", "--store", simulated, "--projects", "1", "--seed", "5", check=2)
    assert "already holds the simulation with seed 5" in done.stderr


def test_the_ledger_key_is_owner_only_and_never_printed(simulated):
    key_file = Path(simulated[len("sqlite:"):] + ".ledger-key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem_body = key_file.read_text().splitlines()[1]
    for args in (["verify", "--store", simulated, "--json"],):
        done = sunledger(*args)
        assert pem_body not in done.stdout + done.stderr


def test_export_and_verify_the_bundle_offline(simulated, tmp_path):
    bundle = tmp_path / "evidence.zip"
    assert "wrote" in sunledger("export", "--store", simulated, "--out", str(bundle)).stdout
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
    assert {"manifest.json", "events.jsonl", "registry.json", "ledger-key.pem"} <= names
    assert manifest["format"] == "sunledger-bundle/v1" and manifest["events"] > 150
    Path(simulated[len("sqlite:"):]).rename(tmp_path / "moved-away.db")  # no database at all
    try:
        out = json.loads(sunledger("verify", "--bundle", str(bundle), "--json").stdout)
    finally:
        (tmp_path / "moved-away.db").rename(simulated[len("sqlite:"):])
    assert out["intact"] and out["events"] == manifest["events"]


def test_a_tampered_bundle_is_found_out(simulated, tmp_path):
    bundle, edited = tmp_path / "b.zip", tmp_path / "edited.zip"
    sunledger("export", "--store", simulated, "--out", str(bundle))
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "events.jsonl":
                lines = data.decode().splitlines(keepends=True)
                i = next(i for i, l in enumerate(lines) if "project.awarded/v1" in l)
                row = json.loads(lines[i])
                event = json.loads(row["state"])
                event["payload"]["price"] = "1.00"
                row["state"] = json.dumps(event, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
                lines[i] = json.dumps(row, ensure_ascii=False) + "\n"
                data = "".join(lines).encode()
            dst.writestr(item, data)
    done = sunledger("verify", "--bundle", str(edited), "--json", check=1)
    findings = json.loads(done.stdout)["findings"]
    assert any(f["kind"] == "content_altered" and f["stream"] == event["stream"]
               and f["version"] == event["version"] for f in findings)


def test_verify_names_the_finding_and_exits_1(simulated, tmp_path):
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(simulated[len("sqlite:"):]).read_bytes())
    raw = RawStore(f"sqlite:{copy}")
    pos, oid, version, topic, state = next(r for r in raw.rows() if r[3] == "project.awarded/v1")
    raw.execute("UPDATE sunledger_events SET state=? WHERE rowid=?",
                (state.replace(b'"price":"', b'"price":"1', 1), pos))
    done = sunledger("verify", "--store", f"sqlite:{copy}", check=1)
    stream = json.loads(state)["stream"]
    assert f"content_altered  {stream} v{version}@{pos}" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["verify", "--store", "sqlite:/nonexistent/dir/l.db"], "does not exist"),
    (["verify", "--store", "sqlite::memory:"], "never an in-memory store"),
    (["verify", "--store", "mysql://x/y"], "is not a store URL"),
    (["verify", "--store", "postgresql://postgres@127.0.0.1:1/none"], "cannot open"),
])
def test_verify_exits_2_when_it_cannot_run(args, message):
    done = sunledger(*args, check=2)
    assert message in done.stderr


def test_verify_of_a_file_that_is_not_a_ledger_exits_2(tmp_path):
    (tmp_path / "other.db").write_bytes(b"")
    done = sunledger("verify", "--store", f"sqlite:{tmp_path / 'other.db'}", check=2)
    assert "no Sunledger store" in done.stderr and "the file is empty" in done.stderr


def test_a_store_refuses_a_foreign_ledger_key(simulated, tmp_path):
    sunledger("keygen", "--out", str(tmp_path / "other.key"))
    done = sunledger("simulate", "--store", simulated, "--projects", "1", "--seed", "6",
                     "--ledger-key", str(tmp_path / "other.key"), check=2)
    assert "not the key this store was started with" in done.stderr


def test_registering_an_actor_and_its_key_from_the_command_line(tmp_path):
    url = f"sqlite:{tmp_path / 'l.db'}"
    out = sunledger("keygen", "--out", str(tmp_path / "bidder.key")).stdout
    public = out.split("public key: ")[1].strip()
    assert stat.S_IMODE((tmp_path / "bidder.key").stat().st_mode) == 0o600
    sunledger("init", "--store", url)
    sunledger("actor", "register", "--store", url, "--id", "bidder-9", "--name", "虚构投标人九号",
              "--organisation", "虚构建设有限公司", "--role", "bidder")
    receipt = json.loads(sunledger("actor", "add-key", "--store", url, "--id", "bidder-9",
                                   "--public-key", public).stdout)
    assert receipt["stream"] == "actor:bidder-9" and receipt["version"] == 2
    key_id = out.split("key id:")[1].split()[0]
    sunledger("actor", "revoke-key", "--store", url, "--id", "bidder-9", "--key-id", key_id,
              "--reason", "rotated")
    assert "INTACT" in sunledger("verify", "--store", url).stdout
    done = sunledger("keygen", "--out", str(tmp_path / "bidder.key"), check=2)
    assert "never overwritten" in done.stderr


def test_a_progress_bar_shows_on_a_terminal_only(simulated):
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real size
    done = subprocess.run([*SUNLEDGER, "verify", "--store", simulated], stdout=subprocess.PIPE,
                          stderr=slave, timeout=300)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert done.returncode == 0
    assert b"verifying" in shown and b"event" in shown  # tqdm drew on the terminal
    assert b"verifying" not in done.stdout  # and nothing of it went to the output
    piped = sunledger("verify", "--store", simulated)
    assert "verifying" not in piped.stderr  # not on a pipe


def test_checkpoint_proofs_and_a_witness_from_the_command_line(tmp_path):
    """An operator issues a checkpoint; a supervision body witnesses it and checks proofs
    with only the published log key."""
    url = f"sqlite:{tmp_path / 'ledger.db'}"
    sunledger("simulate", "--store", url, "--projects", "2", "--seed", "3")
    note = sunledger("checkpoint", "--store", url, "--issue").stdout
    origin, size, _ = note.split("\n")[:3]
    log_key = sunledger("log-key", "--store", url).stdout.strip()
    assert log_key.startswith(origin + "+")

    state = tmp_path / "jgj.json"
    witness_key = sunledger("witness", "init", "--state", str(state), "--name",
                            "jgj.example.gov.cn/witness").stdout.strip()
    assert witness_key.startswith("jgj.example.gov.cn/witness+") and "+B" in witness_key
    assert stat.S_IMODE((tmp_path / "jgj.json.key").stat().st_mode) == 0o600
    sunledger("witness", "add-log", "--state", str(state), "--log-key", log_key)
    out = sunledger("witness", "cosign", "--state", str(state), "--store", url).stdout
    assert f"cosigned {origin} at size {size}" in out
    cosigned = sunledger("checkpoint", "--store", url).stdout
    assert cosigned.startswith(note) and "\u2014 jgj.example.gov.cn/witness " in cosigned
    report = json.loads(sunledger("verify", "--store", url, "--json").stdout)
    assert report["intact"] and report["latest_checkpoint"] == int(size)
    assert report["cosigned_by"] == [witness_key]

    proof = json.loads(sunledger("prove", "inclusion", "--store", url, "--index", "3").stdout)
    assert proof["tree_size"] == int(size) and proof["leaf_index"] == 3
    tlog = tmp_path / "event.tlog-proof"
    tlog.write_text(sunledger("prove", "inclusion", "--store", url, "--index", "3",
                              "--tlog-proof").stdout)
    done = sunledger("check-proof", str(tlog), "--log-key", log_key, "--event-hash",
                     proof["event_hash"])
    assert done.stdout.startswith("holds")
    other = json.loads(sunledger("prove", "inclusion", "--store", url, "--index", "4").stdout)
    done = sunledger("check-proof", str(tlog), "--log-key", log_key, "--event-hash",
                     other["event_hash"], check=1)
    assert done.stdout.startswith("does not hold")
    consistency = json.loads(sunledger("prove", "consistency", "--store", url, "--old", "5").stdout)
    assert consistency["new_size"] == int(size) and consistency["hashes"]

    stream, = RawStore(url).execute("SELECT stream FROM sunledger_receipts WHERE stream LIKE "
                                    "'project:%' ORDER BY position DESC LIMIT 1")[0]
    completeness = tmp_path / "project.json"
    completeness.write_text(sunledger("prove", "completeness", "--store", url, "--project",
                                      stream.split(":", 1)[1]).stdout)
    assert sunledger("check-proof", str(completeness), "--log-key", log_key).stdout \
        .startswith("holds")
    partial = json.loads(completeness.read_text())
    partial["events"].pop(1)
    completeness.write_text(json.dumps(partial))
    done = sunledger("check-proof", str(completeness), "--log-key", log_key, check=1)
    assert "version 2 is missing" in done.stdout


def test_a_witness_refuses_a_log_that_rewrote_what_it_cosigned(tmp_path):
    url = f"sqlite:{tmp_path / 'ledger.db'}"
    sunledger("simulate", "--store", url, "--projects", "1", "--seed", "4")
    sunledger("checkpoint", "--store", url, "--issue")
    state = tmp_path / "w.json"
    sunledger("witness", "init", "--state", str(state), "--name", "w.example/witness")
    sunledger("witness", "add-log", "--state", str(state), "--log-key",
              sunledger("log-key", "--store", url).stdout.strip())
    sunledger("witness", "cosign", "--state", str(state), "--store", url)
    before = state.read_text()
    # the operator rewrites the stored tree, and deletes the kept checkpoints so that there is
    # no signed root to compare with: the ledger computes the root from the events themselves,
    # and signs nothing over the changed tree (before, it signed, and only the witness refused)
    raw = RawStore(url)
    raw.execute("DELETE FROM sunledger_checkpoints")
    raw.execute("UPDATE sunledger_tree SET hash=zeroblob(32)")
    refused = sunledger("checkpoint", "--store", url, "--issue", check=2)
    assert "not the tree the events give" in refused.stderr and "rebuild-log" in refused.stderr
    assert raw.count("sunledger_checkpoints") == 0
    done = sunledger("witness", "cosign", "--state", str(state), "--store", url, check=1)
    assert "no checkpoint" in done.stderr
    assert state.read_text() == before
    report = json.loads(sunledger("verify", "--store", url, "--json", check=1).stdout)
    assert "cosignature_invalid" in {f["kind"] for f in report["findings"]}


