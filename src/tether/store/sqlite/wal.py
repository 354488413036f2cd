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

import contextlib
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

_FRAME_HEADER = 24
_WAL_HEADER = 32
_SPARE_FRAMES = 256
"""Frames beyond the checkpoint threshold: the last commit before a checkpoint may overshoot it."""
_CHUNK = 1 << 20


def reserve_wal(conn: sqlite3.Connection, db_path: Path) -> int:
    """Lengthen the database's WAL file to the size it reaches between checkpoints.

    Returns the number of bytes added (0 when the file is already long enough, or when
    there is no WAL file, or when the file system refuses the zeros: the reservation only
    makes commits cheaper, so a full disk leaves the log as it was and the store opens).
    """
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    checkpoint_pages = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    if checkpoint_pages <= 0:  # checkpoints left to the application: no size to aim for
        return 0
    target = _WAL_HEADER + (checkpoint_pages + _SPARE_FRAMES) * (page_size + _FRAME_HEADER)
    wal = Path(f"{db_path}-wal")
    if _length(wal) >= target:  # a look without the lock: a store opened beside another stops here
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        size = _length(wal)  # again under the lock: only now can nobody else be appending
        if size >= target:
            return 0
        with wal.open("r+b") as file:
            try:
                _append_zeros(file, size, target - size)
            except OSError as exc:  # a full disk, say: the store works without the room, only slower
                logger.warning("could not reserve room in %s (%s); commits may be slower", wal, exc)
                with contextlib.suppress(OSError):
                    file.truncate(size)
                return 0
        return target - size
    finally:
        conn.execute("ROLLBACK")


def _length(wal: Path) -> int:
    """The log's length in bytes; as long as any target when there is none (nothing to lengthen)."""
    try:
        return wal.stat().st_size
    except FileNotFoundError:
        return sys.maxsize


def _append_zeros(file: BinaryIO, at: int, count: int) -> None:
    """Write ``count`` zero bytes from offset ``at`` and flush them to disk."""
    file.seek(at)
    zeros = bytes(_CHUNK)
    while count > 0:
        count -= file.write(zeros[: min(count, _CHUNK)])
    file.flush()
    os.fsync(file.fileno())
