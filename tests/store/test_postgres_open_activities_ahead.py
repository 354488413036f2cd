"""A PostgreSQL transition that says it will read its execution's open activities gets them with its lock.

A workflow closing cancels the activities it left open, so the transition that closes it
reads them: one more round trip per closing workflow, after the lock. A transition that
says so ahead (``Touches.reads_open_activities``) gets them read behind the lock it takes
first, in the same round trip. What it is then told must be what the database holds for
that transaction: what was committed once the lock was held, and what the batch's own
transitions wrote since, and never what a refused transition wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

import tether
from tether.engine.engine import Engine
from tether.model.clock import VirtualClock
from tether.model.events import Command, EventType
from tether.model.options import ActivityOptions
from tether.store.base import Touches, Transaction
from tether.store.postgres.store import PostgresStore

from .test_concurrent_runs_and_children import claim, finish
from .test_postgres_lock_ahead import _HOLD, behind_a_lock, counts, in_one_batch
from .test_store_contract import Boom, activity, execution, insert

pytestmark = pytest.mark.postgres

_OPEN_AHEAD = Touches("e1", reads_open_activities=True)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    """e1 with activities 1 and 3 open and 2 closed; e2 with activity 1 open."""
    opened = await PostgresStore.open(postgres_url)
    await insert(opened, execution("e1"), execution("e2"))

    def activities(tx: Transaction) -> None:
        tx.insert_activity(activity("e1", 1))
        tx.insert_activity(activity("e1", 2, closed_at_ms=9))
        tx.insert_activity(activity("e1", 3))
        tx.insert_activity(activity("e2", 1))

    await opened.run(activities)
    yield opened
    await opened.close()


def open_ids(tx: Transaction) -> list[int]:
    return [row.activity_id for row in tx.open_activities("e1")]


def then_open(change: Callable[[Transaction], None]) -> Callable[[Transaction], list[int]]:
    """A transition making ``change`` to e1 and then reading e1's open activities (their ids)."""

    def transition(tx: Transaction) -> list[int]:
        assert tx.get_execution("e1") is not None
        change(tx)
        return open_ids(tx)

    return transition


def nothing(tx: Transaction) -> None:
    pass


async def test_open_activities_said_ahead_come_with_the_lock_in_its_round_trip(store: PostgresStore) -> None:
    before = counts()
    (told,) = await in_one_batch(store, (then_open(nothing), _OPEN_AHEAD))
    told_trips = counts()[1] - before[1] - _HOLD
    before = counts()
    (untold,) = await in_one_batch(store, (then_open(nothing), None))
    untold_trips = counts()[1] - before[1] - _HOLD

    assert told == untold == [1, 3]
    assert (told_trips, untold_trips) == (2, 3)  # the lock with the reads, the commit; or the reads after the lock
    rows = await store.read(lambda tx: tx.open_activities("e1"))
    assert rows == [activity("e1", 1), activity("e1", 3)]  # what was read ahead is each row whole, as stored


async def test_open_activities_read_ahead_follow_the_writes_of_the_batch_and_not_those_of_a_refused_transition(
    store: PostgresStore,
) -> None:
    def close_one_start_one(tx: Transaction) -> None:
        tx.update_activity("e1", 1, state="completed", closed_at_ms=10, result="1")
        tx.insert_activity(activity("e1", 4))

    def refused(tx: Transaction) -> list[int]:
        tx.insert_activity(activity("e1", 5))
        tx.update_activity("e1", 3, state="completed", closed_at_ms=10, result="3")
        assert open_ids(tx) == [4, 5]
        raise Boom

    before = counts()
    results = await in_one_batch(
        store,
        (then_open(close_one_start_one), _OPEN_AHEAD),
        (refused, _OPEN_AHEAD),
        (then_open(nothing), _OPEN_AHEAD),
    )
    round_trips = counts()[1] - before[1] - _HOLD

    assert results[0] == [3, 4]
    assert isinstance(results[1], Boom)
    assert results[2] == [3, 4]
    assert round_trips == 2  # the locks with the reads, the commit
    assert await store.read(open_ids) == [3, 4]


