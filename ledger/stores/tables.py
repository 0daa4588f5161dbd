"""What every store keeps, whatever its engine. Beside the events (the eventsourcing table),
written in the same transaction: the receipts (what the ledger signed for each position), the
nonces used, the Merkle log's leaves (which position each leaf index holds) and its tree nodes.
Checkpoints and their cosignatures are kept too, and, outside the evidence, the verifier's
recorded runs (an operational note, ledger/audit/runs.py). The recorders (`sqlite.py`,
`postgres.py`) implement the transaction's writes and reads for their engine."""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple, Protocol, Sequence
from uuid import UUID

RECEIPTS = "sunledger_receipts"
NONCES = "sunledger_nonces"
EVENTS = "sunledger_events"  # the eventsourcing events table, same name on both engines
LEAVES = "sunledger_leaves"  # leaf index -> position
TREE = "sunledger_tree"  # merkle.node_key(level, index) -> hash of that complete subtree
CHECKPOINTS = "sunledger_checkpoints"  # tree size -> signed note
COSIGNATURES = "sunledger_cosignatures"  # (tree size, witness key) -> cosignature line
HEADS_MAP = "sunledger_heads_map"  # a checkpoint's heads map, renewed every 100,000 leaves
#   (derived): where the next fold of the heads resumes
REQUEST_NONCES = "sunledger_request_nonces"  # (key id, nonce) of signed HTTP requests until
#   they expire (api/http/signed_requests.py): not evidence, a replay guard shared by servers
VERIFICATION_RUNS = "sunledger_verification_runs"  # each recorded run of the verifier over
#   this store, its verdict and kept findings (ledger/audit/runs.py): not evidence, an
#   operational note outside the hashed log that anyone with SQL access could forge
MAX_VERSION = 2**63 - 1  # no stream reaches it: "up to the newest version" in a range read


class Transaction(Protocol):
    """The writes and reads the ledger makes inside the transaction that stores its events."""

    def stream_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]: ...
    def add_nonces(self, rows: Sequence[tuple[str, str]]) -> None: ...
    def add_receipts(self, rows: Sequence[tuple[int, str, int, str, str, str]]) -> None: ...
    def tree_size(self) -> int: ...
    def tree_nodes(self, keys: Sequence[int]) -> dict[int, bytes]: ...
    def add_leaves(self, rows: Sequence[tuple[int, int]]) -> None: ...
    def add_nodes(self, rows: Sequence[tuple[int, bytes]]) -> None: ...


Within = Callable[[Transaction, Sequence[int]], None]


class ReceiptRow(NamedTuple):
    position: int
    stream: str
    version: int
    event_hash: str
    ledger_time: str
    signature: str


class VerificationRunRow(NamedTuple):
    """One recorded run of the verifier as a store keeps it (ledger/audit/runs.py reads it
    as a VerificationRun): `findings` is the kept findings' JSON text."""

    finished_at: str
    run_by: str
    seconds: float
    events: int
    tree_root: str | None
    latest_checkpoint: int | None
    intact: bool
    findings_total: int
    findings: str


TYPE_PAGE = 1000  # rows of one event type read at a time


def rows_of_type(recorder: Any, topic: str, after: int = 0) -> Iterator[tuple]:
    """Every stored row of one event type after a position, in position order, as the
    recorder's `select_topic_rows` gives them, a page at a time along the type's index."""
    while True:
        page = recorder.select_topic_rows(topic, after, TYPE_PAGE)
        yield from page
        if len(page) < TYPE_PAGE:
            return
        after = page[-1][0]
