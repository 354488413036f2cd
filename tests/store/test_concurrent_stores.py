"""Exactly once under true concurrency: two stores (two processes' worth) on one PostgreSQL database.

Each race is forced into its worst order, not left to timing: the first transition runs
its whole body and then waits, uncommitted and holding its locks, until the test has seen
the second one reach the database (blocked on a lock, or already answered). Then the
first commits, and exactly one of them has won.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import psycopg
import pytest

import tether
from tests.helpers.workflows import TOKENS, new_id
from tether.engine.activities import AttemptOutcome
from tether.engine.engine import Engine
from tether.errors import ActivityAlreadyClosed
from tether.model.clock import VirtualClock
from tether.model.events import EventType
from tether.model.tokens import TokenClaims
from tether.store.base import ApiKeyReads, Store, TouchesAhead, Transaction
from tether.store.postgres.store import PostgresStore
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres

T = TypeVar("T")
HEARTBEAT = timedelta(seconds=10)
LOCK_WAIT_DEADLINE_S = 30.0


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=1))
async def cs_remote(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow
async def cs_approve(order: str) -> str:
    return await cs_remote(order)


@tether.workflow
async def cs_sleep() -> str:
    await tether.sleep(timedelta(minutes=1))
    return "woke"


class HeldStore:
    """A real store whose next transition, its body done, waits uncommitted until released."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.url = store.url
        self._armed = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def hold_next(self) -> None:
        self._armed = True

    async def run(self, transition: Callable[[Transaction], T], *, touches: TouchesAhead | None = None) -> T:
        if not self._armed:
            return await self._store.run(transition, touches=touches)
        self._armed = False

        def held(tx: Transaction) -> T:
            result = transition(tx)
            self.holding.set()
            if not self.release.wait(LOCK_WAIT_DEADLINE_S):
                raise AssertionError("the held transition was never released")
            return result

        return await self._store.run(held, touches=touches)

    async def read(self, query: Callable[[Transaction], T], *, touches: TouchesAhead | None = None) -> T:
        return await self._store.read(query, touches=touches)

    async def read_aside(self, query: Callable[[Transaction], T]) -> T:
        return await self._store.read_aside(query)

    async def read_committed(self, query: Callable[[ApiKeyReads], T]) -> T:
        return await self._store.read_committed(query)

    def set_listener(self, on_change: Callable[[set[str]], None]) -> None:
        self._store.set_listener(on_change)

    async def close(self) -> None:
        await self._store.close()


@dataclass
class Racers:
    first: Engine
    """Its next transition is held (see :class:`HeldStore`)."""
    held: HeldStore
    second: Engine
    clock: VirtualClock
    url: str

    async def wait_until_holding(self) -> None:
        assert await asyncio.to_thread(self.held.holding.wait, LOCK_WAIT_DEADLINE_S)

    async def wait_for_lock_wait(self) -> None:
        """Return once a connection to the database waits for a lock (polled, bounded)."""
        deadline = time.monotonic() + LOCK_WAIT_DEADLINE_S
        with psycopg.connect(self.url, autocommit=True) as conn:
            while True:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                ).fetchone()
                if row is not None and row[0] > 0:
                    return
                assert time.monotonic() < deadline, "the second transition never waited for the first"
                await asyncio.sleep(0.01)

    async def history(self, execution_id: str) -> list[str]:
        return [e.type for e in await self.second.history(execution_id)]


async def parked(url: str, workflow: Any, *args: Any) -> tuple[str, str | None, VirtualClock]:
    """Run a workflow until it waits (for its token, or its timer); no worker is left running."""
    async with TestEnvironment(url=url, workflows=[workflow], activities=[cs_remote]) as env:
        execution_id = new_id("cs")
        await env.client.start_workflow(workflow, *args, id=execution_id)
        token = await TOKENS.get(execution_id) if workflow is cs_approve else None
        await env.wait_for_idle()
        return execution_id, token, VirtualClock(env.clock.now())


@pytest.fixture
async def racers(postgres_url: str) -> AsyncIterator[Racers]:
    clock = VirtualClock()
    held = HeldStore(await PostgresStore.open(postgres_url))
    other = await PostgresStore.open(postgres_url)
    try:
        yield Racers(Engine(held, clock), held, Engine(other, clock), clock, postgres_url)
    finally:
        held.release.set()
        await held.close()
        await other.close()


async def on_clock(racers: Racers, clock: VirtualClock) -> None:
    racers.clock.advance_to(clock.now_ms())


@pytest.mark.parametrize("second_result", ['"same"', '"other"'])
async def test_racing_completions_of_one_token_from_two_stores_record_one_completion(
    racers: Racers, second_result: str
) -> None:
    execution_id, token, clock = await parked(racers.url, cs_approve, "o1")
    assert token is not None
    await on_clock(racers, clock)

    racers.held.hold_next()
    first = asyncio.ensure_future(racers.first.complete_activity(token, '"same"'))
    await racers.wait_until_holding()
    second = asyncio.ensure_future(racers.second.complete_activity(token, second_result))
    await racers.wait_for_lock_wait()
    racers.held.release.set()

    assert await first is True
    if second_result == '"same"':
        assert await second is False  # the same completion again: acknowledged, nothing written
    else:
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await second
        assert refused.value.final_state == "completed"
    assert (await racers.history(execution_id)).count(EventType.ACTIVITY_COMPLETED) == 1


