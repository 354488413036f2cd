"""Heartbeat, attempt and total timeouts of activities, measured on the virtual clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, of_type, only_pending, post_context, result_of
from tether.errors import ActivityAlreadyClosed, ActivityFailed, ActivityTimeout
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)
MS = timedelta(milliseconds=1)


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)))
async def hb_silent(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=1))
async def hb_beats_then_waits(order: str) -> str:
    post_context()
    await tether.heartbeat({"step": 1})
    return tether.make_async()


@tether.activity(
    attempt_timeout=timedelta(seconds=30),
    retry=tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)),
)
async def hb_slow_attempt(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(timeout=timedelta(seconds=60), retry=tether.RetryPolicy(max_attempts=5))
async def hb_total_async(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(
    timeout=timedelta(seconds=60), retry=tether.RetryPolicy(max_attempts=0, initial_interval=timedelta(seconds=1))
)
async def hb_total_fails_first(order: str) -> str:
    ctx = post_context()
    if ctx.attempt == 1:
        raise RuntimeError("first attempt breaks")
    return tether.make_async()


@tether.activity(
    timeout=timedelta(seconds=60),
    retry=tether.RetryPolicy(max_attempts=0, initial_interval=timedelta(seconds=10), backoff=4.0),
)
async def hb_total_keeps_failing(order: str) -> str:
    post_context()
    raise RuntimeError("still broken")


@tether.activity(timeout=timedelta(seconds=60), retry=tether.RetryPolicy(max_attempts=5))
async def hb_never_served(order: str) -> str:
    return "no worker runs this activity"


@tether.workflow
async def hb_await(name: str) -> dict[str, Any]:
    activity = {
        "silent": hb_silent,
        "beats": hb_beats_then_waits,
        "slow": hb_slow_attempt,
        "total_async": hb_total_async,
        "total_fails_first": hb_total_fails_first,
        "total_keeps_failing": hb_total_keeps_failing,
        "never_served": hb_never_served,
    }[name]
    try:
        return {"result": await activity(name)}
    except ActivityTimeout as exc:
        return {"timeout": exc.kind, "attempt": exc.attempt, "details": exc.details}
    except ActivityFailed as exc:
        return {"failed": exc.error, "attempt": exc.attempt}


ACTIVITIES = [
    hb_silent,
    hb_beats_then_waits,
    hb_slow_attempt,
    hb_total_async,
    hb_total_fails_first,
    hb_total_keeps_failing,
]


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[hb_await], activities=ACTIVITIES)


def at(history: list[tether.HistoryEvent], kind: str) -> list[datetime]:
    return [e.at for e in of_type(history, kind)]


async def test_heartbeat_timeout_fails_the_attempt_with_kind_heartbeat_and_retries() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "silent", id=box.id)
        first = await box.context()
        await env.wait_for_idle()
        started = env.clock.now()

        await env.advance(HEARTBEAT)

        history = await env.client.history(box.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert failed.at == started + HEARTBEAT
        assert failed.data["attempt"] == 1
        assert failed.data["failure"]["error"] == "ActivityTimeout"
        assert failed.data["failure"]["kind"] == "heartbeat"
        pending = only_pending(await env.client.describe(box.id))
        assert pending.state == tether.ActivityState.BACKOFF
        assert pending.last_failure is not None
        assert pending.last_failure["kind"] == "heartbeat"

        await env.advance(timedelta(seconds=1))
        second = await box.context()
        assert (first.attempt, second.attempt) == (1, 2)
        await env.client.complete_activity(second.token, "second attempt done")

        assert await result_of(handle) == {"result": "second attempt done"}
        assert at(await env.client.history(box.id), "ActivityAttemptStarted") == [
            started,
            started + HEARTBEAT + timedelta(seconds=1),
        ]


async def test_heartbeat_timeout_of_the_last_attempt_fails_the_activity_with_kind_heartbeat() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "silent", id=box.id)

        outcome = await result_of(handle)

        assert outcome == {"timeout": "heartbeat", "attempt": 2, "details": None}
        history = await env.client.history(handle.id)
        (timed_out,) = of_type(history, "ActivityTimedOut")
        assert timed_out.data["failure"]["kind"] == "heartbeat"
        assert len(of_type(history, "ActivityAttemptStarted")) == 2


async def test_heartbeat_timeout_is_detected_at_the_deadline_not_before() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(hb_await, "silent", id=box.id)
        await box.context()
        await env.wait_for_idle()
        started = env.clock.now()
        deadline = only_pending(await env.client.describe(box.id)).deadlines["heartbeat"]
        assert deadline == started + HEARTBEAT

        await env.advance(HEARTBEAT - MS)

        pending = only_pending(await env.client.describe(box.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.ASYNC, 1)
        assert of_type(await env.client.history(box.id), "ActivityAttemptFailed") == []

        await env.advance(MS)

        (failed,) = of_type(await env.client.history(box.id), "ActivityAttemptFailed")
        assert failed.at == deadline
        assert failed.data["failure"]["kind"] == "heartbeat"


async def test_in_process_heartbeat_moves_the_heartbeat_deadline() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(hb_await, "beats", id=box.id)
        await box.context()
        await env.wait_for_idle()
        beat_at = env.clock.now()
        pending = only_pending(await env.client.describe(box.id))
        assert pending.last_heartbeat_at == beat_at
        assert pending.heartbeat_details == {"step": 1}

        await env.advance(HEARTBEAT - MS)
        assert of_type(await env.client.history(box.id), "ActivityTimedOut") == []

        await env.advance(MS)
        (timed_out,) = of_type(await env.client.history(box.id), "ActivityTimedOut")
        assert timed_out.at == beat_at + HEARTBEAT


async def test_heartbeats_by_token_keep_an_async_activity_alive_across_many_intervals() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "silent", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        started = env.clock.now()

        for beat in range(30):
            await env.advance(HEARTBEAT * 0.6)
            reply = await env.client.heartbeat_activity(ctx.token, {"beat": beat})
            assert reply.cancel_requested is False

        pending = only_pending(await env.client.describe(box.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.ASYNC, 1)
        assert pending.last_heartbeat_at == started + HEARTBEAT * 0.6 * 30
        assert pending.heartbeat_details == {"beat": 29}
        assert of_type(await env.client.history(box.id), "ActivityAttemptFailed", "ActivityTimedOut") == []

        await env.client.complete_activity(ctx.token, "kept alive")
        assert await result_of(handle) == {"result": "kept alive"}


async def test_heartbeat_by_token_moves_the_deadline_from_the_last_heartbeat() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(hb_await, "silent", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        await env.advance(timedelta(seconds=7))
        await env.client.heartbeat_activity(ctx.token)
        beat_at = env.clock.now()
        await env.advance(HEARTBEAT - MS)
        assert of_type(await env.client.history(box.id), "ActivityAttemptFailed") == []

        await env.advance(MS)
        (failed,) = of_type(await env.client.history(box.id), "ActivityAttemptFailed")
        assert failed.at == beat_at + HEARTBEAT


async def test_describe_shows_the_heartbeat_deadline_moved_by_the_last_heartbeat() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(hb_await, "silent", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        await env.advance(timedelta(seconds=7))
        await env.client.heartbeat_activity(ctx.token)

        pending = only_pending(await env.client.describe(box.id))
        assert pending.last_heartbeat_at == env.clock.now()
        assert pending.deadlines["heartbeat"] == env.clock.now() + HEARTBEAT


async def test_attempt_timeout_fails_the_attempt_with_kind_attempt() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "slow", id=box.id)
        await box.context()
        await env.wait_for_idle()
        started = env.clock.now()
        assert only_pending(await env.client.describe(box.id)).deadlines["attempt"] == started + timedelta(seconds=30)

        await env.advance(timedelta(seconds=30) - MS)
        assert of_type(await env.client.history(box.id), "ActivityAttemptFailed") == []
        await env.advance(MS)

        (failed,) = of_type(await env.client.history(box.id), "ActivityAttemptFailed")
        assert failed.at == started + timedelta(seconds=30)
        assert failed.data["failure"]["kind"] == "attempt"

        assert await result_of(handle) == {"timeout": "attempt", "attempt": 2, "details": None}
        history = await env.client.history(box.id)
        assert at(history, "ActivityAttemptStarted") == [started, started + timedelta(seconds=31)]
        assert at(history, "ActivityTimedOut") == [started + timedelta(seconds=61)]


async def test_attempt_timeout_applies_even_while_heartbeats_arrive() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(hb_await, "slow", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        started = env.clock.now()

        for _ in range(4):
            await env.advance(timedelta(seconds=6))
            await env.client.heartbeat_activity(ctx.token, "still here")
        await env.advance(timedelta(seconds=6))

        (failed,) = of_type(await env.client.history(box.id), "ActivityAttemptFailed")
        assert failed.at == started + timedelta(seconds=30)
        assert failed.data["failure"]["kind"] == "attempt"


async def test_total_timeout_closes_an_async_activity_with_kind_total_and_no_retry() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "total_async", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        started = env.clock.now()
        assert only_pending(await env.client.describe(box.id)).deadlines["total"] == started + timedelta(seconds=60)

        await env.advance(timedelta(seconds=60) - MS)
        assert only_pending(await env.client.describe(box.id)).state == tether.ActivityState.ASYNC
        await env.advance(MS)

        assert await result_of(handle) == {"timeout": "total", "attempt": 1, "details": None}
        history = await env.client.history(box.id)
        assert at(history, "ActivityTimedOut") == [started + timedelta(seconds=60)]
        assert len(of_type(history, "ActivityAttemptStarted")) == 1
        with pytest.raises(ActivityAlreadyClosed) as closed:
            await env.client.complete_activity(ctx.token, "too late")
        assert closed.value.final_state == "timed_out"


async def test_total_timeout_ends_retries_and_reports_the_last_attempt_failure() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "total_fails_first", id=box.id)
        first = await box.context()
        await env.wait_for_idle()
        await env.advance(timedelta(seconds=1))
        second = await box.context()
        assert (first.attempt, second.attempt) == (1, 2)

        outcome = await result_of(handle)

        assert outcome["timeout"] == "total"
        assert outcome["attempt"] == 2
        assert outcome["details"]["last_failure"]["error"] == "RuntimeError"
        history = await env.client.history(box.id)
        started = of_type(history, "ActivityScheduled")[0].at
        assert at(history, "ActivityTimedOut") == [started + timedelta(seconds=60)]
        assert len(of_type(history, "ActivityAttemptStarted")) == 2


async def test_retry_that_would_start_after_the_total_deadline_is_not_scheduled() -> None:
    # Attempts start at 0s, 10s and 50s; the next would start at 210s, after the 60s deadline.
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(hb_await, "total_keeps_failing", id=box.id)

        outcome = await result_of(handle)

        history = await env.client.history(handle.id)
        scheduled = of_type(history, "ActivityScheduled")[0].at
        assert at(history, "ActivityAttemptStarted") == [
            scheduled,
            scheduled + timedelta(seconds=10),
            scheduled + timedelta(seconds=50),
        ]
        closing = of_type(history, "ActivityFailed", "ActivityTimedOut")
        assert [e.at for e in closing] == [scheduled + timedelta(seconds=50)]
        assert outcome["attempt"] == 3


async def test_total_timeout_closes_an_activity_no_worker_ever_started() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(hb_await, "never_served")

        assert await result_of(handle) == {"timeout": "total", "attempt": 1, "details": None}
        history = await env.client.history(handle.id)
        assert of_type(history, "ActivityAttemptStarted") == []
        scheduled = of_type(history, "ActivityScheduled")[0].at
        assert at(history, "ActivityTimedOut") == [scheduled + timedelta(seconds=60)]
