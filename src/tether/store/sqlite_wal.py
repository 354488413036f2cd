"""Room reserved in the SQLite write-ahead log, so that a durable commit costs one data flush.

With ``synchronous=FULL`` every commit appends frames to the WAL file and flushes it. While
the file is growing, each flush must also journal the file's new size and blocks (on ext4
this roughly doubles its cost); once the WAL wraps round after a checkpoint, commits
overwrite blocks that already exist and the flush writes data alone. SQLite deletes the WAL
when the last connection closes, so every open would start with a growing file: the store
lengthens it with zeros up front instead, to the size it reaches between checkpoints.

Zeros past the last valid frame are ignored by SQLite (a frame is valid only with the log's
salt and a matching checksum), so the extra length never changes what the log holds. The
file is lengthened only while this connection holds the write lock, when no other
connection, in this process or another, can be appending to it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

_FRAME_HEADER = 24
_WAL_HEADER = 32
_SPARE_FRAMES = 256
"""Frames beyond the checkpoint threshold: the last commit before a checkpoint may overshoot it."""
_CHUNK = 1 << 20


def reserve_wal(conn: sqlite3.Connection, db_path: Path) -> int:
    """Lengthen the database's WAL file to the size it reaches between checkpoints.

    Returns the number of bytes added (0 when the file is already long enough, or when
    there is no WAL file). Errors are SQLite's or the file system's, as on any write.
    """
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    checkpoint_pages = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    if checkpoint_pages <= 0:  # checkpoints left to the application: no size to aim for
        return 0
    target = _WAL_HEADER + (checkpoint_pages + _SPARE_FRAMES) * (page_size + _FRAME_HEADER)
    wal = Path(f"{db_path}-wal")
    conn.execute("BEGIN IMMEDIATE")
    try:
        try:
            size = wal.stat().st_size
        except FileNotFoundError:
            return 0
        if size >= target:
            return 0
        with wal.open("r+b") as file:
            file.seek(size)
            zeros = bytes(_CHUNK)
            remaining = target - size
            while remaining > 0:
                remaining -= file.write(zeros[: min(remaining, _CHUNK)])
            file.flush()
            os.fsync(file.fileno())
        return target - size
    finally:
        conn.execute("ROLLBACK")
