"""Within one transition every read sees that transition's own writes, and a savepoint undoes them all.

The engine leans on this: a completion queues a workflow task that the local worker leases,
runs and finishes in the same transition, and a scheduled activity is started right away.
"""

from __future__ import annotations

import contextlib

import pytest

from tether.errors import UsageError
from tether.model.events import EventType
from tether.store.base import Store, Transaction
from tether.store.rows import ActivityTaskRow, LinkRow, TimerRow
from tether.store.sqlite.store import SQLiteStore
from tether.store.sqlite.transaction import SQLiteTransaction

from .test_store_contract import (
    ACT,
    WF,
    Boom,
    activity,
    append,
    claim,
    execution,
    history,
    holds,
    insert,
    insert_activity,
)


async def test_task_queued_claimed_and_finished_in_one_transition_leaves_no_task(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> tuple[bool, bool, bool]:
        tx.enqueue_workflow_task("e1", 10)
        claimed = tx.claim_workflow_task("e1", now_ms=10, owner="w1", lease_until_ms=1_000, workflows=[WF])
        held = tx.holds_workflow_task("e1", "w1")
        return claimed, held, tx.finish_workflow_task("e1", "w1")

    assert await store.run(transition) == (True, True, True)
    assert await store.read(lambda tx: tx.has_ready_work(10_000, [WF], [ACT])) is False
    assert await claim(store, now_ms=10_000) == []


async def test_task_queued_and_claimed_in_one_transition_stays_leased_after_it(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> bool:
        tx.enqueue_workflow_task("e1", 10)
        return tx.claim_workflow_task("e1", now_ms=10, owner="w1", lease_until_ms=1_000, workflows=[WF])

    assert await store.run(transition) is True
    assert await holds(store, "e1", "w1") is True
    assert await claim(store, now_ms=999, owner="w2") == []
    assert await store.read(lambda tx: tx.next_lease_expiry_ms(10)) == 1_000


async def test_task_queued_in_one_transition_is_not_ready_for_a_claim_before_its_time(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> bool:
        tx.enqueue_workflow_task("e1", 500)
        return tx.claim_workflow_task("e1", now_ms=10, owner="w1", lease_until_ms=1_000, workflows=[WF])

    assert await store.run(transition) is False
    assert await claim(store, now_ms=500) == ["e1"]


async def test_task_queued_while_another_owner_holds_it_cannot_be_claimed_and_is_offered_after(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.enqueue_workflow_task("e1", 0))
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)

    def transition(tx: Transaction) -> bool:
        tx.enqueue_workflow_task("e1", 20)
        return tx.claim_workflow_task("e1", now_ms=20, owner="w2", lease_until_ms=2_000, workflows=[WF])

    assert await store.run(transition) is False
    assert await holds(store, "e1", "w1") is True
    assert await store.run(lambda tx: tx.finish_workflow_task("e1", "w1")) is True
    assert await claim(store, now_ms=30, owner="w2") == ["e1"], "queued again during the lease"


async def test_closed_execution_queued_in_the_transition_that_closed_it_offers_nothing(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> bool:
        tx.update_execution("e1", status="completed")
        tx.enqueue_workflow_task("e1", 10)
        return tx.claim_workflow_task("e1", now_ms=10, owner="w1", lease_until_ms=1_000, workflows=[WF])

    assert await store.run(transition) is False
    assert await claim(store, now_ms=10) == []


async def test_events_appended_in_one_transition_are_numbered_on_and_visible_to_it(store: Store) -> None:
    await insert(store, execution("e1"))
    await append(store, "e1", [(EventType.WORKFLOW_STARTED, "{}")])

    def transition(tx: Transaction) -> tuple[int, int, int, list[int]]:
        first = tx.append_events("e1", [(EventType.TIMER_STARTED, "{}")], 7)
        last = tx.append_events("e1", [(EventType.TIMER_FIRED, "{}")] * 2, 8)
        row = tx.get_execution("e1")
        assert row is not None
        return first, last, row.last_seq, [e.seq for e in tx.load_events("e1", 1)]

    assert await store.run(transition) == (2, 4, 4, [2, 3, 4])
    assert [e.seq for e in await history(store, "e1")] == [1, 2, 3, 4]
    row = await store.read(lambda tx: tx.get_execution("e1"))
    assert row is not None
    assert row.last_seq == 4


async def test_activity_inserted_and_changed_in_one_transition_is_stored_as_last_seen(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> str | None:
        tx.insert_activity(activity("e1", 1))
        tx.update_activity("e1", 1, state="running", attempt_started_at_ms=5, worker="w1")
        row = tx.get_activity("e1", 1)
        return None if row is None else row.state

    assert await store.run(transition) == "running"
    stored = await store.read(lambda tx: tx.get_activity("e1", 1))
    assert stored is not None
    assert (stored.state, stored.attempt_started_at_ms) == ("running", 5)
    assert await store.read(lambda tx: tx.attempts_of_worker("w1")) == [("e1", 1, 1)]


async def test_activity_change_with_unknown_column_in_its_creating_transition_raises_usage_error(
    store: Store,
) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> None:
        tx.insert_activity(activity("e1", 1))
        tx.update_activity("e1", 1, nope=1)

    with pytest.raises(UsageError):
        await store.run(transition)
    assert await store.read(lambda tx: tx.get_activity("e1", 1)) is None


async def test_attempt_queued_and_claimed_in_one_transition_leaves_no_task(store: Store) -> None:
    await insert(store, execution("e1"))
    task = ActivityTaskRow("e1", 1, 1, ACT)

    def transition(tx: Transaction) -> tuple[bool, bool]:
        tx.enqueue_activity_task(task)
        other_attempt = tx.claim_activity_task(ActivityTaskRow("e1", 1, 2, ACT))
        return other_attempt, tx.claim_activity_task(task)

    assert await store.run(transition) == (False, True)
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False


async def test_attempt_queued_in_one_transition_can_be_withdrawn_by_it(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> None:
        tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
        tx.enqueue_activity_task(ActivityTaskRow("e1", 2, 1, ACT))
        tx.delete_activity_task("e1", 1)

    await store.run(transition)
    claimed = await store.run(lambda tx: tx.claim_activity_tasks(activities=[ACT], limit=10))
    assert claimed == [ActivityTaskRow("e1", 2, 1, ACT)]


def undone(tx: Transaction) -> None:
    """Writes in a savepoint that fails."""
    with tx.savepoint():
        tx.append_events("e1", [(EventType.TIMER_STARTED, "{}")], 2)
        tx.load_events("e1")  # may write what was held back: it is undone all the same
        tx.append_events("e1", [(EventType.TIMER_FIRED, "{}")], 3)
        tx.claim_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
        tx.enqueue_activity_task(ActivityTaskRow("e1", 2, 1, ACT))
        tx.claim_workflow_task("e1", now_ms=0, owner="w1", lease_until_ms=1_000, workflows=[WF])
        tx.insert_activity(activity("e1", 1))
        raise Boom


async def test_savepoint_that_fails_undoes_the_writes_of_its_body_and_keeps_those_before(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> None:
        tx.append_events("e1", [(EventType.WORKFLOW_STARTED, "{}")], 1)
        tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
        tx.enqueue_workflow_task("e1", 0)
        with pytest.raises(Boom):
            undone(tx)
        tx.append_events("e1", [(EventType.WORKFLOW_COMPLETED, "{}")], 4)

    await store.run(transition)

    assert [(e.seq, e.type) for e in await history(store, "e1")] == [
        (1, EventType.WORKFLOW_STARTED),
        (2, EventType.WORKFLOW_COMPLETED),
    ]
    claimed = await store.run(lambda tx: tx.claim_activity_tasks(activities=[ACT], limit=10))
    assert claimed == [ActivityTaskRow("e1", 1, 1, ACT)]
    assert await holds(store, "e1", "w1") is False
    assert await claim(store, now_ms=0) == ["e1"]
    assert await store.read(lambda tx: tx.get_activity("e1", 1)) is None


async def test_failed_transition_leaves_none_of_its_held_back_writes(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> None:
        tx.append_events("e1", [(EventType.WORKFLOW_STARTED, "{}")], 1)
        tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
        tx.enqueue_workflow_task("e1", 0)
        tx.insert_activity(activity("e1", 1))
        raise Boom

    with pytest.raises(Boom):
        await store.run(transition)

    assert await history(store, "e1") == []
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False
    assert await store.read(lambda tx: tx.get_activity("e1", 1)) is None
    row = await store.read(lambda tx: tx.get_execution("e1"))
    assert row is not None
    assert row.last_seq == 0


async def test_failing_savepoint_undoes_a_nested_savepoints_committed_writes(store: Store) -> None:
    await insert(store, execution("e1"))

    def failing(tx: Transaction) -> None:
        with tx.savepoint():
            tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
            with tx.savepoint():
                tx.insert_execution(execution("inner"))
                tx.update_execution("e1", task_error="x")
            raise Boom

    def transition(tx: Transaction) -> None:
        tx.append_events("e1", [(EventType.WORKFLOW_STARTED, "{}")], 1)
        with pytest.raises(Boom):
            failing(tx)

    await store.run(transition)

    assert await store.read(lambda tx: tx.get_execution("inner")) is None
    row = await store.read(lambda tx: tx.get_execution("e1"))
    assert row is not None
    assert row.task_error is None
    assert [e.seq for e in await history(store, "e1")] == [1]
    assert await store.read(lambda tx: tx.has_ready_work(10, [WF], [ACT])) is False


async def test_failing_nested_savepoint_keeps_what_its_enclosing_one_did(store: Store) -> None:
    await insert(store, execution("e1"))

    def failing(tx: Transaction) -> None:
        with tx.savepoint():
            tx.insert_execution(execution("inner"))
            tx.enqueue_activity_task(ActivityTaskRow("e1", 2, 1, ACT))
            raise Boom

    def transition(tx: Transaction) -> None:
        with tx.savepoint():
            tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 1, ACT))
            tx.update_execution("e1", task_error="kept")
            with pytest.raises(Boom):
                failing(tx)

    await store.run(transition)

    assert await store.read(lambda tx: tx.get_execution("inner")) is None
    row = await store.read(lambda tx: tx.get_execution("e1"))
    assert row is not None
    assert row.task_error == "kept"
    claimed = await store.run(lambda tx: tx.claim_activity_tasks(activities=[ACT], limit=10))
    assert claimed == [ActivityTaskRow("e1", 1, 1, ACT)]


async def test_task_finished_and_queued_again_in_one_transition_is_offered_afresh(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.enqueue_workflow_task("e1", 0))
    await claim(store, now_ms=10, owner="w1", lease_ms=1_000)

    def transition(tx: Transaction) -> bool:
        tx.get_execution("e1")
        finished = tx.finish_workflow_task("e1", "w1")
        tx.enqueue_workflow_task("e1", 20)
        return finished

    assert await store.run(transition) is True
    assert await holds(store, "e1", "w1") is False
    assert await claim(store, now_ms=20, owner="w2") == ["e1"]


async def test_an_activity_read_again_in_a_transition_shows_what_the_transition_changed(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1))

    def transition(tx: Transaction) -> list[str | None]:
        seen = []
        for change in ("started", "completed"):
            row = tx.get_activity("e1", 1)
            seen.append(None if row is None else row.state)
            tx.update_activity("e1", 1, state=change)
        row = tx.get_activity("e1", 1)
        seen.append(None if row is None else row.state)
        return seen

    assert await store.run(transition) == ["scheduled", "started", "completed"]
    assert (await store.read(lambda tx: tx.get_activity("e1", 1))).state == "completed"  # type: ignore[union-attr]


async def test_an_activity_changed_in_a_savepoint_that_fails_reads_as_before_it(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1))

    def started_then_failing(tx: Transaction) -> str | None:
        with tx.savepoint():
            tx.update_activity("e1", 1, state="started")
            inside = tx.get_activity("e1", 1)
            raise Boom(None if inside is None else inside.state)

    def transition(tx: Transaction) -> list[str | None]:
        first = tx.get_activity("e1", 1)
        try:
            started_then_failing(tx)
        except Boom as failed:
            inside = failed.args[0]
        after = tx.get_activity("e1", 1)
        return [None if row is None else row.state for row in (first, after)] + [inside]

    assert await store.run(transition) == ["scheduled", "scheduled", "started"]


async def test_an_activity_read_before_its_execution_is_deleted_is_gone_after(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1))

    def transition(tx: Transaction) -> list[bool]:
        before = tx.get_activity("e1", 1) is not None
        tx.delete_executions(["e1"])
        return [before, tx.get_activity("e1", 1) is not None]

    assert await store.run(transition) == [True, False]


async def test_sqlite_reads_an_activity_once_per_transition_until_it_changes(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("e1"))
        await insert_activity(store, activity("e1", 1))
        selects: list[str] = []

        def transition(tx: Transaction) -> None:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(lambda sql: selects.append(sql) if "FROM activities" in sql else None)
            try:
                tx.get_activity("e1", 1)
                tx.get_activity("e1", 1)  # as a call by token does: once with the token, once acting on it
                tx.update_activity("e1", 1, state="started")
                tx.get_activity("e1", 1)
            finally:
                tx._conn.set_trace_callback(None)

        await store.run(transition)
        assert len(selects) == 2  # the second read was answered from the first; the one after the change was not
    finally:
        await store.close()


async def test_a_close_deletes_the_timers_stored_before_and_armed_in_its_transition(store: Store) -> None:
    await insert(store, execution("stored"), execution("armed"), execution("none"))
    await store.run(lambda tx: tx.arm_timer(TimerRow("stored", "sleep", 1, 0, 5_000)))

    def transition(tx: Transaction) -> None:
        for execution_id in ("stored", "armed", "none"):
            tx.get_execution(execution_id)
        tx.arm_timer(TimerRow("armed", "heartbeat", 1, 1, 6_000))
        for execution_id in ("stored", "armed", "none"):
            tx.delete_execution_timers(execution_id)

    await store.run(transition)

    def left(tx: Transaction) -> list[TimerRow]:
        return [t for e in ("stored", "armed", "none") for t in tx.timers_of(e)]

    assert await store.read(left) == []


async def test_timers_a_failed_savepoint_kept_are_deleted_by_a_later_close(store: Store) -> None:
    await insert(store, execution("e1"))
    await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "sleep", 1, 0, 5_000)))

    def deleting_then_failing(tx: Transaction) -> None:
        with tx.savepoint():
            tx.delete_execution_timers("e1")
            raise Boom

    def transition(tx: Transaction) -> int:
        tx.get_execution("e1")
        with contextlib.suppress(Boom):
            deleting_then_failing(tx)
        kept = len(tx.timers_of("e1"))
        tx.delete_execution_timers("e1")
        return kept

    assert await store.run(transition) == 1  # the savepoint's delete was undone
    assert await store.read(lambda tx: tx.timers_of("e1")) == []


