"""A PostgreSQL batch takes the locks its transitions said they touch ahead, in one round trip.

Each transition of a batch would otherwise wait for the server on its own lock, one after
another: eight heartbeats by token in one batch were eight round trips before their commit.
Taken ahead, the locks are the batch's and what is read behind them is known to all of
its transitions. What is read must still be what was committed once the lock was held,
and a failure to take them (another process holds one too long, a deadlock) must not fail
the batch: each transition then takes its own locks, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import sql

from tether.engine.engine import Engine
from tether.errors import InvalidToken
from tether.model.clock import VirtualClock
from tether.model.events import EventType
from tether.store.base import Touches, Transaction
from tether.store.postgres.connection import connect
from tether.store.postgres.store import PostgresStore
from tether.store.postgres.traffic import TRAFFIC

from . import test_concurrent_activity_tokens
from .test_concurrent_stores import LOCK_WAIT_DEADLINE_S, wait_for_lock_waits
from .test_postgres_traffic import holding
from .test_store_contract import Boom, activity, execution, insert

pytestmark = pytest.mark.postgres

_IDS = ("e1", "e2", "e3")

Touching = tuple[Callable[[Transaction], object], Touches | None]


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_url)
    await insert(opened, *(execution(e) for e in _IDS))
    await opened.run(_insert_activities)
    yield opened
    await opened.close()


def _insert_activities(tx: Transaction) -> None:
    for execution_id in _IDS:
        tx.insert_activity(activity(execution_id, 1))


def beat(execution_id: str) -> Callable[[Transaction], str]:
    """A heartbeat's transition: reads its activity (locking its execution), records details; the state it read."""

    def transition(tx: Transaction) -> str:
        row = tx.get_activity(execution_id, 1)
        assert row is not None
        tx.update_activity(execution_id, 1, heartbeat_details=f'"{execution_id}"', last_heartbeat_at_ms=7)
        return row.state

    return transition


async def in_one_batch(store: PostgresStore, *transitions: Touching) -> list[object]:
    """Run transitions in one batch, each telling what it touches: the store's thread is held until all are queued."""
    async with holding(store):
        queued = [
            asyncio.ensure_future(store.run(fn, touches=None if touches is None else _told(touches)))
            for fn, touches in transitions
        ]
    return await asyncio.gather(*queued, return_exceptions=True)


def _told(touches: Touches) -> Callable[[], Touches]:
    return lambda: touches


def counts() -> tuple[int, int]:
    return TRAFFIC.statements, TRAFFIC.round_trips


_HOLD = 1
"""The round trip of the read that holds the store's thread while a batch is queued (see :func:`in_one_batch`)."""


async def details(store: PostgresStore) -> list[str | None]:
    rows = await store.read(lambda tx: [tx.get_activity(e, 1) for e in _IDS])
    return [None if row is None else row.heartbeat_details for row in rows]


async def test_a_batch_takes_its_transitions_locks_ahead_in_one_round_trip(store: PostgresStore) -> None:
    before = counts()
    results = await in_one_batch(store, *((beat(e), Touches(e, 1)) for e in _IDS))
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    assert results == ["scheduled"] * 3
    assert await details(store) == ['"e1"', '"e2"', '"e3"']
    # The locks and the reads behind them (one round trip), the writes with the notice
    assert (statements, round_trips - _HOLD) == (3, 2)


async def test_without_touches_each_transition_waits_for_its_own_lock(store: PostgresStore) -> None:
    before = counts()
    results = await in_one_batch(store, *((beat(e), None) for e in _IDS))
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    assert results == ["scheduled"] * 3
    assert round_trips - _HOLD == 4  # a lock and its read for each, then the commit
    assert statements > 5


async def test_touches_of_missing_rows_and_repeated_executions_are_read_as_their_transitions_would(
    store: PostgresStore,
) -> None:
    def missing(tx: Transaction) -> str:
        return "absent" if tx.get_activity("nowhere", 1) is None else "present"

    def second_activity(tx: Transaction) -> str:
        return "absent" if tx.get_activity("e1", 2) is None else "present"

    results = await in_one_batch(
        store,
        (beat("e1"), Touches("e1", 1)),
        (second_activity, Touches("e1", 2)),
        (missing, Touches("nowhere", 1)),
        (beat("e1"), Touches("e1", 1)),
    )

    assert results == ["scheduled", "absent", "absent", "scheduled"]


async def test_a_refused_transition_after_others_of_its_batch_costs_no_round_trip(store: PostgresStore) -> None:
    def refused(tx: Transaction) -> str:
        assert tx.get_activity("e3", 1) is not None
        raise Boom

    before = counts()
    results = await in_one_batch(
        store, (beat("e1"), Touches("e1", 1)), (beat("e2"), Touches("e2", 1)), (refused, Touches("e3", 1))
    )
    round_trips = counts()[1] - before[1]

    assert results[:2] == ["scheduled", "scheduled"]
    assert isinstance(results[2], Boom)
    assert round_trips - _HOLD == 2  # the locks with the reads, then the commit of the two heartbeats
    assert await details(store) == ['"e1"', '"e2"', None]


