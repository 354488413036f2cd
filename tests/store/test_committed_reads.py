"""Store.read_committed: the API key reads of authentication see every commit, by any store, at once."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from tether.errors import StoreUnavailable
from tether.store.base import ApiKeyReads, Store
from tether.store.postgres.store import PostgresStore
from tether.store.postgres.traffic import TRAFFIC
from tether.store.rows import ApiKeyRow
from tether.store.sqlite.store import SQLiteStore

from .conftest import open_url
from .test_concurrent_stores import wait_for_lock_waits


def key(key_id: str) -> ApiKeyRow:
    return ApiKeyRow(key_id, "billing", "ab" * 32, '["activities:write:orders.*"]', 1_000, None)


def revoked_at(reads: ApiKeyReads, key_id: str) -> int | None:
    row = reads.get_api_key(key_id)
    assert row is not None
    return row.revoked_at_ms


async def test_a_key_created_or_revoked_by_another_store_is_seen_by_the_next_read(store: Store) -> None:
    assert await store.read_committed(lambda reads: reads.has_active_api_keys()) is False
    other = await open_url(store.url)
    try:
        await other.run(lambda tx: tx.insert_api_key(key("k1")))
        assert await store.read_committed(lambda reads: reads.has_active_api_keys()) is True
        assert await store.read_committed(lambda reads: revoked_at(reads, "k1")) is None

        await other.run(lambda tx: tx.revoke_api_key("k1", 5_000))
        assert await store.read_committed(lambda reads: revoked_at(reads, "k1")) == 5_000
        assert await store.read_committed(lambda reads: reads.has_active_api_keys()) is False
    finally:
        await other.close()


async def thread_of_read(store: SQLiteStore) -> int:
    """The thread a committed read of a store with one active key ran on."""
    threads: list[int] = []

    def query(reads: ApiKeyReads) -> bool:
        threads.append(threading.get_ident())
        return reads.has_active_api_keys()

    assert await store.read_committed(query) is True
    assert len(threads) == 1
    return threads[0]


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(sqlite_url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_sqlite_reads_committed_keys_on_the_calling_thread(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.run(lambda tx: tx.insert_api_key(key("k1")))

    assert await thread_of_read(sqlite_store) == threading.get_ident()


async def test_sqlite_committed_read_does_not_wait_for_another_connection_writing(
    sqlite_store: SQLiteStore, sqlite_url: str
) -> None:
    await sqlite_store.run(lambda tx: tx.insert_api_key(key("k1")))
    writer = sqlite3.connect(str(Path(sqlite_url.removeprefix("sqlite:///"))), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE api_keys SET revoked_at_ms = 5000")
        # The writer's path would wait for the lock; the committed state is read at once.
        assert await sqlite_store.read_committed(lambda reads: revoked_at(reads, "k1")) is None
        writer.execute("COMMIT")
        assert await sqlite_store.read_committed(lambda reads: revoked_at(reads, "k1")) == 5_000
    finally:
        writer.close()


async def test_sqlite_committed_reads_offer_nothing_but_the_key_reads(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(AttributeError):
        await sqlite_store.read_committed(lambda reads: reads.revoke_api_key("k1", 1))  # type: ignore[attr-defined]  # refused: only reads


async def test_sqlite_committed_read_after_close_is_refused(sqlite_url: str) -> None:
    opened = await SQLiteStore.open(sqlite_url)
    assert await opened.read_committed(lambda reads: reads.has_active_api_keys()) is False
    await opened.close()

    with pytest.raises(StoreUnavailable):
        await opened.read_committed(lambda reads: reads.has_active_api_keys())


async def test_sqlite_in_memory_reads_committed_keys_on_the_writers_path() -> None:
    opened = await SQLiteStore.open("sqlite:///:memory:")
    try:
        await opened.run(lambda tx: tx.insert_api_key(key("k1")))

        # A second connection to ":memory:" would be another, empty database.
        assert await thread_of_read(opened) != threading.get_ident()
    finally:
        await opened.close()


SESSIONS_IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)
"""Other sessions of the database inside a transaction (each holding a snapshot back from vacuum)."""


def sessions_in_transaction(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as other:
        (count,) = other.execute(SESSIONS_IN_TRANSACTION).fetchone() or (None,)
    assert isinstance(count, int)
    return count


@pytest.fixture
async def postgres_store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_url)
    await opened.run(lambda tx: tx.insert_api_key(key("k1")))
    yield opened
    await opened.close()


@pytest.mark.postgres
async def test_postgres_committed_read_is_one_round_trip_on_the_calling_thread(
    postgres_store: PostgresStore, postgres_url: str
) -> None:
    assert await postgres_store.read_committed(lambda reads: reads.has_active_api_keys()) is True  # connected

    before = TRAFFIC.round_trips
    revoked = await postgres_store.read_committed(lambda reads: (threading.get_ident(), revoked_at(reads, "k1")))
    round_trips = TRAFFIC.round_trips - before
    left_open = sessions_in_transaction(postgres_url)

    assert revoked == (threading.get_ident(), None)  # read on the loop that asked: no thread's hand-off
    assert round_trips == 1
    assert left_open == 0  # autocommit: no snapshot is held between requests
    with pytest.raises(AttributeError):
        await postgres_store.read_committed(lambda reads: reads.revoke_api_key("k1", 1))  # type: ignore[attr-defined]  # refused: only reads


@pytest.mark.postgres
async def test_postgres_committed_read_from_another_loop_reads_beside_in_one_round_trip_and_writes_nothing(
    postgres_store: PostgresStore, postgres_url: str
) -> None:
    assert await postgres_store.read_committed(lambda reads: reads.has_active_api_keys()) is True  # this loop's

    def on_another_loop() -> tuple[int, int | None, int, int, str]:
        async def reads() -> tuple[int, int | None, int, int, str]:
            before = TRAFFIC.round_trips
            thread, revoked = await postgres_store.read_committed(
                lambda reads: (threading.get_ident(), revoked_at(reads, "k1"))
            )
            round_trips = TRAFFIC.round_trips - before
            left_open = sessions_in_transaction(postgres_url)
            with pytest.raises(StoreUnavailable) as refused:  # the reader's session refuses a write outside a block
                await postgres_store.read_committed(lambda reads: reads.revoke_api_key("k1", 7))  # type: ignore[attr-defined]  # a write slipped in
            return thread, revoked, round_trips, left_open, str(refused.value)

        return asyncio.run(reads())

    thread, revoked, round_trips, left_open, refusal = await asyncio.to_thread(on_another_loop)

    assert thread != threading.get_ident()
    assert (revoked, round_trips) == (None, 1)  # the read and its Sync: no BEGIN, no ROLLBACK
    assert left_open == 0  # the Sync ended the read's transaction: no snapshot is held
    assert "read-only transaction" in refusal
    assert await postgres_store.read(lambda tx: revoked_at(tx, "k1")) is None
    assert await postgres_store.read_aside(lambda tx: tx.has_active_api_keys()) is True  # a read in a block after it


@pytest.mark.postgres
async def test_postgres_committed_reads_go_on_after_their_connection_is_lost(
    postgres_store: PostgresStore, postgres_url: str
) -> None:
    assert await postgres_store.read_committed(lambda reads: reads.has_active_api_keys()) is True
    with psycopg.connect(postgres_url, autocommit=True) as other:
        terminated = other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND query LIKE 'SELECT 1 FROM api_keys%'"
        ).fetchall()
        other.execute("UPDATE tether.api_keys SET revoked_at_ms = 5 WHERE key_id = 'k1'")

    assert terminated == [(True,)]
    assert await postgres_store.read_committed(lambda reads: revoked_at(reads, "k1")) == 5  # on a new connection


@pytest.mark.postgres
async def test_a_committed_read_whose_caller_left_leaves_the_connection_usable(
    postgres_store: PostgresStore, postgres_url: str
) -> None:
    assert await postgres_store.read_committed(lambda reads: reads.has_active_api_keys()) is True
    with psycopg.connect(postgres_url) as holder:
        holder.execute("LOCK TABLE tether.api_keys IN ACCESS EXCLUSIVE MODE")  # the read waits for it
        waiting = asyncio.ensure_future(postgres_store.read_committed(lambda reads: revoked_at(reads, "k1")))
        await wait_for_lock_waits(postgres_url, 1)
        waiting.cancel()  # the request's caller hung up
        with pytest.raises(asyncio.CancelledError):
            await waiting
        holder.execute("UPDATE tether.api_keys SET revoked_at_ms = 9 WHERE key_id = 'k1'")
        holder.commit()

    assert await postgres_store.read_committed(lambda reads: revoked_at(reads, "k1")) == 9


@pytest.mark.postgres
async def test_a_committed_read_under_way_when_the_store_closes_is_refused(postgres_url: str) -> None:
    opened = await PostgresStore.open(postgres_url)
    await opened.run(lambda tx: tx.insert_api_key(key("k1")))
    assert await opened.read_committed(lambda reads: reads.has_active_api_keys()) is True
    with psycopg.connect(postgres_url) as holder:
        holder.execute("LOCK TABLE tether.api_keys IN ACCESS EXCLUSIVE MODE")  # the read waits for it
        waiting = asyncio.ensure_future(opened.read_committed(lambda reads: revoked_at(reads, "k1")))
        await wait_for_lock_waits(postgres_url, 1)
        await asyncio.wait_for(opened.close(), 30)

        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(waiting, 30)
        holder.rollback()


@pytest.mark.postgres
async def test_a_committed_read_whose_caller_left_and_then_failed_is_not_reported_as_unretrieved(
    postgres_url: str,
) -> None:
    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: reported.append(context))
    try:
        await _read_left_then_failed(postgres_url)
    finally:
        loop.set_exception_handler(handler)

    assert [context.get("message") for context in reported] == []


async def _read_left_then_failed(postgres_url: str) -> None:
    """A key read whose caller hangs up while it waits for a lock, and which then fails as its store closes."""
    opened = await PostgresStore.open(postgres_url)
    await opened.run(lambda tx: tx.insert_api_key(key("k1")))
    assert await opened.read_committed(lambda reads: reads.has_active_api_keys()) is True
    with psycopg.connect(postgres_url) as holder:
        holder.execute("LOCK TABLE tether.api_keys IN ACCESS EXCLUSIVE MODE")
        waiting = asyncio.ensure_future(opened.read_committed(lambda reads: revoked_at(reads, "k1")))
        await wait_for_lock_waits(postgres_url, 1)
        waiting.cancel()  # the caller hung up; the statement goes on, shielded
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.wait_for(opened.close(), 30)  # and then fails: the store closed under it
        holder.rollback()
    statement = asyncio.all_tasks() - {asyncio.current_task()}  # the read's statement, left to finish
    await asyncio.wait(statement, timeout=30)
    del statement, waiting
    gc.collect()
