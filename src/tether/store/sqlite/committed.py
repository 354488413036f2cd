"""Reads of committed API keys on the calling thread, beside the writer (see ``Store.read_committed``).

Every transition and read of the store runs on the writer's thread, in the order submitted:
a read handed there and back costs two thread hand-offs. A request's authentication needs no
such order, since the keys it reads are written and committed by commands and other servers, so
it reads on a connection of its own, on the event loop's thread. In WAL mode a reader never
waits for the writer and each statement sees the last committed state, by any process; the
connection has no busy timeout, so when a reader would have to wait (the log being recovered,
or a database not in WAL mode) it fails at once and the caller takes the writer's path.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tether.store.base import ApiKeyReads
from tether.store.sqlite.readers import NotBeside, open_reader
from tether.store.sqlite.registry import ApiKeyReadQueries


class _Reads(ApiKeyReadQueries):
    """The API key reads, and nothing else, on the reader's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn


class CommittedReader:
    """A read-only connection to the store's file, opened on first use by the thread that uses it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._reads: _Reads | None = None
        self._usable = str(path) != ":memory:"
        """False once the reader is closed, or when the database cannot be read beside its writer."""

    def reads(self) -> ApiKeyReads | None:
        """The reads on the reader's connection, or None when the caller must take the writer's path.

        Open it only once the store has opened (and migrated) its database. The connection
        belongs to the thread that opened it: on another thread its statements raise
        ``sqlite3.ProgrammingError``.
        """
        if self._reads is None and self._usable:
            self._open()
        return self._reads

    def _open(self) -> None:
        try:
            conn = open_reader(self._path, busy_timeout=0)  # never waits: not on the event loop
        except NotBeside:
            self._usable = False
            return
        if conn is not None:
            self._conn, self._reads = conn, _Reads(conn)

    def close(self) -> None:
        """Close the connection (on the thread that opened it); later reads take the writer's path."""
        self._usable = False
        conn, self._conn, self._reads = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
