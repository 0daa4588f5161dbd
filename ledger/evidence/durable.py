"""Files written so that a crash leaves either the whole file or the one before it: a report,
a witness's state, a verifier's state."""

from __future__ import annotations

import os
from pathlib import Path


def write_durably(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write `data` to `path`: a temporary file beside it (created with `mode`, less the
    umask), flushed and synced, renamed into place, and the folder synced. Raises OSError,
    with no temporary file left behind."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