async def test_sqlite_deletes_no_timers_of_an_execution_read_without_any(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("e1"))
        deletes: list[str] = []

        def transition(tx: Transaction) -> None:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(lambda sql: deletes.append(sql) if sql.startswith("DELETE") else None)
            try:
                tx.get_execution("e1")
                tx.delete_execution_timers("e1")  # as a workflow's close does
            finally:
                tx._conn.set_trace_callback(None)

        await store.run(transition)
        assert deletes == []
    finally:
        await store.close()


async def test_a_link_read_again_in_a_transition_shows_what_the_transition_changed(store: Store) -> None:
    await insert(store, execution("parent"), execution("child"))

    def transition(tx: Transaction) -> list[LinkRow | None]:
        tx.get_execution("parent")
        tx.get_execution("child")
        seen = [tx.get_link("parent"), tx.get_link("child")]
        tx.mark_parent("parent")
        tx.insert_link(LinkRow("child", None, 1, "parent", 3, "cancel"))
        return [*seen, tx.get_link("parent"), tx.get_link("child")]

    before_parent, before_child, parent, child = await store.run(transition)
    assert before_parent is None
    assert before_child is None
    assert parent is not None
    assert parent.has_children
    assert child == LinkRow("child", None, 1, "parent", 3, "cancel")


