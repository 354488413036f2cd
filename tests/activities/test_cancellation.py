"""Cancelling activities: from the workflow's handle, and by cancelling the whole workflow."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import (
    CLOSING_EVENTS,
    Mailbox,
    box,
    of_type,
    only_pending,
    post,
    post_context,
    result_of,
)
from tether.errors import ActivityAlreadyClosed, ActivityCancelled, WorkflowCancelled
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)


@tether.activity(heartbeat=HEARTBEAT)
async def cx_in_process(job: str) -> str:
    post_context()
    await tether.heartbeat("started")
    await box().wait_for_gate()
    try:
        await tether.heartbeat("after the gate")
    except ActivityCancelled:
        post(("saw cancellation", tether.context().cancel_requested))
        raise
    return "finished without noticing"


@tether.activity(heartbeat=HEARTBEAT)
def cx_in_thread(job: str) -> str:
    post_context()
    tether.heartbeat("started")
    box().wait_for_gate_in_thread()
    try:
        tether.heartbeat("after the gate")
    except ActivityCancelled:
        post(("saw cancellation", tether.context().cancel_requested))
        raise
    return "finished without noticing"


@tether.activity
async def cx_cancel_sent(job: str) -> None:
    post("cancel sent")


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=1))
async def cx_remote(job: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=3))
async def cx_remote_retried(job: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity
async def cx_never_served(job: str) -> str:
    return "no worker runs this activity"


@tether.activity(
    retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(hours=1), max_interval=timedelta(hours=1))
)
async def cx_breaks(job: str) -> str:
    post_context()
    raise RuntimeError("broken")


IN_PROCESS = {"async": cx_in_process, "thread": cx_in_thread}


@tether.workflow
async def cx_cancel_when_started(kind: str) -> dict[str, Any]:
    started = asyncio.Event()
    handle = tether.start_activity(IN_PROCESS[kind], kind)
    handle.on_heartbeat(lambda details: started.set() if details == "started" else None)
    await started.wait()
    handle.cancel()
    await cx_cancel_sent(kind)
    try:
        return {"result": await handle}
    except ActivityCancelled as exc:
        return {"cancelled": type(exc).__name__, "error": exc.error}


@tether.workflow
async def cx_cancel_after(activity_name: str, seconds: int) -> dict[str, Any]:
    activity = {"remote": cx_remote, "never_served": cx_never_served, "breaks": cx_breaks}[activity_name]
    handle = tether.start_activity(activity, activity_name)
    await tether.sleep(seconds)
    handle.cancel()
    try:
        return {"result": await handle}
    except ActivityCancelled as exc:
        return {"cancelled": type(exc).__name__, "details": exc.details}


@tether.workflow
async def cx_cancel_retried_after(seconds: int) -> dict[str, Any]:
    handle = tether.start_activity(cx_remote_retried, "job")
    await tether.sleep(seconds)
    handle.cancel()
    try:
        return {"result": await handle}
    except tether.errors.ActivityFailed as exc:
        return {"failed": type(exc).__name__, "attempt": exc.attempt}


@tether.workflow
async def cx_waits_on_everything() -> list[Any]:
    return list(await asyncio.gather(cx_remote("a"), tether.sleep(timedelta(days=1))))


@tether.workflow
async def cx_long_running() -> str:
    return await cx_in_process("job")


@tether.workflow
async def cx_leaves_activities_open(outcome: str) -> str:
    tether.start_activity(cx_remote, "waits for its token")
    tether.start_activity(cx_breaks, "backs off")
    tether.start_activity(cx_never_served, "stays queued")
    await tether.sleep(1)
    if outcome == "fail":
        raise RuntimeError("the workflow gave up")
    return "done without them"


WORKFLOWS: list[tether.Workflow[..., Any]] = [
    cx_leaves_activities_open,
    cx_cancel_when_started,
    cx_cancel_after,
    cx_cancel_retried_after,
    cx_waits_on_everything,
    cx_long_running,
]
ACTIVITIES: list[tether.Activity[..., Any]] = [
    cx_in_process,
    cx_in_thread,
    cx_cancel_sent,
    cx_remote,
    cx_remote_retried,
    cx_breaks,
]


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=WORKFLOWS, activities=ACTIVITIES)


@pytest.mark.parametrize("kind", ["async", "thread"])
async def test_cancelled_in_process_activity_sees_activity_cancelled_at_its_next_heartbeat(kind: str) -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_cancel_when_started, kind, id=mailbox.id)
        ctx = await mailbox.context()
        assert ctx.cancel_requested is False
        assert await mailbox.get() == "cancel sent"

        mailbox.open_gate()

        assert await mailbox.get() == ("saw cancellation", True)
        assert await result_of(handle) == {"cancelled": "ActivityCancelled", "error": "ActivityCancelled"}
        history = await env.client.history(mailbox.id)
        closing = [e.type for e in of_type(history, *CLOSING_EVENTS) if e.data["activity_id"] == 1]
        assert closing == ["ActivityCancelled"]


async def test_remote_holder_learns_of_cancellation_from_its_heartbeat_and_acknowledges() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_cancel_after, "remote", 5, id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()
        assert (await env.client.heartbeat_activity(ctx.token)).cancel_requested is False

        await env.advance(timedelta(seconds=5))

        pending = only_pending(await env.client.describe(mailbox.id))
        assert (pending.state, pending.cancel_requested) == (tether.ActivityState.ASYNC, True)
        assert (await env.client.heartbeat_activity(ctx.token, {"stopped_at": 3})).cancel_requested is True
        await env.client.report_activity_cancelled(ctx.token, {"stopped_at": 3})

        assert await result_of(handle) == {"cancelled": "ActivityCancelled", "details": {"stopped_at": 3}}
        history = await env.client.history(mailbox.id)
        (requested,) = of_type(history, "ActivityCancelRequested")
        (cancelled,) = of_type(history, "ActivityCancelled")
        assert cancelled.at == requested.at
        assert cancelled.data["details"] == {"stopped_at": 3}


async def test_activity_that_completes_after_cancellation_was_requested_returns_its_result() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_cancel_after, "remote", 5, id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()
        await env.advance(timedelta(seconds=5))

        await env.client.complete_activity(ctx.token, "finished first")

        assert await result_of(handle) == {"result": "finished first"}


async def test_cancelling_an_activity_no_worker_has_started_closes_it_at_once() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(cx_cancel_after, "never_served", 5)

        assert await result_of(handle) == {"cancelled": "ActivityCancelled", "details": None}
        history = await env.client.history(handle.id)
        assert of_type(history, "ActivityAttemptStarted") == []
        scheduled = of_type(history, "ActivityScheduled")[0].at
        (cancelled,) = of_type(history, "ActivityCancelled")
        assert cancelled.at == scheduled + timedelta(seconds=5)


async def test_cancelling_an_activity_waiting_for_its_retry_closes_it_at_once() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_cancel_after, "breaks", 5, id=mailbox.id)
        await mailbox.context()

        assert await result_of(handle) == {"cancelled": "ActivityCancelled", "details": None}
        history = await env.client.history(mailbox.id)
        assert len(of_type(history, "ActivityAttemptStarted")) == 1
        scheduled = of_type(history, "ActivityScheduled")[0].at
        (cancelled,) = of_type(history, "ActivityCancelled")
        assert cancelled.at == scheduled + timedelta(seconds=5)


async def test_cancel_workflow_ends_it_as_cancelled_and_cancels_its_timers() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_waits_on_everything, id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()

        await env.client.cancel_workflow(mailbox.id)

        with pytest.raises(WorkflowCancelled):
            await result_of(handle)
        description = await env.client.describe(mailbox.id)
        assert description.status == tether.WorkflowStatus.CANCELLED
        assert description.cancel_requested is True
        history = await env.client.history(mailbox.id)
        assert [e.type for e in history][-1] == "WorkflowCancelled"
        assert len(of_type(history, "TimerCancelled")) == 1
        assert len(of_type(history, "ActivityCancelRequested")) == 1

        await env.advance(timedelta(days=2))
        assert of_type(await env.client.history(mailbox.id), "TimerFired") == []


async def test_cancel_workflow_closes_its_async_activity_and_refuses_its_token() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_waits_on_everything, id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()

        await env.client.cancel_workflow(mailbox.id)
        with pytest.raises(WorkflowCancelled):
            await result_of(handle)

        assert (await env.client.describe(mailbox.id)).pending_activities == []
        history = await env.client.history(mailbox.id)
        cancelled = of_type(history, "ActivityCancelled")
        assert len(cancelled) == 1
        assert cancelled[0].data["reason"] == "its workflow was cancelled"
        assert [e.type for e in history[-2:]] == ["ActivityCancelled", "WorkflowCancelled"]
        for call in (
            env.client.heartbeat_activity(ctx.token),
            env.client.complete_activity(ctx.token, "late"),
            env.client.fail_activity(ctx.token, error="Late"),
            env.client.report_activity_cancelled(ctx.token),
        ):
            with pytest.raises(ActivityAlreadyClosed) as closed:
                await call
            assert closed.value.final_state == "cancelled"
        assert await env.client.history(mailbox.id) == history


@pytest.mark.parametrize("outcome", ["complete", "fail"])
async def test_workflow_that_closes_cancels_every_activity_it_left_open(outcome: str) -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_leaves_activities_open, outcome, id=mailbox.id)
        contexts = [await mailbox.context(), await mailbox.context()]  # the async one, and the first break
        await env.wait_for_idle()
        waiting = next(ctx for ctx in contexts if ctx.activity == cx_remote.name)

        await env.advance(timedelta(seconds=1))
        if outcome == "fail":
            with pytest.raises(tether.errors.WorkflowFailed):
                await result_of(handle)
        else:
            assert await result_of(handle) == "done without them"

        history = await env.client.history(mailbox.id)
        closed_by = "its workflow completed" if outcome == "complete" else "its workflow failed"
        cancelled = of_type(history, "ActivityCancelled")
        assert sorted(e.data["activity_id"] for e in cancelled) == [1, 2, 3]
        assert {e.data["reason"] for e in cancelled} == {closed_by}
        assert history[-1].type == ("WorkflowCompleted" if outcome == "complete" else "WorkflowFailed")
        assert (await env.client.describe(mailbox.id)).pending_activities == []
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.complete_activity(waiting.token, "too late")
        assert refused.value.final_state == "cancelled"

        await env.advance(timedelta(days=2))  # past every deadline and retry the activities had
        assert await env.client.history(mailbox.id) == history
        assert mailbox.empty()  # no attempt ran after the close


async def test_cancel_workflow_leaves_no_activity_open_once_its_holder_stops_heartbeating() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_waits_on_everything, id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()

        await env.client.cancel_workflow(mailbox.id)
        with pytest.raises(WorkflowCancelled):
            await result_of(handle)
        await env.advance(HEARTBEAT * 2)

        assert (await env.client.describe(mailbox.id)).pending_activities == []


async def test_cancel_workflow_stops_a_running_in_process_activity_at_its_next_heartbeat() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_long_running, id=mailbox.id)
        await mailbox.context()

        await env.client.cancel_workflow(mailbox.id)
        with pytest.raises(WorkflowCancelled):
            await result_of(handle)
        mailbox.open_gate()

        assert await mailbox.get() == ("saw cancellation", True)
        await env.wait_for_idle()
        assert (await env.client.describe(mailbox.id)).pending_activities == []


async def test_cancelled_activity_whose_holder_never_answers_times_out_without_retry() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(cx_cancel_retried_after, 5, id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()

        await env.advance(timedelta(seconds=5))
        assert only_pending(await env.client.describe(mailbox.id)).cancel_requested is True
        await env.advance(HEARTBEAT)

        assert await result_of(handle) == {"failed": "ActivityTimeout", "attempt": 1}
        history = await env.client.history(mailbox.id)
        assert len(of_type(history, "ActivityAttemptStarted")) == 1
        assert mailbox.empty()
