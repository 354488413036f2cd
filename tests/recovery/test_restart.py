"""Crash-restart in process: every workflow finishes as if uninterrupted, and completed steps never run again."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Collection
from datetime import timedelta

import pytest

import tether
from tests.helpers.transports import transport
from tests.helpers.workflows import TOKENS, Mailbox, events_of, new_id, types_of
from tether.model.events import EventType
from tether.testing import TestEnvironment

pytestmark = pytest.mark.usefixtures("transport")
__all__ = ["transport"]

EFFECTS: collections.Counter[tuple[str, str]] = collections.Counter()
"""Side effects by (execution id, step): each activity body counts itself once it has done its work."""

HANG_GUARD_S = 10

SIGNALS = Mailbox()
"""rr_slow says it started under "<id>/started" and waits for "<id>/release"."""


def effect(step: str) -> None:
    EFFECTS[(tether.context().execution_id, step)] += 1


def effects_of(execution_id: str) -> dict[str, int]:
    return {step: n for (eid, step), n in EFFECTS.items() if eid == execution_id}


@tether.activity
async def rr_step(label: str) -> str:
    effect(label)
    return label.upper()


@tether.activity
async def rr_approval(order: str) -> str:
    ctx = tether.context()
    effect("approval")
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.activity(retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10)))
async def rr_flaky(order: str) -> str:
    if tether.context().attempt == 1:
        raise ConnectionError("the first attempt loses its connection")
    effect("flaky")
    return f"{order} shipped"


@tether.activity(heartbeat=timedelta(seconds=30), retry=tether.RetryPolicy(initial_interval=timedelta(seconds=1)))
async def rr_slow(order: str) -> str:
    ctx = tether.context()
    if ctx.attempt == 1:
        SIGNALS.put(f"{ctx.execution_id}/started", "started")
        await SIGNALS.get(f"{ctx.execution_id}/release")
    effect("slow")
    return f"{order} packed"


@tether.workflow
async def rr_pipeline(order: str) -> list[str]:
    first = await rr_step("first")
    approved_by = await rr_approval(order)
    await tether.sleep(timedelta(days=1))
    shipped = await rr_flaky(order)
    packed = await rr_slow(order)
    last = await rr_step("last")
    return [first, approved_by, shipped, packed, last]


PIPELINE_RESULT = ["FIRST", "ana", "o-1 shipped", "o-1 packed", "LAST"]
PIPELINE_EFFECTS = {"first": 1, "approval": 1, "flaky": 1, "slow": 1, "last": 1}
POINTS = ["just_started", "activity_async", "sleeping", "backoff", "activity_running"]


async def pending_state(handle: tether.WorkflowHandle[list[str]]) -> tether.ActivityState | None:
    pending = (await handle.describe()).pending_activities
    return pending[0].state if pending else None


async def drive_pipeline(env: TestEnvironment, execution_id: str, restart_at: Collection[str]) -> list[str]:
    """Run rr_pipeline step by step, restarting the environment at the named points."""
    handle = await env.client.start_workflow(rr_pipeline, "o-1", id=execution_id)
    if "just_started" in restart_at:
        await env.restart()
        # The crashed worker may have held the first workflow task or the first attempt; both
        # come back when their leases run out, so let the environment skip time until then.
        waiter = asyncio.ensure_future(handle.result())
        token = await TOKENS.get(execution_id)
        waiter.cancel()
    else:
        token = await TOKENS.get(execution_id)
    await env.wait_for_idle()
    assert await pending_state(handle) == tether.ActivityState.ASYNC
    if "activity_async" in restart_at:
        await env.restart()

    await env.client.complete_activity(token, "ana")
    await env.wait_for_idle()
    history = await handle.history()
    assert types_of(history).count(EventType.TIMER_STARTED) == 1
    assert EventType.TIMER_FIRED not in types_of(history)
    if "sleeping" in restart_at:
        await env.restart()

    await env.advance(timedelta(days=1))
    assert await pending_state(handle) == tether.ActivityState.BACKOFF
    if "backoff" in restart_at:
        await env.restart()

    env.clock.advance(timedelta(seconds=10))
    await SIGNALS.get(f"{execution_id}/started")
    assert await pending_state(handle) == tether.ActivityState.RUNNING
    if "activity_running" in restart_at:
        # The running attempt dies with the worker; its heartbeat timeout retries it.
        await env.restart()
    else:
        SIGNALS.put(f"{execution_id}/release", "go")

    return await handle.result()


def env_at() -> TestEnvironment:
    return TestEnvironment(
        workflows=[
            rr_pipeline,
            rr_blocking_pipeline,
            rr_sleeper,
            rr_timers,
            rr_heartbeat_pipeline,
            rr_backoff_pipeline,
            rr_deadline,
        ],
        activities=[rr_step, rr_approval, rr_flaky, rr_slow, rr_blocking, rr_silent, rr_retry_later, rr_never],
    )


@pytest.mark.parametrize("restart_at", [[point] for point in POINTS] + [POINTS], ids=[*POINTS, "every_point"])
async def test_restart_mid_flight_gives_the_uninterrupted_result_and_runs_completed_steps_once(
    restart_at: list[str],
) -> None:
    uninterrupted_id, restarted_id = new_id("rr-plain"), new_id("rr-restarted")
    async with env_at() as env:
        uninterrupted = await drive_pipeline(env, uninterrupted_id, restart_at=())

    async with env_at() as env:
        restarted = await drive_pipeline(env, restarted_id, restart_at=restart_at)

        assert uninterrupted == PIPELINE_RESULT
        assert restarted == uninterrupted
        assert effects_of(uninterrupted_id) == PIPELINE_EFFECTS
        assert effects_of(restarted_id) == PIPELINE_EFFECTS
        history = await env.client.history(restarted_id)
        completed = [event.data["activity_id"] for event in events_of(history, EventType.ACTIVITY_COMPLETED)]
        assert sorted(completed) == sorted(set(completed))
        assert len(completed) == 5
        assert len(events_of(history, EventType.TIMER_FIRED)) == 1
        assert len(events_of(history, EventType.WORKFLOW_COMPLETED)) == 1
        assert events_of(history, EventType.WORKFLOW_TASK_FAILED) == []


async def test_interrupted_attempt_is_failed_and_retried_once() -> None:
    async with env_at() as env:
        execution_id = new_id("rr-interrupted")

        await drive_pipeline(env, execution_id, restart_at=["activity_running"])

        history = await env.client.history(execution_id)
        slow_id = events_of(history, EventType.ACTIVITY_SCHEDULED, name="rr_slow")[0].data["activity_id"]
        [failed] = events_of(history, EventType.ACTIVITY_ATTEMPT_FAILED, activity_id=slow_id)
        assert failed.data["attempt"] == 1
        assert [e.data["attempt"] for e in events_of(history, EventType.ACTIVITY_COMPLETED, activity_id=slow_id)] == [2]


@tether.activity
async def rr_blocking(order: str) -> str:
    ctx = tether.context()
    if ctx.attempt == 1:
        SIGNALS.put(f"{ctx.execution_id}/started", "started")
        await SIGNALS.get(f"{ctx.execution_id}/release")
    effect("blocking")
    return f"{order} on attempt {ctx.attempt}"


@tether.workflow
async def rr_blocking_pipeline(order: str) -> str:
    return await rr_blocking(order)


async def test_attempt_without_heartbeat_or_attempt_timeout_is_retried_after_a_crash() -> None:
    # Nothing but the crashed worker knew the attempt was running: recovering it must not
    # depend on the activity declaring a heartbeat or an attempt timeout.
    async with env_at() as env:
        execution_id = new_id("rr-blocking")
        handle = await env.client.start_workflow(rr_blocking_pipeline, "o-1", id=execution_id)
        await SIGNALS.get(f"{execution_id}/started")

        await env.restart()

        assert await handle.result() == "o-1 on attempt 2"
        assert effects_of(execution_id) == {"blocking": 1}


async def test_time_still_skips_after_restarting_while_a_result_was_awaited() -> None:
    async with env_at() as env:
        blocked_id = new_id("rr-blocked")
        blocked = await env.client.start_workflow(rr_blocking_pipeline, "o-1", id=blocked_id)
        # Someone awaits a result while the worker is busy with an attempt: the environment
        # waits for that worker to go idle before it skips time.
        waiter = asyncio.ensure_future(blocked.result())
        await SIGNALS.get(f"{blocked_id}/started")
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter

        await env.restart()
        sleeper = await env.client.start_workflow(rr_sleeper, 1, id=new_id("rr-after-restart"))

        # A hang guard, not a timing assertion: without time skipping these never return.
        async with asyncio.timeout(HANG_GUARD_S):
            slept = await sleeper.result()
            unblocked = await blocked.result()
        assert slept[:2] == ["BEFORE", "AFTER"]
        assert unblocked == "o-1 on attempt 2"


# time that passes while no worker runs


@tether.workflow
async def rr_sleeper(hours: int) -> list[str]:
    before = await rr_step("before")
    await tether.sleep(timedelta(hours=hours))
    after = await rr_step("after")
    return [before, after, tether.now().isoformat()]


@tether.workflow
async def rr_timers() -> int:
    started = tether.now()
    await asyncio.gather(*(tether.sleep(timedelta(hours=h)) for h in (1, 2, 3)))
    return int((tether.now() - started).total_seconds())


@tether.activity(heartbeat=timedelta(minutes=1), retry=tether.RetryPolicy(initial_interval=timedelta(seconds=1)))
async def rr_silent(order: str) -> str:
    ctx = tether.context()
    effect(f"silent {ctx.attempt}")
    if ctx.attempt == 1:
        TOKENS.put(ctx.execution_id, ctx.token)
        return tether.make_async()
    return f"{order} on attempt {ctx.attempt}"


@tether.workflow
async def rr_heartbeat_pipeline(order: str) -> str:
    return await rr_silent(order)


@tether.activity(retry=tether.RetryPolicy(initial_interval=timedelta(seconds=90)))
async def rr_retry_later(order: str) -> str:
    ctx = tether.context()
    effect(f"retry_later {ctx.attempt}")
    if ctx.attempt == 1:
        raise ConnectionError("try again later")
    return f"{order} on attempt {ctx.attempt}"


@tether.workflow
async def rr_backoff_pipeline(order: str) -> str:
    return await rr_retry_later(order)


@tether.activity(timeout=timedelta(minutes=10))
async def rr_never(order: str) -> str:
    ctx = tether.context()
    effect("never")
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow
async def rr_deadline(order: str) -> str:
    try:
        return await rr_never(order)
    except tether.errors.ActivityTimeout as exc:
        return f"timed out ({exc.kind})"


async def crash_and_advance(env: TestEnvironment, delta: timedelta) -> None:
    """Kill the worker, let time pass with nothing running, then start a new worker."""
    await env.worker.crash()
    env.clock.advance(delta)
    await env.restart()


async def test_sleep_that_fell_due_while_down_fires_once_on_recovery() -> None:
    async with env_at() as env:
        start = env.clock.now()
        execution_id = new_id("rr-sleeper")
        handle = await env.client.start_workflow(rr_sleeper, 1, id=execution_id)
        await env.wait_for_idle()

        await crash_and_advance(env, timedelta(days=2))

        assert await handle.result() == ["BEFORE", "AFTER", (start + timedelta(days=2)).isoformat()]
        history = await handle.history()
        [fired] = events_of(history, EventType.TIMER_FIRED)
        assert fired.at == start + timedelta(days=2)
        assert effects_of(execution_id) == {"before": 1, "after": 1}


async def test_several_timers_due_while_down_each_fire_once() -> None:
    async with env_at() as env:
        handle = await env.client.start_workflow(rr_timers, id=new_id("rr-timers"))
        await env.wait_for_idle()

        await crash_and_advance(env, timedelta(days=1))

        assert await handle.result() == 24 * 3600
        history = await handle.history()
        started = sorted(event.data["timer_id"] for event in events_of(history, EventType.TIMER_STARTED))
        fired = sorted(event.data["timer_id"] for event in events_of(history, EventType.TIMER_FIRED))
        assert fired == started
        assert len(fired) == 3


async def test_heartbeat_deadline_passed_while_down_retries_the_attempt_once() -> None:
    async with env_at() as env:
        execution_id = new_id("rr-heartbeat")
        handle = await env.client.start_workflow(rr_heartbeat_pipeline, "o-1", id=execution_id)
        await TOKENS.get(execution_id)
        await env.wait_for_idle()

        await crash_and_advance(env, timedelta(hours=1))

        assert await handle.result() == "o-1 on attempt 2"
        history = await handle.history()
        [failed] = events_of(history, EventType.ACTIVITY_ATTEMPT_FAILED)
        assert (failed.data["attempt"], failed.data["failure"]["kind"]) == (1, "heartbeat")
        assert effects_of(execution_id) == {"silent 1": 1, "silent 2": 1}


async def test_retry_time_passed_while_down_starts_the_next_attempt_once() -> None:
    async with env_at() as env:
        start = env.clock.now()
        execution_id = new_id("rr-backoff")
        handle = await env.client.start_workflow(rr_backoff_pipeline, "o-1", id=execution_id)
        await env.wait_for_idle()
        assert (await handle.describe()).pending_activities[0].state == tether.ActivityState.BACKOFF

        await crash_and_advance(env, timedelta(hours=1))

        assert await handle.result() == "o-1 on attempt 2"
        history = await handle.history()
        second = events_of(history, EventType.ACTIVITY_ATTEMPT_STARTED, attempt=2)
        assert [event.at for event in second] == [start + timedelta(hours=1)]
        assert effects_of(execution_id) == {"retry_later 1": 1, "retry_later 2": 1}


async def test_total_timeout_passed_while_down_times_the_activity_out_once() -> None:
    async with env_at() as env:
        execution_id = new_id("rr-deadline")
        handle = await env.client.start_workflow(rr_deadline, "o-1", id=execution_id)
        await TOKENS.get(execution_id)
        await env.wait_for_idle()

        await crash_and_advance(env, timedelta(hours=1))

        assert await handle.result() == "timed out (total)"
        history = await handle.history()
        assert len(events_of(history, EventType.ACTIVITY_TIMED_OUT)) == 1
        assert effects_of(execution_id) == {"never": 1}


async def test_token_completed_while_no_worker_runs_is_picked_up_on_recovery() -> None:
    async with env_at() as env:
        execution_id = new_id("rr-completed-while-down")
        handle = await env.client.start_workflow(rr_heartbeat_pipeline, "o-1", id=execution_id)
        token = await TOKENS.get(execution_id)
        await env.wait_for_idle()
        await env.worker.crash()

        await env.client.complete_activity(token, "done by token")
        await env.restart()

        assert await handle.result() == "done by token"
        assert effects_of(execution_id) == {"silent 1": 1}


async def test_workflow_started_while_no_worker_runs_starts_on_recovery() -> None:
    async with env_at() as env:
        start = env.clock.now()
        await env.worker.crash()
        execution_id = new_id("rr-started-while-down")
        handle = await env.client.start_workflow(rr_sleeper, 1, id=execution_id)

        await env.restart()

        assert await handle.result() == ["BEFORE", "AFTER", (start + timedelta(hours=1)).isoformat()]
        assert effects_of(execution_id) == {"before": 1, "after": 1}
