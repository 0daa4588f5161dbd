"""`sunledger demo --http`: the demo's projects (its tender and its two listings) driven over
HTTP (every actor's action a POST to /v1/actions or /v1/actions/batch of a real server of the
demo's ledger, every version read a signed GET) records exactly what the direct demo records.

The demo's keys and nonces are derived from its secret and its ledger times are the
scenario's, so two runs given one ledger key must agree byte for byte: the same events,
receipts, Merkle log, checkpoints and cosignatures, and the same five report PDFs. The only
rows the HTTP run adds are the nonces of its signed reads (RFC 9421), which the server keeps
until the requests expire and which are no part of the log. The same holds for a run over
HTTP on PostgreSQL against the direct run on SQLite."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import NO_POSTGRES, POSTGRES, RawStore
from ledger.evidence.envelope import SEALED_STAGE_TYPES
from ledger.evidence.keys import SigningKey, read_private_key, write_private_key
from ledger.stores.url import parse_store_url
from servers import SUNLEDGER
from test_cli import sunledger

pytestmark = pytest.mark.skipif(not shutil.which("fc-list"),
                                reason="fontconfig missing: ./run setup installs the report fonts")
REPORTS = 7  # the tender's opening, evaluation, full (zh, en) and the full report's signed
#   edition; each listing's transaction report


class Run:
    """One `sunledger demo` in a process of its own, into `out`, with the ledger key given."""

    def __init__(self, out: Path, store: str, key: SigningKey, *flags: str, home: Path):
        self.out, self.store = out, store
        out.mkdir()
        env = {**os.environ, "SUNLEDGER_HOME": str(home)}
        # where the store's key is looked for: beside a SQLite file, in $SUNLEDGER_HOME for
        # PostgreSQL (the file name is the store's)
        key_path = out / "ledger.db.ledger-key" if store.startswith("sqlite:") else \
            home / "keys" / parse_store_url(store).default_key_path().name
        key_path.parent.mkdir(parents=True, exist_ok=True)
        write_private_key(key_path, key)
        self.process = subprocess.Popen([SUNLEDGER, "demo", "--store", store, "--out", str(out),
                                         *flags], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    @classmethod
    def done(cls, out: Path, store: str, stdout: str) -> "Run":
        """A demo that ran already (and succeeded)."""
        run = cls.__new__(cls)
        run.out, run.store, run.stdout, run.stderr, run.process = out, store, stdout, "", None
        return run

    def finish(self) -> "Run":
        if self.process is None:
            return self
        self.stdout, self.stderr = self.process.communicate(timeout=600)
        assert self.process.returncode == 0, self.stdout + self.stderr
        assert "Traceback" not in self.stdout + self.stderr
        assert "verification: INTACT" in self.stdout
        assert self.stdout.count(": verified") == REPORTS
        return self

    def pdfs(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.out.glob("*.pdf"))}

    def said(self) -> list[str]:
        """What the run printed, without where it ran (its folder, store and server)."""
        return [line.replace(str(self.out), "OUT") for line in self.stdout.splitlines()
                if not line.startswith(("store: ", "the actors' actions go over HTTP", "over HTTP: "))]


def evidence(url: str) -> dict[str, list[tuple]]:
    """What the log holds, from the store's rows with plain SQL: the events (their stored
    JSON, in global order), the receipts, the checkpoints and the cosignatures."""
    raw = RawStore(url)
    return {
        "events": [(topic, bytes(state)) for _, _, _, topic, state in raw.rows()],
        "receipts": raw.execute("SELECT position, stream, version, event_hash, ledger_time, "
                                f"signature FROM {raw.table('sunledger_receipts')} ORDER BY position"),
        "checkpoints": raw.execute("SELECT tree_size, note, issued_at FROM "
                                   f"{raw.table('sunledger_checkpoints')} ORDER BY tree_size"),
        "cosignatures": raw.execute("SELECT tree_size, witness, line FROM "
                                    f"{raw.table('sunledger_cosignatures')} ORDER BY tree_size"),
    }


def sqlite_tables(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        names = [n for n, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: db.execute(f"SELECT * FROM {n} ORDER BY 1, 2").fetchall() for n in names}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_run):
    """The demo directly on SQLite (conftest.py's, run once for the suite), over HTTP on
    SQLite, and over HTTP on PostgreSQL (when the tests have a server), these two at once,
    all three with the direct run's ledger key."""
    base = tmp_path_factory.mktemp("demos")
    key, home = read_private_key(demo_run.out / "ledger.db.ledger-key"), base / "home"
    direct = Run.done(demo_run.out, f"sqlite:{demo_run.out / 'ledger.db'}", demo_run.stdout)
    started = {"http": Run(base / "http", f"sqlite:{base / 'http' / 'ledger.db'}", key, "--http",
                           home=home)}
    schema = f"t_demo_{uuid.uuid4().hex[:12]}"
    if POSTGRES:
        started["http-pg"] = Run(base / "http-pg", f"{POSTGRES}?schema={schema}", key, "--http",
                                 home=home)
    try:
        yield {"direct": direct.finish(), **{name: run.finish() for name, run in started.items()}}
    finally:
        for run in started.values():
            if run.process.poll() is None:
                run.process.kill()
        if POSTGRES:
            import psycopg

            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_demo_over_http_records_the_same_store_and_reports(runs):
    direct, http = runs["direct"], runs["http"]
    # the same reports, byte for byte, and the same story told
    assert len(direct.pdfs()) == REPORTS
    assert http.pdfs() == direct.pdfs()
    assert http.said() == direct.said()
    # the same store, row for row; the nonces of the HTTP run's signed reads are kept in a
    # file of their own beside it (stores/request_nonces.py), which the direct run never made
    before, after = sqlite_tables(direct.out / "ledger.db"), sqlite_tables(http.out / "ledger.db")
    # but for the note of the demo's verification run (ledger/audit/runs.py), which says when
    # it ran by the wall clock and for how long: the same verdict over the same events
    run_before, run_after = (t.pop("sunledger_verification_runs") for t in (before, after))
    assert len(run_before) == len(run_after) == 1
    assert [r[2] for r in run_after] == ["sunledger demo"] and run_after[0][4:] == run_before[0][4:]
    assert after == before
    assert not (direct.out / "ledger.db.request-nonces").exists()
    reads = sqlite_tables(http.out / "ledger.db.request-nonces")["request_nonces"]
    assert after["sunledger_events"] and after["sunledger_cosignatures"]
    # and it did go over HTTP: each action the demo's actors (and its registrar, registering
    # them) signed was posted, each version read was a signed request the server remembers
    done = re.search(r"over HTTP: (\d+) signed actions in (\d+) POSTs to /v1/actions and "
                     r"/v1/actions/batch, (\d+) signed version reads", http.stdout)
    assert done, http.stdout
    actions, posts, version_reads = map(int, done.groups())
    events = [json.loads(state) for _, _, _, _, state in after["sunledger_events"]]
    registered = [e for e in events if e["stream"].startswith("actor:")]
    by_actors = [e for e in events if e["stream"].startswith("project:") and e["actor"] != "ledger"]
    # and the refused ones: the tender's late bid, the land listing's two quotes
    refused = [e for e in events if e["stream"].startswith("refusal:")]
    assert len(refused) == 3
    assert actions == len(registered) + len(by_actors) + len(refused)
    assert posts == len(registered) // 2 + len(by_actors) + len(refused)  # a registration: 2
    # a version is read for each action that names one, and for the objection's answer; a
    # bidder's action before the opening names none (evidence-format §6) and reads none
    placed = [e for e in by_actors if e["type"] not in SEALED_STAGE_TYPES]
    assert version_reads == len(reads) == len(placed) + 1


def test_the_demo_over_http_on_postgresql_matches_the_direct_demo_on_sqlite(runs):
    if "http-pg" not in runs:
        pytest.skip(NO_POSTGRES)
    direct, pg = runs["direct"], runs["http-pg"]
    assert pg.pdfs() == direct.pdfs()
    assert pg.said() == direct.said()
    assert evidence(pg.store) == evidence(direct.store)


def test_the_demo_refuses_a_store_it_ran_in_before_and_says_so(runs, tmp_path):
    direct = runs["direct"]
    reports = direct.pdfs()
    done = subprocess.run([SUNLEDGER, "demo", "--http", "--store", direct.store, "--out",
                           str(direct.out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the demo ran in" in done.stderr and "store of its own" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert direct.pdfs() == reports  # nothing of the earlier run was removed


def test_the_demo_runs_a_whole_project_and_verifies_its_reports(runs, tmp_path):
    """The direct demo (`sunledger demo --out …`), then what a supervision body does with a
    report it was given, from the command line (on a copy: its English reports add to the
    store)."""
    out_dir = tmp_path / "demo"
    shutil.copytree(runs["direct"].out, out_dir)
    out = runs["direct"].stdout
    for expected in ("refused and recorded: bidder-12's bid came one second after the deadline",
                     "savings rate: 49.85%", "warning (条例 §40(一))", "verification: INTACT",
                     "latest cosigned by jgj.example/witness"):
        assert expected in out, expected
    pdfs = sorted(out_dir.glob("*.pdf"))
    assert len(pdfs) == REPORTS and out.count(": verified") == REPORTS
    assert len([p for p in pdfs if "-transaction-" in p.name]) == 2  # one each listing
    # what a supervision body does with a report it was given, from the command line
    store = f"sqlite:{out_dir / 'ledger.db'}"
    full, = (p for p in pdfs if "-full-" in p.name and not p.stem.endswith(("-en", "-signed")))
    checked = sunledger("verify-report", str(full), "--store", store).stdout
    assert checked.count("holds:") == 3 and "FAILS" not in checked
    sunledger("export", "--store", store, "--out", str(tmp_path / "bundle.zip"))
    assert "FAILS" not in sunledger("verify-report", str(full), "--bundle", str(tmp_path / "bundle.zip")).stdout
    changed = bytearray(full.read_bytes())
    changed[len(changed) // 3] ^= 0x20
    (tmp_path / "changed.pdf").write_bytes(bytes(changed))
    assert "FAILS" in sunledger("verify-report", str(tmp_path / "changed.pdf"), "--store", store,
                                check=1).stdout
    # every report due is issued already; the reporter in English issues the English ones:
    # the tender's opening and evaluation reports, the listings' transaction reports
    assert "no report is due" in sunledger("reports", "--store", store, "--out", str(tmp_path / "r")).stdout
    written = sunledger("reports", "--store", store, "--out", str(tmp_path / "r"), "--lang", "en").stdout
    assert written.count("wrote") == 4 and "-opening-" in written and "-evaluation-" in written
    assert written.count("-transaction-") == 2