async def test_events_a_transition_expects_are_read_ahead_with_its_lock(store: PostgresStore) -> None:
    kinds = [EventType.ACTIVITY_SCHEDULED, EventType.WORKFLOW_TASK_COMPLETED]
    await store.run(lambda tx: tx.append_events("e2", [(kind, "{}") for kind in kinds], 5))
    loaded: list[list[int]] = []

    def resume(tx: Transaction) -> str:
        loaded.append([e.seq for e in tx.load_events("e2", 1)])
        return "resumed"

    before = counts()
    results = await in_one_batch(store, (beat("e1"), Touches("e1", 1)), (resume, Touches("e2", 1, events_after=1)))
    round_trips = counts()[1] - before[1]

    assert results == ["scheduled", "resumed"]
    assert loaded == [[2]]
    assert round_trips - _HOLD == 2  # the locks with the reads and the events, then the commit


async def behind_a_lock(
    url: str, execution_id: str, changes: Sequence[str], batch: Coroutine[Any, Any, list[object]]
) -> list[object]:
    """Run ``batch`` while another connection holds ``execution_id``'s lock and makes ``changes``.

    They commit once the batch waits for that lock (holding any it took before it).
    """
    other = connect(url)
    try:
        other.execute("BEGIN")
        other.execute("SELECT id FROM executions WHERE id = %s FOR UPDATE", (execution_id,))
        for change in changes:
            other.execute(change)
        queued = asyncio.ensure_future(batch)
        await wait_for_lock_waits(url, 1)
        other.execute("COMMIT")
        return await queued
    finally:
        other.close()


async def test_what_is_read_ahead_is_what_was_committed_once_the_lock_was_held(
    store: PostgresStore, postgres_url: str
) -> None:
    results = await behind_a_lock(
        postgres_url,
        "e2",
        ["UPDATE activities SET state = 'completed', closed_at_ms = 9 WHERE execution_id = 'e2'"],
        in_one_batch(store, *((beat(e), Touches(e, 1)) for e in _IDS)),
    )

    assert results == ["scheduled", "completed", "scheduled"]


async def test_locks_that_cannot_be_taken_ahead_are_taken_by_each_transition(postgres_url: str) -> None:
    admin = psycopg.connect(postgres_url, autocommit=True)
    name = urlparse(postgres_url).path.strip("/")
    admin.execute(sql.SQL("ALTER DATABASE {} SET lock_timeout = '200ms'").format(sql.Identifier(name)))
    admin.close()
    opened = await PostgresStore.open(postgres_url)  # its connection gives up on a lock after 200 ms
    other, watcher = connect(postgres_url), connect(postgres_url)
    try:
        await insert(opened, *(execution(e) for e in _IDS))
        await opened.run(_insert_activities)
        other.execute("BEGIN")
        other.execute("SELECT id FROM executions WHERE id = 'e2' FOR UPDATE")
        other.execute("UPDATE activities SET state = 'completed', closed_at_ms = 9 WHERE execution_id = 'e2'")
        batch = asyncio.ensure_future(
            in_one_batch(opened, (beat("e3"), Touches("e3", 1)), (beat("e2"), Touches("e2", 1)))
        )
        # Taking e2's lock ahead timed out: e3's transition took its own lock and committed
        # while the other connection still holds e2 (e2's runs again until it is free).
        deadline = time.monotonic() + LOCK_WAIT_DEADLINE_S
        while watcher.execute(_E3_DETAILS).fetchone() != ('"e3"',):
            assert time.monotonic() < deadline, "e3's heartbeat never committed while e2 was held"
            assert not batch.done(), batch.result()
            await asyncio.sleep(0.01)
        other.execute("COMMIT")
        results = await batch
        assert results == ["scheduled", "completed"]  # e2's read what the other connection committed
    finally:
        other.close()
        watcher.close()
        await opened.close()


_E3_DETAILS = "SELECT heartbeat_details FROM activities WHERE execution_id = 'e3' AND activity_id = 1"


async def test_heartbeats_by_token_tell_the_store_what_they_lock_and_a_forged_one_locks_nothing(
    postgres_url: str,
) -> None:
    parked = [await test_concurrent_activity_tokens.parked(postgres_url) for _ in range(3)]
    clock = VirtualClock(max(p[3].now() for p in parked))
    store = await PostgresStore.open(postgres_url)
    engine = Engine(store, clock)
    try:
        tokens = [token for _, token, _, _ in parked]
        await engine.heartbeat_activity(tokens[0], '"first"')  # the signing keys are known from now on
        forged = tokens[1][:-2] + ("AA" if not tokens[1].endswith("AA") else "BB")
        before = counts()
        async with holding(store):
            calls = [engine.heartbeat_activity(t, f'"{i}"') for i, t in enumerate([forged, *tokens], start=-1)]
            queued = [asyncio.ensure_future(call) for call in calls]
        results = await asyncio.gather(*queued, return_exceptions=True)
        round_trips = counts()[1] - before[1]

        assert isinstance(results[0], InvalidToken)
        assert [getattr(r, "cancel_requested", r) for r in results[1:]] == [False, False, False]
        assert round_trips - _HOLD == 2  # the three locks and their reads (none for the forged token), the commit
        rows = await store.read(lambda tx: [tx.get_activity(p[0], 1) for p in parked])
        assert [None if row is None else row.heartbeat_details for row in rows] == ['"0"', '"1"', '"2"']
    finally:
        await store.close()
