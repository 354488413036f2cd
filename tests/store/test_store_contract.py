"""The store contract: every backend behaves like this through ``Store.run``/``Store.read`` and ``Transaction``."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Sequence

import pytest

from tether.engine import workflows
from tether.errors import StoreUnavailable, UsageError
from tether.model.events import Event, EventType
from tether.store.base import Store, Transaction
from tether.store.rows import ActivityRow, ActivityTaskRow, ExecutionRow, TimerRow

from .conftest import open_url

WF = "contract.workflow"
OTHER_WF = "contract.other_workflow"
ACT = "contract.activity"
OTHER_ACT = "contract.other_activity"


class Boom(Exception):
    """Raised by a transition on purpose."""


def execution(
    execution_id: str, *, workflow: str = WF, status: str = "running", created_at_ms: int = 1_000
) -> ExecutionRow:
    return ExecutionRow(
        id=execution_id,
        workflow=workflow,
        status=status,
        input='["in"]',
        result=None,
        error=None,
        created_at_ms=created_at_ms,
        closed_at_ms=None,
        cancel_requested=False,
        task_error=None,
        last_seq=0,
    )


def activity(execution_id: str, activity_id: int, *, name: str = ACT, closed_at_ms: int | None = None) -> ActivityRow:
    return ActivityRow(
        execution_id=execution_id,
        activity_id=activity_id,
        name=name,
        state="scheduled",
        attempt=1,
        args='["a"]',
        options='{"retry":null}',
        scheduled_at_ms=2_000,
        attempt_started_at_ms=None,
        last_heartbeat_at_ms=None,
        heartbeat_details=None,
        checkpoint=None,
        last_failure=None,
        cancel_requested=False,
        watch_heartbeats=False,
        result=None,
        closed_at_ms=closed_at_ms,
    )


async def insert(store: Store, *rows: ExecutionRow) -> None:
    def transition(tx: Transaction) -> None:
        for row in rows:
            tx.insert_execution(row)

    await store.run(transition)


async def get(store: Store, execution_id: str) -> ExecutionRow | None:
    return await store.read(lambda tx: tx.get_execution(execution_id))


async def listed(
    store: Store, *, status: str | None = None, workflow: str | None = None, limit: int = 100, offset: int = 0
) -> list[str]:
    rows = await store.read(lambda tx: tx.list_executions(status=status, workflow=workflow, limit=limit, offset=offset))
    return [row.id for row in rows]


async def append(store: Store, execution_id: str, events: Sequence[tuple[EventType, str]], at_ms: int = 5) -> int:
    return await store.run(lambda tx: tx.append_events(execution_id, events, at_ms))


async def claim(
    store: Store,
    *,
    now_ms: int,
    owner: str = "w1",
    lease_ms: int = 1_000,
    workflows: Sequence[str] = (WF,),
    limit: int = 10,
) -> list[str]:
    return await store.run(
        lambda tx: tx.claim_workflow_tasks(
            now_ms=now_ms, owner=owner, lease_until_ms=now_ms + lease_ms, workflows=workflows, limit=limit
        )
    )


async def history(store: Store, execution_id: str) -> list[Event]:
    return await store.read(lambda tx: tx.load_events(execution_id))


async def enqueue_activity(store: Store, *tasks: ActivityTaskRow) -> None:
    def transition(tx: Transaction) -> None:
        for task in tasks:
            tx.enqueue_activity_task(task)

    await store.run(transition)


async def insert_activity(store: Store, *rows: ActivityRow) -> None:
    def transition(tx: Transaction) -> None:
        for row in rows:
            tx.insert_activity(row)

    await store.run(transition)


async def arm(store: Store, *armed: TimerRow) -> None:
    def transition(tx: Transaction) -> None:
        for timer in armed:
            tx.arm_timer(timer)

    await store.run(transition)


def closing(*execution_ids: str, notify: bool = True) -> Callable[[Transaction], None]:
    """A transition that reports closed executions (and by default a general change)."""

    def transition(tx: Transaction) -> None:
        if notify:
            tx.notify()
        for execution_id in execution_ids:
            tx.closed(execution_id)

    return transition


async def enqueue(store: Store, execution_id: str, ready_at_ms: int = 0) -> None:
    await store.run(lambda tx: tx.enqueue_workflow_task(execution_id, ready_at_ms))


async def finish(store: Store, execution_id: str, owner: str, leased_until_ms: int) -> bool:
    return await store.run(lambda tx: tx.finish_workflow_task(execution_id, owner, leased_until_ms))


async def holds(store: Store, execution_id: str, owner: str, leased_until_ms: int) -> bool:
    return await store.read(lambda tx: tx.holds_workflow_task(execution_id, owner, leased_until_ms))


async def claim_activities(store: Store, names: Sequence[str] = (ACT,), limit: int = 10) -> list[ActivityTaskRow]:
    return await store.run(lambda tx: tx.claim_activity_tasks(activities=names, limit=limit))


async def timers(store: Store, execution_id: str) -> set[TimerRow]:
    return set(await store.read(lambda tx: tx.timers_of(execution_id)))


async def listen(store: Store) -> asyncio.Queue[set[str]]:
    """Collect the listener's calls from now on.

    The no-op transition first lets the writer finish reporting earlier commits, so that
    only calls caused by what the test does next reach the queue.
    """
    await store.run(lambda tx: None)
    calls: asyncio.Queue[set[str]] = asyncio.Queue()
    store.set_listener(lambda changes: calls.put_nowait(set(changes)))
    return calls


async def next_call(calls: asyncio.Queue[set[str]]) -> set[str]:
    return await asyncio.wait_for(calls.get(), 5)


async def held_busy(store: Store) -> tuple[asyncio.Future[None], threading.Event]:
    """A transition that holds the store's batch until ``gate`` is set (the future is its run)."""
    entered, gate = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        entered.set()
        gate.wait(5)

    holder = asyncio.ensure_future(store.run(hold))
    assert await asyncio.to_thread(entered.wait, 5)
    return holder, gate