async def test_an_activity_closed_when_read_that_opens_again_is_found_by_reading_the_database(
    store: PostgresStore,
) -> None:
    def reopen(tx: Transaction) -> None:
        tx.update_activity("e1", 2, state="scheduled", closed_at_ms=None)

    (told,) = await in_one_batch(store, (then_open(reopen), _OPEN_AHEAD))

    assert told == [1, 2, 3]


async def test_a_deleted_execution_is_not_told_the_open_activities_read_before(store: PostgresStore) -> None:
    def delete_then_read(tx: Transaction) -> list[int]:
        assert tx.get_execution("e1") is not None
        tx.delete_executions(["e1"])
        return open_ids(tx)

    (told,) = await in_one_batch(store, (delete_then_read, _OPEN_AHEAD))

    assert told == []


async def test_open_activities_read_ahead_are_those_committed_once_the_lock_was_held(
    store: PostgresStore, postgres_url: str
) -> None:
    results = await behind_a_lock(
        postgres_url,
        "e1",
        [
            "UPDATE activities SET state = 'completed', closed_at_ms = 9 WHERE execution_id = 'e1' AND activity_id = 1",
            "INSERT INTO activities (execution_id, activity_id, name, state, attempt, args, options, scheduled_at_ms) "
            "VALUES ('e1', 7, 'act', 'scheduled', 1, '[]', '{}', 5)",
        ],
        in_one_batch(store, (then_open(nothing), _OPEN_AHEAD), (then_open(nothing), Touches("e2", 1))),
    )

    assert results == [[3, 7], [3, 7]]


async def test_a_workflow_task_that_closes_its_workflow_reads_the_activities_it_cancels_with_its_lock(
    postgres_url: str,
) -> None:
    clock = VirtualClock()
    opened = await PostgresStore.open(postgres_url)
    engine = Engine(opened, clock)
    try:
        assert await engine.start_workflow("wf-1", "flow", "[]")
        task = await claim(engine, "flow", "wf-1")
        schedule = Command(
            EventType.ACTIVITY_SCHEDULED,
            {"activity_id": 1, "name": "act", "args": [], "options": ActivityOptions().to_json()},
        )
        assert await finish(engine, task, schedule, clock=clock) is not None
        await engine.cancel_workflow("wf-1")  # a new task for the workflow, which then closes
        task = await claim(engine, "flow", "wf-1")

        before = counts()
        assert await finish(engine, task, Command(EventType.WORKFLOW_COMPLETED, {"result": 7}), clock=clock)
        round_trips = counts()[1] - before[1]

        assert round_trips == 2  # the lock with the reads (the open activity among them), the commit
        described = await engine.describe("wf-1")
        assert described.status == tether.WorkflowStatus.COMPLETED
        left = await opened.read(lambda tx: tx.get_activity("wf-1", 1))
        assert left is not None
        assert (left.state, left.closed_at_ms) == ("cancelled", clock.now_ms())  # the close cancelled it
    finally:
        await opened.close()


@pytest.mark.parametrize("others", [0, 1], ids=["alone", "with-another"])
async def test_open_activities_come_with_the_activity_and_the_events_said_ahead(
    store: PostgresStore, others: int
) -> None:
    await store.run(lambda tx: tx.append_events("e1", [(EventType.ACTIVITY_SCHEDULED, "{}")] * 2, 5))

    def record(tx: Transaction) -> tuple[str | None, list[int], list[int]]:
        tx.expect_events("e1", 1)  # as a worker's report of an attempt says, besides its touches
        row = tx.get_activity("e1", 3)
        tx.update_activity("e1", 3, state="completed", closed_at_ms=10, result="3")
        return None if row is None else row.state, [e.seq for e in tx.load_events("e1", 1)], open_ids(tx)

    def beat_e2(tx: Transaction) -> str:
        tx.update_activity("e2", 1, heartbeat_details='"e2"')
        return "beat"

    said = Touches("e1", 3, events_after=1, reads_open_activities=True)
    before = counts()
    results = await in_one_batch(store, (record, said), *[(beat_e2, Touches("e2", 1))] * others)
    round_trips = counts()[1] - before[1] - _HOLD

    assert results == [("scheduled", [2], [1]), *["beat"] * others]
    assert round_trips == 2  # the lock with the activity, the events and the open activities; the commit
