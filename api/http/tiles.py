"""The Merkle log by the C2SP tlog-tiles specification (docs/evidence-format.md §15.2), with
the prefix <server>/log:

    GET /log/checkpoint               the latest checkpoint with its witness cosignatures
    GET /log/tile/<L>/<N>[.p/<W>]     hash tiles, from the stored nodes
    GET /log/tile/entries/<N>[.p/<W>] entry bundles, the event hashes read from the events

Everything served is bounded by the latest checkpoint: a tile is served only if that
checkpoint's tree holds all of it, so a client checks every tile against a signed root and
no leaf is published before a checkpoint commits to it. Full tiles never change and are
cached for a year; partial tiles and the checkpoint are fetched afresh. The server itself
keeps the full hash tiles it served, and the largest checkpoint size it saw (TileMemory);
entry bundles it reads from the events every time. Errors are problem
documents that no cache keeps."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Path, Request, Response

from ledger.errors import LedgerError, LogInconsistent, NotInLog
from ledger.log import tiles
from ledger.log.checkpoints import REBUILD_HINT, latest_checkpoint
from ledger.log.proofs import cosigned_note

from .problems import ledger_problem, problem, problem_example, problem_responses
from .store_reads import short_read

router = APIRouter(prefix="/log", tags=["log"])

NOTE_TYPE = "text/plain; charset=utf-8"  # tlog-tiles: the checkpoint's content type
TILE_TYPE = "application/octet-stream"  # tlog-tiles: tiles' and entry bundles' content type
IMMUTABLE = "public, max-age=31536000, immutable"  # a full tile: its bytes never change
PARTIAL = "public, max-age=60"  # a partial tile: superseded by a wider one, then the full one
MUTABLE = "no-cache"  # the checkpoint: "SHOULD prevent caching beyond a few seconds"
NO_STORE = "no-store"  # an error: the tile may exist a moment later
_HEX64 = re.compile(rb"[0-9a-f]{64}")  # an event hash as events hold it (evidence-format §7)
_HEX = re.compile(rb"[0-9a-f]*")

INCONSISTENT = (500, "the stored log does not hold what the events say (log-inconsistent): "
                    "nothing is served from it; the operator rebuilds it", problem_example(
                        500, "log-inconsistent", f"the stored tree lacks 1 node(s) of tile "
                                                 f"0/000; {REBUILD_HINT}"))
CHECKPOINT_EXAMPLE = """sunledger.invalid/ebfbad0f0e5eb09f
1204
8c5w3NBFWnhAw3LdTZc6lyfs15KPsLmNKZqCmMfF2Go=