async def run_in_one_batch(store: Store, transitions: Sequence[Callable[[Transaction], object]]) -> list[object]:
    """Run transitions concurrently so that the store commits them together.

    A first transition holds the store busy until every other one is queued behind it.
    """
    holder, gate = await held_busy(store)
    tasks = [asyncio.ensure_future(store.run(t)) for t in transitions]
    await asyncio.sleep(0)  # one loop pass: every task queues its transition
    gate.set()
    await holder
    return await asyncio.gather(*tasks, return_exceptions=True)


# executions


async def test_inserted_execution_reads_back_field_for_field(store: Store) -> None:
    row = execution("e1")

    await insert(store, row)

    assert await get(store, "e1") == row


async def test_get_execution_of_unknown_id_returns_none(store: Store) -> None:
    await insert(store, execution("e1"))

    assert await get(store, "nope") is None


async def test_update_execution_changes_only_the_named_fields(store: Store) -> None:
    row = execution("e1")
    await insert(store, row, execution("e2"))

    await store.run(
        lambda tx: tx.update_execution(
            "e1", status="completed", result='"done"', closed_at_ms=9_000, cancel_requested=True, task_error="x"
        )
    )

    expected = dataclasses.replace(
        row, status="completed", result='"done"', closed_at_ms=9_000, cancel_requested=True, task_error="x"
    )
    assert await get(store, "e1") == expected
    assert await get(store, "e2") == execution("e2")


async def test_update_execution_with_unknown_column_raises_usage_error_and_changes_nothing(store: Store) -> None:
    await insert(store, execution("e1"))

    with pytest.raises(UsageError):
        await store.run(lambda tx: tx.update_execution("e1", status="completed", colour="blue"))

    assert await get(store, "e1") == execution("e1")


async def test_duplicate_execution_id_is_not_inserted_and_keeps_the_first(store: Store) -> None:
    await insert(store, execution("e1"))

    inserted = await store.run(lambda tx: tx.insert_execution(execution("e1", workflow=OTHER_WF)))

    assert inserted is False
    assert await get(store, "e1") == execution("e1")


async def test_driver_error_raises_store_unavailable_chained_and_keeps_the_first_row(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1))

    with pytest.raises(StoreUnavailable) as raised:
        await insert_activity(store, activity("e1", 1, name="other"))

    assert raised.value.__cause__ is not None, "the driver error is chained"
    assert await store.read(lambda tx: tx.get_activity("e1", 1)) == activity("e1", 1)


async def test_list_executions_returns_newest_first(store: Store) -> None:
    await insert(
        store,
        execution("mid", created_at_ms=2_000),
        execution("old", created_at_ms=1_000),
        execution("new", created_at_ms=3_000),
    )

    assert await listed(store) == ["new", "mid", "old"]


async def test_list_executions_filters_by_status(store: Store) -> None:
    await insert(
        store,
        execution("r1", created_at_ms=1),
        execution("c1", status="completed", created_at_ms=2),
        execution("r2", created_at_ms=3),
        execution("f1", status="failed", created_at_ms=4),
    )

    assert await listed(store, status="running") == ["r2", "r1"]
    assert await listed(store, status="completed") == ["c1"]
    assert await listed(store, status="cancelled") == []


async def test_list_executions_filters_by_workflow(store: Store) -> None:
    await insert(
        store,
        execution("a1", created_at_ms=1),
        execution("b1", workflow=OTHER_WF, created_at_ms=2),
        execution("a2", created_at_ms=3),
    )

    assert await listed(store, workflow=WF) == ["a2", "a1"]
    assert await listed(store, workflow=OTHER_WF) == ["b1"]
    assert await listed(store, workflow="contract.unknown") == []


async def test_list_executions_combines_status_and_workflow_filters(store: Store) -> None:
    await insert(
        store,
        execution("a-run", created_at_ms=1),
        execution("a-done", status="completed", created_at_ms=2),
        execution("b-run", workflow=OTHER_WF, created_at_ms=3),
        execution("b-done", workflow=OTHER_WF, status="completed", created_at_ms=4),
    )

    assert await listed(store, status="completed", workflow=WF) == ["a-done"]


async def test_list_executions_pages_with_offset_and_limit(store: Store) -> None:
    await insert(store, *(execution(f"e{i}", created_at_ms=i) for i in range(5)))

    pages = [await listed(store, limit=2, offset=offset) for offset in (0, 2, 4, 6)]

    assert pages == [["e4", "e3"], ["e2", "e1"], ["e0"], []]


async def test_executions_with_failed_task_lists_only_running_ones_with_a_task_error(store: Store) -> None:
    await insert(
        store,
        execution("failing"),
        execution("healthy"),
        execution("closed", status="failed"),
    )
    await store.run(lambda tx: tx.update_execution("failing", task_error='{"error":"Bug"}'))
    await store.run(lambda tx: tx.update_execution("closed", task_error='{"error":"Bug"}'))

    assert await store.read(lambda tx: tx.executions_with_failed_task()) == ["failing"]


# history


async def test_closed_among_names_only_existing_executions_that_are_not_running(store: Store) -> None:
    rows = [execution("run"), execution("done", status="completed"), execution("failed", status="failed")]
    await store.run(lambda tx: [tx.insert_execution(r) for r in rows])
    ids = ["run", "done", "failed", "missing"] + [f"other-{i}" for i in range(1200)]  # past any per-statement bound

    assert sorted(await store.read(lambda tx: tx.closed_among(ids))) == ["done", "failed"]
    assert await store.read(lambda tx: tx.closed_among([])) == []


