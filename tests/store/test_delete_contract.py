"""The store contract for removing executions: ``delete_executions`` and ``expired_executions``, on every backend."""

from __future__ import annotations

from typing import Any

from tether.model.events import EventType
from tether.store.base import Store, Transaction
from tether.store.rows import ActivityTaskRow, TimerRow

from .test_store_contract import WF, activity, execution, insert


def everything_of(execution_id: str) -> Any:
    def read(tx: Transaction) -> dict[str, Any]:
        return {
            "execution": tx.get_execution(execution_id) is not None,
            "events": len(tx.load_events(execution_id)),
            "activity": tx.get_activity(execution_id, 1) is not None,
            "timers": len(tx.timers_of(execution_id)),
            "closed_among": tx.closed_among([execution_id]),
            "published": len(tx.published_values(execution_id)),
        }

    return read


def fill(execution_id: str) -> Any:
    def transition(tx: Transaction) -> None:
        tx.append_events(execution_id, [(EventType.WORKFLOW_STARTED, "{}"), (EventType.TIMER_STARTED, "{}")], 1_000)
        tx.insert_activity(activity(execution_id, 1))
        tx.update_activity(execution_id, 1, inbox=True, inbox_note='{"title": "t"}')
        tx.arm_timer(TimerRow(execution_id, "sleep", 1, 0, 5_000))
        tx.enqueue_workflow_task(execution_id, 1_000)
        tx.enqueue_activity_task(ActivityTaskRow(execution_id, 1, 1, "contract.activity"))
        tx.publish_value(execution_id, "progress", '{"done":1}', 1_000)

    return transition


async def test_delete_executions_removes_every_row_of_the_named_executions_only(store: Store) -> None:
    await insert(store, execution("gone"), execution("kept"))
    await store.run(fill("gone"))
    await store.run(fill("kept"))
    kept = await store.read(everything_of("kept"))

    await store.run(lambda tx: tx.delete_executions(["gone", "never-was"]))

    assert await store.read(everything_of("gone")) == {
        "execution": False, "events": 0, "activity": False, "timers": 0, "closed_among": [], "published": 0,
    }  # fmt: skip
    assert await store.read(everything_of("kept")) == kept
    assert await store.read(lambda tx: tx.inbox_note("gone", 1)) is None
    claimed = await store.run(
        lambda tx: tx.claim_workflow_tasks(now_ms=2_000, owner="w", lease_until_ms=9_000, workflows=[WF], limit=10)
    )
    assert claimed == ["kept"]
    attempts = await store.run(lambda tx: tx.claim_activity_tasks(activities=["contract.activity"], limit=10))
    assert [a.execution_id for a in attempts] == ["kept"]


async def test_what_a_transition_wrote_before_its_delete_is_deleted_too_and_reads_after_it_see_nothing(
    store: Store,
) -> None:
    await insert(store, execution("fresh"))

    def transition(tx: Transaction) -> Any:
        tx.get_execution("fresh")
        fill("fresh")(tx)
        tx.delete_executions(["fresh"])
        return tx.get_execution("fresh"), tx.load_events("fresh"), tx.get_activity("fresh", 1)

    assert await store.run(transition) == (None, [], None)
    left = await store.read(everything_of("fresh"))
    assert (left["events"], left["published"]) == (0, 0)


async def test_a_deleted_id_may_be_inserted_again_with_a_history_of_its_own(store: Store) -> None:
    await insert(store, execution("again"))
    await store.run(fill("again"))
    await store.run(lambda tx: tx.delete_executions(["again"]))

    await insert(store, execution("again"))
    last = await store.run(lambda tx: tx.append_events("again", [(EventType.WORKFLOW_STARTED, "{}")], 3_000))

    assert last == 1


async def test_expired_executions_are_those_closed_before_the_time_oldest_first_up_to_the_limit(store: Store) -> None:
    rows = {
        "closed-3": ("completed", 3_000),
        "closed-1": ("failed", 1_000),
        "closed-2": ("terminated", 2_000),
        "closed-late": ("completed", 9_000),
        "continued": ("continued", 500),
        "running": ("running", None),
    }
    await insert(store, *(execution(i) for i in rows))

    def close(tx: Transaction) -> None:
        for execution_id, (status, closed_at) in rows.items():
            tx.update_execution(execution_id, status=status, closed_at_ms=closed_at)

    await store.run(close)

    everything = await store.run(lambda tx: tx.expired_executions(5_000, 10))
    two = await store.run(lambda tx: tx.expired_executions(5_000, 2))
    read_only = await store.read(lambda tx: tx.expired_executions(2_000, 10))

    assert everything == ["closed-1", "closed-2", "closed-3"]
    assert two == ["closed-1", "closed-2"]
    assert read_only == ["closed-1"]
