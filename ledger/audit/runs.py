"""When the store was last verified, and what that run found: the verifier's recorded runs.

`sunledger verify --record` (or a run started in the portal) keeps one row per run in the
store it verified, in the operational table `sunledger_verification_runs`, so that the
supervision body's log-health page can say when the centre last checked its log and with
what result. This is an operational note, NOT evidence: the table is outside the hashed,
signed log, nothing chains or signs its rows, and anyone with SQL access to the store could
write, change or delete a run. A supervision body trusts only its own verification of the
log (a bundle, its own verifier state); the note tells it no more than when the centre says
it last checked, and what it says it found.

A store that has never had a run recorded (or that was written before this table existed)
has no run: `last_run` answers None. The table is made with the store's other tables when a
ledger opens the store, or at the first run recorded in a store only opened for reading.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from eventsourcing.persistence import PersistenceError

from ledger.errors import StoreUnavailable
from ledger.evidence.canonical import format_time
from ledger.stores.tables import VerificationRunRow
from .verify import MAX_KEPT_FINDINGS, Verification

MOST_RUNS = 100  # runs read at once at most (a short history, not an archive)


@dataclass(frozen=True)
class VerificationRun:
    """One run of the verifier over a store, as recorded: when it finished (ledger time form,
    UTC), who ran it (`sunledger verify`, or the actor who started it in the portal), how
    long it took, how many events it checked, the Merkle root it rebuilt, the size of the
    latest checkpoint it checked, its verdict, and its findings (at most the ones the
    Verification kept, each as `dataclasses.asdict(Finding)`: kind, stream, version,
    position, detail)."""

    finished_at: str
    by: str
    seconds: float
    events: int
    tree_root: str | None
    latest_checkpoint: int | None
    intact: bool
    findings_total: int
    findings: list[dict]


def run_of(report: Verification, seconds: float, by: str, finished_at: datetime) -> VerificationRun:
    """The run a verification's report makes: its numbers and kept findings, the seconds it
    took to the millisecond, its finishing moment in ledger time form."""
    if not by.strip():
        raise ValueError("a verification run needs who ran it (`by`)")
    return VerificationRun(
        finished_at=format_time(finished_at), by=by, seconds=round(max(seconds, 0.0), 3),
        events=report.events, tree_root=report.tree_root,
        latest_checkpoint=report.latest_checkpoint, intact=report.intact,
        findings_total=report.findings_total,
        findings=[asdict(finding) for finding in report.findings[:MAX_KEPT_FINDINGS]])


def row_of(run: VerificationRun) -> VerificationRunRow:
    """The run as the store keeps it (its findings as JSON text)."""
    return VerificationRunRow(run.finished_at, run.by, run.seconds, run.events, run.tree_root,
                              run.latest_checkpoint, run.intact, run.findings_total,
                              json.dumps(run.findings, ensure_ascii=False))


def from_row(row: VerificationRunRow) -> VerificationRun:
    """A kept row read back as a run. The table is not evidence and may have been written by
    anyone: a row that is not a run as `record_run` writes one is refused, not guessed at."""
    try:
        findings = json.loads(row.findings)
        if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
            raise ValueError("its findings are not a list of findings")
        return VerificationRun(
            finished_at=str(row.finished_at), by=str(row.run_by), seconds=float(row.seconds),
            events=int(row.events), tree_root=None if row.tree_root is None else str(row.tree_root),
            latest_checkpoint=None if row.latest_checkpoint is None else int(row.latest_checkpoint),
            intact=bool(row.intact), findings_total=int(row.findings_total), findings=findings)
    except (TypeError, ValueError) as error:
        raise StoreUnavailable(f"a recorded verification run in the store is not readable "
                               f"({error}): its table was changed by hand") from None


def record_run(recorder: Any, report: Verification, seconds: float, by: str) -> VerificationRun:
    """Keep one run of the verifier in the store of `recorder` (the ledger's recorder,
    SQLite or PostgreSQL), finished now, and return it as kept. A store that refuses the
    write (a read-only replica, a read-only file) raises StoreUnavailable: the verification
    itself stands all the same."""
    run = run_of(report, seconds, by, datetime.now(timezone.utc))
    try:
        recorder.add_verification_run(row_of(run))
    except PersistenceError as error:  # the engine's own, as eventsourcing names them
        raise StoreUnavailable(f"the verification run was not recorded: "
                               f"{_one_line(error)}") from None
    return run


def runs(recorder: Any, limit: int = 10) -> list[VerificationRun]:
    """The newest `limit` recorded runs (at most MOST_RUNS), newest first; none in a store
    where no run was ever recorded."""
    try:
        rows = recorder.verification_runs(max(1, min(limit, MOST_RUNS)))
    except PersistenceError as error:  # the engine's own, as eventsourcing names them
        raise StoreUnavailable(f"the recorded verification runs cannot be read: "
                               f"{_one_line(error)}") from None
    return [from_row(row) for row in rows]


def _one_line(error: BaseException) -> str:
    """An engine's error as one line (a driver's message may run over several)."""
    return " ".join(str(error).split()) or type(error).__name__


def last_run(recorder: Any) -> VerificationRun | None:
    """The newest recorded run (the last recorded, whatever clock its verifier read), or
    None if no run was ever recorded in this store."""
    newest = runs(recorder, 1)
    return newest[0] if newest else None