async def test_append_events_numbers_events_contiguously_from_one(store: Store) -> None:
    await insert(store, execution("e1"))

    first = await append(store, "e1", [(EventType.WORKFLOW_STARTED, '{"n":1}'), (EventType.TIMER_STARTED, "{}")], 10)
    second = await append(store, "e1", [(EventType.TIMER_FIRED, '{"timer_id":1}')], 20)

    assert (first, second) == (2, 3)
    assert await store.read(lambda tx: tx.load_events("e1")) == [
        Event(1, EventType.WORKFLOW_STARTED, 10, {"n": 1}),
        Event(2, EventType.TIMER_STARTED, 10, {}),
        Event(3, EventType.TIMER_FIRED, 20, {"timer_id": 1}),
    ]
    row = await get(store, "e1")
    assert row is not None
    assert row.last_seq == 3


async def test_event_sequences_are_numbered_per_execution(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    await append(store, "e1", [(EventType.WORKFLOW_STARTED, "{}")] * 3)

    last = await append(store, "e2", [(EventType.WORKFLOW_STARTED, "{}")])

    assert last == 1
    assert [e.seq for e in await store.read(lambda tx: tx.load_events("e2"))] == [1]


async def test_load_events_after_seq_returns_only_the_tail(store: Store) -> None:
    await insert(store, execution("e1"))
    await append(store, "e1", [(EventType.TIMER_STARTED, f'{{"i":{i}}}') for i in range(1, 6)])

    tail = await store.read(lambda tx: tx.load_events("e1", after_seq=3))

    assert [(e.seq, e.data) for e in tail] == [(4, {"i": 4}), (5, {"i": 5})]
    assert await store.read(lambda tx: tx.load_events("e1", after_seq=5)) == []


async def test_load_events_of_execution_without_history_is_empty(store: Store) -> None:
    await insert(store, execution("e1"))

    assert await store.read(lambda tx: tx.load_events("e1")) == []


async def test_first_event_is_read_alone_whether_stored_or_appended_in_the_same_transition(store: Store) -> None:
    await insert(store, execution("e1"))
    await append(store, "e1", [(EventType.WORKFLOW_STARTED, '{"n":1}'), (EventType.TIMER_STARTED, "{}")], 10)

    def start_and_read(tx: Transaction) -> tuple[Event | None, Event | None]:
        tx.insert_execution(execution("e2"))
        tx.append_events("e2", [(EventType.WORKFLOW_STARTED, '{"n":2}')], 20)
        return tx.first_event("e2"), tx.first_event("e3")

    assert await store.read(lambda tx: tx.first_event("e1")) == Event(1, EventType.WORKFLOW_STARTED, 10, {"n": 1})
    assert await store.run(start_and_read) == (Event(1, EventType.WORKFLOW_STARTED, 20, {"n": 2}), None)
    assert [e.seq for e in await history(store, "e2")] == [1]


async def test_events_of_a_failed_transition_leave_no_gap_in_the_sequence(store: Store) -> None:
    await insert(store, execution("e1"))
    await append(store, "e1", [(EventType.WORKFLOW_STARTED, "{}")])

    def append_then_fail(tx: Transaction) -> None:
        tx.append_events("e1", [(EventType.TIMER_STARTED, "{}")] * 2, 7)
        raise Boom

    with pytest.raises(Boom):
        await store.run(append_then_fail)
    last = await append(store, "e1", [(EventType.TIMER_FIRED, "{}")])

    assert last == 2
    assert [(e.seq, e.type) for e in await store.read(lambda tx: tx.load_events("e1"))] == [
        (1, EventType.WORKFLOW_STARTED),
        (2, EventType.TIMER_FIRED),
    ]


# activities


async def test_inserted_activity_reads_back_field_for_field(store: Store) -> None:
    await insert(store, execution("e1"))
    row = dataclasses.replace(
        activity("e1", 1),
        attempt_started_at_ms=3_000,
        last_heartbeat_at_ms=3_500,
        heartbeat_details='{"i":4}',
        checkpoint='{"i":2}',
        last_failure='{"error":"X"}',
        cancel_requested=True,
        watch_heartbeats=True,
    )

    await store.run(lambda tx: tx.insert_activity(row))

    assert await store.read(lambda tx: tx.get_activity("e1", 1)) == row


async def test_get_activity_of_unknown_id_returns_none(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    await store.run(lambda tx: tx.insert_activity(activity("e1", 1)))

    assert await store.read(lambda tx: tx.get_activity("e1", 2)) is None
    assert await store.read(lambda tx: tx.get_activity("e2", 1)) is None


async def test_update_activity_changes_only_the_named_fields(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1), activity("e1", 2))

    await store.run(
        lambda tx: tx.update_activity(
            "e1", 1, state="started", attempt=2, heartbeat_details='{"i":1}', watch_heartbeats=True
        )
    )

    expected = dataclasses.replace(
        activity("e1", 1), state="started", attempt=2, heartbeat_details='{"i":1}', watch_heartbeats=True
    )
    assert await store.read(lambda tx: tx.get_activity("e1", 1)) == expected
    assert await store.read(lambda tx: tx.get_activity("e1", 2)) == activity("e1", 2)


async def test_update_activity_with_unknown_column_raises_usage_error_and_changes_nothing(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.insert_activity(activity("e1", 1)))

    with pytest.raises(UsageError):
        await store.run(lambda tx: tx.update_activity("e1", 1, state="started", colour="blue"))

    assert await store.read(lambda tx: tx.get_activity("e1", 1)) == activity("e1", 1)


async def test_open_activities_lists_unclosed_activities_of_one_execution_in_id_order(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))

    def schedule(tx: Transaction) -> None:
        tx.insert_activity(activity("e1", 3))
        tx.insert_activity(activity("e1", 1))
        tx.insert_activity(activity("e1", 2, closed_at_ms=4_000))
        tx.insert_activity(activity("e2", 4))

    await store.run(schedule)

    opened = await store.read(lambda tx: tx.open_activities("e1"))
    assert [(a.execution_id, a.activity_id) for a in opened] == [("e1", 1), ("e1", 3)]


