"""The Merkle log as C2SP tlog-tiles (docs/evidence-format.md §15.2): the path rules and byte
encodings of the spec, and a client that rebuilds the signed checkpoint's root from the served
tiles alone, with its own RFC 6962 code, over real stores and a real `sunledger serve`."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.simulate import simulate
from conftest import RawStore
from ledger.ledger import Ledger
from ledger.log import tiles
from ledger.log.checkpoints import CheckpointPolicy
from ledger.log.cosigning import AddCheckpoint, Witness
from ledger.log.notes import verifier_key
from ledger.log.proofs import log_identity
from ledger.evidence.keys import SigningKey
from servers import STOPPED_GRACEFULLY, ledger_server

IMMUTABLE = "public, max-age=31536000, immutable"
NEVER = CheckpointPolicy(every_events=10**9, every_seconds=float("inf"))  # checkpoints on demand


# --- the spec's rules, byte for byte (pure functions) ----------------------------------------

def test_tile_paths_encode_the_index_as_the_spec_does():
    assert tiles.encode_index(1234067) == "x001/x234/067"  # the spec's example
    assert tiles.tile_path(tiles.Tile(0, 1234067)) == "0/x001/x234/067"
    assert tiles.tile_path(tiles.Tile(tiles.ENTRIES, 1234067, 8)) == "entries/x001/x234/067.p/8"
    assert tiles.tile_path(tiles.Tile(2, 0, 1)) == "2/000.p/1"
    for n, path in [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"),
                    (1001, "x001/001"), (999_999, "x999/999"), (1_000_000, "x001/x000/000"),
                    (2**40, "x001/x099/x511/x627/776"), (2**63 - 1, "x009/x223/x372/x036/x854/x775/807")]:
        assert tiles.encode_index(n) == path
        for level in (0, 7, 63):
            assert tiles.parse_tile_path(f"{level}/{path}") == tiles.Tile(level, n)
        assert tiles.parse_tile_path(f"entries/{path}.p/255") == tiles.Tile(tiles.ENTRIES, n, 255)
        assert tiles.parse_tile_path(f"1/{path}.p/1") == tiles.Tile(1, n, 1)


def test_partial_tile_widths_are_the_specs_examples():
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
    # 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    # partial level 2 tile of width 1"
    assert tiles.levels_of(70_000) == 3
    level0, level1, level2 = (tiles.tiles_of(70_000, level) for level in range(3))
    assert len(level0) == 274 and level0[:273] == [tiles.Tile(0, n) for n in range(273)]
    assert level0[273] == tiles.Tile(0, 273, 112)
    assert level1 == [tiles.Tile(1, 0), tiles.Tile(1, 1, 17)]
    assert level2 == [tiles.Tile(2, 0, 1)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1"
    assert tiles.levels_of(256) == 2
    assert tiles.tiles_of(256, 0) == [tiles.Tile(0, 0)] and tiles.tiles_of(256, 1) == [tiles.Tile(1, 0, 1)]
    assert tiles.levels_of(0) == 0 and tiles.tiles_of(0, 0) == []  # empty tiles are never served
    assert tiles.levels_of(255) == 1 and tiles.tiles_of(255, 0) == [tiles.Tile(0, 0, 255)]
    assert [tiles.partial_width(level, 70_000) for level in range(4)] == [112, 17, 1, 0]
    # the tree size a tile needs: start index N·256^(L+1) plus W·256^L
    assert tiles.size_needed(tiles.Tile(0, 273, 112)) == 70_000
    assert tiles.size_needed(tiles.Tile(1, 1, 17)) == 65_536 + 17 * 256
    assert tiles.size_needed(tiles.Tile(1, 0)) == 65_536 == tiles.start_index(tiles.Tile(1, 1))
    assert tiles.size_needed(tiles.Tile(tiles.ENTRIES, 2, 3)) == 515


def test_non_canonical_tile_paths_are_refused():
    for path in ["0/x000/001",  # the same tile as 0/001, spelt longer
                 "00/000", "064/000", "64/000", "-1/000", "+1/000", "entry/000", "Entries/000",
                 "0/1", "0/01", "0/0001", "0/x001", "0/001/x002", "0/X001/000", "0/x001/x002",
                 "0/001.p/0", "0/001.p/256", "0/001.p/07", "0/001.p/", "0/001.p", "0/001.P/5",
                 "0/001.p/5/", "0/001.p/5.p/5", "0/.p/5", "0/001/.p/5", "0/001/", "/0/001",
                 "0//001", "0", "", "0/ 01", "0/+01", "0/1_0", "0/٠٠١", "0/00١", "١/000",
                 "0/001\n", "0/001.p/5\n"]:
        with pytest.raises(tiles.BadTilePath):
            tiles.parse_tile_path(path)


def test_tiles_and_entry_bundles_are_encoded_byte_for_byte():
    hashes = [bytes([i]) * 32 for i in range(3)]
    assert tiles.hash_tile(hashes) == b"".join(hashes) and len(tiles.hash_tile(hashes * 85 + [hashes[0]])) == 8192
    # "sequences of big-endian uint16 length-prefixed log entries"
    assert tiles.entry_bundle([b"\xaa" * 32, b"\xbb"]) == b"\x00\x20" + b"\xaa" * 32 + b"\x00\x01\xbb"
    assert tiles.entry_bundle([b"e" * 300]) == b"\x01\x2c" + b"e" * 300
    for bad in ([], [b"x" * 31], hashes * 86):
        with pytest.raises(ValueError):
            tiles.hash_tile(bad)
    # the level-L tile N is tree level 8L, indexes 256N … 256N + W − 1
    assert tiles.node_keys(tiles.Tile(1, 3, 2)) == [(8 << 40) | 768, (8 << 40) | 769]
    assert tiles.node_keys(tiles.Tile(0, 0))[-1] == 255 and len(tiles.node_keys(tiles.Tile(2, 1))) == 256


def test_the_worked_example_of_the_evidence_format():
    # §15.2: leaf 300,000,000 opens level-0 tile 1,171,875
    assert tiles.tile_path(tiles.Tile(0, 300_000_000 // 256)) == "0/x001/x171/875"
    assert tiles.start_index(tiles.Tile(tiles.ENTRIES, 1_171_875)) == 300_000_000
    # the bid of §21.5 (leaf 11 of the example log): its entry hashes to §21.7's leaf hash
    entry = bytes.fromhex("e4588208a74b11589bee8208765fda64818079c1a2f436440f882dfb14b45da3")
    assert hashlib.sha256(b"\x00" + entry).hexdigest() == (
        "bb08f37b37f43c370bd839ff14a412dcacb6f6bdf800f2e5f5a2bbca310b4b26")
    bundle = tiles.entry_bundle([bytes(32)] * 11 + [entry])
    assert len(bundle) == 408 and bundle[374:408] == b"\x00\x20" + entry
    assert tiles.tile_path(tiles.Tile(0, 0, 12)) == "0/000.p/12" and tiles.levels_of(12) == 1


# --- a client of the tiles, written from the spec alone --------------------------------------

def _client_path(level: int | str, n: int, width: int | None = None) -> str:
    groups = f"{n:d}"
    groups = groups.zfill(-(-len(groups) // 3) * 3)
    parts = [groups[i:i + 3] for i in range(0, len(groups), 3)]
    index = "/".join([f"x{p}" for p in parts[:-1]] + parts[-1:])
    return f"tile/{level}/{index}" + ("" if width is None else f".p/{width}")


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _mth(lo: int, hi: int, levels: list[list[bytes]]) -> bytes:
    """RFC 6962 §2.1 MTH(D[lo:hi]), taking a subtree of 256^L leaves from the level-L tiles."""
    n = hi - lo
    for level in reversed(range(len(levels))):
        span = 256 ** level
        if n == span and lo % span == 0:
            return levels[level][lo // span]
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    return _node(_mth(lo, lo + k, levels), _mth(lo + k, hi, levels))


def _signed_checkpoint(note: str, origin: str, public_key: bytes) -> tuple[int, bytes]:
    """(size, root) of a checkpoint note whose log signature verifies (C2SP signed-note)."""
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    lines = text.split("\n")
    assert lines[0] == origin
    key_hash = hashlib.sha256(origin.encode() + b"\n\x01" + public_key).digest()[:4]
    mine = [base64.b64decode(line.rsplit(" ", 1)[1]) for line in signatures.splitlines()
            if line.startswith(f"\u2014 {origin} ")]
    assert len(mine) == 1 and mine[0][:4] == key_hash
    Ed25519PublicKey.from_public_bytes(public_key).verify(mine[0][4:], text.encode())
    return int(lines[1]), base64.b64decode(lines[2])


def _rebuild(get, origin: str, public_key: bytes) -> dict:
    """Fetch the checkpoint, then only the tiles its size calls for; check them against its
    root. Returns what was fetched: the size, the root, each tile's bytes by path, the leaves."""
    response = get("checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    size, root = _signed_checkpoint(response.text, origin, public_key)
    fetched, levels, level = {}, [], 0
    while size >= 256 ** level:
        count = size // 256 ** level  # the hashes of tree level 8L the tree holds
        hashes = []
        for n in range(-(-count // 256)):
            width = min(256, count - 256 * n)
            path = _client_path(level, n, None if width == 256 else width)
            response = get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["content-type"] == "application/octet-stream"
            assert response.headers["cache-control"] == (IMMUTABLE if width == 256 else "public, max-age=60")
            assert len(response.content) == 32 * width
            fetched[path] = response.content
            hashes += [response.content[i:i + 32] for i in range(0, 32 * width, 32)]
        levels.append(hashes)
        level += 1
    # each hash of a tile above level 0 is the MTH of a full tile at the level below
    for level in range(1, len(levels)):
        for j, digest in enumerate(levels[level]):
            span = 256 ** level
            assert digest == _mth(j * span, (j + 1) * span, levels[:level])
    assert _mth(0, size, levels[:1]) == root  # from the leaf hashes alone
    assert _mth(0, size, levels) == root  # from the highest tiles
    # each entry hashes to its leaf: SHA-256(0x00 ‖ entry)
    entries = []
    for n in range(-(-size // 256)):
        width = min(256, size - 256 * n)
        path = _client_path("entries", n, None if width == 256 else width)
        response = get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == "application/octet-stream"
        body, at = response.content, 0
        while at < len(body):
            length = int.from_bytes(body[at:at + 2], "big")
            entries.append(body[at + 2:at + 2 + length])
            at += 2 + length
        assert at == len(body) and len(entries) == 256 * n + width
        fetched[path] = body
    assert all(len(entry) == 32 for entry in entries)
    assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == levels[0]
    return {"size": size, "root": root, "tiles": fetched, "entries": entries, "levels": len(levels)}


# --- served from real stores ------------------------------------------------------------------

def _app(url: str, tmp_path: Path):
    return create_app(lambda: Ledger.open(url, key_path=tmp_path / "key", checkpoints=NEVER))


def _get(client):
    return lambda path: client.get(f"/log/{path}")


def _event_hashes(url: str) -> list[bytes]:
    """Every event's hash in global order, read with plain SQL."""
    return [bytes.fromhex(orjson.loads(state)["hash"]) for *_, state in RawStore(url).rows()]


def _cosign(ledger: Ledger, note: str, tmp_path: Path) -> str:
    """A witness's real cosignature on the checkpoint, kept in the store."""
    state = tmp_path / "witness.json"
    Witness.create(state, "witness.example/supervision")
    witness = Witness(state, SigningKey.generate())
    origin, public_key = log_identity(ledger.recorder)
    witness.add_log(verifier_key(origin, public_key))
    line = witness.add_checkpoint(AddCheckpoint(0, [], note), 1_700_000_000)
    size = int(note.split("\n")[1])
    ledger.recorder.add_cosignature(size, witness.verifier_key, line)
    return line


def test_the_checkpoints_root_is_rebuilt_from_the_tiles_alone(store_url, tmp_path):
    with TestClient(_app(store_url, tmp_path)) as client:
        ledger = client.app.state.ledger
        assert client.get("/log/checkpoint").status_code == 404  # nothing signed yet
        simulate(ledger, projects=16, seed=11, batch=50)
        note = ledger.checkpoint()
        line = _cosign(ledger, note, tmp_path)
        served = client.get("/log/checkpoint")
        assert served.headers["cache-control"] == "no-cache"
        assert served.text == note + line  # the cosignature after the log's own line
        origin, public_key = log_identity(ledger.recorder)
        got = _rebuild(_get(client), origin, public_key)
    assert got["size"] == len(_event_hashes(store_url)) > 512 and got["size"] % 256
    assert got["levels"] == 2  # a partial level-0 tile and a partial level-1 tile of width ≥ 2
    assert got["entries"] == _event_hashes(store_url)  # the events' own hashes, in global order


def test_tiles_are_bounded_by_the_latest_checkpoint(store_url, tmp_path):
    with TestClient(_app(store_url, tmp_path)) as client:
        ledger = client.app.state.ledger
        simulate(ledger, projects=4, seed=12, batch=50)
        size = int(ledger.checkpoint().split("\n")[1])
        simulate(ledger, projects=4, seed=13, batch=50)  # stored leaves no checkpoint covers yet
        stored = ledger.recorder.tree_size()
        assert stored // 256 > size // 256
        full, width = size // 256, size % 256
        assert 0 < width < 255
        assert client.get(f"/log/{_client_path(0, full, width)}").status_code == 200
        assert client.get(f"/log/{_client_path('entries', full, width)}").status_code == 200
        for path in [_client_path(0, full, width + 1), _client_path(0, full),
                     _client_path("entries", full), _client_path(1, 0, full + 1),
                     _client_path(0, 10**9), _client_path(63, 1), _client_path(1, 0)]:
            response = client.get(f"/log/{path}")
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["cache-control"] == "no-store"
            problem = response.json()
            assert problem["type"] == "urn:sunledger:error:not-in-log"
            assert problem["checkpoint_size"] == size and "Traceback" not in response.text
        for path in ["0/x000/001", "00/000", "0/000.p/0", "0/000.p/256", "0/1", "entries/000.p/01",
                     "0/000/", "64/000", "0/%30%30%30"]:
            response = client.get(f"/log/tile/{path}")
            assert response.status_code == 400, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "urn:sunledger:error:bad-request"
        ledger.checkpoint()  # now the checkpoint covers them, and they are served
        assert client.get(f"/log/{_client_path(0, full)}").status_code == 200
        assert client.get(f"/log/{_client_path('entries', stored // 256 - 1)}").status_code == 200


def test_full_tiles_never_change_as_the_log_grows(store_url, tmp_path):
    with TestClient(_app(store_url, tmp_path)) as client:
        ledger = client.app.state.ledger
        origin, public_key = log_identity(ledger.recorder)
        simulate(ledger, projects=5, seed=21, batch=50)
        ledger.checkpoint()
        before = _rebuild(_get(client), origin, public_key)
        simulate(ledger, projects=5, seed=22, batch=50)
        ledger.checkpoint()
        after = _rebuild(_get(client), origin, public_key)
        assert after["size"] > before["size"] + 256
        full = [path for path in before["tiles"] if ".p/" not in path]
        assert full and all(after["tiles"][path] == before["tiles"][path] for path in full)
        # the partial tiles of the older checkpoint are still served, the same bytes: the
        # first W hashes (or entries) of the wider tile that replaced them
        for path, body in before["tiles"].items():
            if ".p/" in path:
                again = client.get(f"/log/{path}")
                assert again.status_code == 200 and again.content == body
                wider = path.split(".p/")[0]
                now = after["tiles"].get(wider) or next(b for p, b in after["tiles"].items()
                                                        if p.startswith(wider + ".p/"))
                assert now.startswith(body)
        assert after["entries"][:before["size"]] == before["entries"]


def test_the_entries_are_the_events_hashes_not_a_cache(store_url, tmp_path):
    """Entries are read from the events: an event changed behind the ledger's back shows as an
    entry that no longer hashes to its leaf; an unreadable one is a 500 problem, no trace."""
    with TestClient(_app(store_url, tmp_path), raise_server_exceptions=False) as client:
        ledger = client.app.state.ledger
        simulate(ledger, projects=8, seed=31, batch=50)
        ledger.checkpoint()
        assert ledger.recorder.tree_size() >= 512  # entry bundle 1 is full
        raw = RawStore(store_url)
        position, originator, version, _, state = raw.rows()[300]
        event = orjson.loads(state)
        event["hash"] = "ab" * 32
        table, column = raw.events, raw.position
        raw.execute(f"UPDATE {table} SET state=? WHERE {column}=?", (orjson.dumps(event), position))
        bundle = client.get(f"/log/{_client_path('entries', 1)}").content
        level0 = client.get(f"/log/{_client_path(0, 1)}").content
        entry = bundle[(300 - 256) * 34:(300 - 256) * 34 + 34]
        assert entry == b"\x00\x20" + b"\xab" * 32
        assert hashlib.sha256(b"\x00" + entry[2:]).digest() != level0[(300 - 256) * 32:][:32]
        raw.execute(f"UPDATE {table} SET state=? WHERE {column}=?", (b"not json", position))
        response = client.get(f"/log/{_client_path('entries', 1)}")
        assert response.status_code == 500 and response.headers["cache-control"] == "no-store"
        assert response.json()["type"] == "urn:sunledger:error:log-inconsistent"
        assert str(position) in response.json()["detail"] and "Traceback" not in response.text
        assert client.get(f"/log/{_client_path(0, 1)}").content == level0  # nodes: unchanged
        # an event deleted: its position named; a leaf deleted: the leaves table named
        other = raw.rows()[301][0]
        raw.execute(f"DELETE FROM {table} WHERE {column}=?", (other,))
        raw.execute(f"UPDATE {table} SET state=? WHERE {column}=?", (state, position))
        response = client.get(f"/log/{_client_path('entries', 1)}")
        assert response.status_code == 500 and str(other) in response.json()["detail"]
        raw.execute(f"DELETE FROM {raw.table('sunledger_leaves')} WHERE leaf_index=?", (400,))
        response = client.get(f"/log/{_client_path('entries', 1)}")
        assert response.status_code == 500 and "lacks leaves" in response.json()["detail"]
        # a hash tile not served yet: a node deleted, then one not 32 bytes long
        tree = raw.table("sunledger_tree")
        raw.execute(f"DELETE FROM {tree} WHERE node=?", (5,))
        response = client.get(f"/log/{_client_path(0, 0)}")
        assert response.status_code == 500 and "lacks 1 node(s)" in response.json()["detail"]
        raw.execute(f"INSERT INTO {tree} (node, hash) VALUES (?, ?)", (5, b"\x01" * 31))
        response = client.get(f"/log/{_client_path(0, 0)}")
        assert response.status_code == 500 and "not a 32-byte hash" in response.json()["detail"]


# --- a real server ----------------------------------------------------------------------------

def test_sunledger_serve_serves_the_tiles(store_url, tmp_path):
    key = tmp_path / "key"
    ledger = Ledger.open(store_url, key_path=key, checkpoints=NEVER)
    try:
        simulate(ledger, projects=8, seed=41, batch=50)
        ledger.checkpoint()
        origin, public_key = log_identity(ledger.recorder)
    finally:
        ledger.close()
    server = ledger_server(store_url, key, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            got = _rebuild(lambda path: http.get(f"/log/{path}"), origin, public_key)
            assert got["entries"] == _event_hashes(store_url)
            assert http.get("/log/tile/0/x000/000").status_code == 400
            assert http.get(f"/log/{_client_path(0, 10**6)}").status_code == 404
    finally:
        assert server.stop() in STOPPED_GRACEFULLY
        assert "Finished server process" in server.output() and "Traceback" not in server.output()
