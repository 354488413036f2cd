"""Read-only connections beside the store's writer, for the reads that need not queue behind it."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

logger = logging.getLogger(__name__)


class NotBeside(Exception):
    """The database cannot be read beside its writer: it is not in WAL mode, so a reader would block its commits."""


def open_reader(path: Path, *, busy_timeout: float) -> sqlite3.Connection | None:
    """A read-only connection to the store's file, or None when it cannot be opened now (tried again later).

    Open it only once the store has opened (and migrated) its database. ``busy_timeout``
    (seconds) is how long a read may wait while the log is recovered.

    Raises:
        NotBeside: the database is not in WAL mode.
    """
    target = f"{path.absolute().as_uri()}?mode=rw"  # never creates a file
    try:
        conn = sqlite3.connect(target, uri=True, isolation_level=None, timeout=busy_timeout)
    except sqlite3.Error as exc:
        logger.debug("no reader beside the writer of %s: %s", path, exc)
        return None
    try:
        conn.execute("PRAGMA query_only=ON")
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    except sqlite3.Error as exc:  # busy, say
        logger.debug("no reader beside the writer of %s yet: %s", path, exc)
        conn.close()
        return None
    if str(mode).lower() != "wal":
        conn.close()
        raise NotBeside(str(path))
    return conn
