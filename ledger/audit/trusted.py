"""What a verifier remembers of a checkpoint it verified, so that its next run verifies only
what came after (docs/evidence-format.md §14.7): the tree's compact range at that size, the
position of its last leaf, every stream's last version and hash, the last ledger time, and
the registry events applied up to it.

A supervision body keeps it in its own state file (`sunledger verify --state FILE`); it is
the verifier's memory, not evidence, and it is trusted because the verifier wrote it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, fields
from pathlib import Path

import orjson

from ledger.errors import LedgerError
from ledger.evidence.durable import write_durably
from ledger.evidence.untrusted import read_file

STATE_FORMAT = "sunledger-verifier-state/v1"
MAX_STATE_BYTES = 256 * 1024 * 1024  # streams × about 120 bytes: two million streams


class VerifierStateError(LedgerError):
    """A verifier state file that cannot be used: unreadable, or for another log."""

    code = "verifier-state"
    status = 422


@dataclass
class TrustedCheckpoint:
    origin: str
    ledger_key_id: str
    size: int  # the checkpoint's tree size
    root: str  # its root, base64
    frontier: list[str]  # the compact range at `size`, base64, as merkle.CompactTree keeps it
    position: int  # the global position of its last leaf
    last_time: str  # the ledger time of that leaf's event
    streams: dict[str, list]  # originator id (hex) -> [last version, its hash, stream name]
    # the registry rows the run applied up to `position`, [position, stored text] in order,
    # so that the next run need not read and judge them again (None: a state without them,
    # whose next run replays the registry from the first event)
    registry: list | None = None
    # the heads map's nodes at depth heads.SUBTREE_DEPTH, so that the next run hashes the
    # map only above them: {"depth", "root" (base64), "nodes": {prefix (decimal): base64}}
    # (None: the next run hashes the whole map once)
    heads_subtrees: dict | None = None

    def save(self, path: Path) -> None:
        """Write the state durably: whole, or the one before it left as it was."""
        # its members as they are (dataclasses.asdict copies every nested list: half a
        # second for a large log's state), in UTF-8 JSON, as json.dumps wrote it
        members = {f.name: getattr(self, f.name) for f in fields(self)}
        data = orjson.dumps({"format": STATE_FORMAT, **members}, option=orjson.OPT_SORT_KEYS)
        try:
            write_durably(path, data)
        except OSError as error:
            raise VerifierStateError(f"cannot write the verifier state {path}: "
                                     f"{error.strerror or error}") from None

    @classmethod
    def load(cls, path: Path) -> "TrustedCheckpoint":
        try:
            # the verifier's own file, read fast (a state of a large log is megabytes);
            # every member's type is checked below
            data = orjson.loads(read_file(path, MAX_STATE_BYTES, "the verifier state"))
            if type(data) is not dict:
                raise ValueError("not a JSON object")
            if data.pop("format") != STATE_FORMAT:
                raise ValueError("not a sunledger-verifier-state/v1")
            state = cls(**data)
            base64.b64decode(state.root, validate=True)
            if not (type(state.size) is int and state.size > 0 and type(state.position) is int
                    and str is type(state.origin) is type(state.ledger_key_id)
                    is type(state.root) is type(state.last_time)
                    and type(state.frontier) is list
                    and all(type(node) is str for node in state.frontier)
                    and type(state.streams) is dict and all(
                        type(v) is list and len(v) == 3 and type(v[0]) is int
                        and type(v[1]) is str and type(v[2]) is str
                        for v in state.streams.values())
                    and (state.registry is None or (type(state.registry) is list and all(
                        type(row) is list and len(row) == 2 and type(row[0]) is int
                        and 0 < row[0] <= state.position and type(row[1]) is str
                        for row in state.registry)))
                    and (state.heads_subtrees is None or (
                        type(state.heads_subtrees) is dict
                        and type(state.heads_subtrees.get("depth")) is int
                        and type(state.heads_subtrees.get("root")) is str
                        and type(state.heads_subtrees.get("nodes")) is dict
                        and all(type(k) is str and k.isdigit() and type(v) is str
                                for k, v in state.heads_subtrees["nodes"].items())))):
                raise ValueError("members of the wrong types")
        except LedgerError as error:
            raise VerifierStateError(error.message) from None
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise VerifierStateError(f"{path} is not a verifier state: {error}; remove it to "
                                     "verify from the first event") from None
        return state