# timers


async def test_arm_timer_replaces_the_timer_of_the_same_execution_kind_and_ref(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "heartbeat", 1, 1, 5_000)))

    await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "heartbeat", 1, 2, 8_000)))

    assert await timers(store, "e1") == {TimerRow("e1", "heartbeat", 1, 2, 8_000)}


async def test_workflow_deadline_reads_as_its_timer_stands_within_and_across_transitions(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))

    def within(tx: Transaction) -> list[int | None]:
        seen = [tx.workflow_deadline_ms("e1")]
        tx.get_execution("e1")  # read along with the row: kept current by what follows
        tx.arm_timer(TimerRow("e1", "workflow", 0, 0, 9_000))
        tx.arm_timer(TimerRow("e1", "total", 1, 0, 4_000))
        seen.append(tx.workflow_deadline_ms("e1"))
        tx.delete_timer("e1", "workflow", 0)
        seen.append(tx.workflow_deadline_ms("e1"))
        tx.arm_timer(TimerRow("e1", "workflow", 0, 0, 7_000))
        seen.append(tx.workflow_deadline_ms("e1"))
        return seen

    assert await store.run(within) == [None, 9_000, None, 7_000]
    assert await store.read(lambda tx: (tx.get_execution("e1"), tx.workflow_deadline_ms("e1"))[1]) == 7_000
    assert await store.read(lambda tx: tx.workflow_deadline_ms("e2")) is None

    def closed(tx: Transaction) -> int | None:
        tx.get_execution("e1")
        tx.delete_execution_timers("e1")
        return tx.workflow_deadline_ms("e1")

    assert await store.run(closed) is None
    assert await store.read(lambda tx: tx.workflow_deadline_ms("e1")) is None


async def test_a_workflow_deadline_armed_by_a_failed_transition_is_not_seen(store: Store) -> None:
    await insert(store, execution("e1"))

    def failing(tx: Transaction) -> None:
        tx.get_execution("e1")
        tx.arm_timer(TimerRow("e1", "workflow", 0, 0, 9_000))
        raise Boom

    with pytest.raises(Boom):
        await store.run(failing)

    assert await store.run(lambda tx: (tx.get_execution("e1"), tx.workflow_deadline_ms("e1"))[1]) is None


async def test_timers_of_different_kind_ref_or_execution_are_distinct(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    armed = [
        TimerRow("e1", "heartbeat", 1, 1, 5_000),
        TimerRow("e1", "total", 1, 0, 6_000),
        TimerRow("e1", "heartbeat", 2, 1, 7_000),
        TimerRow("e2", "heartbeat", 1, 1, 8_000),
    ]

    await arm(store, *armed)

    assert await timers(store, "e1") == set(armed[:3])
    assert await timers(store, "e2") == {armed[3]}


async def test_delete_timer_removes_only_that_timer(store: Store) -> None:
    await insert(store, execution("e1"))
    kept = [TimerRow("e1", "total", 1, 0, 6_000), TimerRow("e1", "heartbeat", 2, 1, 7_000)]
    await arm(store, TimerRow("e1", "heartbeat", 1, 1, 5_000), *kept)

    await store.run(lambda tx: tx.delete_timer("e1", "heartbeat", 1))

    assert await timers(store, "e1") == set(kept)


async def test_delete_activity_timers_keeps_sleeps_and_other_activities(store: Store) -> None:
    await insert(store, execution("e1"))
    kept = [TimerRow("e1", "sleep", 1, 0, 9_000), TimerRow("e1", "heartbeat", 2, 1, 7_000)]
    gone = [TimerRow("e1", kind, 1, 1, 5_000) for kind in ("total", "attempt", "heartbeat", "retry")]
    await arm(store, *gone, *kept)

    await store.run(lambda tx: tx.delete_activity_timers("e1", 1))

    assert await timers(store, "e1") == set(kept)


async def test_delete_execution_timers_removes_every_timer_of_that_execution(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    other = TimerRow("e2", "sleep", 1, 0, 9_000)
    await arm(store, TimerRow("e1", "sleep", 1, 0, 9_000), TimerRow("e1", "total", 2, 0, 1), other)

    await store.run(lambda tx: tx.delete_execution_timers("e1"))

    assert await timers(store, "e1") == set()
    assert await timers(store, "e2") == {other}


async def test_due_timers_returns_due_timers_earliest_first_up_to_the_limit(store: Store) -> None:
    await insert(store, execution("e1"))
    await arm(store, *(TimerRow("e1", "sleep", ref, 0, due) for ref, due in [(1, 300), (2, 100), (3, 200), (4, 401)]))

    due = await store.read(lambda tx: tx.due_timers(400, 10))
    limited = await store.read(lambda tx: tx.due_timers(400, 2))
    none_due = await store.read(lambda tx: tx.due_timers(99, 10))

    assert [(t.ref, t.due_at_ms) for t in due] == [(2, 100), (3, 200), (1, 300)]
    assert [t.ref for t in limited] == [2, 3]
    assert none_due == []


async def test_timer_is_due_at_its_due_time(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "sleep", 1, 0, 500)))

    assert await store.read(lambda tx: tx.due_timers(499, 10)) == []
    assert await store.read(lambda tx: tx.due_timers(500, 10)) == [TimerRow("e1", "sleep", 1, 0, 500)]


