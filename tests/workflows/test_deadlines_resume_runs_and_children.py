"""Workflow deadlines and resume together with continue-as-new and child workflows."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id
from tether.errors import ActivityAlreadyClosed, WorkflowFailed, WorkflowTimedOut
from tether.model.events import EventType
from tether.testing import TestEnvironment


@tether.workflow(timeout=timedelta(hours=5))
async def dr_loop(turn: int) -> int:
    await tether.sleep(timedelta(hours=2))
    tether.continue_as_new(turn + 1)


@tether.workflow(timeout=timedelta(hours=1))
async def dr_slow_child(name: str) -> str:
    await tether.sleep(timedelta(days=1))
    return "too late"


@tether.workflow
async def dr_parent_of_slow(name: str) -> str:
    try:
        return await tether.run_workflow(dr_slow_child, name, id=name)
    except tether.errors.ChildWorkflowFailed as failed:
        return f"{failed.cause['code']} ({failed.cause['status']})"


@tether.activity
async def dr_wait(name: str) -> str:
    TOKENS.put(name, tether.context().token)
    return tether.make_async()


@tether.workflow
async def dr_child(name: str) -> str:
    return await dr_wait(name)


@tether.workflow(timeout=timedelta(hours=1))
async def dr_bounded_parent(name: str) -> str:
    return await tether.run_workflow(dr_child, name, id=name)


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def dr_check(value: str) -> str:
    if value == "bad":
        raise ValueError("bad value")
    return value


@tether.workflow
async def dr_parent_then_fails(name: str) -> str:
    first = await tether.run_workflow(dr_child, name, id=name)
    checked = await dr_check(first)
    return f"{first} {checked}"


async def test_a_deadline_spans_the_runs_of_a_continued_execution() -> None:
    async with TestEnvironment(workflows=[dr_loop]) as env:
        execution_id = new_id("dr")
        handle = await env.client.start_workflow(dr_loop, 0, id=execution_id)
        with pytest.raises(WorkflowTimedOut):
            await handle.result()
        latest = await env.client.describe(execution_id)
        # Runs 1 and 2 slept two hours each; run 3 was asleep when the five hours ran out.
        assert (latest.run, latest.status) == (3, "timed_out")
        assert latest.closed_at is not None
        assert (latest.closed_at - (await env.client.describe(execution_id, run=1)).started_at) == timedelta(hours=5)
        assert latest.deadline is None


async def test_a_child_that_times_out_reaches_its_parent() -> None:
    async with TestEnvironment(workflows=[dr_parent_of_slow, dr_slow_child]) as env:
        child_id = new_id("dr-child")
        handle = await env.client.start_workflow(dr_parent_of_slow, child_id, id=new_id("dr"))
        assert await handle.result() == "workflow_timed_out (timed_out)"
        assert (await env.client.describe(child_id)).status == "timed_out"


async def test_a_parent_that_times_out_cancels_its_child() -> None:
    async with TestEnvironment(workflows=[dr_bounded_parent, dr_child], activities=[dr_wait]) as env:
        child_id = new_id("dr-child")
        handle = await env.client.start_workflow(dr_bounded_parent, child_id, id=new_id("dr"))
        token = await TOKENS.get(child_id)
        with pytest.raises(WorkflowTimedOut):
            await handle.result()
        await env.wait_for_idle()
        assert (await env.client.describe(child_id)).status == "cancelled"
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.complete_activity(token, "late")


async def test_a_resumed_parent_does_not_start_its_child_again() -> None:
    async with TestEnvironment(
        workflows=[dr_parent_then_fails, dr_child], activities=[dr_wait, dr_check], max_cached_workflows=0
    ) as env:
        child_id = new_id("dr-child")
        parent_id = new_id("dr")
        handle = await env.client.start_workflow(dr_parent_then_fails, child_id, id=parent_id)
        assert await env.client.complete_activity(await TOKENS.get(child_id), "bad")
        with pytest.raises(WorkflowFailed):
            await handle.result()

        await env.client.resume(parent_id)
        # The check runs again (a fresh attempt) and fails again: the child is not started again.
        with pytest.raises(WorkflowFailed):
            await env.client.get_handle(parent_id).result()
        assert (await env.client.describe(parent_id)).children == [child_id]
        history = await env.client.history(parent_id)
        assert len(events_of(history, EventType.CHILD_WORKFLOW_STARTED)) == 1
        child_history = await env.client.history(child_id)
        assert len(events_of(child_history, EventType.WORKFLOW_STARTED)) == 1
        assert (await env.client.describe(child_id)).status == "completed"


async def test_a_resumed_parent_hears_of_a_child_that_closed_while_it_was_closed() -> None:
    async with TestEnvironment(workflows=[dr_parent_then_fails, dr_child], activities=[dr_wait, dr_check]) as env:
        child_id, parent_id = new_id("dr-child"), new_id("dr")
        handle = await env.client.start_workflow(dr_parent_then_fails, child_id, id=parent_id)
        token = await TOKENS.get(child_id)
        await env.client.terminate(parent_id, reason="paused by an operator")
        with pytest.raises(tether.errors.WorkflowTerminated):
            await handle.result()
        await env.wait_for_idle()
        assert (await env.client.describe(child_id)).status == "cancelled"  # the parent's close cancelled it
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.complete_activity(token, "good")

        await env.client.resume(parent_id)
        # The child closed (cancelled) while its parent was terminated: the resumed parent hears it.
        with pytest.raises(WorkflowFailed) as failed:
            await env.client.get_handle(parent_id).result()
        assert failed.value.error == "ChildWorkflowFailed"
        closed = events_of(await env.client.history(parent_id), EventType.CHILD_WORKFLOW_CLOSED)
        assert [(e.data["id"], e.data["status"]) for e in closed] == [(child_id, "cancelled")]
