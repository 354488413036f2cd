"""Reads beside the writer: listings and gauges, on a thread and a read-only connection of their own.

Every transition and ordinary read runs on the writer's thread, in the order submitted, so a
read that takes long holds up every transition behind it: counting 50,000 activities waiting
for their token takes some 30 ms, a deep page of executions more. Such reads need no order
with the transitions in flight (their callers saw nothing of those yet), so they run here: in
WAL mode a reader never waits for the writer, nor the writer for it, and each read sees what
had committed when it began, by this process or any other, as one snapshot.

When the database cannot be read beside its writer (in memory, or not in WAL mode, where a
reader would block the writer's commits), :class:`NoReaderHere` sends the read to the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from tether.errors import StoreUnavailable
from tether.store.base import Transaction
from tether.store.sqlite.readers import NotBeside, open_reader
from tether.store.sqlite.transaction import SQLiteTransaction

T = TypeVar("T")

_BUSY_TIMEOUT_S = 5.0
"""A reader waits only while the log is recovered or a checkpoint restarts it: rare, and not on the event loop."""


class NoReaderHere(Exception):
    """The read is to run on the writer's thread: there is no reader beside it."""


class AsideReader:
    """A read-only connection to the store's file, used by one thread of its own, opened on first use."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-sqlite-aside")
        self._opened: tuple[sqlite3.Connection, SQLiteTransaction] | None = None
        """The reader's connection and the transaction object over it, once opened."""
        self._usable = str(path) != ":memory:"
        """False once closed, or when the database cannot be read beside its writer."""

    async def read(self, query: Callable[[Transaction], T]) -> T:
        """Run ``query`` in a read transaction of its own on the reader's thread.

        Open it only once the store has opened (and migrated) its database.

        Raises:
            NoReaderHere: the read is to run on the writer's thread instead.
            StoreUnavailable: the database failed the read.
        """
        if not self._usable:
            raise NoReaderHere
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, query)

    def _run(self, query: Callable[[Transaction], T]) -> T:
        if self._opened is None and self._usable:
            self._open()
        if self._opened is None:
            raise NoReaderHere
        conn, tx = self._opened
        tx.reset()
        try:
            conn.execute("BEGIN")  # one snapshot for every statement of the read
            return query(tx)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the store failed: {exc}") from exc
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")  # it wrote nothing: ending it releases the snapshot

    def _open(self) -> None:
        try:
            conn = open_reader(self._path, busy_timeout=_BUSY_TIMEOUT_S)
        except NotBeside:
            self._usable = False
            return
        if conn is not None:
            self._opened = conn, SQLiteTransaction(conn)

    async def close(self) -> None:
        """Close the connection once the reads under way end; later reads go to the writer."""
        self._usable = False
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    def _close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            with contextlib.suppress(sqlite3.Error):
                opened[0].close()
