"""A PostgreSQL transaction without BEGIN: its locks last until its commit, and nothing of it commits early.

A batch whose statements all go out before its commit's Sync runs as the pipeline's implicit
transaction (no BEGIN, no COMMIT). Anything that waits for a Sync before the commit, and any
rollback, must first turn it into a transaction block, or the Sync would commit what was sent.
"""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest

from tether.store.base import Transaction
from tether.store.postgres.store import PostgresStore
from tether.store.postgres.traffic import TRAFFIC

from .test_store_contract import Boom, execution, get, insert

pytestmark = pytest.mark.postgres

WAIT_S = 30.0


async def status(postgres_store: PostgresStore, execution_id: str) -> str | None:
    row = await get(postgres_store, execution_id)
    return None if row is None else row.status


def lock_elsewhere(url: str, execution_id: str) -> bool:
    """Whether another connection can lock the execution's row right now (without waiting for it)."""
    with psycopg.connect(url, autocommit=True) as other:
        try:
            other.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE NOWAIT", (execution_id,))
        except psycopg.errors.LockNotAvailable:
            return False
    return True


async def test_an_execution_locked_without_begin_stays_locked_until_the_commit(
    postgres_store: PostgresStore, postgres_url: str
) -> None:
    await insert(postgres_store, execution("e1"))
    locked, release = threading.Event(), threading.Event()
    sent: list[int] = []

    def transition(tx: Transaction) -> None:
        before = TRAFFIC.statements
        assert tx.get_execution("e1") is not None  # a writing transition locks what it reads
        tx.update_execution("e1", status="completed")
        sent.append(TRAFFIC.statements - before)
        locked.set()
        assert release.wait(WAIT_S)

    pending = asyncio.ensure_future(postgres_store.run(transition))
    try:
        assert await asyncio.to_thread(locked.wait, WAIT_S)
        assert await asyncio.to_thread(lock_elsewhere, postgres_url, "e1") is False
    finally:
        release.set()
    await pending

    assert sent == [2]  # the lock and the read behind it: no BEGIN went out
    assert await asyncio.to_thread(lock_elsewhere, postgres_url, "e1") is True
    assert await status(postgres_store, "e1") == "completed"


async def test_writes_sent_before_a_sync_that_is_not_the_commit_are_undone_with_the_transition(
    postgres_store: PostgresStore,
) -> None:
    await insert(postgres_store, execution("e1"))

    def transition(tx: Transaction) -> None:
        assert tx.get_execution("e1") is not None
        tx.update_execution("e1", status="completed")
        tx.revoke_api_key("no-such-key", 5)  # sends the update, then waits for a Sync to count rows
        raise Boom

    with pytest.raises(Boom):
        await postgres_store.run(transition)

    assert await status(postgres_store, "e1") == "running"


async def test_writes_sent_without_begin_are_undone_when_the_transition_fails(postgres_store: PostgresStore) -> None:
    await insert(postgres_store, execution("e1"), execution("e2"))

    def transition(tx: Transaction) -> None:
        assert tx.get_execution("e1") is not None
        tx.update_execution("e1", status="completed")
        # A read of executions sends the update held back first (it might read it).
        assert [r.id for r in tx.list_executions(status=None, workflow=None, limit=10, offset=0)]
        raise Boom

    with pytest.raises(Boom):
        await postgres_store.run(transition)

    assert [await status(postgres_store, e) for e in ("e1", "e2")] == ["running", "running"]
    await postgres_store.run(lambda tx: tx.update_execution("e2", status="completed"))  # the connection is usable
    assert await status(postgres_store, "e2") == "completed"