async def test_next_timer_due_ms_is_none_without_timers_and_the_earliest_due_time_otherwise(store: Store) -> None:
    await insert(store, execution("e1"))
    assert await store.read(lambda tx: tx.next_timer_due_ms()) is None

    await arm(store, TimerRow("e1", "sleep", 1, 0, 700), TimerRow("e1", "sleep", 2, 0, 300))
    assert await store.read(lambda tx: tx.next_timer_due_ms()) == 300

    await store.run(lambda tx: tx.delete_timer("e1", "sleep", 2))
    assert await store.read(lambda tx: tx.next_timer_due_ms()) == 700


# workflow tasks


async def test_workflow_task_enqueued_twice_is_claimed_once(store: Store) -> None:
    await insert(store, execution("e1"))

    await enqueue(store, "e1", 10)
    await enqueue(store, "e1", 10)

    assert await claim(store, now_ms=10) == ["e1"]
    assert await claim(store, now_ms=10, owner="w2") == []


async def test_reenqueued_workflow_task_keeps_the_earliest_ready_time(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1", 500)

    await enqueue(store, "e1", 100)

    assert await claim(store, now_ms=100) == ["e1"]


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
async def test_enqueue_of_closed_execution_offers_nothing(store: Store, status: str) -> None:
    await insert(store, execution("e1", status=status))

    await enqueue(store, "e1")

    assert await claim(store, now_ms=10) == []
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False


async def test_enqueue_of_unknown_execution_offers_nothing(store: Store) -> None:
    await enqueue(store, "nope")

    assert await claim(store, now_ms=10) == []
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False


async def test_workflow_task_is_not_claimed_before_it_is_ready(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1", 500)

    assert await claim(store, now_ms=499) == []
    assert await store.read(lambda tx: tx.has_ready_work(499, [WF], [ACT])) is False
    assert await claim(store, now_ms=500) == ["e1"]


async def test_claim_workflow_tasks_returns_only_the_listed_workflows(store: Store) -> None:
    await insert(store, execution("a"), execution("b", workflow=OTHER_WF))
    await enqueue(store, "a")
    await enqueue(store, "b")

    assert await claim(store, now_ms=10, workflows=[OTHER_WF]) == ["b"]
    assert await claim(store, now_ms=10, workflows=["contract.unknown"]) == []
    assert await claim(store, now_ms=10, workflows=[WF, OTHER_WF]) == ["a"]


async def test_claim_workflow_tasks_takes_the_earliest_ready_first_up_to_the_limit(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"), execution("e3"))
    for execution_id, ready in [("e1", 30), ("e2", 10), ("e3", 20)]:
        await enqueue(store, execution_id, ready)

    assert await claim(store, now_ms=50, limit=2) == ["e2", "e3"]
    assert await claim(store, now_ms=50, limit=2) == ["e1"]


async def test_leased_workflow_task_is_not_claimed_again_before_the_lease_expires(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=100, owner="w1", lease_ms=1_000)

    assert await claim(store, now_ms=1_099, owner="w2") == []
    assert await holds(store, "e1", "w1", 1_100) is True


async def test_expired_lease_lets_another_owner_claim_the_task(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=100, owner="w1", lease_ms=1_000)
    expiry = await store.read(lambda tx: tx.next_lease_expiry_ms(100))

    assert expiry == 1_100
    assert await claim(store, now_ms=expiry, owner="w2") == ["e1"]
    assert await holds(store, "e1", "w2", 2_100) is True
    assert await holds(store, "e1", "w1", 1_100) is False
    assert await finish(store, "e1", "w1", 1_100) is False, "the first owner lost its lease"


async def test_a_task_claimed_again_by_its_owner_after_the_lease_ran_out_is_held_by_the_new_lease_only(
    store: Store,
) -> None:
    # A run that outlasted its lease must not end the task its owner's later claim holds.
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=100, owner="w1", lease_ms=1_000)
    await enqueue(store, "e1", 500)
    assert await claim(store, now_ms=1_100, owner="w1") == ["e1"]

    assert await holds(store, "e1", "w1", 1_100) is False
    assert await finish(store, "e1", "w1", 1_100) is False, "the first lease is over"
    assert await holds(store, "e1", "w1", 2_100) is True
    assert await claim(store, now_ms=2_099, owner="w2") == [], "still leased"
    assert await finish(store, "e1", "w1", 2_100) is True
    assert await claim(store, now_ms=10_000, owner="w2") == []


async def test_finish_deletes_the_task_of_its_holder(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1")

    assert await finish(store, "e1", "w1", 1_010) is True

    assert await holds(store, "e1", "w1", 1_010) is False
    assert await claim(store, now_ms=10_000, owner="w2") == []
    assert await store.read(lambda tx: tx.has_ready_work(10_000, [WF], [ACT])) is False


async def test_task_enqueued_twice_before_its_claim_is_gone_after_one_finish(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1")

    assert await finish(store, "e1", "w1", 1_010) is True

    assert await claim(store, now_ms=10_000, owner="w2") == []


async def test_finish_offers_the_task_again_when_it_was_enqueued_during_the_lease(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)
    await enqueue(store, "e1", 20)

    assert await finish(store, "e1", "w1", 1_010) is True

    assert await holds(store, "e1", "w1", 1_010) is False
    assert await store.read(lambda tx: tx.has_ready_work(30, [WF], [ACT])) is True
    assert await claim(store, now_ms=30, owner="w2") == ["e1"], "offered again before the old lease would expire"


async def test_finish_by_a_non_holder_returns_false_and_keeps_the_lease(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)

    assert await finish(store, "e1", "w2", 1_010) is False
    assert await finish(store, "nope", "w1", 1_010) is False
    assert await finish(store, "e1", "w1", 1_009) is False, "not the lease it holds"

    assert await holds(store, "e1", "w1", 1_010) is True
    assert await claim(store, now_ms=20, owner="w2") == []


async def test_holds_workflow_task_is_false_for_a_task_that_is_only_queued(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")

    assert await holds(store, "e1", "w1", 0) is False


async def test_release_workflow_tasks_frees_only_that_owners_leases(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)
    await enqueue(store, "e2")
    await claim(store, now_ms=10, owner="w2", lease_ms=1_000)

    await store.run(lambda tx: tx.release_workflow_tasks("w1"))

    assert await holds(store, "e1", "w1", 1_010) is False
    assert await holds(store, "e2", "w2", 1_010) is True
    assert await claim(store, now_ms=20, owner="w3") == ["e1"]


async def test_a_released_task_is_offered_again_at_once_and_only_its_holder_can_release_it(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)

    def release(owner: str) -> Callable[[Transaction], bool]:
        return lambda tx: workflows.release_task(tx, execution_id="e1", owner=owner, leased_until_ms=1_010, now_ms=20)

    assert await store.run(release("w2")) is False
    assert await holds(store, "e1", "w1", 1_010) is True
    assert await store.run(release("w1")) is True

    assert await holds(store, "e1", "w1", 1_010) is False
    assert await claim(store, now_ms=20, owner="w2") == ["e1"], "offered again before the old lease would expire"
    assert await store.run(release("w1")) is False


async def test_next_lease_expiry_ms_reports_the_earliest_live_lease(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    assert await store.read(lambda tx: tx.next_lease_expiry_ms(0)) is None
    await enqueue(store, "e1")
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)
    await enqueue(store, "e2")
    await claim(store, now_ms=10, owner="w2", lease_ms=500)

    assert await store.read(lambda tx: tx.next_lease_expiry_ms(10)) == 510
    assert await store.read(lambda tx: tx.next_lease_expiry_ms(510)) == 1_010
    assert await store.read(lambda tx: tx.next_lease_expiry_ms(1_010)) is None


async def test_has_ready_work_sees_claimable_workflow_and_activity_tasks(store: Store) -> None:
    await insert(store, execution("e1"))
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False

    await enqueue(store, "e1")
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is True
    await claim(store, now_ms=10)
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False, "a leased task is not ready"

    await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT)))
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is True
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [OTHER_ACT])) is False, "not for these names"


