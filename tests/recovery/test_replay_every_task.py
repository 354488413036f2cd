"""The main workflow scenarios give the same results and commands whether workflows stay cached or replay every task."""

from __future__ import annotations

import asyncio
import collections
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.transports import transport
from tests.helpers.workflows import HISTORY_SCENARIOS, TOKENS, Scenario, commands_of, events_of, run_scenario
from tether.model.events import EventType
from tether.testing import TestEnvironment

pytestmark = pytest.mark.usefixtures("transport")
__all__ = ["transport"]

CACHES = {"cached": 2000, "replay_every_task": 0}
STARTS: collections.Counter[str] = collections.Counter()
"""How often the body of rt_probe began running, by order: once per replay."""


@tether.activity
async def rt_hold(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow
async def rt_cancel_activity(order: str) -> str:
    hold = tether.start_activity(rt_hold, order)
    await tether.sleep(timedelta(minutes=5))
    hold.cancel()
    try:
        return str(await hold)
    except tether.errors.ActivityCancelled:
        return "cancelled after 5 minutes"


async def drive_cancellation(env: TestEnvironment, execution_id: str) -> None:
    token = await TOKENS.get(execution_id)
    await env.wait_for_idle()
    await env.advance(timedelta(minutes=5))
    reply = await env.client.heartbeat_activity(token)
    assert reply.cancel_requested
    await env.client.report_activity_cancelled(token)


@tether.activity
async def rt_square(x: int) -> int:
    return x * x


@tether.workflow
async def rt_fan_out(n: int) -> list[int]:
    squares = await asyncio.gather(*(rt_square(i) for i in range(n)))
    racers: list[asyncio.Future[Any]] = [tether.start_activity(rt_square, n), asyncio.ensure_future(tether.sleep(60))]
    done, pending = await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    for leftover in pending:
        leftover.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    last = next(iter(done)).result()
    return [*squares, last]


@tether.workflow
async def rt_probe(order: str) -> int:
    STARTS[order] += 1
    total = 0
    for i in range(3):
        total += await rt_square(i)
        await tether.sleep(60)
    return total


EXTRA: list[tether.Workflow[..., Any]] = [rt_cancel_activity, rt_fan_out, rt_probe]
EXTRA_ACTIVITIES: list[tether.Activity[..., Any]] = [rt_hold, rt_square]

SCENARIOS = [
    *HISTORY_SCENARIOS,
    Scenario(
        "cancel_activity",
        rt_cancel_activity,
        ("o-1",),
        "cancelled after 5 minutes",
        drive=drive_cancellation,
        workflows=EXTRA,
        activities=EXTRA_ACTIVITIES,
    ),
    Scenario("fan_out", rt_fan_out, (4,), [0, 1, 4, 9, 16], workflows=EXTRA, activities=EXTRA_ACTIVITIES),
]


def env_for(scenario: Scenario, cache: int) -> TestEnvironment:
    return TestEnvironment(workflows=scenario.workflows, activities=scenario.activities, max_cached_workflows=cache)


async def run(scenario: Scenario, cache: int) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    async with env_for(scenario, cache) as env:
        result = await run_scenario(env, scenario, execution_id=f"rt-{scenario.name}")
        history = await env.client.history(f"rt-{scenario.name}")
        assert events_of(history, EventType.WORKFLOW_TASK_FAILED) == []
        return result, commands_of(history)


@pytest.mark.parametrize("cache", CACHES.values(), ids=CACHES.keys())
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_scenario_gives_its_result(scenario: Scenario, cache: int) -> None:
    result, _ = await run(scenario, cache)

    assert result == scenario.expected


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_scenario_records_the_same_commands_with_and_without_cache(scenario: Scenario) -> None:
    cached = await run(scenario, CACHES["cached"])
    replayed = await run(scenario, CACHES["replay_every_task"])

    assert replayed == cached


@pytest.mark.parametrize(("cache", "starts"), [(CACHES["cached"], 1), (CACHES["replay_every_task"], 7)])
async def test_workflow_code_reruns_from_the_start_on_every_task_only_without_cache(cache: int, starts: int) -> None:
    order = f"probe-{cache}"
    STARTS.pop(order, None)  # the test runs once per transport
    async with TestEnvironment(workflows=EXTRA, activities=EXTRA_ACTIVITIES, max_cached_workflows=cache) as env:
        handle = await env.client.start_workflow(rt_probe, order, id=order)

        assert await handle.result() == 0 + 1 + 4
        history = await handle.history()

    # Three activities and three sleeps: a task to start, one after each, the last completing.
    assert len(events_of(history, EventType.WORKFLOW_TASK_COMPLETED)) == 7
    assert STARTS[order] == starts
