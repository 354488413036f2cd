"""A deadline is a deadline: a call that arrives after one is refused even when no timer fired yet.

The worker is stopped (crashed) first, so that no timer pass runs: only the late call can
notice the deadline. It applies it at the deadline's own time, as the timer would have.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, of_type, only_pending, post_context, result_of, snapshot
from tether.errors import ActivityAlreadyClosed, ActivityTimeout, StaleToken
from tether.testing import TestEnvironment, VirtualClock

HEARTBEAT = timedelta(seconds=10)
RETRY = tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1))


@tether.activity(heartbeat=HEARTBEAT, retry=RETRY)
async def dl_heartbeated(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(attempt_timeout=timedelta(seconds=30), retry=RETRY)
async def dl_attempt_bound(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(timeout=timedelta(seconds=60), retry=RETRY)
async def dl_total_bound(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=1))
async def dl_heartbeated_once(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(attempt_timeout=timedelta(seconds=30), retry=tether.RetryPolicy(max_attempts=1))
async def dl_outlives_its_attempt(order: str) -> str:
    post_context()
    box_clock().advance(timedelta(seconds=31))  # the attempt runs past its deadline before it returns
    return "too late"


_CLOCKS: list[VirtualClock] = []


def box_clock() -> VirtualClock:
    return _CLOCKS[-1]


@tether.workflow
async def dl_run(kind: str) -> Any:
    activity = {
        "heartbeat": dl_heartbeated,
        "attempt": dl_attempt_bound,
        "total": dl_total_bound,
        "heartbeat_once": dl_heartbeated_once,
        "outlives": dl_outlives_its_attempt,
    }[kind]
    try:
        return await activity(kind)
    except ActivityTimeout as exc:
        return {"timeout": exc.kind, "attempt": exc.attempt, "last_heartbeat_details": exc.last_heartbeat_details}


def environment() -> TestEnvironment:
    env = TestEnvironment(
        workflows=[dl_run],
        activities=[dl_heartbeated, dl_attempt_bound, dl_total_bound, dl_heartbeated_once, dl_outlives_its_attempt],
    )
    _CLOCKS.append(env.clock)
    return env


async def waiting_without_worker(env: TestEnvironment, kind: str) -> tuple[Mailbox, Any, tether.ActivityContext]:
    """Start the workflow, let its activity go async, then stop the worker: no timer fires any more."""
    box = Mailbox()
    handle = await env.client.start_workflow(dl_run, kind, id=box.id)
    ctx = await box.context()
    await env.wait_for_idle()
    await env.worker.crash()
    return box, handle, ctx


def at(history: list[tether.HistoryEvent], kind: str) -> list[datetime]:
    return [e.at for e in of_type(history, kind)]


async def test_completion_after_the_heartbeat_deadline_is_refused_and_the_attempt_failed_at_the_deadline() -> None:
    async with environment() as env:
        box, handle, ctx = await waiting_without_worker(env, "heartbeat")
        started = env.clock.now()

        env.clock.advance(HEARTBEAT + timedelta(seconds=5))
        with pytest.raises(StaleToken) as refused:
            await env.client.complete_activity(ctx.token, "late")

        assert (refused.value.token_attempt, refused.value.current_attempt) == (1, 2)
        history = await env.client.history(box.id)
        assert of_type(history, "ActivityCompleted") == []
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert failed.at == started + HEARTBEAT
        assert failed.data["failure"]["kind"] == "heartbeat"
        assert failed.data["retry_at_ms"] == int((started + HEARTBEAT + timedelta(seconds=1)).timestamp() * 1000)
        # The retry fell due too: attempt 2 is queued, as if every timer had fired on time.
        pending = only_pending(await env.client.describe(box.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.SCHEDULED, 2)

        await env.restart()
        assert (await box.context()).attempt == 2
        assert handle is not None


async def test_a_late_refusal_is_the_same_again_and_changes_nothing_more() -> None:
    async with environment() as env:
        box, _, ctx = await waiting_without_worker(env, "heartbeat")
        env.clock.advance(HEARTBEAT * 2)
        with pytest.raises(StaleToken):
            await env.client.complete_activity(ctx.token, "late")
        before = await snapshot(env.client, box.id)

        for call in (
            env.client.complete_activity(ctx.token, "late"),
            env.client.fail_activity(ctx.token, error="Late"),
            env.client.heartbeat_activity(ctx.token, {"page": 2}),
        ):
            with pytest.raises(StaleToken):
                await call

        assert await snapshot(env.client, box.id) == before


async def test_late_heartbeat_is_refused_and_does_not_push_the_deadline_out() -> None:
    async with environment() as env:
        box, handle, ctx = await waiting_without_worker(env, "heartbeat_once")
        started = env.clock.now()
        await env.client.heartbeat_activity(ctx.token, {"page": 1})

        env.clock.advance(HEARTBEAT + timedelta(milliseconds=1))
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.heartbeat_activity(ctx.token, {"page": 2})

        assert refused.value.final_state == "timed_out"
        history = await env.client.history(box.id)
        (timed_out,) = of_type(history, "ActivityTimedOut")
        assert timed_out.at == started + HEARTBEAT
        assert timed_out.data["failure"]["details"] == {"last_heartbeat_details": {"page": 1}}
        description = await env.client.describe(box.id)
        assert description.pending_activities == []
        await env.restart()
        assert await result_of(handle) == {"timeout": "heartbeat", "attempt": 1, "last_heartbeat_details": {"page": 1}}


async def test_heartbeat_just_before_the_deadline_moves_it() -> None:
    async with environment() as env:
        box, _, ctx = await waiting_without_worker(env, "heartbeat_once")
        env.clock.advance(HEARTBEAT - timedelta(milliseconds=1))
        assert (await env.client.heartbeat_activity(ctx.token)).cancel_requested is False

        env.clock.advance(HEARTBEAT - timedelta(milliseconds=1))
        assert await env.client.complete_activity(ctx.token, "in time") is True
        assert of_type(await env.client.history(box.id), "ActivityTimedOut") == []


async def test_failure_after_the_attempt_deadline_is_refused_as_stale() -> None:
    async with environment() as env:
        box, _, ctx = await waiting_without_worker(env, "attempt")
        started = env.clock.now()

        env.clock.advance(timedelta(seconds=30))
        with pytest.raises(StaleToken):
            await env.client.fail_activity(ctx.token, error="Declined", non_retryable=True)

        history = await env.client.history(box.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert (failed.at, failed.data["failure"]["kind"]) == (started + timedelta(seconds=30), "attempt")
        assert of_type(history, "ActivityFailed") == []


async def test_completion_after_the_total_deadline_is_refused_as_timed_out_and_the_workflow_sees_it() -> None:
    async with environment() as env:
        box, handle, ctx = await waiting_without_worker(env, "total")
        started = env.clock.now()

        env.clock.advance(timedelta(days=3))
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.complete_activity(ctx.token, "three days late")

        assert refused.value.final_state == "timed_out"
        history = await env.client.history(box.id)
        assert at(history, "ActivityTimedOut") == [started + timedelta(seconds=60)]
        await env.restart()
        assert await result_of(handle) == {"timeout": "total", "attempt": 1, "last_heartbeat_details": None}


async def test_total_deadline_that_fell_after_a_retry_was_due_closes_the_activity_at_the_deadline() -> None:
    async with environment() as env:
        box, _, ctx = await waiting_without_worker(env, "total")
        started = env.clock.now()
        env.clock.advance(timedelta(seconds=50))
        await env.client.fail_activity(ctx.token, error="Busy")  # retry at 51 s; the total deadline is at 60 s
        env.clock.advance(timedelta(seconds=40))

        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.fail_activity(ctx.token, error="Busy, still")

        assert refused.value.final_state == "timed_out"
        history = await env.client.history(box.id)
        (timed_out,) = of_type(history, "ActivityTimedOut")
        assert timed_out.at == started + timedelta(seconds=60)
        assert timed_out.data["attempt"] == 2  # the retry was queued at 51 s; no worker started it
        assert timed_out.data["failure"]["details"]["last_failure"]["error"] == "Busy"


async def test_timer_firing_late_records_the_timeout_at_the_deadline_and_retries_from_there() -> None:
    async with environment() as env:
        box, _, _ = await waiting_without_worker(env, "heartbeat")
        started = env.clock.now()

        env.clock.advance(timedelta(hours=1))
        await env.restart()  # the new worker's timer pass finds the deadline an hour past
        second = await box.context()

        assert second.attempt == 2
        history = await env.client.history(box.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert failed.at == started + HEARTBEAT
        assert failed.data["retry_at_ms"] == int((started + HEARTBEAT + timedelta(seconds=1)).timestamp() * 1000)


async def test_outcome_an_in_process_attempt_reports_after_its_deadline_is_discarded() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(dl_run, "outlives", id=box.id)
        await box.context()

        assert await result_of(handle) == {"timeout": "attempt", "attempt": 1, "last_heartbeat_details": None}
        history = await env.client.history(box.id)
        (started,) = at(history, "ActivityAttemptStarted")
        assert of_type(history, "ActivityCompleted") == []
        (timed_out,) = of_type(history, "ActivityTimedOut")
        assert timed_out.at == started + timedelta(seconds=30)