# activity tasks


async def test_activity_tasks_are_claimed_in_enqueue_order(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    queued = [ActivityTaskRow("e1", 3, 1, ACT), ActivityTaskRow("e2", 1, 1, ACT), ActivityTaskRow("e1", 1, 2, ACT)]
    for task in queued:
        await enqueue_activity(store, task)

    assert await claim_activities(store) == queued


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 20])
async def test_activity_tasks_of_mixed_priorities_are_claimed_highest_first_then_in_enqueue_order(
    store: Store, limit: int
) -> None:
    await insert(store, execution("e1"))
    priorities = [0, 3, -2, 0, 7, 3, -2, -5, 0, 7, 1, 0]
    tasks = [ActivityTaskRow("e1", i, 1, ACT, p) for i, p in enumerate(priorities, start=1)]
    for task in tasks:  # one transition each: the queue's own order, not one batch's
        await enqueue_activity(store, task)
    expected = sorted(tasks, key=lambda t: (-t.priority, t.activity_id))

    claimed: list[ActivityTaskRow] = []
    while batch := await claim_activities(store, limit=limit):
        assert len(batch) == min(limit, len(tasks) - len(claimed))
        claimed.extend(batch)

    assert claimed == expected


async def test_claim_by_priority_counts_only_the_listed_activities_toward_the_limit(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue_activity(
        store,
        ActivityTaskRow("e1", 1, 1, OTHER_ACT, 9),
        ActivityTaskRow("e1", 2, 1, ACT, 0),
        ActivityTaskRow("e1", 3, 1, OTHER_ACT, -1),
        ActivityTaskRow("e1", 4, 1, ACT, -1),
        ActivityTaskRow("e1", 5, 1, ACT, 2),
    )

    assert [t.activity_id for t in await claim_activities(store, [ACT], limit=2)] == [5, 2]
    assert [t.activity_id for t in await claim_activities(store, [ACT, OTHER_ACT], limit=2)] == [1, 3]
    assert [t.activity_id for t in await claim_activities(store, [ACT])] == [4]


async def test_a_requeued_attempt_goes_behind_the_others_of_its_priority(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue_activity(store, ActivityTaskRow("e1", 1, 1, ACT, 4), ActivityTaskRow("e1", 2, 1, ACT, 0))
    await enqueue_activity(store, ActivityTaskRow("e1", 3, 1, ACT, 4), ActivityTaskRow("e1", 4, 1, ACT, 0))

    await enqueue_activity(store, ActivityTaskRow("e1", 1, 2, ACT, 4), ActivityTaskRow("e1", 2, 2, ACT, 0))

    assert [(t.activity_id, t.attempt) for t in await claim_activities(store)] == [(3, 1), (1, 2), (4, 1), (2, 2)]


async def test_claim_activity_tasks_filters_by_name_and_respects_the_limit(store: Store) -> None:
    await insert(store, execution("e1"))
    tasks = [ActivityTaskRow("e1", i, 1, ACT if i % 2 else OTHER_ACT) for i in range(1, 6)]
    await enqueue_activity(store, *tasks)

    assert [t.activity_id for t in await claim_activities(store, [OTHER_ACT])] == [2, 4]
    assert [t.activity_id for t in await claim_activities(store, [ACT], limit=2)] == [1, 3]
    assert [t.activity_id for t in await claim_activities(store, ["contract.unknown", ACT])] == [5]


async def test_claimed_activity_task_is_not_claimed_again(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT)))
    await claim_activities(store)

    assert await claim_activities(store) == []
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False