— sunledger.invalid/ebfbad0f0e5eb09f bHWKdQKEz9WqdZTFOfcBGNn1rE4cuDE4RmcUHtxmcsJEgCjAX8mxxh6Xny7caix2xZMuia4+JIsrT/GwE94/aSScDwk=
— witness.example.org/w1 eL6QJgAAAABn9HxWxRvXbIdsWnPQKsCt7sB4r6P2SMd9rgtmWo8PtTv9L8ldSTAH8S8DFbRm8OMmzGmIDmXmr0KlEL6p0TVNNAUhCg==
"""
CHECKPOINT_RESPONSES = {
    200: {"description": "the signed note: the C2SP tlog-checkpoint body (origin, tree size, "
                         "root hash), the log's signature line, then its witnesses' "
                         "tlog-cosignature lines (evidence-format §15)",
          "content": {NOTE_TYPE: {"schema": {"type": "string"}, "example": CHECKPOINT_EXAMPLE}},
          "headers": {"Cache-Control": {"required": True, "schema": {"const": MUTABLE}}}},
    **problem_responses((404, "no checkpoint has been signed yet"), INCONSISTENT),
}
TILE_RESPONSES = {
    200: {"description": "the tile's bytes: a hash tile is its hashes, 32 bytes each, in "
                         "order; an entry bundle is each leaf's event hash, with a 2-byte "
                         "big-endian length before it (C2SP tlog-tiles; evidence-format §15.2)",
          "content": {TILE_TYPE: {"schema": {"type": "string",
                                             "contentMediaType": TILE_TYPE}}},
          "headers": {"Cache-Control": {"required": True, "description": "a full tile: "
                                        "immutable, for a year; a partial one: a minute",
                                        "schema": {"enum": [IMMUTABLE, PARTIAL]}}}},
    **problem_responses((400, "not the canonical path of a tile"),
                        (404, "a tile the latest checkpoint does not cover", problem_example(
                            404, "not-in-log", "tile 0/000.p/9 needs a tree of 9 leaves; the "
                            "latest checkpoint's has 8: fetch /log/checkpoint, then only the "
                            "tiles its size calls for", checkpoint_size=8)),
                        INCONSISTENT),
}


def _refusal(response: Response) -> Response:
    response.headers["Cache-Control"] = NO_STORE
    return response


@router.get("/checkpoint", summary="The latest checkpoint, with its witness cosignatures",
            response_class=Response, responses=CHECKPOINT_RESPONSES)
async def get_checkpoint(request: Request) -> Response:
    """The newest checkpoint the ledger signed, as a C2SP signed note, with the cosignatures
    its witnesses returned. Fetched afresh each time (Cache-Control: no-cache); everything
    else under /log is bounded by it."""
    try:
        note = await short_read(request, _latest_note, request.app.state.ledger.recorder)
    except LedgerError as error:
        return _refusal(ledger_problem(error))
    return Response(note.encode("utf-8"), media_type=NOTE_TYPE,
                    headers={"Cache-Control": MUTABLE})


def _latest_note(recorder: Any) -> str:
    last = latest_checkpoint(recorder)
    if last is None:
        raise NotInLog("the log has no checkpoint yet; one is signed after the first "
                       "appends (or `sunledger checkpoint --issue`)")
    return cosigned_note(recorder, last[0])


@router.get("/tile/{path:path}", summary="A hash tile or an entry bundle (C2SP tlog-tiles)",
            response_class=Response, responses=TILE_RESPONSES)
async def get_tile(request: Request, path: str = Path(
        description="<L>/<N>[.p/<W>] or entries/<N>[.p/<W>], e.g. 0/x001/x234/067.p/8",
        examples=["0/000", "entries/000.p/8"])) -> Response:
    """A hash tile (level L, index N) or an entry bundle (index N), whole or, with .p/W, its
    first W hashes: only what the latest checkpoint's tree holds. A full tile never changes
    (cached for a year); a partial one is cached for a minute."""
    try:
        if b"%" in request.scope.get("raw_path", b""):  # a tile path needs no escape: one spelling
            raise tiles.BadTilePath("a tile path is plain ASCII, never percent-encoded")
        tile = tiles.parse_tile_path(path)
    except tiles.BadTilePath as error:
        return _refusal(problem(400, "bad-request", f"{error}; tile paths are "
                                "<L>/<N>[.p/<W>] or entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)"))
    memory = request.app.state.tile_memory
    try:
        body = memory.full_tile(tile)
        if body is None and tiles.size_needed(tile) <= memory.covered:  # one read, on the loop
            reads = request.app.state.loop_reads
            if tile.level == tiles.ENTRIES:
                body = _bundle(tile, *await reads.entry_hashes(tiles.start_index(tile),
                                                               tile.hashes))
            else:
                body = _hash_tile(tile, *await reads.tile_hashes(tiles.node_keys(tile)[0],
                                                                 tile.hashes))
                body = body and memory.keep(tile, body)
        if body is None:  # the checkpoint to read, or something missing to name
            body = await short_read(request, _tile, request.app.state.ledger.recorder,
                                    memory, tile)
    except LedgerError as error:
        return _refusal(ledger_problem(error))
    return Response(body, media_type=TILE_TYPE,
                    headers={"Cache-Control": IMMUTABLE if tile.width is None else PARTIAL})


def _tile(recorder: Any, memory: "TileMemory", tile: tiles.Tile) -> bytes:
    """The tile's bytes, read from the store (a full hash tile kept in `memory`)."""
    memory.covered = _covered(recorder, tile, memory.covered)
    if tile.level == tiles.ENTRIES:
        return _entries(recorder, tile)
    return memory.keep(tile, _hashes(recorder, tile))


