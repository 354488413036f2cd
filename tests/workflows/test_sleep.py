"""Durable timers: tether.sleep, and asyncio sleeps, timeouts, gather and wait inside workflows."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id, types_of
from tether.model.clock import to_ms
from tether.model.events import EventType
from tether.testing import TestEnvironment


@tether.activity
async def sleep_double(x: int) -> int:
    return 2 * x


@tether.activity
async def sleep_approval(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow
async def sleep_a_day() -> list[str]:
    before = tether.now()
    await tether.sleep(timedelta(days=1))
    return [before.isoformat(), tether.now().isoformat()]


@tether.workflow
async def sleep_seconds(seconds: float) -> str:
    await tether.sleep(seconds)
    return tether.now().isoformat()


@tether.workflow
async def sleep_nothing() -> str:
    await tether.sleep(0)
    await tether.sleep(timedelta(seconds=-5))
    return tether.now().isoformat()


@tether.workflow
async def sleep_asyncio_sleep() -> str:
    await asyncio.sleep(3600)  # inside a workflow: a durable timer on the virtual clock
    return tether.now().isoformat()


@tether.workflow
async def sleep_wait_for_times_out() -> list[str]:
    try:
        await asyncio.wait_for(tether.sleep(timedelta(days=1)), timeout=30)
        outcome = "slept"
    except TimeoutError:
        outcome = "timed out"
    timed_out_at = tether.now()
    await tether.sleep(timedelta(days=2))
    return [outcome, timed_out_at.isoformat()]


@tether.workflow
async def sleep_wait_for_in_time(x: int) -> list[str]:
    doubled = await asyncio.wait_for(sleep_double(x), timeout=3600)
    await tether.sleep(timedelta(hours=2))
    return [str(doubled), tether.now().isoformat()]


@tether.workflow
async def sleep_wait_with_timeout(order: str) -> list[str]:
    approval = tether.start_activity(sleep_approval, order)
    done, _ = await asyncio.wait([approval], timeout=600)
    outcome = "done" if approval in done else "pending"
    checked_at = tether.now()
    approved_by: str = await approval
    return [outcome, checked_at.isoformat(), approved_by]


@tether.workflow
async def sleep_gather(x: int) -> list[int]:
    started = tether.now()
    first, _, second, _ = await asyncio.gather(
        # asyncio.sleep inside a workflow is a durable timer on the virtual clock
        sleep_double(x),
        tether.sleep(timedelta(hours=2)),
        sleep_double(x + 1),
        asyncio.sleep(3600),
    )
    return [first, second, int((tether.now() - started).total_seconds())]


@tether.workflow
async def sleep_race(order: str, limit_s: int) -> list[str]:
    approval = tether.start_activity(sleep_approval, order)
    timer = asyncio.ensure_future(tether.sleep(limit_s))
    racers: list[asyncio.Future[Any]] = [approval, timer]
    done, _ = await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    if approval in done:
        timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timer
        return ["approval first", str(approval.result()), tether.now().isoformat()]
    late: str = await approval
    return ["timer first", late, tether.now().isoformat()]


WORKFLOWS: list[tether.Workflow[..., Any]] = [
    sleep_a_day,
    sleep_seconds,
    sleep_nothing,
    sleep_asyncio_sleep,
    sleep_wait_for_times_out,
    sleep_wait_for_in_time,
    sleep_wait_with_timeout,
    sleep_gather,
    sleep_race,
]
ACTIVITIES: list[tether.Activity[..., Any]] = [sleep_double, sleep_approval]


def env() -> TestEnvironment:
    return TestEnvironment(workflows=WORKFLOWS, activities=ACTIVITIES)


def at(start: datetime, delta: timedelta) -> str:
    return (start + delta).isoformat()


async def test_sleep_of_a_day_completes_with_now_advanced_by_a_day() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_a_day, id=new_id("day"))

        result = await handle.result()

        assert result == [start.isoformat(), at(start, timedelta(days=1))]
        assert e.clock.now() == start + timedelta(days=1)
        history = await handle.history()
        started = events_of(history, EventType.TIMER_STARTED)
        assert [event.data["due_at_ms"] for event in started] == [to_ms(start + timedelta(days=1))]
        assert len(events_of(history, EventType.TIMER_FIRED, timer_id=started[0].data["timer_id"])) == 1


async def test_sleep_accepts_plain_seconds() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_seconds, 90.5, id=new_id("seconds"))

        assert await handle.result() == at(start, timedelta(seconds=90.5))


async def test_sleep_of_zero_or_less_returns_without_a_timer() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_nothing, id=new_id("nothing"))

        assert await handle.result() == start.isoformat()
        history = await handle.history()
        assert EventType.TIMER_STARTED not in types_of(history)
        assert e.clock.now() == start


async def test_asyncio_sleep_in_a_workflow_is_a_durable_timer() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_asyncio_sleep, id=new_id("asyncio-sleep"))

        assert await handle.result() == at(start, timedelta(hours=1))
        history = await handle.history()
        started = events_of(history, EventType.TIMER_STARTED)
        assert [event.data["due_at_ms"] for event in started] == [to_ms(start + timedelta(hours=1))]
        assert len(events_of(history, EventType.TIMER_FIRED)) == 1


async def test_wait_for_timeout_fires_its_timer_and_cancels_the_inner_sleep() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_wait_for_times_out, id=new_id("wait-for-timeout"))

        result = await handle.result()

        assert result == ["timed out", at(start, timedelta(seconds=30))]
        history = await handle.history()
        due = {event.data["timer_id"]: event.data["due_at_ms"] for event in events_of(history, EventType.TIMER_STARTED)}
        timeout_timer = next(t for t, ms in due.items() if ms == to_ms(start + timedelta(seconds=30)))
        inner_sleep = next(t for t, ms in due.items() if ms == to_ms(start + timedelta(days=1)))
        fired = [event.data["timer_id"] for event in events_of(history, EventType.TIMER_FIRED)]
        cancelled = [event.data["timer_id"] for event in events_of(history, EventType.TIMER_CANCELLED)]
        assert timeout_timer in fired
        assert cancelled == [inner_sleep]
        # The workflow slept two more days, past the cancelled day-long timer: it never fired.
        assert inner_sleep not in fired


async def test_wait_for_that_finishes_in_time_cancels_its_timeout_timer() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_wait_for_in_time, 21, id=new_id("wait-for-in-time"))

        result = await handle.result()

        assert result == ["42", at(start, timedelta(hours=2))]
        history = await handle.history()
        due = {event.data["timer_id"]: event.data["due_at_ms"] for event in events_of(history, EventType.TIMER_STARTED)}
        timeout_timer = next(t for t, ms in due.items() if ms == to_ms(start + timedelta(hours=1)))
        assert [event.data["timer_id"] for event in events_of(history, EventType.TIMER_CANCELLED)] == [timeout_timer]
        assert events_of(history, EventType.TIMER_FIRED, timer_id=timeout_timer) == []


async def test_wait_with_timeout_returns_the_activity_as_pending_when_the_timer_fires() -> None:
    async with env() as e:
        start = e.clock.now()
        execution_id = new_id("wait-timeout")
        handle = await e.client.start_workflow(sleep_wait_with_timeout, "o-1", id=execution_id)
        token = await TOKENS.get(execution_id)
        await e.wait_for_idle()

        await e.advance(timedelta(minutes=10))
        await e.client.complete_activity(token, "ana")

        assert await handle.result() == ["pending", at(start, timedelta(minutes=10)), "ana"]
        history = await handle.history()
        assert len(events_of(history, EventType.TIMER_FIRED)) == 1
        assert events_of(history, EventType.TIMER_CANCELLED) == []


async def test_gather_waits_for_activities_and_timers_together() -> None:
    async with env() as e:
        start = e.clock.now()
        handle = await e.client.start_workflow(sleep_gather, 5, id=new_id("gather"))

        assert await handle.result() == [10, 12, 7200]
        assert e.clock.now() == start + timedelta(hours=2)
        history = await handle.history()
        first_task = history[types_of(history).index(EventType.WORKFLOW_TASK_COMPLETED)]
        assert first_task.data["commands"] == 4
        assert sorted(event.data["due_at_ms"] for event in events_of(history, EventType.TIMER_STARTED)) == [
            to_ms(start + timedelta(hours=1)),
            to_ms(start + timedelta(hours=2)),
        ]
        assert len(events_of(history, EventType.TIMER_FIRED)) == 2
        assert len(events_of(history, EventType.ACTIVITY_COMPLETED)) == 2


async def test_wait_first_completed_takes_the_activity_and_cancels_the_timer() -> None:
    async with env() as e:
        start = e.clock.now()
        execution_id = new_id("race-activity")
        handle = await e.client.start_workflow(sleep_race, "o-1", 3600, id=execution_id)
        token = await TOKENS.get(execution_id)

        await e.client.complete_activity(token, "ana")

        assert await handle.result() == ["approval first", "ana", start.isoformat()]
        history = await handle.history()
        timer_id = events_of(history, EventType.TIMER_STARTED)[0].data["timer_id"]
        assert len(events_of(history, EventType.TIMER_CANCELLED, timer_id=timer_id)) == 1
        assert events_of(history, EventType.TIMER_FIRED) == []
        assert e.clock.now() == start


async def test_wait_first_completed_takes_the_timer_when_it_fires_first() -> None:
    async with env() as e:
        start = e.clock.now()
        execution_id = new_id("race-timer")
        handle = await e.client.start_workflow(sleep_race, "o-1", 60, id=execution_id)
        token = await TOKENS.get(execution_id)
        await e.wait_for_idle()

        await e.advance(timedelta(seconds=60))
        await e.client.complete_activity(token, "ana")

        assert await handle.result() == ["timer first", "ana", at(start, timedelta(seconds=60))]
        history = await handle.history()
        fired = events_of(history, EventType.TIMER_FIRED)
        completed = events_of(history, EventType.ACTIVITY_COMPLETED)
        assert len(fired) == 1
        assert fired[0].seq < completed[0].seq
        assert events_of(history, EventType.TIMER_CANCELLED) == []
