"""Attempts that hang in the worker: a timeout stops them, and their retry does not wait for them."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import tether
from tests.helpers.activity_tests import (
    HANG_GUARD_SECONDS,
    Mailbox,
    advance,
    box,
    of_type,
    only_pending,
    post,
    post_context,
    result_of,
    times,
)
from tether.errors import ActivityTimeout, StaleToken, TetherError
from tether.testing import TestEnvironment, VirtualClock

RETRY = tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1))
_released: dict[str, threading.Event] = {}
"""What an attempt that goes on after it was refused waits for, by execution id: the end of its test."""


@tether.activity(heartbeat=timedelta(seconds=60), retry=RETRY)
async def hung_async(job: str) -> str:
    ctx = post_context()
    if ctx.attempt == 1:
        try:
            await asyncio.Event().wait()  # hangs until cancelled
        except asyncio.CancelledError:
            post("cancelled")
        return "late"  # an outcome after the attempt was over: never recorded
    await box().wait_for_gate()
    return "second"


@tether.activity(attempt_timeout=timedelta(seconds=30), retry=RETRY)
def hung_in_thread(job: str) -> str:
    ctx = post_context()
    if ctx.attempt == 1:
        try:
            while True:
                box().wait_for_gate_in_thread()
                tether.heartbeat({"alive": True})
        except TetherError as exc:
            post(exc)
        return "late"
    return "second"


@tether.activity(attempt_timeout=timedelta(seconds=10), retry=RETRY)
async def hung_elsewhere(job: str) -> str:
    ctx = post_context()
    if ctx.attempt == 1:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            post("cancelled")
            raise
    return "second"


@tether.activity(timeout=timedelta(seconds=60))
async def hung_past_total(job: str) -> str:
    post_context()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        post("cancelled")
        raise
    return "never"


@tether.activity(heartbeat=timedelta(seconds=60), retry=RETRY)
def hung_ignoring_refusals(job: str) -> str:
    ctx = post_context()
    if ctx.attempt == 1:
        box().wait_for_gate_in_thread()
        try:
            tether.heartbeat()
        except TetherError as exc:
            post(exc)
        _released[ctx.execution_id].wait(HANG_GUARD_SECONDS)  # goes on as if nothing happened
        return "late"
    return "second"


ACTIVITIES = {
    "async": hung_async,
    "thread": hung_in_thread,
    "total": hung_past_total,
    "elsewhere": hung_elsewhere,
    "ignoring": hung_ignoring_refusals,
}


@tether.workflow
async def hung_run(name: str) -> Any:
    try:
        return await ACTIVITIES[name](name)
    except ActivityTimeout as exc:
        return {"timeout": exc.kind, "attempt": exc.attempt}


def environment() -> TestEnvironment:
    # One slot: the retry can only start if the hung attempt gave its slot back.
    return TestEnvironment(workflows=[hung_run], activities=list(ACTIVITIES.values()), max_concurrent_activities=1)


async def test_an_async_attempt_that_hangs_is_cancelled_at_its_heartbeat_timeout_and_retried_on_time() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(hung_run, "async", id=mailbox.id)
        assert (await mailbox.context()).attempt == 1
        started = env.clock.now()

        await advance(env, timedelta(seconds=67))

        assert await mailbox.get() == "cancelled"
        assert (await mailbox.context()).attempt == 2
        history = await env.client.history(mailbox.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert (failed.at, failed.data["failure"]["kind"]) == (started + timedelta(seconds=60), "heartbeat")
        assert times(history, "ActivityAttemptStarted") == [started, started + timedelta(seconds=61)]
        pending = only_pending(await env.client.describe(mailbox.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.RUNNING, 2)
        mailbox.open_gate()
        assert await result_of(handle) == "second"
        (completed,) = of_type(await env.client.history(mailbox.id), "ActivityCompleted")
        assert completed.data["attempt"] == 2


async def test_a_sync_attempt_that_hangs_is_refused_its_next_heartbeat_and_retried_without_waiting_for_it() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(hung_run, "thread", id=mailbox.id)
        assert (await mailbox.context()).attempt == 1
        started = env.clock.now()

        await advance(env, timedelta(seconds=35))

        # The first attempt's thread still waits on the gate while the second runs.
        assert (await mailbox.context()).attempt == 2
        assert await result_of(handle) == "second"
        mailbox.open_gate()
        refused = await mailbox.get()
        assert isinstance(refused, StaleToken)
        assert refused.token_attempt == 1
        history = await env.client.history(mailbox.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert (failed.at, failed.data["failure"]["kind"]) == (started + timedelta(seconds=30), "attempt")
        assert times(history, "ActivityAttemptStarted") == [started, started + timedelta(seconds=31)]
        (completed,) = of_type(history, "ActivityCompleted")
        assert completed.data["attempt"] == 2


async def test_an_attempt_that_hangs_past_the_total_timeout_is_cancelled_when_the_activity_times_out() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(hung_run, "total", id=mailbox.id)
        await mailbox.context()

        await advance(env, timedelta(seconds=60))

        assert await mailbox.get() == "cancelled"
        assert await result_of(handle) == {"timeout": "total", "attempt": 1}


async def test_an_attempt_refused_a_heartbeat_gives_its_slot_to_the_retry_even_if_it_goes_on() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        released = _released[mailbox.id] = threading.Event()
        handle = await env.client.start_workflow(hung_run, "ignoring", id=mailbox.id)
        first = await mailbox.context()
        await env.client.fail_activity(first.token, error="Unreachable", message="the remote end gave up")
        mailbox.open_gate()

        refused = await mailbox.get()

        try:
            assert isinstance(refused, StaleToken)
            await advance(env, timedelta(seconds=1))
            assert (await mailbox.context()).attempt == 2
            assert await result_of(handle) == "second"
        finally:
            released.set()


async def test_an_attempt_timed_out_by_another_process_is_stopped_in_the_worker_that_runs_it() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(hung_run, "elsewhere", id=mailbox.id)
        await mailbox.context()
        started = env.clock.now()
        # Another process, whose clock reached the attempt's deadline first, applies the timeout.
        async with await tether.Client.connect(env.url, clock=VirtualClock(started + timedelta(seconds=10))) as other:
            fired, _ = await other.engine.timer_pass("another-process")
        assert fired == 1
        history = await env.client.history(mailbox.id)
        assert times(history, "ActivityAttemptFailed") == [started + timedelta(seconds=10)]

        await advance(env, timedelta(seconds=12))

        assert await mailbox.get() == "cancelled"
        assert (await mailbox.context()).attempt == 2
        assert times(await env.client.history(mailbox.id), "ActivityAttemptStarted") == [
            started,
            started + timedelta(seconds=11),
        ]
        assert await result_of(handle) == "second"
