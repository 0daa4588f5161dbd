"""A writer killed with SIGKILL mid-append, again and again, on both engines: every append it
acknowledged is in the store afterwards, the store opens and appends again at once, and it
verifies (the `report` command under SIGKILL: test_reports.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from ledger.audit.verify import StoreSource, verify
from ledger.ledger import Ledger

# The writer: register one actor per append, as fast as it can, and print each receipt once
# submit() has returned it, that is, once the append is acknowledged.
WRITER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger

url, key, tag = sys.argv[1:4]
ledger = Ledger.open(url, key_path=Path(key))
registrar = ActorSigner(LEDGER_ACTOR, ledger.key)
print("open", flush=True)
n = 0
while True:
    stream = f"actor:crash-{tag}-{n:05d}"
    receipt, = ledger.submit(registrar.sign(stream, "actor.registered/v1", {
        "name": "Fictional crash test", "roles": ["bidder"], "organisation": "虚构单位"},
        expected_version=0, signed_at=datetime.now(timezone.utc)))
    print(receipt.position, receipt.stream, receipt.event_hash, flush=True)
    n += 1
"""


def _run_and_kill(url: str, key: str, tag: str, after: float) -> list[tuple[int, str, str]]:
    """Start a writer, let it append for `after` seconds once open, SIGKILL it; return the
    receipts it printed (acknowledged appends)."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url, key, tag],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: list[str] = []
    opened = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("open"):
                opened.set()
            else:
                lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(60), "the writer did not open the store"
    time.sleep(after)
    assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(10)
    acknowledged = []
    for line in lines:
        if line.endswith("\n"):  # a line cut by the kill acknowledged nothing
            position, stream, event_hash = line.split()
            acknowledged.append((int(position), stream, event_hash))
    return acknowledged


def test_a_writer_killed_mid_append_loses_nothing_it_acknowledged(store_url, tmp_path):
    key = tmp_path / "ledger.key"
    Ledger.open(store_url, key_path=key).close()  # the store and its key, before the kills
    acknowledged: list[tuple[int, str, str]] = []
    for n, after in enumerate((0.2, 0.45, 0.7, 0.95, 1.3, 0.35)):
        receipts = _run_and_kill(store_url, str(key), f"r{n}", after)
        assert receipts, f"round {n}: the writer acknowledged nothing in {after} s"
        acknowledged.extend(receipts)
    ledger = Ledger.open(store_url, key_path=key)  # opens at once after the last kill
    try:
        recorder = ledger.recorder
        stored = {r.position: (r.stream, r.event_hash)
                  for r in recorder.select_receipts(0, None)}
        lost = [a for a in acknowledged if stored.get(a[0]) != (a[1], a[2])]
        assert not lost, f"{len(lost)} acknowledged appends lost, e.g. {lost[:3]}"
        # beside them only the start and at most one append per kill, committed but not
        # yet acknowledged when the writer died
        assert len(acknowledged) < len(stored) <= len(acknowledged) + 1 + 6
        ledger.checkpoint()  # and it signs over everything that survived
    finally:
        ledger.close()
    report = verify(StoreSource(store_url), workers=1)
    assert report.intact, report.findings[:5]
    assert report.events == len(stored) and report.latest_checkpoint == report.events
