"""A workflow instance tells whether it awaits one activity and nothing else: its workflow may close when that ends.

A worker's store may then read the execution's open activities with its first lock, in the
same round trip, when it records that activity's end (see ``Touches.reads_open_activities``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import tether
from tether.model.events import Event, EventType
from tether.runtime.workflow_instance import WorkflowInstance


@tether.activity(name="awo.step")
async def awo_step(n: int) -> int:
    return n


@tether.workflow(name="awo.one")
async def awo_one() -> int:
    return await awo_step(1)


@tether.workflow(name="awo.two")
async def awo_two() -> list[int]:
    return list(await asyncio.gather(awo_step(1), awo_step(2)))


@tether.workflow(name="awo.raced")
async def awo_raced() -> int:
    step = asyncio.ensure_future(awo_step(1))
    timer = asyncio.ensure_future(asyncio.sleep(60))  # inside a workflow: a durable timer, never waited here
    done, _ = await asyncio.wait([step, timer], return_when=asyncio.FIRST_COMPLETED)
    return 1 if step in done else 0


def started(workflow: tether.Workflow[..., Any]) -> WorkflowInstance:
    instance = WorkflowInstance("awo-1", workflow)
    commands = instance.activate([Event(1, EventType.WORKFLOW_STARTED, 1_000, {"args": []})], 1_000)
    assert commands  # it scheduled what it awaits
    return instance


def test_an_instance_awaiting_one_activity_awaits_only_that_one() -> None:
    instance = started(awo_one)

    assert instance.awaits_only(1)
    assert not instance.awaits_only(2)


def test_an_instance_awaiting_two_activities_or_an_activity_and_a_timer_awaits_neither_only() -> None:
    assert not started(awo_two).awaits_only(1)
    assert not started(awo_raced).awaits_only(1)
