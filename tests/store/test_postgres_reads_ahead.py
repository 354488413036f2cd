"""The reads of a PostgreSQL batch that say which execution they read get it in one round trip for all of them.

Each read of a batch would otherwise wait for the server on its own, one after another (a
workflow's result waiter reads its execution once as it begins to wait: one round trip per
workflow). Read together as the batch begins, each read still sees every transition
submitted before it: the batch's own writes, and executions an earlier transition of the
batch started.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tether.store.base import Touches, Transaction
from tether.store.postgres.store import PostgresStore

from .test_postgres_lock_ahead import _HOLD, counts
from .test_postgres_traffic import holding
from .test_store_contract import execution, insert

pytestmark = pytest.mark.postgres

_IDS = ("e1", "e2", "e3")


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_url)
    await insert(opened, *(execution(e) for e in _IDS))
    yield opened
    await opened.close()


def status_of(execution_id: str) -> Callable[[Transaction], str | None]:
    def read(tx: Transaction) -> str | None:
        row = tx.get_execution(execution_id)
        return None if row is None else row.status

    return read


Job = tuple[Callable[[Transaction], object], str | None, bool]
"""A transition, the execution it says it reads or locks (None: says nothing), and whether it only reads."""


async def in_one_batch(store: PostgresStore, *jobs: Job) -> list[object]:
    async with holding(store):
        queued = [
            asyncio.ensure_future(
                store.read(fn, touches=_told(said))
                if read_only
                else store.run(fn, touches=None if said is None else _told(said))
            )
            for fn, said, read_only in jobs
        ]
    return await asyncio.gather(*queued, return_exceptions=True)


def _told(execution_id: str | None) -> Callable[[], Touches | None]:
    return lambda: None if execution_id is None else Touches(execution_id)


async def test_reads_that_say_what_they_read_share_one_round_trip(store: PostgresStore) -> None:
    before = counts()
    told = await in_one_batch(store, *((status_of(e), e, True) for e in _IDS))
    told_trips = counts()[1] - before[1] - _HOLD
    before = counts()
    untold = await in_one_batch(store, *((status_of(e), None, True) for e in _IDS))
    untold_trips = counts()[1] - before[1] - _HOLD

    assert told == untold == ["running"] * 3
    # The reads ahead (or one per read), then the batch's end: its implicit transaction's sync
    assert (told_trips, untold_trips) == (2, 4)


async def test_a_read_sees_what_earlier_transitions_of_its_batch_wrote_and_started(store: PostgresStore) -> None:
    def close_e2(tx: Transaction) -> str:
        assert tx.get_execution("e2") is not None
        tx.update_execution("e2", status="completed", closed_at_ms=5, result="1")
        return "closed"

    def start_e4(tx: Transaction) -> str:
        assert tx.insert_execution(execution("e4"))
        return "started"

    results = await in_one_batch(
        store,
        (status_of("e2"), "e2", True),
        (status_of("e4"), "e4", True),
        (close_e2, "e2", False),
        (start_e4, None, False),
        (status_of("e1"), "e1", True),
        (status_of("e2"), "e2", True),
        (status_of("e4"), "e4", True),
        (status_of("nowhere"), "nowhere", True),
    )

    assert results == ["running", None, "closed", "started", "running", "completed", "running", None]


async def test_a_read_ahead_of_the_batch_sees_what_other_processes_committed_before_it_began(
    store: PostgresStore, postgres_url: str
) -> None:
    other = await PostgresStore.open(postgres_url)
    try:
        await other.run(lambda tx: tx.update_execution("e3", status="failed", closed_at_ms=5))
        results = await in_one_batch(store, (status_of("e1"), "e1", True), (status_of("e3"), "e3", True))
    finally:
        await other.close()

    assert results == ["running", "failed"]