async def test_delete_activity_task_withdraws_only_that_task(store: Store) -> None:
    await insert(store, execution("e1"))
    await enqueue_activity(store, ActivityTaskRow("e1", 1, 1, ACT), ActivityTaskRow("e1", 2, 1, ACT))

    await store.run(lambda tx: tx.delete_activity_task("e1", 1))

    assert await claim_activities(store) == [ActivityTaskRow("e1", 2, 1, ACT)]


async def test_reenqueued_activity_task_is_one_task_with_the_latest_attempt(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT)))

    await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 2, ACT)))

    assert await claim_activities(store) == [ActivityTaskRow("e1", 1, 2, ACT)]


# signing keys and known workflows


async def test_signing_keys_are_empty_then_read_back_as_inserted(store: Store) -> None:
    assert await store.read(lambda tx: tx.signing_keys()) == {}

    def insert_keys(tx: Transaction) -> None:
        tx.insert_signing_key(1, b"\x00secret\xff", 10)
        tx.insert_signing_key(2, b"k2", 20)

    await store.run(insert_keys)

    assert await store.read(lambda tx: tx.signing_keys()) == {1: b"\x00secret\xff", 2: b"k2"}


async def test_insert_signing_key_keeps_the_first_secret_of_an_id(store: Store) -> None:
    await store.run(lambda tx: tx.insert_signing_key(1, b"first", 10))

    await store.run(lambda tx: tx.insert_signing_key(1, b"second", 20))

    assert await store.read(lambda tx: tx.signing_keys()) == {1: b"first"}


async def test_registered_workflows_are_known_and_others_are_not(store: Store) -> None:
    await store.run(lambda tx: tx.register_workflows([WF, OTHER_WF]))
    await store.run(lambda tx: tx.register_workflows([WF]))

    assert await store.read(lambda tx: tx.is_known_workflow(WF)) is True
    assert await store.read(lambda tx: tx.is_known_workflow(OTHER_WF)) is True
    assert await store.read(lambda tx: tx.is_known_workflow("contract.unknown")) is False


# transactions


async def test_failing_transition_is_rolled_back_alone_while_its_batch_commits(store: Store) -> None:
    def start(execution_id: str, fail: bool) -> Callable[[Transaction], None]:
        def transition(tx: Transaction) -> None:
            tx.insert_execution(execution(execution_id))
            tx.append_events(execution_id, [(EventType.WORKFLOW_STARTED, "{}")], 1)
            if fail:
                raise Boom(execution_id)

        return transition

    await run_in_one_batch(store, [start(f"e{i}", fail=i % 3 == 0) for i in range(12)])

    present = set(await listed(store))
    assert present == {f"e{i}" for i in range(12) if i % 3 != 0}
    histories = {f"e{i}": len(await history(store, f"e{i}")) for i in range(12)}
    assert histories == {f"e{i}": 0 if i % 3 == 0 else 1 for i in range(12)}


async def test_a_transition_that_fails_after_it_wrote_is_undone_alone_while_its_batch_commits(store: Store) -> None:
    await insert(store, execution("e0"), execution("e1"), execution("e2"))
    committed: list[str] = []
    undone: list[str] = []

    def close(execution_id: str, fail: bool) -> Callable[[Transaction], str]:
        def transition(tx: Transaction) -> str:
            tx.after_commit(lambda: committed.append(execution_id))
            tx.on_rollback(lambda: undone.append(execution_id))
            tx.update_execution(execution_id, status="completed")
            if fail:
                raise Boom(execution_id)
            return execution_id

        return transition

    def read_e0(tx: Transaction) -> str | None:
        row = tx.get_execution("e0")
        return None if row is None else row.status

    outcomes = await run_in_one_batch(store, [close("e0", False), close("e1", True), close("e2", False), read_e0])

    assert outcomes[0] == "e0"
    assert isinstance(outcomes[1], Boom)
    assert outcomes[2] == "e2"
    assert outcomes[3] == "completed"  # what the read saw was committed
    statuses = {e: row.status for e in ("e0", "e1", "e2") if (row := await get(store, e)) is not None}
    assert statuses == {"e0": "completed", "e1": "running", "e2": "completed"}
    assert sorted(committed) == ["e0", "e2"]  # each once, whether the batch ran again or not
    assert "e1" in undone


async def test_a_read_that_raises_within_a_batch_of_writes_leaves_them_committed(store: Store) -> None:
    entered, gate = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        entered.set()
        gate.wait(5)

    def refuse(tx: Transaction) -> None:
        tx.get_execution("before")
        raise Boom("refused")

    holder = asyncio.ensure_future(store.run(hold))
    assert await asyncio.to_thread(entered.wait, 5)
    before = asyncio.ensure_future(store.run(lambda tx: tx.insert_execution(execution("before"))))
    refused = asyncio.ensure_future(store.read(refuse))
    after = asyncio.ensure_future(store.run(lambda tx: tx.insert_execution(execution("after"))))
    await asyncio.sleep(0)  # one loop pass: all three are queued behind the holder
    gate.set()
    await holder

    outcomes = await asyncio.gather(before, refused, after, return_exceptions=True)
    assert outcomes[0] is True
    assert isinstance(outcomes[1], Boom)
    assert outcomes[2] is True
    assert sorted(await listed(store)) == ["after", "before"]


