"""Terminating an execution: closed at once without running its code, everything it holds closed with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, box, post, post_context, result_of, snapshot
from tests.helpers.workflows import TOKENS, new_id, types_of
from tether.errors import ActivityAlreadyClosed, ActivityCancelled, ExecutionClosed, ExecutionNotFound
from tether.model.events import Command, EventType
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)


@tether.activity
async def tm_approval(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.activity(heartbeat=HEARTBEAT)
async def tm_working(job: str) -> str:
    post_context()
    await box().wait_for_gate()
    try:
        await tether.heartbeat("after the gate")
    except ActivityCancelled:
        post("saw cancellation")
        raise
    return "finished without noticing"


@tether.workflow
async def tm_waits_for_approval(order: str) -> list[Any]:
    return list(await asyncio.gather(tm_approval(order), tether.sleep(timedelta(days=1))))


@tether.workflow
async def tm_sleeps() -> str:
    await tether.sleep(timedelta(days=3))
    return "woke"


@tether.workflow
async def tm_quick() -> str:
    return "done"


@tether.workflow
async def tm_long_running() -> str:
    return await tm_working("job")


def environment() -> TestEnvironment:
    return TestEnvironment(
        workflows=[tm_waits_for_approval, tm_sleeps, tm_quick, tm_long_running], activities=[tm_approval, tm_working]
    )


async def timers_of(env: TestEnvironment, execution_id: str) -> list[Any]:
    return await env.engine.store.read(lambda tx: tx.timers_of(execution_id))


async def test_terminate_while_an_activity_waits_for_its_token_refuses_the_token_afterwards() -> None:
    async with environment() as env:
        execution_id = new_id("terminate")
        handle = await env.client.start_workflow(tm_waits_for_approval, "o-1", id=execution_id)
        token = await TOKENS.get(execution_id)
        await env.wait_for_idle()

        await env.client.terminate(execution_id, reason="stuck on a bad input")

        with pytest.raises(tether.errors.WorkflowTerminated) as terminated:
            await result_of(handle)
        assert terminated.value.reason == "stuck on a bad input"
        history = await env.client.history(execution_id)
        assert types_of(history)[-2:] == ["ActivityCancelled", "WorkflowTerminated"]
        assert history[-1].data == {"reason": "stuck on a bad input"}
        assert history[-2].data["reason"] == "its workflow was terminated: stuck on a bad input"
        for call in (
            env.client.complete_activity(token, "too late"),
            env.client.heartbeat_activity(token),
            env.client.fail_activity(token, error="Late"),
        ):
            with pytest.raises(ActivityAlreadyClosed) as closed:
                await call
            assert closed.value.final_state == "cancelled"
        assert await env.client.history(execution_id) == history


async def test_terminated_execution_is_described_as_terminated_with_its_reason() -> None:
    async with environment() as env:
        execution_id = new_id("terminate")
        await env.client.start_workflow(tm_waits_for_approval, "o-2", id=execution_id)
        await TOKENS.get(execution_id)
        await env.wait_for_idle()

        await env.client.get_handle(execution_id).terminate(reason="operator said so")

        description = await env.client.describe(execution_id)
        assert description.status == tether.WorkflowStatus.TERMINATED
        assert description.closed_at == env.clock.now()
        assert description.error is not None
        assert (description.error["error"], description.error["message"]) == ("WorkflowTerminated", "operator said so")
        assert description.pending_activities == []
        listed = await env.client.list_workflows(status="terminated")
        assert [row.id for row in listed] == [execution_id]


async def test_terminate_drops_the_sleeping_timers() -> None:
    async with environment() as env:
        execution_id = new_id("terminate")
        handle = await env.client.start_workflow(tm_sleeps, id=execution_id)
        await env.wait_for_idle()
        assert len(await timers_of(env, execution_id)) == 1

        await env.client.terminate(execution_id)

        assert await timers_of(env, execution_id) == []
        history = await env.client.history(execution_id)
        await env.advance(timedelta(days=4))
        assert await env.client.history(execution_id) == history
        assert "TimerFired" not in types_of(history)
        with pytest.raises(tether.errors.WorkflowTerminated) as terminated:
            await result_of(handle)
        assert terminated.value.reason == ""


async def test_terminating_twice_is_refused_as_closed_and_changes_nothing() -> None:
    async with environment() as env:
        execution_id = new_id("terminate")
        await env.client.start_workflow(tm_sleeps, id=execution_id)
        await env.wait_for_idle()
        await env.client.terminate(execution_id, reason="first")
        before = await snapshot(env.client, execution_id)

        with pytest.raises(ExecutionClosed) as closed:
            await env.client.terminate(execution_id, reason="second")

        assert (closed.value.execution_id, closed.value.status) == (execution_id, "terminated")
        assert await snapshot(env.client, execution_id) == before


async def test_terminating_a_completed_execution_is_refused_naming_its_status() -> None:
    async with environment() as env:
        execution_id = new_id("terminate")
        handle = await env.client.start_workflow(tm_quick, id=execution_id)
        assert await result_of(handle) == "done"
        before = await snapshot(env.client, execution_id)

        with pytest.raises(ExecutionClosed) as closed:
            await env.client.terminate(execution_id, reason="too late")

        assert closed.value.status == "completed"
        assert await snapshot(env.client, execution_id) == before
        assert await handle.result() == "done"


async def test_terminating_an_unknown_execution_is_not_found() -> None:
    async with environment() as env:
        with pytest.raises(ExecutionNotFound):
            await env.client.terminate("no-such-execution", reason="x")


async def test_terminate_stops_a_running_in_process_activity_at_its_next_heartbeat() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(tm_long_running, id=mailbox.id)
        await mailbox.context()

        await env.client.terminate(mailbox.id, reason="runaway")
        with pytest.raises(tether.errors.WorkflowTerminated):
            await result_of(handle)
        mailbox.open_gate()

        assert await mailbox.get() == "saw cancellation"
        await env.wait_for_idle()
        history = await env.client.history(mailbox.id)
        assert types_of(history)[-1] == "WorkflowTerminated"


@pytest.mark.parametrize("outcome", ["completed", "failed"])
async def test_a_worker_holding_the_workflow_task_records_nothing_after_terminate(outcome: str) -> None:
    async with environment() as env:
        execution_id = new_id("terminate")
        # A workflow no worker here runs: its task stays queued for the lease taken below.
        await env.engine.start_workflow(execution_id, "tm.unserved", "[]")
        (task,) = await env.engine.claim_workflow_tasks(
            owner="slow-worker", workflows_=["tm.unserved"], limit=1, lease_ms=60_000, cached_seq={}
        )

        await env.client.terminate(execution_id, reason="while its task ran")
        history = await env.client.history(execution_id)

        if outcome == "completed":
            recorded = await env.engine.complete_workflow_task(
                execution_id=execution_id, owner="slow-worker", leased_until_ms=task.leased_until_ms,
                seen_seq=task.events[-1].seq, task_now_ms=env.clock.now_ms(),
                commands=[Command(EventType.WORKFLOW_COMPLETED, {"result": 1})],
            )  # fmt: skip
            assert recorded is None
        else:
            await env.engine.fail_workflow_task(
                execution_id=execution_id, owner="slow-worker", leased_until_ms=task.leased_until_ms,
                error={"error": "Boom", "message": "", "details": None},
            )  # fmt: skip

        assert await env.client.history(execution_id) == history
        description = await env.client.describe(execution_id)
        assert (description.status, description.task_error) == (tether.WorkflowStatus.TERMINATED, None)
        assert history[-1].data == {"reason": "while its task ran"}