async def test_a_link_written_in_a_savepoint_that_fails_reads_as_before_it(store: Store) -> None:
    await insert(store, execution("child"))

    def linking_then_failing(tx: Transaction) -> LinkRow | None:
        with tx.savepoint():
            tx.insert_link(LinkRow("child", None, 1, "parent", 3, "cancel"))
            tx.get_execution("child")  # read after the link was written: with it
            raise Boom(tx.get_link("child"))

    def transition(tx: Transaction) -> list[LinkRow | None]:
        try:
            linking_then_failing(tx)
        except Boom as failed:
            inside = failed.args[0]
        return [inside, tx.get_link("child")]

    inside, after = await store.run(transition)
    assert inside == LinkRow("child", None, 1, "parent", 3, "cancel")
    assert after is None


async def test_sqlite_reads_an_executions_link_with_it(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("child"))
        await store.run(lambda tx: tx.insert_link(LinkRow("child", None, 1, "parent", 3, "cancel")))
        reads: list[str] = []

        def transition(tx: Transaction) -> LinkRow | None:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(lambda sql: reads.append(sql) if sql.startswith("SELECT") else None)
            try:
                tx.get_execution("child")
                return tx.get_link("child")  # as a workflow's close does
            finally:
                tx._conn.set_trace_callback(None)

        assert await store.run(transition) == LinkRow("child", None, 1, "parent", 3, "cancel")
        assert len(reads) == 1
    finally:
        await store.close()
