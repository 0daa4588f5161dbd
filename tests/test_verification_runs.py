"""The verifier's recorded runs (ledger/audit/runs.py): what `sunledger verify --record` keeps in
the store it verified, read back for the supervision pages. On a SQLite file and on the
PostgreSQL server: an intact run and a run after tampering read back as recorded, the newest
run is the last one recorded, nothing is written unless asked (never for a bundle), a store
that refuses the write still gets its verdict, and a store from before the table works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict

import pytest

from ledger.audit.runs import MOST_RUNS, VerificationRun, last_run, record_run, run_of, runs
from ledger.audit.verify import CONTENT_ALTERED, Finding, StoreSource, Verification, verify
from ledger.errors import StoreUnavailable
from ledger.evidence.canonical import parse_time
from ledger.evidence.envelope import stream_uuid
from ledger.ledger import Ledger
from ledger.stores.url import open_recorder, parse_store_url

SUNLEDGER = [sys.executable, "-c", "from api.cli import main; main()"]
RUNS = "sunledger_verification_runs"
LEDGER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def sunledger(*args: str, check: int | None = 0, env: dict | None = None):
    done = subprocess.run([*SUNLEDGER, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def reader(url: str):
    """A recorder of the store opened only for reading, as `sunledger verify` opens it."""
    return open_recorder(parse_store_url(url))


def recorded(raw) -> int:
    """How many runs the store keeps (0 if it has no table for them)."""
    return raw.count(RUNS) if has_table(raw, RUNS) else 0


def has_table(raw, name: str) -> bool:
    if raw.engine == "sqlite":
        return bool(raw.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                (name,)))
    return raw.execute("SELECT to_regclass(?)", (f"{raw.schema}.{name}",))[0][0] is not None


def tamper_with_a_bid(world, project: str) -> None:
    """One byte of a bid's payload changed with plain SQL (test_tamper's first case)."""
    sid = stream_uuid(project)
    state = world.raw.row_of(sid, 7)[4]
    world.raw.set_state(sid, 7, state.replace(b"0000000000000002", b"0000000000000003", 1))


def test_an_intact_run_reads_back_as_recorded(world, project):
    report = verify(StoreSource(world.raw.url), workers=1)
    assert report.intact
    run = record_run(world.ledger.recorder, report, 1.23456, "sunledger verify")
    assert run == VerificationRun(
        finished_at=run.finished_at, by="sunledger verify", seconds=1.235, events=report.events,
        tree_root=report.tree_root, latest_checkpoint=report.latest_checkpoint, intact=True,
        findings_total=0, findings=[])
    assert LEDGER_TIME.match(run.finished_at) and parse_time(run.finished_at)
    assert run.events == len(world.raw.rows()) and run.tree_root
    assert last_run(world.ledger.recorder) == run
    assert last_run(reader(world.raw.url)) == run  # another process reads the same
    assert recorded(world.raw) == 1


def test_a_run_after_tampering_keeps_its_findings(world, project):
    tamper_with_a_bid(world, project)
    report = verify(StoreSource(world.raw.url), workers=1)
    assert not report.intact
    run = record_run(world.ledger.recorder, report, 0.5, "operator-1")
    back = last_run(reader(world.raw.url))
    assert back == run
    assert not back.intact and back.by == "operator-1"
    assert back.findings_total == report.findings_total
    assert back.findings == [asdict(finding) for finding in report.findings]
    assert {"kind": CONTENT_ALTERED, "stream": project, "version": 7} in [
        {k: f[k] for k in ("kind", "stream", "version")} for f in back.findings]
    assert all(set(f) == {"kind", "stream", "version", "position", "detail"}
               for f in back.findings)


def test_the_last_run_is_the_newest_of_several(world):
    report = verify(StoreSource(world.raw.url), workers=1)
    for by in ("first", "second", "third"):
        record_run(world.ledger.recorder, report, 0.1, by)
    assert last_run(world.ledger.recorder).by == "third"
    assert [run.by for run in runs(world.ledger.recorder, 2)] == ["third", "second"]
    assert [run.by for run in runs(reader(world.raw.url))] == ["third", "second", "first"]


def test_a_store_with_no_run_has_no_last_run(world):
    assert last_run(world.ledger.recorder) is None
    assert runs(world.ledger.recorder) == []
    assert last_run(reader(world.raw.url)) is None


def test_verify_records_only_when_asked(world, project, tmp_path):
    url = world.raw.url
    out = sunledger("verify", "--store", url).stdout
    assert "INTACT" in out and recorded(world.raw) == 0  # a verifier only reads
    done = sunledger("verify", "--store", url, "--record")
    assert "INTACT" in done.stdout and done.stderr == ""
    run = last_run(reader(url))
    assert run.by == "sunledger verify" and run.intact
    assert run.events == len(world.raw.rows()) and recorded(world.raw) == 1
    as_json = json.loads(sunledger("verify", "--store", url, "--record", "--json").stdout)
    assert recorded(world.raw) == 2
    assert last_run(reader(url)).tree_root == as_json["tree_root"]

    tamper_with_a_bid(world, project)
    done = sunledger("verify", "--store", url, "--record", check=1)
    assert "FINDINGS" in done.stdout
    run = last_run(reader(url))
    assert not run.intact and run.findings[0]["kind"] == CONTENT_ALTERED
    assert f"{run.findings_total} FINDINGS" in done.stdout


def test_a_run_over_a_bundle_is_never_recorded(world, project, tmp_path):
    bundle = tmp_path / "evidence.zip"
    sunledger("export", "--store", world.raw.url, "--out", str(bundle))
    done = sunledger("verify", "--bundle", str(bundle), "--record")
    assert "INTACT" in done.stdout
    assert "not recorded" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert recorded(world.raw) == 0


def test_a_store_that_refuses_the_write_still_gets_its_verdict(world, project):
    """A read-only replica: the verdict is printed, one warning line, the exit code kept."""
    if world.raw.engine == "sqlite":  # the tests run as root: a file's mode would not stop it
        world.raw.execute(f"CREATE TRIGGER read_only BEFORE INSERT ON {RUNS} "
                          "BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END")
        env = {}
    else:  # every transaction of the verifier read-only, as on a hot standby
        env = {"PGOPTIONS": "-c default_transaction_read_only=on"}
    done = sunledger("verify", "--store", world.raw.url, "--record", env=env)
    assert "INTACT" in done.stdout
    warning, = done.stderr.strip().splitlines()
    assert warning.startswith("sunledger: warning: the verification run was not recorded")
    assert "read" in warning and recorded(world.raw) == 0
    tamper_with_a_bid(world, project)
    done = sunledger("verify", "--store", world.raw.url, "--record", "--json", check=1, env=env)
    assert json.loads(done.stdout)["findings_total"] >= 1  # the JSON stays whole on stdout
    assert "not recorded" in done.stderr and recorded(world.raw) == 0


def test_a_store_from_before_the_table_works(world, project, tmp_path):
    """A store written before runs were recorded: it reads as having no run, its first
    recorded run makes the table, and a ledger opening it makes the table too."""
    world.raw.execute(f"DROP TABLE {world.raw.table(RUNS)}")
    world.ledger.close()
    old = reader(world.raw.url)
    assert last_run(old) is None and runs(old) == []
    assert not has_table(world.raw, RUNS)  # a reader makes nothing
    done = sunledger("verify", "--store", world.raw.url, "--record")
    assert "INTACT" in done.stdout and done.stderr == ""
    assert last_run(reader(world.raw.url)).by == "sunledger verify"

    world.raw.execute(f"DROP TABLE {world.raw.table(RUNS)}")
    reopened = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    try:
        assert has_table(world.raw, RUNS) and last_run(reopened.recorder) is None
        report = verify(StoreSource(world.raw.url), workers=1)
        assert report.intact
        assert last_run(reopened.recorder) is None
        assert record_run(reopened.recorder, report, 0.2, "sunledger verify") == \
            last_run(reopened.recorder)
    finally:
        reopened.close()


def test_a_row_changed_by_hand_is_refused_not_guessed(world):
    report = verify(StoreSource(world.raw.url), workers=1)
    record_run(world.ledger.recorder, report, 0.1, "sunledger verify")
    world.raw.execute(f"UPDATE {world.raw.table(RUNS)} SET findings='not a list'")
    with pytest.raises(StoreUnavailable, match="changed by hand"):
        last_run(reader(world.raw.url))


def test_a_run_keeps_the_findings_the_verification_kept():
    report = Verification(events=3, tree_root="root")
    for n in range(3):
        report.add(Finding(CONTENT_ALTERED, "project:X", n + 1, n + 10, f"finding {n}"))
    report.findings = report.findings[:2]  # as past MAX_KEPT_FINDINGS: counted, not kept
    from datetime import datetime, timezone

    run = run_of(report, 2.0, "sunledger verify", datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc))
    assert run.finished_at == "2025-03-03T01:00:00.000000Z"
    assert run.findings_total == 3 and len(run.findings) == 2 and not run.intact
    assert run.findings[1] == {"kind": CONTENT_ALTERED, "stream": "project:X", "version": 2,
                               "position": 11, "detail": "finding 1"}
    with pytest.raises(ValueError):
        run_of(report, 2.0, " ", datetime.now(timezone.utc))
    assert MOST_RUNS >= 10
