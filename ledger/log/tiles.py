"""The Merkle log as tiles: the C2SP tlog-tiles encoding of the tree (c2sp.org/tlog-tiles).

Pure functions only; api/http/tiles.py serves them from a store (docs/evidence-format.md
§15.2). A tile is a run of up to 256 consecutive hashes of one tree level, fetched by path:

    tile/<L>/<N>[.p/<W>]        hash tile: level L, index N, width W when partial
    tile/entries/<N>[.p/<W>]    entry bundle: the entries of the level-0 tile N

The level-L tile N holds MTH(D[(256N + i)·256^L : (256N + i + 1)·256^L]) for i < W: the
stored nodes of tree level 8L with indexes 256N … 256N + W − 1. An entry of this log is the
32 raw bytes of an event hash, whose RFC 6962 leaf hash SHA-256(0x00 ‖ entry) is the level-0
tile's hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import merkle

HEIGHT = 8  # tlog-tiles fixes the tile height: 8 tree levels per tile level
WIDTH = 1 << HEIGHT  # hence 256 hashes in a full tile
HASH_SIZE = 32  # SHA-256
MAX_LEVEL = 63  # "<L> … MUST be a decimal ASCII integer between 0 and 63"
ENTRIES = -1  # the level of an entry bundle, as Go's tlog.Tile names a data tile

_LEVEL = re.compile(r"0|[1-9][0-9]?")  # "with no additional leading zeroes"
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")  # "between 1 and 255, with no additional leading zeroes"
_INNER = re.compile(r"x[0-9]{3}")  # "All but the last path element MUST begin with an x"
_LAST = re.compile(r"[0-9]{3}")  # "zero-padded 3-digit path elements"


class BadTilePath(ValueError):
    """A path that is not the canonical tlog-tiles path of any tile."""


@dataclass(frozen=True)
class Tile:
    level: int  # 0 … 63, or ENTRIES
    index: int  # N: the tile's place in its level, from 0
    width: int | None = None  # None: a full tile (256 wide); 1 … 255: a partial one

    @property
    def hashes(self) -> int:
        """How many hashes (or entries) the tile holds."""
        return WIDTH if self.width is None else self.width


def encode_index(n: int) -> str:
    """<N> as zero-padded 3-digit path elements, all but the last prefixed with "x", and no
    more elements than N needs: 1234067 → "x001/x234/067", 5 → "005"."""
    if n < 0:
        raise ValueError(f"a tile index is not negative: {n}")
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def tile_path(tile: Tile) -> str:
    """The tile's path below <prefix>/tile/: "<L>/<N>" or "entries/<N>", with ".p/<W>" after
    <N> only for a partial tile."""
    level = "entries" if tile.level == ENTRIES else str(tile.level)
    suffix = "" if tile.width is None else f".p/{tile.width}"
    return f"{level}/{encode_index(tile.index)}{suffix}"


def parse_tile_path(path: str) -> Tile:
    """The tile a path below <prefix>/tile/ names, strictly: a level 0 to 63 (or "entries")
    without leading zeros, <N> as 3-digit elements with "x" on all but the last and no
    leading "x000" element, and a width 1 to 255 without leading zeros after ".p/". Any other
    spelling, even of the same numbers, is refused (BadTilePath): a tile has one path."""
    parts = path.split("/")
    if len(parts) < 2:
        raise BadTilePath(f"{path!r} is not <L>/<N>[.p/<W>] nor entries/<N>[.p/<W>]")
    head, rest = parts[0], parts[1:]
    if head == "entries":
        level = ENTRIES
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise BadTilePath(f"tile level {head!r} is not 0 to {MAX_LEVEL} (no leading zeros) "
                          "nor 'entries'")
    width = None
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not (_WIDTH.fullmatch(rest[-1]) and int(rest[-1]) < WIDTH):
            raise BadTilePath(f"partial tile width {rest[-1]!r} is not 1 to {WIDTH - 1} "
                              "(no leading zeros)")
        width = int(rest[-1])
        rest = rest[:-2] + [rest[-2][:-2]]
    if not (_LAST.fullmatch(rest[-1]) and all(_INNER.fullmatch(p) for p in rest[:-1])):
        raise BadTilePath(f"tile index {'/'.join(rest)!r} is not 3-digit elements with 'x' "
                          "before all but the last (e.g. x001/x234/067)")
    index = 0
    for part in rest:
        index = index * 1000 + int(part.lstrip("x"))
    tile = Tile(level, index, width)
    if tile_path(tile) != path:  # a leading "x000" element: the same N, spelt longer
        raise BadTilePath(f"{path!r} is not canonical: the tile's path is {tile_path(tile)!r}")
    return tile


def start_index(tile: Tile) -> int:
    """The first leaf the tile spans: N · 256^(L+1) (entry bundles as level 0)."""
    return tile.index * WIDTH ** (max(tile.level, 0) + 1)


def size_needed(tile: Tile) -> int:
    """The smallest tree size that holds every hash of the tile: its start index plus W
    subtrees of 256^L leaves each. A full tile needs its end index, (N + 1) · 256^(L+1)."""
    return start_index(tile) + tile.hashes * WIDTH ** max(tile.level, 0)


def partial_width(level: int, size: int) -> int:
    """The width of the partial tile at `level` of a tree of `size` leaves: floor(s / 256^L)
    mod 256; 0 when there is none ("Empty tiles MUST NOT be served")."""
    return size // WIDTH ** level % WIDTH


def tiles_of(size: int, level: int) -> list[Tile]:
    """The hash tiles of one level a tree of `size` leaves is represented by: every full
    tile, then the partial one if its width is not 0 (for 70,000 leaves: 273 full tiles and
    one of width 112 at level 0, one full and one of width 17 at level 1, one of width 1 at
    level 2)."""
    full = size // WIDTH ** (level + 1)
    width = partial_width(level, size)
    return [Tile(level, n) for n in range(full)] + ([Tile(level, full, width)] if width else [])


def levels_of(size: int) -> int:
    """How many tile levels a tree of `size` leaves has (the highest is partial): a tree of
    256 leaves has two, a full level-0 tile and a level-1 tile of width 1."""
    levels = 0
    while size >= WIDTH ** levels and size:
        levels += 1
    return levels


def node_keys(tile: Tile) -> list[int]:
    """The stored nodes a hash tile is made of, in order: tree level 8L, indexes 256N … 256N
    + W − 1 (the store keys a node level · 2^40 + index: merkle.node_key)."""
    if tile.level == ENTRIES:
        raise ValueError("an entry bundle is made of entries, not of stored nodes")
    first = tile.index * WIDTH
    return [merkle.node_key((HEIGHT * tile.level, first + i)) for i in range(tile.hashes)]


def hash_tile(hashes: list[bytes]) -> bytes:
    """A hash tile's bytes: its 32-byte hashes concatenated (a full tile is 8,192 bytes)."""
    if not 0 < len(hashes) <= WIDTH or any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError(f"a tile holds 1 to {WIDTH} hashes of {HASH_SIZE} bytes")
    return b"".join(hashes)


def entry_bundle(entries: list[bytes]) -> bytes:
    """An entry bundle's bytes: each entry prefixed by its length as a big-endian uint16
    (an event hash: 0x00 0x20 then its 32 bytes)."""
    if not 0 < len(entries) <= WIDTH or any(len(e) > 0xFFFF for e in entries):
        raise ValueError(f"a bundle holds 1 to {WIDTH} entries of at most 65,535 bytes")
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)