class TileMemory:
    """What the tile route keeps between requests because it cannot change: the size of the
    largest checkpoint it has seen (checkpoints only grow, so what one covered stays covered)
    and the latest full hash tiles it served (a full tile's bytes never change; a client checks
    them against a signed root). Entry bundles are read from the events every time: events are
    the truth, and one changed behind the ledger's back must show."""

    def __init__(self, tiles_kept: int = 4096):  # at most 32 MiB of hash tiles
        self.covered, self.tiles_kept = 0, tiles_kept
        self._tiles: OrderedDict[tiles.Tile, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def full_tile(self, tile: tiles.Tile) -> bytes | None:
        with self._lock:
            body = self._tiles.get(tile)
            if body is not None:
                self._tiles.move_to_end(tile)
            return body

    def keep(self, tile: tiles.Tile, body: bytes) -> bytes:
        if tile.width is None:
            with self._lock:
                self._tiles[tile] = body
                while len(self._tiles) > self.tiles_kept:
                    self._tiles.popitem(last=False)
        return body


def _covered(recorder: Any, tile: tiles.Tile, known: int = 0) -> int:
    """The size of a checkpoint whose tree holds every hash of the tile (NotInLog if the
    latest does not): `known`, a size already seen, if it suffices, else the latest's."""
    needed = tiles.size_needed(tile)
    if needed <= known:
        return known
    last = latest_checkpoint(recorder)
    size = last[0] if last else 0
    if needed > size:
        raise NotInLog(f"tile {tiles.tile_path(tile)} needs a tree of {needed} leaves; the "
                       f"latest checkpoint's has {size}: fetch /log/checkpoint, then only the "
                       "tiles its size calls for", checkpoint_size=size)
    return size


def _hash_tile(tile: tiles.Tile, found: int, joined: bytes) -> bytes | None:
    """The hash tile of `found` stored nodes whose hashes are `joined` (one query's answer);
    None unless every node of the tile is there."""
    return joined if found == tile.hashes and len(joined) == 32 * found else None


def _hashes(recorder: Any, tile: tiles.Tile) -> bytes:
    """A hash tile from the stored nodes (the client checks them against the checkpoint)."""
    keys = tiles.node_keys(tile)
    found, joined = recorder.tile_hashes(keys[0], tile.hashes)
    if found != tile.hashes:
        raise LogInconsistent(f"the stored tree lacks {len(keys) - found} node(s) of tile "
                              f"{tiles.tile_path(tile)}; {REBUILD_HINT}")
    if _hash_tile(tile, found, joined) is None:
        raise LogInconsistent(f"a stored node of tile {tiles.tile_path(tile)} is not a "
                              f"32-byte hash; {REBUILD_HINT}")
    return joined


def _entries(recorder: Any, tile: tiles.Tile) -> bytes:
    """An entry bundle: each leaf's event hash, read from the stored event itself (events are
    the truth; a changed event shows as an entry that does not hash to its leaf)."""
    found, joined = recorder.entry_hashes(tiles.start_index(tile), tile.hashes)
    return _bundle(tile, found, joined) or _bundle(tile, tile.hashes,
                                                   _entries_named(recorder, tile))


def _bundle(tile: tiles.Tile, found: int, joined: bytes) -> bytes | None:
    """The entry bundle of `found` leaves whose events' hashes are `joined` (one query's
    answer); None unless every leaf of the tile has its hash there, readable."""
    if found != tile.hashes or len(joined) != 64 * found or not _HEX.fullmatch(joined):
        return None  # something is missing or unreadable: _entries_named says what
    raw = bytes.fromhex(joined.decode("ascii"))
    return tiles.entry_bundle([raw[i:i + 32] for i in range(0, len(raw), 32)])


def _entries_named(recorder: Any, tile: tiles.Tile) -> bytes:
    """An entry bundle's hashes read leaf by leaf, so that a missing leaf or event, or an
    unreadable hash, is named (LogInconsistent)."""
    first = tiles.start_index(tile)
    leaves = recorder.leaf_positions(first - 1, first + tile.hashes - 1)
    if [leaf for leaf, _ in leaves] != list(range(first, first + tile.hashes)):
        raise LogInconsistent(f"the leaves table lacks leaves of entry bundle "
                              f"{tiles.tile_path(tile)}; {REBUILD_HINT}")
    positions = [position for _, position in leaves]
    stored = dict(recorder.stored_hashes(positions[0] - 1, positions[-1]))
    digests = [stored.get(position) or b"" for position in positions]
    joined = b"".join(digests)  # checked at once; one by one only to name a bad one
    if len(joined) != 64 * len(positions) or not _HEX.fullmatch(joined):
        position = next(p for p, d in zip(positions, digests) if not _HEX64.fullmatch(d))
        raise LogInconsistent(f"the event at position {position} is missing or its hash cannot "
                              "be read; run `sunledger verify`", position=position)
    return joined
