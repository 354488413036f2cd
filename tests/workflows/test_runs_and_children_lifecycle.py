"""Terminate, delete and retention on executions with several runs and on parents with children."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import TOKENS, new_id
from tether.errors import ActivityAlreadyClosed, ExecutionNotClosed, ExecutionNotFound, WorkflowTerminated
from tether.testing import TestEnvironment


@tether.workflow
async def rc_loop(turn: int, last: int) -> int:
    await tether.sleep(timedelta(hours=1))
    if turn < last:
        tether.continue_as_new(turn + 1, last)
    return turn


@tether.activity
async def rc_wait(name: str) -> str:
    TOKENS.put(name, tether.context().token)
    return tether.make_async()


@tether.workflow
async def rc_child(name: str) -> str:
    return await rc_wait(name)


@tether.workflow
async def rc_parent(name: str) -> str:
    return await tether.run_workflow(rc_child, name, id=name)


async def runs_of(env: TestEnvironment, execution_id: str, count: int) -> list[bool]:
    found = []
    for run in range(1, count + 1):
        try:
            await env.client.describe(execution_id, run=run)
        except ExecutionNotFound:
            found.append(False)
        else:
            found.append(True)
    return found


async def test_delete_takes_every_run_and_the_id_starts_afresh() -> None:
    async with TestEnvironment(workflows=[rc_loop]) as env:
        execution_id = new_id("rc")
        handle = await env.client.start_workflow(rc_loop, 1, 3, id=execution_id)
        await env.advance(timedelta(hours=1, minutes=30))
        with pytest.raises(ExecutionNotClosed):  # its latest run still runs
            await env.client.delete(execution_id)
        assert await runs_of(env, execution_id, 2) == [True, True]

        assert await handle.result() == 3
        await env.client.delete(execution_id)
        assert await runs_of(env, execution_id, 3) == [False, False, False]

        again = await env.client.start_workflow(rc_loop, 5, 5, id=execution_id)
        assert await again.result() == 5
        fresh = await env.client.describe(execution_id)
        assert (fresh.run, fresh.input, fresh.previous_run_id) == (1, [5, 5], None)


async def test_terminate_ends_the_latest_run() -> None:
    async with TestEnvironment(workflows=[rc_loop]) as env:
        execution_id = new_id("rc")
        handle = await env.client.start_workflow(rc_loop, 1, 10, id=execution_id)
        await env.advance(timedelta(hours=2, minutes=30))
        await env.client.terminate(execution_id, reason="enough")
        with pytest.raises(WorkflowTerminated) as ended:
            await handle.result()
        assert ended.value.reason == "enough"
        latest = await env.client.describe(execution_id)
        assert (latest.run, latest.status) == (3, "terminated")
        assert (await env.client.describe(execution_id, run=2)).status == "continued"


async def test_terminating_a_parent_cancels_its_child_and_refuses_the_child_token() -> None:
    async with TestEnvironment(workflows=[rc_parent, rc_child], activities=[rc_wait]) as env:
        parent_id, child_id = new_id("rc-parent"), new_id("rc-child")
        handle = await env.client.start_workflow(rc_parent, child_id, id=parent_id)
        token = await TOKENS.get(child_id)
        await env.client.terminate(parent_id, reason="stop everything")
        with pytest.raises(WorkflowTerminated):
            await handle.result()
        await env.wait_for_idle()
        assert (await env.client.describe(child_id)).status == "cancelled"
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.complete_activity(token, "late")


async def test_a_terminated_child_fails_its_parent_with_the_cause() -> None:
    @tether.workflow(name="rc_parent_catches")
    async def parent(name: str) -> str:
        try:
            return await tether.run_workflow(rc_child, name, id=name)
        except tether.errors.ChildWorkflowFailed as failed:
            return f"{failed.cause['code']}: {failed.cause['message']}"

    async with TestEnvironment(workflows=[parent, rc_child], activities=[rc_wait]) as env:
        child_id = new_id("rc-child")
        handle = await env.client.start_workflow(parent, child_id, id=new_id("rc"))
        await TOKENS.get(child_id)
        await env.client.terminate(child_id, reason="bad input")
        assert await handle.result() == "workflow_terminated: bad input"


async def test_retention_removes_old_runs_of_a_chain_that_goes_on_but_keeps_its_first() -> None:
    async with TestEnvironment(workflows=[rc_loop], retention=timedelta(hours=2)) as env:
        execution_id = new_id("rc")
        await env.client.start_workflow(rc_loop, 1, 100, id=execution_id)
        await env.advance(timedelta(hours=6, minutes=30))
        latest = await env.client.describe(execution_id)
        assert (latest.run, latest.status) == (7, "running")
        # Runs 2 to 4 closed over two hours ago; the first names the chain and stays while it goes on.
        assert await runs_of(env, execution_id, 7) == [True, False, False, False, True, True, True]
        await env.client.terminate(execution_id, reason="done")
        await env.advance(timedelta(hours=3))
        with pytest.raises(ExecutionNotFound):
            await env.client.describe(execution_id)
        assert await runs_of(env, execution_id, 7) == [False] * 7
