"""Within one transition every read sees that transition's own writes, and a savepoint undoes them all.

The engine leans on this: a completion queues a workflow task that the local worker leases,
runs and finishes in the same transition, and a scheduled activity is started right away.
"""

from __future__ import annotations

import contextlib
import dataclasses

import pytest

from tether.errors import UsageError
from tether.model import notifications
from tether.model.events import EventType
from tether.store.base import Store, Touches, Transaction
from tether.store.rows import ActivityTaskRow, LinkRow, OutboxRow, TimerRow
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
        held = tx.holds_workflow_task("e1", "w1", 1_000)
        return claimed, held, tx.finish_workflow_task("e1", "w1", 1_000)

    assert await store.run(transition) == (True, True, True)
    assert await store.read(lambda tx: tx.has_ready_work(10_000, [WF], [ACT])) is False
    assert await claim(store, now_ms=10_000) == []


async def test_task_queued_and_claimed_in_one_transition_stays_leased_after_it(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> bool:
        tx.enqueue_workflow_task("e1", 10)
        return tx.claim_workflow_task("e1", now_ms=10, owner="w1", lease_until_ms=1_000, workflows=[WF])

    assert await store.run(transition) is True
    assert await holds(store, "e1", "w1", 1_000) is True
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
    assert await holds(store, "e1", "w1", 1_010) is True
    assert await store.run(lambda tx: tx.finish_workflow_task("e1", "w1", 1_010)) is True
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
    assert await holds(store, "e1", "w1", 1_000) is False, "the claim in the savepoint is undone"
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
        finished = tx.finish_workflow_task("e1", "w1", 1_010)
        tx.enqueue_workflow_task("e1", 20)
        return finished

    assert await store.run(transition) is True
    assert await holds(store, "e1", "w1", 1_010) is False
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


def closed_in_a_failing_savepoint(tx: Transaction, *, then_arm_a_timer: bool = False) -> None:
    """As a workflow step run inline does: close the execution read before it, then fail."""

    def body() -> None:
        with tx.savepoint():
            tx.update_execution("e1", status="completed", closed_at_ms=5_000, result='"done"')
            tx.update_execution("e1", task_error="a second change of the same row")
            if then_arm_a_timer:
                tx.arm_timer(TimerRow("e1", "sleep", 1, 0, 9_000))
            raise Boom

    with pytest.raises(Boom):
        body()


def status_of(tx: Transaction) -> tuple[str, str | None, int | None, str | None]:
    row = tx.get_execution("e1")
    assert row is not None
    return row.status, row.result, row.closed_at_ms, row.task_error


@pytest.mark.parametrize("then_arm_a_timer", [False, True], ids=["updates only", "then a write"])
async def test_an_execution_read_then_closed_in_a_savepoint_that_fails_reads_as_before_it(
    store: Store, then_arm_a_timer: bool
) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> tuple[object, ...]:
        tx.get_execution("e1")
        closed_in_a_failing_savepoint(tx, then_arm_a_timer=then_arm_a_timer)
        return status_of(tx)

    assert await store.run(transition) == ("running", None, None, None)
    assert await store.read(status_of) == ("running", None, None, None)
    assert await store.read(lambda tx: tx.next_timer_due_ms()) is None


async def test_an_execution_closed_in_a_nested_savepoint_is_reopened_when_the_enclosing_one_fails(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> tuple[object, ...]:
        tx.get_execution("e1")

        def body() -> None:
            with tx.savepoint():
                with tx.savepoint():
                    tx.update_execution("e1", status="completed", closed_at_ms=5_000)
                raise Boom

        with pytest.raises(Boom):
            body()
        return status_of(tx)

    assert await store.run(transition) == ("running", None, None, None)
    assert await store.read(status_of) == ("running", None, None, None)


async def test_an_execution_closed_in_a_savepoint_that_held_is_kept_when_a_later_one_fails(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> None:
        tx.get_execution("e1")
        with tx.savepoint():
            tx.update_execution("e1", status="completed", closed_at_ms=5_000, result='"done"')

        def body() -> None:
            with tx.savepoint():
                tx.update_execution("e1", task_error="undone")
                raise Boom

        with pytest.raises(Boom):
            body()

    await store.run(transition)
    assert await store.read(status_of) == ("completed", '"done"', 5_000, None)


async def test_sqlite_a_savepoint_that_only_updates_executions_it_read_is_never_sent(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("e1"))
        sent: list[str] = []

        def transition(tx: Transaction) -> None:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(sent.append)
            try:
                tx.get_execution("e1")
                closed_in_a_failing_savepoint(tx)
                tx.get_execution("e1")  # read again, as the rollback left it
                with tx.savepoint():
                    tx.update_execution("e1", status="completed", closed_at_ms=6_000)
            finally:
                tx._conn.set_trace_callback(None)

        await store.run(transition)
        assert [s for s in sent if s.split()[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK")] == []
        assert [s.split()[0] for s in sent].count("UPDATE") == 5  # two, undone by two, then the one kept
        assert await store.read(status_of) == ("completed", None, 6_000, None)
    finally:
        await store.close()


def waiting_notice(url: str) -> OutboxRow:
    return OutboxRow(
        delivery_id=f"d-{url}", execution_id="e1", activity_id=1, attempt=1, event=notifications.WAITING, url=url,
        payload="{}", state="pending", tries=0, next_try_at_ms=0, last_error=None, created_at_ms=1, updated_at_ms=None,
    )  # fmt: skip


async def test_an_activity_announced_as_waiting_after_it_was_read_has_its_urls(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1))

    def transition(tx: Transaction) -> list[list[str]]:
        tx.get_activity("e1", 1)  # read before any announcement
        before = tx.outbox_urls("e1", 1, notifications.WAITING)
        tx.insert_outbox([waiting_notice("http://a")])
        return [before, tx.outbox_urls("e1", 1, notifications.WAITING)]

    assert await store.run(transition) == [[], ["http://a"]]
    later = await store.run(lambda tx: [tx.get_activity("e1", 1), tx.outbox_urls("e1", 1, notifications.WAITING)][1])
    assert later == ["http://a"]


async def test_sqlite_reads_whether_an_activity_was_announced_with_it(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("e1"))
        await insert_activity(store, activity("e1", 1), activity("e1", 2))
        await store.run(lambda tx: tx.insert_outbox([dataclasses.replace(waiting_notice("http://b"), activity_id=2)]))
        reads: list[str] = []

        def transition(tx: Transaction) -> list[list[str]]:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(lambda sql: reads.append(sql) if "FROM outbox" in sql else None)
            try:
                tx.get_activity("e1", 1)
                tx.get_activity("e1", 2)
                return [tx.outbox_urls("e1", 1, notifications.WAITING), tx.outbox_urls("e1", 2, notifications.WAITING)]
            finally:
                tx._conn.set_trace_callback(None)

        assert await store.run(transition) == [[], ["http://b"]]
        assert [sql for sql in reads if sql.startswith("SELECT DISTINCT url")] == [  # only for the one announced
            "SELECT DISTINCT url FROM outbox WHERE execution_id = 'e1' AND activity_id = 2 "
            "AND event = 'activity.waiting' ORDER BY url"
        ]
    finally:
        await store.close()


def closing_touches() -> Touches:
    """What a completion of activity 1 says ahead when its workflow awaits nothing else."""
    return Touches("e1", 1, reads_open_activities=True)


async def with_three_activities(store: Store) -> None:
    await insert(store, execution("e1"))
    await insert_activity(store, activity("e1", 1), activity("e1", 2), activity("e1", 3, closed_at_ms=1_500))


async def test_open_activities_said_ahead_show_what_the_transition_closed_changed_and_reopened(store: Store) -> None:
    await with_three_activities(store)

    def transition(tx: Transaction) -> list[list[tuple[int, str]]]:
        seen = []
        row = tx.get_activity("e1", 1)
        assert row is not None
        assert row.state == "scheduled"
        seen.append([(a.activity_id, a.state) for a in tx.open_activities("e1")])
        tx.update_activity("e1", 1, state="completed", closed_at_ms=5_000, result="1")
        tx.update_activity("e1", 2, state="running", attempt=2, worker="w1")
        seen.append([(a.activity_id, a.state) for a in tx.open_activities("e1")])
        tx.update_activity("e1", 3, state="scheduled", closed_at_ms=None)
        seen.append([(a.activity_id, a.state) for a in tx.open_activities("e1")])
        return seen

    assert await store.run(transition, touches=closing_touches) == [
        [(1, "scheduled"), (2, "scheduled")],
        [(2, "running")],
        [(2, "running"), (3, "scheduled")],
    ]
    after = await store.read(lambda tx: [(a.activity_id, a.attempt) for a in tx.open_activities("e1")])
    assert after == [(2, 2), (3, 1)]


async def test_open_activities_said_ahead_include_one_the_transition_created(store: Store) -> None:
    await with_three_activities(store)

    def transition(tx: Transaction) -> list[list[int]]:
        tx.get_activity("e1", 1)
        tx.insert_activity(activity("e1", 4))
        first = [a.activity_id for a in tx.open_activities("e1")]
        return [first, [a.activity_id for a in tx.open_activities("e1")]]  # the second, once it was written

    assert await store.run(transition, touches=closing_touches) == [[1, 2, 4], [1, 2, 4]]

    def created_first(tx: Transaction) -> list[int]:
        tx.insert_activity(activity("e1", 5))
        tx.get_activity("e1", 1)  # a store that reads them ahead reads them here, before the new one is written
        tx.open_activities("e2")  # writes what is held back
        return [a.activity_id for a in tx.open_activities("e1")]

    await insert(store, execution("e2"))
    assert await store.run(created_first, touches=closing_touches) == [1, 2, 4, 5]


async def test_sqlite_reads_open_activities_through_their_index_not_all_of_an_executions(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("e1"))
        await insert_activity(
            store, *(activity("e1", i, closed_at_ms=1_500) for i in range(1, 200)), activity("e1", 200)
        )
        steps: list[str] = []

        def transition(tx: Transaction) -> list[list[int]]:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(steps.append)
            try:
                tx.get_activity("e1", 1)
                before = [a.activity_id for a in tx.open_activities("e1")]
                tx.insert_activity(activity("e1", 201))
                return [before, [a.activity_id for a in tx.open_activities("e1")]]
            finally:
                tx._conn.set_trace_callback(None)

        assert await store.run(transition, touches=closing_touches) == [[200], [200, 201]]
        reads = [sql for sql in steps if "closed_at_ms IS NULL" in sql]
        assert len(reads) == 2
        conn = store._conn
        assert conn is not None
        for sql in reads:
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING INDEX activities_open" in plan, plan
    finally:
        await store.close()


async def test_sqlite_reads_an_activitys_execution_with_it(sqlite_url: str) -> None:
    store = await SQLiteStore.open(sqlite_url)
    try:
        await insert(store, execution("e1"))
        await insert_activity(store, activity("e1", 1))
        await append(store, "e1", [(EventType.WORKFLOW_STARTED, "{}")])
        await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "workflow", 0, 0, 9_000)))
        await store.run(lambda tx: tx.insert_link(LinkRow("e1", None, 1, "parent", 3, "cancel")))
        await store.run(lambda tx: tx.enqueue_workflow_task("e1", 10))
        reads: list[str] = []

        def transition(tx: Transaction) -> tuple[object, ...]:
            assert isinstance(tx, SQLiteTransaction)
            tx._conn.set_trace_callback(lambda sql: reads.append(sql) if sql.startswith("SELECT") else None)
            try:
                tx.get_activity("e1", 1)  # as a call by token does, then its execution
                row = tx.get_execution("e1")
                assert row is not None
                return (
                    row.status,
                    row.last_seq,
                    tx.get_link("e1"),
                    tx.claim_workflow_task("e1", now_ms=10, owner="w1", lease_until_ms=1_000, workflows=[WF]),
                )
            finally:
                tx._conn.set_trace_callback(None)

        assert await store.run(transition) == ("running", 1, LinkRow("e1", None, 1, "parent", 3, "cancel"), True)
        assert len(reads) == 1
    finally:
        await store.close()
