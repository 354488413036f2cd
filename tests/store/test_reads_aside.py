"""Store.read_aside: listings and gauges read committed state beside the transitions, neither waiting nor held up.

Each interleaving is forced: a transition held open on the store's own thread (by an event
it waits on) while a read aside runs, and a read aside held open on its thread while a
transition commits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from tests.store.test_committed_reads import key
from tests.store.test_listing_contract import execution
from tether.errors import StoreUnavailable
from tether.store.base import Store, Transaction
from tether.store.sqlite.store import SQLiteStore

from .conftest import open_url

T = TypeVar("T")

WAIT_S = 10.0
"""How long a held thread waits for its release before the test fails (a deadlock, not a timing)."""


def held(
    body: Callable[[Transaction], T], holding: threading.Event, release: threading.Event
) -> Callable[[Transaction], T]:
    """``body``, then wait on ``release`` (having set ``holding``) before returning, on the store's thread."""

    def run(tx: Transaction) -> T:
        result = body(tx)
        holding.set()
        if not release.wait(WAIT_S):
            raise AssertionError("never released")
        return result

    return run


def status(execution_id: str) -> Callable[[Transaction], str | None]:
    def read(tx: Transaction) -> str | None:
        row = tx.get_execution(execution_id)
        return None if row is None else row.status

    return read


async def test_a_read_aside_is_not_held_up_by_a_transition_under_way(store: Store) -> None:
    await store.run(lambda tx: tx.insert_execution(execution("e1")))
    holding, release = threading.Event(), threading.Event()
    transition = asyncio.ensure_future(
        store.run(held(lambda tx: tx.update_execution("e1", status="completed"), holding, release))
    )
    try:
        assert await asyncio.to_thread(holding.wait, WAIT_S)

        seen = await asyncio.wait_for(store.read_aside(status("e1")), WAIT_S)
        ordinary = asyncio.ensure_future(store.read(status("e1")))
        await asyncio.sleep(0)
        waiting = not ordinary.done()
    finally:
        release.set()
        await transition

    assert seen == "running"  # what had committed: the transition under way is not seen
    assert waiting  # an ordinary read waits for the transitions before it
    assert await ordinary == "completed"
    assert await store.read_aside(status("e1")) == "completed"


async def test_a_transition_is_not_held_up_by_a_read_aside_and_the_read_keeps_its_snapshot(store: Store) -> None:
    await store.run(lambda tx: tx.insert_execution(execution("e1")))
    holding, release = threading.Event(), threading.Event()

    def both(tx: Transaction) -> tuple[str | None, str | None]:
        first = status("e1")(tx)
        holding.set()
        if not release.wait(WAIT_S):
            raise AssertionError("never released")
        return first, status("e2")(tx)

    read = asyncio.ensure_future(store.read_aside(both))
    try:
        assert await asyncio.to_thread(holding.wait, WAIT_S)
        await asyncio.wait_for(store.run(lambda tx: tx.insert_execution(execution("e2"))), WAIT_S)
        assert await store.read(status("e2")) == "running"
    finally:
        release.set()

    assert await read == ("running", None)  # one snapshot: what committed after its first statement is not in it


async def test_a_read_aside_sees_what_another_store_committed(store: Store) -> None:
    other = await open_url(store.url)
    try:
        assert await store.read_aside(status("e1")) is None
        await other.run(lambda tx: tx.insert_execution(execution("e1")))

        assert await store.read_aside(status("e1")) == "running"
    finally:
        await other.close()


async def test_a_read_aside_writes_nothing(store: Store) -> None:
    with pytest.raises(StoreUnavailable):
        await store.read_aside(lambda tx: tx.insert_execution(execution("e1")))

    assert await store.read(status("e1")) is None
    assert await store.read_aside(status("e1")) is None  # the reader is usable after a refused write


async def test_a_read_aside_after_close_is_refused(store: Store) -> None:
    other = await open_url(store.url)
    assert await other.read_aside(status("e1")) is None
    await other.close()

    with pytest.raises(StoreUnavailable):
        await other.read_aside(status("e1"))


async def test_sqlite_in_memory_reads_aside_on_the_writers_path() -> None:
    opened = await SQLiteStore.open("sqlite:///:memory:")
    try:
        await opened.run(lambda tx: tx.insert_execution(execution("e1")))
        threads: list[int] = []

        def read(tx: Transaction) -> str | None:
            threads.append(threading.get_ident())
            return status("e1")(tx)

        # A second connection to ":memory:" would be another, empty database.
        assert await opened.read_aside(read) == "running"
        assert threads == [opened._thread.ident if opened._thread is not None else None]
    finally:
        await opened.close()


async def test_a_read_of_api_keys_is_not_held_up_by_a_transition_under_way(store: Store) -> None:
    holding, release = threading.Event(), threading.Event()
    transition = asyncio.ensure_future(store.run(held(lambda tx: tx.insert_api_key(key("k1")), holding, release)))
    try:
        assert await asyncio.to_thread(holding.wait, WAIT_S)
        # A request's key: not read after a transition that may be waiting for another process's lock.
        seen = await asyncio.wait_for(store.read_committed(lambda reads: reads.has_active_api_keys()), WAIT_S)
    finally:
        release.set()
        await transition

    assert seen is False  # the key of the transition under way is not committed yet
    assert await store.read_committed(lambda reads: reads.has_active_api_keys()) is True
