"""Workflow timeouts: @tether.workflow(timeout=...) and start_workflow(timeout=...) end an execution as timed out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id
from tether import errors
from tether.model.clock import to_ms
from tether.model.events import EventType
from tether.testing import TestEnvironment


@tether.activity
async def deadline_wait_for_person(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow(timeout=timedelta(days=30))
async def deadline_approval(order: str) -> str:
    approved: str = await deadline_wait_for_person(order)
    return approved


@tether.workflow(timeout=timedelta(days=30))
async def deadline_sleeps(days: int) -> str:
    await tether.sleep(timedelta(days=days))
    return "woke"


@tether.workflow
async def deadline_none(order: str) -> str:
    approved: str = await deadline_wait_for_person(order)
    return approved


WORKFLOWS: list[tether.Workflow[..., Any]] = [deadline_approval, deadline_sleeps, deadline_none]


def env() -> TestEnvironment:
    return TestEnvironment(workflows=WORKFLOWS, activities=[deadline_wait_for_person])


async def test_workflow_timeout_fires_at_its_deadline_and_closes_what_is_open() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(deadline_approval, "o-1", id=new_id("timeout"))
        token = await TOKENS.get(handle.id)
        assert (await handle.describe()).deadline == start + timedelta(days=30)

        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()

        assert e.clock.now() == start + timedelta(days=30)
        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.TIMED_OUT
        assert description.closed_at == start + timedelta(days=30)
        assert description.error is not None
        assert description.error["error"] == "WorkflowTimedOut"
        assert description.pending_activities == []
        assert description.deadline is None
        history = await handle.history()
        assert history[-1].type == EventType.WORKFLOW_TIMED_OUT
        assert history[-1].at == start + timedelta(days=30)
        cancelled = events_of(history, EventType.ACTIVITY_CANCELLED, reason="its workflow timed out")
        assert len(cancelled) == 1
        with pytest.raises(errors.ActivityAlreadyClosed):
            await e.client.complete_activity(token, "ana")


async def test_workflow_timeout_survives_a_restart() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(deadline_approval, "o-2", id=new_id("timeout-restart"))
        token = await TOKENS.get(handle.id)
        await e.advance(timedelta(days=10))
        await e.restart()
        await e.advance(timedelta(days=19))
        assert (await handle.describe()).status == tether.WorkflowStatus.RUNNING
        await e.restart()
        await e.advance(timedelta(days=2))

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.TIMED_OUT
        assert description.closed_at == start + timedelta(days=30)
        with pytest.raises(errors.ActivityAlreadyClosed):
            await e.client.complete_activity(token, "ana")
        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()


async def test_late_token_completion_is_refused_and_times_the_workflow_out_at_its_deadline() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(deadline_approval, "o-3", id=new_id("timeout-late"))
        token = await TOKENS.get(handle.id)
        # The clock passes the deadline without a timer pass (as if every worker were down).
        e.clock.advance(timedelta(days=31))

        with pytest.raises(errors.ActivityAlreadyClosed):
            await e.client.complete_activity(token, "too late")

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.TIMED_OUT
        assert description.closed_at == start + timedelta(days=30)
        history = await handle.history()
        assert history[-1].type == EventType.WORKFLOW_TIMED_OUT
        assert not events_of(history, EventType.ACTIVITY_COMPLETED)


async def test_start_timeout_overrides_the_workflow_s_own() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(deadline_sleeps, 10, id=new_id("timeout-override"), timeout=3600)

        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()

        description = await handle.describe()
        assert description.closed_at == start + timedelta(hours=1)
        history = await handle.history()
        assert history[0].data["timeout_ms"] == 3_600_000
        assert (await e.client.describe(handle.id)).pending_activities == []


async def test_a_workflow_within_its_timeout_completes() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(deadline_sleeps, 29, id=new_id("timeout-in-time"))

        assert await handle.result() == "woke"
        assert (await handle.describe()).deadline is None


async def test_a_workflow_without_timeout_gets_one_from_the_start() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(
            deadline_none, "o-4", id=new_id("timeout-given"), timeout=timedelta(days=2)
        )
        await TOKENS.get(handle.id)

        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()
        assert (await handle.describe()).closed_at == start + timedelta(days=2)


async def test_a_start_by_name_gets_the_definition_s_timeout_from_the_first_task() -> None:
    async with env() as e:
        start = e.clock.now()
        # By name, as a caller without the code (HTTP, CLI) starts it: the worker arms the deadline.
        execution_id = new_id("timeout-by-name")
        await e.engine.start_workflow(execution_id, "deadline_approval", '["o-5"]')
        await TOKENS.get(execution_id)
        description = await e.client.describe(execution_id)
        assert description.deadline == start + timedelta(days=30)
        history = await e.client.history(execution_id)
        assert "timeout_ms" not in history[0].data

        with pytest.raises(errors.WorkflowTimedOut):
            await e.client.get_handle(execution_id).result()
        assert (await e.client.describe(execution_id)).closed_at == start + timedelta(days=30)


async def test_cancel_after_the_deadline_times_the_workflow_out_instead() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(deadline_approval, "o-6", id=new_id("timeout-cancel"))
        await TOKENS.get(handle.id)
        e.clock.advance(timedelta(days=30, seconds=1))

        await handle.cancel()

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.TIMED_OUT
        assert description.closed_at == start + timedelta(days=30)
        assert not description.cancel_requested


async def test_heartbeat_after_the_deadline_is_refused() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(deadline_approval, "o-7", id=new_id("timeout-heartbeat"))
        token = await TOKENS.get(handle.id)
        e.clock.advance(timedelta(days=31))

        with pytest.raises(errors.ActivityAlreadyClosed):
            await e.client.heartbeat_activity(token, {"i": 1})
        assert (await handle.describe()).status == tether.WorkflowStatus.TIMED_OUT
        assert to_ms((await handle.history())[-1].at) == to_ms(e.clock.now() - timedelta(days=1))


@pytest.mark.parametrize("timeout", [0, -5, timedelta(0), float("nan"), float("inf"), 1e300, "1d"])
async def test_a_timeout_that_is_not_a_positive_duration_is_refused(timeout: Any) -> None:
    async with env() as e:
        with pytest.raises(errors.UsageError):
            await e.client.start_workflow(deadline_sleeps, 1, id=new_id("timeout-bad"), timeout=timeout)
        with pytest.raises(errors.UsageError):
            await e.client.resume(new_id("timeout-bad"), timeout=timeout)
        assert await e.client.list_workflows() == []


async def test_an_attempt_queued_past_the_deadline_never_starts() -> None:
    # No worker here runs the activity: its first attempt stays queued past the deadline.
    async with TestEnvironment(workflows=WORKFLOWS) as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(deadline_approval, "o-8", id=new_id("timeout-queued"))
        await e.wait_for_idle()
        e.clock.advance(timedelta(days=30, minutes=1))  # and no timer pass ran since

        started = await e.engine.start_attempts([deadline_wait_for_person.name], 10, "late-worker")

        assert started == []
        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.TIMED_OUT
        assert description.closed_at == start + timedelta(days=30)
        assert not events_of(await handle.history(), EventType.ACTIVITY_ATTEMPT_STARTED)