async def test_each_caller_of_a_batch_gets_its_own_result_or_error(store: Store) -> None:
    errors = [Boom(f"boom {i}") for i in range(6)]

    def transition(i: int) -> Callable[[Transaction], object]:
        def body(tx: Transaction) -> object:
            if i % 2:
                raise errors[i]
            return i * 10

        return body

    outcomes = await run_in_one_batch(store, [transition(i) for i in range(6)])

    assert outcomes == [0, errors[1], 20, errors[3], 40, errors[5]]
    assert all(outcomes[i] is errors[i] for i in (1, 3, 5)), "the very exception object reaches its caller"


async def test_driver_error_fails_only_its_transition_within_a_batch(store: Store) -> None:
    await insert(store, execution("dup"))
    await insert_activity(store, activity("dup", 1))

    outcomes = await run_in_one_batch(
        store,
        [
            lambda tx: tx.insert_execution(execution("before")),
            lambda tx: tx.insert_activity(activity("dup", 1, name="other")),
            lambda tx: tx.insert_execution(execution("after")),
        ],
    )

    assert outcomes[0] is True
    assert isinstance(outcomes[1], StoreUnavailable)
    assert outcomes[2] is True
    assert set(await listed(store)) == {"before", "dup", "after"}
    assert await store.read(lambda tx: tx.get_activity("dup", 1)) == activity("dup", 1)


async def test_savepoint_rolls_back_its_body_alone(store: Store) -> None:
    def transition(tx: Transaction) -> None:
        tx.insert_execution(execution("kept"))
        try:
            with tx.savepoint():
                tx.insert_execution(execution("undone"))
                raise Boom
        except Boom:
            pass
        else:
            raise AssertionError("the savepoint swallowed the error")
        with tx.savepoint():
            tx.insert_execution(execution("nested-kept"))

    await store.run(transition)

    assert set(await listed(store)) == {"kept", "nested-kept"}


async def test_read_sees_what_run_committed(store: Store) -> None:
    await insert(store, execution("e1"))

    assert [
        row.id for row in await store.read(lambda tx: tx.list_executions(status=None, workflow=None, limit=5, offset=0))
    ] == ["e1"]


async def test_run_after_close_raises_store_unavailable(store: Store) -> None:
    await store.close()

    with pytest.raises(StoreUnavailable):
        await insert(store, execution("e1"))


# change notifications


async def test_listener_receives_star_after_a_notifying_commit(store: Store) -> None:
    calls = await listen(store)

    await store.run(lambda tx: tx.notify())

    assert await next_call(calls) == {"*"}


async def test_listener_receives_the_ids_passed_to_closed(store: Store) -> None:
    calls = await listen(store)

    await store.run(closing("e1", "e2"))

    assert await next_call(calls) == {"*", "e1", "e2"}


async def test_listener_is_not_called_for_a_commit_that_changed_nothing_for_workers(store: Store) -> None:
    calls = await listen(store)

    await insert(store, execution("quiet"))
    await store.run(lambda tx: tx.notify())

    assert await next_call(calls) == {"*"}, "the first commit caused no call"


async def test_listener_ignores_the_notifications_of_a_failed_transition(store: Store) -> None:
    calls = await listen(store)

    def notify_then_fail(tx: Transaction) -> None:
        tx.notify()
        tx.closed("lost")
        raise Boom

    with pytest.raises(Boom):
        await store.run(notify_then_fail)
    await store.run(closing("e1"))

    assert await next_call(calls) == {"*", "e1"}


async def test_listener_gets_the_changes_of_a_whole_batch(store: Store) -> None:
    calls = await listen(store)

    await run_in_one_batch(store, [closing("e1", notify=False), closing("e2")])

    assert await next_call(calls) == {"*", "e1", "e2"}


@pytest.mark.parametrize(
    ("offer", "topic"),
    [
        ("workflow task", "workflows"),
        ("activity task", "activities"),
        ("released lease", "workflows"),
        ("dirty finish", "workflows"),
        ("armed timer", "timers"),
    ],
)
async def test_offering_work_to_workers_wakes_the_loop_of_its_topic(store: Store, offer: str, topic: str) -> None:
    await insert(store, execution("e1"))
    if offer in ("released lease", "dirty finish"):
        await enqueue(store, "e1")
        await claim(store, now_ms=10, owner="w1")
    if offer == "dirty finish":
        await enqueue(store, "e1")
    calls = await listen(store)

    match offer:
        case "workflow task":
            await enqueue(store, "e1")
        case "activity task":
            await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT)))
        case "released lease":
            await store.run(lambda tx: tx.release_workflow_tasks("w1"))
        case "armed timer":
            await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "sleep", 1, 0, 50)))
        case _:
            assert await finish(store, "e1", "w1", 1_010) is True

    assert await next_call(calls) == {topic}


async def test_work_taken_by_the_transition_itself_wakes_nobody(store: Store) -> None:
    await insert(store, execution("e1"))
    calls = await listen(store)

    def enqueue_and_take(tx: Transaction) -> None:
        tx.enqueue_workflow_task("e1", 0)
        tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
        tx.take_enqueued()
        tx.closed("e1")

    await store.run(enqueue_and_take)

    assert await next_call(calls) == {"e1"}


async def test_commit_by_another_store_on_the_same_database_is_reported_as_external(store: Store) -> None:
    other = await open_url(store.url)
    try:
        calls = await listen(store)

        def queue_a_task(tx: Transaction) -> None:
            tx.insert_execution(execution("from-elsewhere"))
            tx.enqueue_workflow_task("from-elsewhere", 0)

        await other.run(queue_a_task)

        reported = await next_call(calls)
        assert "external" in reported
        assert reported & {"*", "workflows"}  # the loop it gave work to wakes (or all of them)
        assert await get(store, "from-elsewhere") == execution("from-elsewhere")
    finally:
        await other.close()
