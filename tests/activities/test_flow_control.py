"""Flow control of an activity type: max_concurrent, rate_limit and priority, on one worker."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

import tether
from tether.errors import UsageError
from tether.model.events import EventType
from tether.testing import TestEnvironment

# Per test: the event loop's objects, made by the test (each test has a loop of its own).
RUN: dict[str, Any] = {}


def _running(delta: int) -> None:
    RUN["running"] += delta
    RUN["peak"] = max(RUN["peak"], RUN["running"])


@tether.activity(max_concurrent=2)
async def fc_gated(i: int) -> int:
    _running(+1)
    RUN["started"].put_nowait(i)
    await RUN["gate"].wait()
    _running(-1)
    return i


@tether.workflow
async def fc_fan_out(n: int) -> int:
    return sum(await asyncio.gather(*(fc_gated(i) for i in range(n))))


@tether.activity(rate_limit="10/s")
async def fc_paced(i: int) -> int:
    return i


@tether.workflow
async def fc_paced_fan_out(n: int) -> int:
    return sum(await asyncio.gather(*(fc_paced(i) for i in range(n))))


@tether.activity
async def fc_blocker() -> str:
    await RUN["gate"].wait()
    return "blocker"


@tether.activity
async def fc_ordered(label: str) -> str:
    RUN["order"].append(label)
    return label


@tether.workflow
async def fc_by_priority(calls: list[tuple[str, int | None]]) -> list[str]:
    blocker = tether.start_activity(fc_blocker)  # holds the worker's only slot while the others queue
    rest = [fc_ordered.with_options(priority=priority)(label) for label, priority in calls]
    return [await blocker, *await asyncio.gather(*rest)]


def _fresh() -> None:
    RUN.clear()
    RUN.update(running=0, peak=0, started=asyncio.Queue(), gate=asyncio.Event(), order=[])


async def test_max_concurrent_holds_further_attempts_queued_until_a_slot_frees() -> None:
    _fresh()
    async with TestEnvironment(workflows=[fc_fan_out], activities=[fc_gated]) as env:
        handle = await env.client.start_workflow(fc_fan_out, 5)
        first = {await RUN["started"].get(), await RUN["started"].get()}
        await env.advance(timedelta(0))  # everything the worker would do now, done
        assert RUN["started"].empty()
        assert RUN["running"] == 2  # three wait, ready, with slots free in the worker
        RUN["gate"].set()
        assert await handle.result() == 10
    assert len(first) == 2
    assert RUN["peak"] == 2


async def test_a_crashed_workers_slots_come_back_once_its_lease_runs_out() -> None:
    _fresh()
    async with TestEnvironment(workflows=[fc_fan_out], activities=[fc_gated]) as env:
        handle = await env.client.start_workflow(fc_fan_out, 3)
        await RUN["started"].get()
        await RUN["started"].get()
        await env.restart()  # a killed worker: its two attempts still hold the activity's two slots
        RUN["gate"].set()
        assert await handle.result() == 3  # the lost attempts were retried, and the third one ran
        lost = [
            e
            for e in await handle.history()
            if e.type == EventType.ACTIVITY_ATTEMPT_FAILED and e.data["failure"]["error"] == "WorkerLost"
        ]
    assert len(lost) == 2


async def test_rate_limit_starts_twenty_five_attempts_in_three_windows_of_the_virtual_clock() -> None:
    async with TestEnvironment(workflows=[fc_paced_fan_out], activities=[fc_paced]) as env:
        handle = await env.client.start_workflow(fc_paced_fan_out, 25)
        assert await handle.result() == sum(range(25))
        starts = sorted(e.at for e in await handle.history() if e.type == EventType.ACTIVITY_ATTEMPT_STARTED)
    assert len(starts) == 25
    windows = Counter((at - starts[0]) // timedelta(seconds=1) for at in starts)
    assert sorted(windows.items()) == [(0, 10), (1, 10), (2, 5)]
    # A sliding window, not a fixed one: no second anywhere holds more than ten starts.
    assert all(sum(1 for t in starts if s <= t < s + timedelta(seconds=1)) <= 10 for s in starts)


async def test_with_one_slot_higher_priority_attempts_start_first_and_equal_ones_in_order() -> None:
    _fresh()
    calls: list[tuple[str, int | None]] = [("low", -1), ("plain-1", None), ("high-1", 5), ("plain-2", 0), ("high-2", 5)]
    async with TestEnvironment(
        workflows=[fc_by_priority], activities=[fc_blocker, fc_ordered], max_concurrent_activities=1
    ) as env:
        handle = await env.client.start_workflow(fc_by_priority, calls)
        await env.advance(timedelta(0))
        assert RUN["order"] == []  # all five wait behind the blocker
        RUN["gate"].set()
        assert await handle.result() == ["blocker", *(label for label, _ in calls)]
    assert RUN["order"] == ["high-1", "high-2", "plain-1", "plain-2", "low"]


def _undecorated(i: int) -> int:
    return i


@pytest.mark.parametrize("rate", ["10/x", "0/s", "ten/s", "10", "/s", "-1/m", "1.5/s", 10])
def test_a_rate_limit_that_is_not_a_rate_is_refused_at_decoration(rate: Any) -> None:
    with pytest.raises(UsageError, match=r"rate_limit=.*such as \"10/s\""):
        tether.activity(name="fc_refused", rate_limit=rate)(_undecorated)


@pytest.mark.parametrize("bound", [0, -1, 1.5, True])
def test_max_concurrent_must_be_a_positive_int(bound: Any) -> None:
    with pytest.raises(UsageError, match="max_concurrent"):
        tether.activity(name="fc_refused", max_concurrent=bound)(_undecorated)


def test_rates_per_minute_and_hour_are_accepted() -> None:
    assert tether.activity(name="fc_per_minute", rate_limit="5/m")(_undecorated).options.rate_limit == "5/m"
    assert tether.activity(name="fc_per_hour", rate_limit=" 100 / h ")(_undecorated).options.rate_limit == "100/h"


@tether.workflow
async def fc_hold_the_slot() -> str:
    RUN["started"].put_nowait("blocker")
    return await fc_blocker()


@tether.workflow
async def fc_one_call(label: str) -> str:
    return await fc_ordered(label)


async def test_activity_calls_inherit_the_priority_their_workflow_was_started_with() -> None:
    _fresh()
    async with TestEnvironment(
        workflows=[fc_hold_the_slot, fc_one_call], activities=[fc_blocker, fc_ordered], max_concurrent_activities=1
    ) as env:
        blocker = await env.client.start_workflow(fc_hold_the_slot)
        await RUN["started"].get()
        await env.advance(timedelta(0))
        handles = [
            await env.client.start_workflow(fc_one_call, label, priority=priority)
            for label, priority in [("zero", 0), ("seven", 7), ("three", 3), ("minus", -2), ("seven-later", 7)]
        ]
        await env.advance(timedelta(0))
        assert RUN["order"] == []
        RUN["gate"].set()
        assert await blocker.result() == "blocker"
        for handle in handles:
            await handle.result()
    assert RUN["order"] == ["seven", "seven-later", "three", "zero", "minus"]


@tether.workflow
async def fc_child() -> str:
    return "child"


@tether.workflow
async def fc_parent(child_id: str) -> str:
    return await tether.run_workflow(fc_child, id=child_id)


async def test_a_child_workflow_inherits_its_parents_priority() -> None:
    async with TestEnvironment(workflows=[fc_parent, fc_child]) as env:
        handle = await env.client.start_workflow(fc_parent, "fc-child-1", priority=9)
        assert await handle.result() == "child"
        (started,) = [e for e in await env.client.history("fc-child-1") if e.type == EventType.WORKFLOW_STARTED]
        (parent_started,) = [e for e in await handle.history() if e.type == EventType.WORKFLOW_STARTED]
    assert started.data["priority"] == parent_started.data["priority"] == 9


async def test_describe_shows_the_priority_an_execution_and_its_child_were_started_with() -> None:
    async with TestEnvironment(workflows=[fc_parent, fc_child]) as env:
        handle = await env.client.start_workflow(fc_parent, "fc-child-2", priority=-3)
        assert await handle.result() == "child"
        plain = await env.client.start_workflow(fc_child)
        assert await plain.result() == "child"
        assert (await handle.describe()).priority == -3
        assert (await env.client.describe("fc-child-2")).priority == -3
        assert (await plain.describe()).priority == 0


@tether.workflow
async def fc_waits_for_done() -> str:
    return str(await tether.receive("done"))


async def test_send_with_start_starts_the_execution_with_its_priority_and_leaves_an_existing_ones() -> None:
    async with TestEnvironment(workflows=[fc_waits_for_done]) as env:
        handle = await env.client.send_with_start(fc_waits_for_done, id="fc-sent", message="go", priority=6)
        await env.client.send_with_start(fc_waits_for_done, id="fc-sent", message="go", key="again", priority=1)
        assert (await handle.describe()).priority == 6
        await env.client.send("fc-sent", "done", "finished")
        assert await handle.result() == "finished"
        (started,) = [e for e in await handle.history() if e.type == EventType.WORKFLOW_STARTED]
    assert started.data["priority"] == 6


@pytest.mark.parametrize("priority", [2**31, -(2**31), 1.5, "high", None])
async def test_send_with_start_refuses_a_priority_out_of_range_before_anything_starts(priority: Any) -> None:
    async with TestEnvironment(workflows=[fc_child]) as env:
        with pytest.raises(UsageError, match="priority"):
            await env.client.send_with_start(fc_child, id="fc-refused", message="go", priority=priority)
        with pytest.raises(UsageError, match="priority"):
            await env.client.start_workflow(fc_child, id="fc-refused", priority=priority)
        assert await env.client.list_workflows() == []


@pytest.mark.parametrize("priority", [2**31, -(2**31), 1.5, "high"])
async def test_a_priority_out_of_range_is_refused_before_anything_starts(priority: Any) -> None:
    async with TestEnvironment(workflows=[fc_child]) as env:
        with pytest.raises(UsageError, match="priority"):
            await env.client.start_workflow(fc_child, id="fc-refused", priority=priority)
        with pytest.raises(UsageError, match="priority"):
            fc_ordered.with_options(priority=priority)
        assert await env.client.list_workflows() == []


async def test_ready_workflow_tasks_are_claimed_highest_priority_first_then_oldest_first(store_url: str) -> None:
    client = await tether.Client.connect(store_url)  # no worker: the tasks wait, ready
    try:
        for label, priority in [("a", 0), ("b", 4), ("c", -1), ("d", 4), ("e", 0)]:
            await client.start_workflow(fc_one_call, label, id=f"fc-{label}", priority=priority)
        claimed = []
        for _ in range(5):
            (task,) = await client.engine.claim_workflow_tasks(
                owner="w", workflows_=[fc_one_call.name], limit=1, lease_ms=60_000, cached_seq={}
            )
            claimed.append(task.execution_id)
    finally:
        await client.close()
    assert claimed == ["fc-b", "fc-d", "fc-a", "fc-e", "fc-c"]