async def test_completion_waiting_on_a_heartbeat_timeout_is_refused_once_the_timeout_commits(
    racers: Racers,
) -> None:
    execution_id, token, clock = await parked(racers.url, cs_approve, "o1")
    assert token is not None
    await on_clock(racers, clock)
    racers.clock.advance(HEARTBEAT + timedelta(seconds=1))

    racers.held.hold_next()
    timeout = asyncio.ensure_future(racers.first.timer_pass("worker-a"))
    await racers.wait_until_holding()
    completion = asyncio.ensure_future(racers.second.complete_activity(token, '"late"'))
    await racers.wait_for_lock_wait()
    racers.held.release.set()

    fired, _ = await timeout
    assert fired == 1
    with pytest.raises(ActivityAlreadyClosed) as refused:
        await completion
    assert refused.value.final_state == "timed_out"
    history = await racers.history(execution_id)
    assert history.count(EventType.ACTIVITY_TIMED_OUT) == 1
    assert EventType.ACTIVITY_COMPLETED not in history


async def test_heartbeat_timeout_passes_over_a_completion_in_flight_and_finds_nothing_after_it(
    racers: Racers,
) -> None:
    execution_id, token, clock = await parked(racers.url, cs_approve, "o1")
    assert token is not None
    await on_clock(racers, clock)
    racers.clock.advance(HEARTBEAT - timedelta(seconds=1))

    racers.held.hold_next()
    completion = asyncio.ensure_future(racers.first.complete_activity(token, '"in time"'))
    await racers.wait_until_holding()
    racers.clock.advance(timedelta(seconds=2))  # the deadline passes while the completion commits
    fired_meanwhile, _ = await racers.second.timer_pass("worker-b")  # skips the locked execution at once
    racers.held.release.set()

    assert fired_meanwhile == 0
    assert await completion is True
    fired_after, _ = await racers.second.timer_pass("worker-b")
    assert fired_after == 0
    history = await racers.history(execution_id)
    assert history.count(EventType.ACTIVITY_COMPLETED) == 1
    assert EventType.ACTIVITY_TIMED_OUT not in history


async def test_two_workers_racing_for_one_due_timer_fire_it_once(racers: Racers) -> None:
    execution_id, _, clock = await parked(racers.url, cs_sleep)
    await on_clock(racers, clock)
    racers.clock.advance(timedelta(minutes=1, seconds=1))

    racers.held.hold_next()
    first = asyncio.ensure_future(racers.first.timer_pass("worker-a"))
    await racers.wait_until_holding()
    fired_by_second, _ = await racers.second.timer_pass("worker-b")
    racers.held.release.set()

    fired_by_first, _ = await first
    assert (fired_by_first, fired_by_second) == (1, 0)
    assert (await racers.second.timer_pass("worker-b"))[0] == 0
    assert (await racers.history(execution_id)).count(EventType.TIMER_FIRED) == 1


async def test_two_workers_racing_for_one_workflow_task_lease_it_once(racers: Racers) -> None:
    execution_id, _, clock = await parked(racers.url, cs_sleep)
    await on_clock(racers, clock)
    racers.clock.advance(timedelta(minutes=1, seconds=1))
    await racers.second.timer_pass("worker-b")  # the timer fires: a workflow task is ready

    def claim(engine: Engine, owner: str) -> Any:
        return engine.claim_workflow_tasks(
            owner=owner, workflows_=[cs_sleep.name], limit=10, lease_ms=30_000, cached_seq={}
        )

    racers.held.hold_next()
    first = asyncio.ensure_future(claim(racers.first, "worker-a"))
    await racers.wait_until_holding()
    taken_by_second = await claim(racers.second, "worker-b")
    racers.held.release.set()

    assert [task.execution_id for task in await first] == [execution_id]
    assert taken_by_second == []
    assert await claim(racers.second, "worker-b") == []


async def test_went_async_queued_behind_a_completion_finds_the_activity_completed(postgres_url: str) -> None:
    # A worker's "went async" and a completion by token (the token was handed out before the
    # activity returned make_async) both wait for a third connection holding the execution's
    # row lock; the completion is first in line. The "went async" must read the activity as
    # the completion left it, not as it stood when its statement began waiting.
    async with TestEnvironment(url=postgres_url, workflows=[cs_approve]) as env:  # no worker runs cs_remote
        execution_id = new_id("cs")
        await env.client.start_workflow(cs_approve, "o1", id=execution_id)
        await env.wait_for_idle()
        clock = VirtualClock(env.clock.now())
    worker_store, client_store = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        worker, client = Engine(worker_store, clock), Engine(client_store, clock)
        (start,) = await worker.start_attempts([cs_remote.name], 1, "worker-a")
        claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (execution_id,))
            completion = asyncio.ensure_future(client.complete_activity(start.token, '"approved"'))
            await wait_for_lock_waits(postgres_url, 1)
            went_async = asyncio.ensure_future(worker.record_attempt(claims, AttemptOutcome("went_async")))
            await wait_for_lock_waits(postgres_url, 2)
            holder.commit()

        assert await completion is True
        await went_async
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await client.complete_activity(start.token, '"another result"')
        assert refused.value.final_state == "completed"
        with pytest.raises(ActivityAlreadyClosed):
            await client.fail_activity(start.token, error="Declined", message="", details=None, non_retryable=True)
        history = [e.type for e in await client.history(execution_id)]
        assert history.count(EventType.ACTIVITY_COMPLETED) == 1
        assert EventType.ACTIVITY_WENT_ASYNC not in history
        row = await client_store.read(lambda tx: tx.get_activity(execution_id, start.activity_id))
        assert row is not None
        assert row.state == "completed"
    finally:
        await worker_store.close()
        await client_store.close()


async def wait_for_lock_waits(url: str, count: int) -> None:
    """Return once ``count`` connections to the database wait for a lock (polled, bounded)."""
    deadline = time.monotonic() + LOCK_WAIT_DEADLINE_S
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None and row[0] >= count:
                return
            assert time.monotonic() < deadline, f"fewer than {count} transitions ever waited for the lock"
            await asyncio.sleep(0.01)
