"""The store contract for the web UI's reads: executions by id prefix, and activities waiting in their async state."""

from __future__ import annotations

import pytest

from tether.store.base import Store, Transaction
from tether.store.rows import ActivityRow, ExecutionRow


def execution(execution_id: str, workflow: str = "wf", created_at_ms: int = 1) -> ExecutionRow:
    return ExecutionRow(execution_id, workflow, "running", "[]", None, None, created_at_ms, None, False, None, 0)


def activity(execution_id: str, activity_id: int, name: str = "act") -> ActivityRow:
    return ActivityRow(
        execution_id, activity_id, name, "scheduled", 1, "[]", "{}", 1, None, None, None, None, None, False, False,
        None, None,
    )  # fmt: skip


async def test_list_executions_by_id_prefix(store: Store) -> None:
    ids = ["order-1", "order-10", "order/2", "orders", "other", "ordeR-3", "order-\U0001f600"]

    def insert(tx: Transaction) -> None:
        for index, execution_id in enumerate(ids):
            assert tx.insert_execution(execution(execution_id, created_at_ms=index))

    await store.run(insert)

    async def listed(prefix: str) -> list[str]:
        rows = await store.read(
            lambda tx: tx.list_executions(status=None, workflow=None, limit=50, offset=0, id_prefix=prefix)
        )
        return [row.id for row in rows]

    assert await listed("order-") == ["order-\U0001f600", "order-10", "order-1"]
    assert await listed("order") == ["order-\U0001f600", "orders", "order/2", "order-10", "order-1"]
    assert await listed("nothing") == []


@pytest.mark.parametrize("inbox_only", [False, True])
async def test_waiting_activities_are_async_ones_longest_waiting_first(store: Store, inbox_only: bool) -> None:
    def arrange(tx: Transaction) -> None:
        tx.insert_execution(execution("e1", "orders.fulfil"))
        tx.insert_execution(execution("e2", "billing.charge"))
        for execution_id, activity_id, state, started, inbox in [
            ("e1", 1, "async", 300, True),
            ("e1", 2, "running", 100, True),
            ("e2", 1, "async", 200, False),
            ("e2", 2, "async", 100, True),
            ("e2", 3, "completed", 50, True),
        ]:
            tx.insert_activity(activity(execution_id, activity_id))
            tx.update_activity(execution_id, activity_id, state=state, attempt_started_at_ms=started, inbox=inbox)

    await store.run(arrange)

    found = await store.read(lambda tx: tx.waiting_activities(inbox_only=inbox_only, limit=10, offset=0))
    orders = await store.read(
        lambda tx: tx.waiting_activities(inbox_only=inbox_only, limit=10, offset=0, workflow_patterns=["orders.*"])
    )
    paged = await store.read(lambda tx: tx.waiting_activities(inbox_only=inbox_only, limit=1, offset=1))

    expected = [("e2", 2), ("e1", 1)] if inbox_only else [("e2", 2), ("e2", 1), ("e1", 1)]
    assert [(row.execution_id, row.activity_id) for row, _, _ in found] == expected
    assert {workflow for _, workflow, _ in found} == {"orders.fulfil", "billing.charge"}
    assert [(row.execution_id, row.activity_id) for row, _, _ in orders] == [("e1", 1)]
    assert [(row.execution_id, row.activity_id) for row, _, _ in paged] == expected[1:2]


async def test_waiting_activities_of_one_workflow_or_one_activity_name(store: Store) -> None:
    def arrange(tx: Transaction) -> None:
        tx.insert_execution(execution("e1", "orders.fulfil"))
        tx.insert_execution(execution("e2", "orders.fulfil_v2"))
        tx.insert_execution(execution("e3", "orders_fulfil"))
        for execution_id, activity_id, name, started in [
            ("e1", 1, "approve", 300),
            ("e1", 2, "approve_v2", 100),
            ("e2", 1, "approve", 200),
            ("e3", 1, "approve", 50),
        ]:
            tx.insert_activity(activity(execution_id, activity_id, name))
            tx.update_activity(execution_id, activity_id, state="async", attempt_started_at_ms=started)

    await store.run(arrange)

    async def waiting(**filters: str) -> list[tuple[str, int]]:
        rows = await store.read(lambda tx: tx.waiting_activities(inbox_only=False, limit=10, offset=0, **filters))
        return [(row.execution_id, row.activity_id) for row, _, _ in rows]

    assert await waiting(workflow="orders.fulfil") == [("e1", 2), ("e1", 1)]  # '.' and '_' match themselves only
    assert await waiting(name="approve") == [("e3", 1), ("e2", 1), ("e1", 1)]
    assert await waiting(workflow="orders.fulfil", name="approve") == [("e1", 1)]
    assert await waiting(workflow="orders.*") == []  # a name, not a pattern
