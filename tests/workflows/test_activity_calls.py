"""Calling an activity in a workflow schedules it when the call is awaited, not before; start_activity at once."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

import pytest

import tether
from tests.helpers.workflows import commands_of, new_id
from tether.testing import TestEnvironment

EFFECTS: collections.Counter[tuple[str, str]] = collections.Counter()
"""Side effects by (execution id, label): each attempt counts itself."""


@tether.activity(name="ac.effect")
async def ac_effect(label: str) -> str:
    EFFECTS[(tether.context().execution_id, label)] += 1
    return label


@tether.workflow(name="ac.cancelled_task")
async def ac_cancelled_task() -> str:
    task = asyncio.ensure_future(ac_effect("cancelled"))
    task.cancel()  # before it ran
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await tether.sleep(60)  # a later task, in which an orphan attempt would have run
    return "done"


@tether.workflow(name="ac.wait_for_no_time")
async def ac_wait_for_no_time() -> str:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ac_effect("no time"), timeout=0)
    await tether.sleep(60)
    return "done"


@tether.workflow(name="ac.dropped_call")
async def ac_dropped_call() -> str:
    ac_effect("dropped")  # type: ignore[unused-coroutine]  # the mistake under test: a call never awaited
    await tether.sleep(60)
    return "done"


@tether.workflow(name="ac.closed_call")
async def ac_closed_call() -> str:
    ac_effect("closed").close()  # created and deliberately dropped: no warning
    await tether.sleep(60)
    return "done"


@tether.workflow(name="ac.gathered")
async def ac_gathered() -> list[Any]:
    gathered = await asyncio.gather(tether.sleep(1), ac_effect("a"), ac_effect("b"))
    within = await asyncio.wait_for(ac_effect("c"), timeout=60)
    return [*gathered, within]


@tether.workflow(name="ac.awaited_later")
async def ac_awaited_later() -> str:
    call = ac_effect("later")
    await tether.sleep(60)
    return await call


@tether.workflow(name="ac.started")
async def ac_started() -> str:
    tether.start_activity(ac_effect, "started")  # the handle is not awaited: the activity runs anyway
    await tether.sleep(60)
    return "done"


WORKFLOWS: list[tether.Workflow[..., Any]] = [
    ac_cancelled_task,
    ac_wait_for_no_time,
    ac_dropped_call,
    ac_closed_call,
    ac_gathered,
    ac_awaited_later,
    ac_started,
]


@pytest.fixture(params=[2000, 0], ids=["cached", "replayed"])
def cached(request: pytest.FixtureRequest) -> int:
    """The worker's cache size: with 0, every workflow task replays the history so far."""
    size: int = request.param
    return size


async def run(workflow: tether.Workflow[[], Any], cached: int) -> tuple[str, Any, list[tether.HistoryEvent]]:
    """Run a workflow to its end: its execution id, result and history."""
    async with TestEnvironment(workflows=WORKFLOWS, activities=[ac_effect], max_cached_workflows=cached) as env:
        handle = await env.client.start_workflow(workflow, id=new_id("ac"))
        result = await handle.result()
        return handle.id, result, await handle.history()


def effects_of(execution_id: str) -> dict[str, int]:
    return {label: n for (eid, label), n in EFFECTS.items() if eid == execution_id}


def scheduled(history: list[tether.HistoryEvent]) -> list[tuple[int, str]]:
    return [(e.data["activity_id"], e.data["args"][0]) for e in history if e.type == "ActivityScheduled"]


@pytest.mark.parametrize("workflow", [ac_cancelled_task, ac_wait_for_no_time, ac_closed_call], ids=lambda w: w.name)
async def test_an_activity_call_that_never_runs_schedules_nothing_and_runs_no_attempt(
    workflow: tether.Workflow[[], str], cached: int
) -> None:
    execution_id, result, history = await run(workflow, cached)

    assert result == "done"
    assert scheduled(history) == []
    assert effects_of(execution_id) == {}


async def test_an_activity_call_never_awaited_schedules_nothing_and_python_warns_of_it(cached: int) -> None:
    with pytest.warns(RuntimeWarning, match="'ac.effect' was called in workflow code but the call was never awaited"):
        execution_id, result, history = await run(ac_dropped_call, cached)

    assert result == "done"
    assert scheduled(history) == []
    assert effects_of(execution_id) == {}


async def test_gathered_calls_keep_the_ids_and_order_of_their_calls(cached: int) -> None:
    _, result, history = await run(ac_gathered, cached)

    assert result == [None, "a", "b", "c"]
    # Ids follow the calls, and each ActivityScheduled sits where its call was made among the
    # task's commands, as when calls scheduled at once: histories recorded then replay.
    assert [(kind, data.get("activity_id", data.get("timer_id"))) for kind, data in commands_of(history)] == [
        ("ActivityScheduled", 1),
        ("ActivityScheduled", 2),
        ("TimerStarted", 3),
        ("ActivityScheduled", 4),
        ("TimerStarted", 5),
        ("TimerCancelled", 5),
        ("WorkflowCompleted", None),
    ]
    assert scheduled(history) == [(1, "a"), (2, "b"), (4, "c")]


async def test_an_activity_call_awaited_in_a_later_task_is_scheduled_then(cached: int) -> None:
    execution_id, result, history = await run(ac_awaited_later, cached)

    assert result == "later"
    kinds = [e.type for e in history]
    assert kinds.index("TimerFired") < kinds.index("ActivityScheduled")
    assert scheduled(history) == [(1, "later")]
    assert effects_of(execution_id) == {"later": 1}


async def test_start_activity_schedules_at_once_and_its_attempt_runs_though_never_awaited(cached: int) -> None:
    execution_id, result, history = await run(ac_started, cached)

    assert result == "done"
    kinds = [e.type for e in history]
    assert kinds.index("ActivityScheduled") < kinds.index("TimerStarted")
    assert scheduled(history) == [(1, "started")]
    assert effects_of(execution_id) == {"started": 1}
