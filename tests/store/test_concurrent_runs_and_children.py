"""Continue-as-new and child workflows under contention on PostgreSQL, with the interleavings forced.

Each test makes transitions of separate connections queue behind a third connection that
holds an execution's row lock, in a chosen order, then lets them go: what they read must be
what the ones before them committed.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tests.helpers.workflows import new_id
from tests.store.test_concurrent_stores import wait_for_lock_waits
from tether.engine.engine import Engine
from tether.engine.workflows import WorkflowTask
from tether.model.clock import VirtualClock
from tether.model.events import Command, EventType
from tether.store.postgres.store import PostgresStore

pytestmark = pytest.mark.postgres


async def claim(engine: Engine, workflow: str, execution_id: str) -> WorkflowTask:
    """Lease the workflow task of ``execution_id`` (others of ``workflow`` that come along are released)."""
    tasks = await engine.claim_workflow_tasks(
        owner="w", workflows_=[workflow], limit=20, lease_ms=60_000, cached_seq={}
    )
    found = [task for task in tasks if task.execution_id == execution_id]
    for task in tasks:
        if task.execution_id != execution_id:
            await engine.release_workflow_task(task.execution_id, "w", task.leased_until_ms)
    assert found, f"no task of {execution_id} was ready"
    return found[0]


async def finish(engine: Engine, task: WorkflowTask, *commands: Command, clock: VirtualClock) -> int | None:
    return await engine.complete_workflow_task(
        execution_id=task.execution_id, owner="w", leased_until_ms=task.leased_until_ms,
        seen_seq=task.events[-1].seq, task_now_ms=clock.now_ms(), commands=list(commands),
    )  # fmt: skip


async def test_a_cancel_queued_behind_a_continue_as_new_reaches_the_next_run(postgres_url: str) -> None:
    clock = VirtualClock()
    worker_store, client_store = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        worker, client = Engine(worker_store, clock), Engine(client_store, clock)
        execution_id = new_id("cc")
        await client.start_workflow(execution_id, "cc.loop", "[0]")
        task = await claim(worker, "cc.loop", execution_id)
        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (execution_id,))
            continued = asyncio.ensure_future(
                finish(worker, task, Command(EventType.WORKFLOW_CONTINUED_AS_NEW, {"args": [1]}), clock=clock)
            )
            await wait_for_lock_waits(postgres_url, 1)
            cancel = asyncio.ensure_future(client.cancel_workflow(execution_id))
            await wait_for_lock_waits(postgres_url, 2)
            holder.commit()
        assert await continued is not None
        await cancel

        first = [e.type for e in await client.history(execution_id, run=1)]
        assert EventType.WORKFLOW_CANCEL_REQUESTED not in first  # it came after this run had ended
        assert first[-1] == EventType.WORKFLOW_CONTINUED_AS_NEW
        latest = await client.describe(execution_id)
        assert (latest.run, latest.cancel_requested, latest.status) == (2, True, "running")
        assert [e.type for e in await client.history(execution_id)] == [
            EventType.WORKFLOW_STARTED, EventType.WORKFLOW_CANCEL_REQUESTED,
        ]  # fmt: skip
    finally:
        await worker_store.close()
        await client_store.close()


async def test_a_child_closing_as_its_parent_closes_tells_it_only_if_it_came_first(postgres_url: str) -> None:
    # The parent's close (which asks its running child to cancel) and the child's close (which
    # tells its running parent) each lock one execution and then the other: PostgreSQL detects
    # the deadlock, one is run again, and either order leaves both histories whole.
    clock = VirtualClock()
    parent_store, child_store = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        parents, children = Engine(parent_store, clock), Engine(child_store, clock)
        parent_id, child_id = new_id("cc-parent"), new_id("cc-child")
        await parents.start_workflow(parent_id, "cc.parent", "[]")
        task = await claim(parents, "cc.parent", parent_id)
        start_child = Command(
            EventType.CHILD_WORKFLOW_STARTED,
            {"child_ref": 1, "name": "cc.child", "id": child_id, "args": [], "parent_close": "cancel"},
        )
        assert await finish(parents, task, start_child, clock=clock) is not None
        child_task = await claim(children, "cc.child", child_id)
        await parents.cancel_workflow(parent_id)
        parent_task = await claim(parents, "cc.parent", parent_id)

        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (parent_id,))
            parent_closes = asyncio.ensure_future(
                finish(parents, parent_task, Command(EventType.WORKFLOW_CANCELLED), clock=clock)
            )
            await wait_for_lock_waits(postgres_url, 1)
            child_closes = asyncio.ensure_future(
                finish(children, child_task, Command(EventType.WORKFLOW_COMPLETED, {"result": "done"}), clock=clock)
            )
            await wait_for_lock_waits(postgres_url, 2)
            holder.commit()
        assert await parent_closes is not None
        assert await child_closes is not None

        parent = await parents.describe(parent_id)
        child = await parents.describe(child_id)
        assert (parent.status, child.status, child.result) == ("cancelled", "completed", "done")
        parent_events = [e.type for e in await parents.history(parent_id)]
        child_events = [e.type for e in await parents.history(child_id)]
        assert parent_events[-1] == EventType.WORKFLOW_CANCELLED
        assert child_events[-1] == EventType.WORKFLOW_COMPLETED
        told = EventType.CHILD_WORKFLOW_CLOSED in parent_events
        asked = EventType.WORKFLOW_CANCEL_REQUESTED in child_events
        assert told != asked, (parent_events, child_events)  # exactly one of them saw the other running
        if told:
            closed = [e for e in await parents.history(parent_id) if e.type == EventType.CHILD_WORKFLOW_CLOSED]
            assert (closed[0].data["status"], closed[0].data["result"]) == ("completed", "done")
    finally:
        await parent_store.close()
        await child_store.close()
