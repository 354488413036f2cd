"""Reads beside the transitions: listings, gauges and API keys, on a connection and a thread of their own.

The store's transitions and ordinary reads share one connection, in batches, in the order
submitted, so a read that takes long holds up every transition behind it: counting 50,000
activities waiting for their token takes some 30 ms. Such reads need no order with the
transitions in flight (their callers saw nothing of those yet), so they run here, each in a
read-only transaction of its own whose one snapshot is what had committed when it began. A
request's API key is read here too: behind a transition that waits for a row lock another
process holds, every authenticated request of the server would wait as well.

Their statements are planned for the values they are given each time (none is prepared): a
listing runs seldom, and a plan kept from when the tables were small could scan them whole.
A request's key read here (from another event loop than the key reader's, see
:mod:`tether.store.postgres.committed`) is one statement, without a transaction block of its own:
one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import psycopg

from tether.errors import StoreUnavailable
from tether.store.base import Transaction
from tether.store.postgres.connection import connect
from tether.store.postgres.failures import StatementFailed, unavailable
from tether.store.postgres.held import Row
from tether.store.postgres.transaction import PostgresTransaction

T = TypeVar("T")

_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
"""One snapshot for every statement of the read, and no write."""


class AsideReader:
    """A connection of its own for reads beside the transitions, used by one thread, opened on first use."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-postgres-aside")
        self._tx: PostgresTransaction | None = None
        self._conn: psycopg.Connection[Row] | None = None
        self._closed = False

    async def read(self, query: Callable[[Transaction], T]) -> T:
        """Run ``query`` in a read-only transaction of its own on the reader's thread.

        Raises:
            StoreUnavailable: the store is closed, or the database cannot be reached or failed the read.
        """
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, query)

    async def read_committed(self, query: Callable[[Transaction], T]) -> T:
        """Run ``query``, a read of one statement (a request's API key), on the reader's thread in one round trip.

        No transaction block: the statement's own (implicit, read-only) transaction reads what
        had committed when it began, and the Sync that brings its rows back ends it.

        Raises:
            StoreUnavailable: the store is closed, or the database cannot be reached or failed the read.
        """
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, query, False)

    def _run(self, query: Callable[[Transaction], T], snapshot: bool = True) -> T:
        for last in (False, True):
            tx = self._transaction()
            try:
                return self._read(tx, query, snapshot)
            except StatementFailed as exc:
                if not self._lost():
                    raise unavailable("the store failed", exc.cause) from None
                self._drop()
                if last:
                    raise unavailable("the transaction failed and was rolled back", exc.cause) from None
                # A read that met a lost connection changed nothing: it runs again, once, on a new one.
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, tx: PostgresTransaction, query: Callable[[Transaction], T], snapshot: bool) -> T:
        """Run ``query`` in a transaction block of one snapshot, or (not ``snapshot``) each statement in its own."""
        tx.begin_batch()
        tx.reset(locking=False)
        if snapshot:
            tx.control(_BEGIN)
        else:
            tx.reads_end_transactions = True
        try:
            result = query(tx)
        except BaseException as raised:
            tx.discard()
            failure = tx.sent_failure()  # without a block, its Sync rolled back the failed statement's transaction
            if snapshot and not self._lost():
                with contextlib.suppress(StatementFailed):
                    tx.control("ROLLBACK")
                    tx.settle()
            if failure is not None:
                raise failure from None
            raise raised
        finally:
            tx.reads_end_transactions = False
        if snapshot:
            tx.control("ROLLBACK")  # it wrote nothing: ending it releases the snapshot
            tx.settle()
        else:
            tx.settle_sent()
        return result

    def _transaction(self) -> PostgresTransaction:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        if self._tx is None or self._lost():
            self._drop()
            try:  # a statement run outside a transaction block is read-only too
                conn = connect(self._conninfo, read_only=True)
            except psycopg.Error as exc:
                raise unavailable("cannot reach the database", exc) from None
            conn.prepare_threshold = None
            self._conn, self._tx = conn, PostgresTransaction(conn)
        return self._tx

    def _lost(self) -> bool:
        conn = self._conn
        return conn is None or conn.closed or conn.broken

    def _drop(self) -> None:
        tx, self._tx, self._conn = self._tx, None, None
        if tx is not None:
            tx.close()

    async def close(self) -> None:
        """Close the connection once the reads under way end; later reads are refused."""
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._drop)
        self._executor.shutdown(wait=False)
