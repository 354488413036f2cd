"""Reads of committed API keys on the event loop, beside the writer (see ``Store.read_committed``).

Every request a server answers first reads its caller's key (or whether any key exists). On a
thread beside the transitions that read costs two hand-offs between threads, each waking the
other thread and passing the interpreter's lock: on a 2-core host some 120 µs of CPU a read on
top of the statement's own 190. Here it is a statement on an asynchronous connection of its
own, awaited on the event loop that asked: one round trip, no hand-off. Each statement runs
alone in autocommit and reads what had committed when it began, by any process: a key created
or revoked elsewhere holds at the very next request.

The query is ordinary code reading through :class:`~tether.store.base.ApiKeyReads`, whose
methods answer at once. It is run until it has every answer it asks for: a read not answered
yet stops it (``_Unanswered``), the statement is awaited, and it runs again from the start
with that answer known. Authentication reads once, so it runs at most twice.

A connection belongs to the event loop that opened it; a read from another loop (a store
shared by loops in different threads) takes ``fallback`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg

from tether.errors import StoreUnavailable
from tether.store.base import ApiKeyReads
from tether.store.postgres.connection import connect_async
from tether.store.postgres.failures import unavailable
from tether.store.postgres.held import ANY_ACTIVE_API_KEY, API_KEY_BY_ID, Row
from tether.store.postgres.traffic import TRAFFIC
from tether.store.rows import ApiKeyRow

T = TypeVar("T")

Question = tuple[str, tuple[Any, ...]]
"""A statement and its parameters: what a read asks the database."""


class _Unanswered(BaseException):  # a signal through the query, not an error
    """A read whose answer is not known yet: the query stops, the statement is awaited, the query runs again.

    A BaseException, so that no ``except Exception`` in the query takes it for a failure.
    """

    def __init__(self, question: Question) -> None:
        super().__init__(question[0])
        self.question = question


class _Answers:
    """The API key reads, and nothing else, answered from what was read so far."""

    def __init__(self) -> None:
        self.known: dict[Question, list[Row]] = {}

    def _rows(self, question: Question) -> list[Row]:
        rows = self.known.get(question)
        if rows is None:
            raise _Unanswered(question)
        return rows

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:
        rows = self._rows((API_KEY_BY_ID, (key_id,)))
        return ApiKeyRow(*rows[0]) if rows else None

    def has_active_api_keys(self) -> bool:
        return bool(self._rows((ANY_ACTIVE_API_KEY, ())))


class CommittedReader:
    """An asynchronous read-only connection for the API key reads, opened on first use by the loop that reads."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.AsyncConnection[Row] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None
        self._closed = False

    async def read(self, query: Callable[[ApiKeyReads], T], fallback: Callable[[], Awaitable[T]]) -> T:
        """Run ``query`` with its reads answered by statements awaited here (``fallback`` from another loop).

        Raises:
            StoreUnavailable: the store is closed, or the database cannot be reached or failed a read.
        """
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop, self._connecting = loop, asyncio.Lock()
        elif loop is not self._loop:
            return await fallback()
        answers = _Answers()
        while True:
            try:
                return query(answers)
            except _Unanswered as unanswered:
                question = unanswered.question
            # Shielded: a request whose caller hung up does not leave the shared connection mid-statement.
            asked = asyncio.ensure_future(self._ask(question))
            asked.add_done_callback(_retrieved)
            answers.known[question] = await asyncio.shield(asked)

    async def _ask(self, question: Question) -> list[Row]:
        """The rows of one statement, on a new connection once if the one kept was lost."""
        for last in (False, True):
            conn = await self._connection()
            TRAFFIC.statements += 1
            TRAFFIC.round_trips += 1
            try:
                cursor = await conn.execute(question[0], question[1], prepare=True)
                return await cursor.fetchall()
            except psycopg.Error as exc:
                if not (conn.closed or conn.broken):
                    raise unavailable("the store failed", exc) from None
                await self._drop(conn)
                if last:
                    raise unavailable("cannot reach the database", exc) from None
                # A read that met a lost connection changed nothing: it runs again, once, on a new one.
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connection(self) -> psycopg.AsyncConnection[Row]:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        assert self._connecting is not None  # set with the loop, before any statement
        async with self._connecting:  # concurrent first reads open one connection
            if self._closed:
                raise StoreUnavailable("the store is closed")
            conn = self._conn
            if conn is None or conn.closed or conn.broken:
                try:
                    conn = self._conn = await connect_async(self._conninfo)
                except psycopg.Error as exc:
                    raise unavailable("cannot reach the database", exc) from None
            return conn

    async def _drop(self, conn: psycopg.AsyncConnection[Row]) -> None:
        if self._conn is conn:
            self._conn = None
        with contextlib.suppress(psycopg.Error):
            await conn.close()

    async def close(self) -> None:
        """Close the connection (from the loop that opened it); later reads are refused."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if asyncio.get_running_loop() is self._loop:
            with contextlib.suppress(psycopg.Error):
                await conn.close()
        else:  # another loop cannot await it: its socket is closed at once
            conn.pgconn.finish()


def _retrieved(asked: asyncio.Future[Any]) -> None:
    """Take a read's failure as seen: its caller may have left (a failure it would have had is no one's to log)."""
    if not asked.cancelled():
        asked.exception()
