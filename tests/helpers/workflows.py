"""Workflows, activities and helpers shared by the workflow and recovery tests.

The ``hist_*`` workflows are the ones whose histories are committed in tests/histories/:
changing their code changes what replay of those files expects. That is the point of the
recorded histories; regenerate them (``python -m tests.histories.record``) only for a
deliberate, compatible change.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import tether
from tether.model.events import COMMAND_EVENTS, EventType
from tether.testing import TestEnvironment


def new_id(prefix: str) -> str:
    """A fresh execution id, so that no two tests share one."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Mailbox:
    """Messages by key: activities hand over tokens or signals, tests await them (and the reverse).

    Queues belong to the running event loop, so that tests (each on its own loop) never
    share one even when they reuse an execution id.
    """

    def __init__(self) -> None:
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Queue[str]]] = (
            weakref.WeakKeyDictionary()
        )

    def _queue(self, key: str) -> asyncio.Queue[str]:
        queues = self._queues.setdefault(asyncio.get_running_loop(), {})
        return queues.setdefault(key, asyncio.Queue())

    def put(self, key: str, message: str) -> None:
        """Hand over a message without waiting."""
        self._queue(key).put_nowait(message)

    async def get(self, key: str) -> str:
        """The next message put under ``key``, waiting for it."""
        return await self._queue(key).get()


TOKENS = Mailbox()
"""Tokens of async activities, by execution id."""


# history inspection


def types_of(history: Sequence[tether.HistoryEvent]) -> list[str]:
    """The event types of a history, in order."""
    return [event.type for event in history]


def events_of(history: Sequence[tether.HistoryEvent], kind: EventType, **match: Any) -> list[tether.HistoryEvent]:
    """The events of one type whose data has the given values."""
    return [
        event
        for event in history
        if event.type == kind and all(event.data.get(key) == value for key, value in match.items())
    ]


def commands_of(history: Sequence[tether.HistoryEvent]) -> list[tuple[str, dict[str, Any]]]:
    """The commands a history records (type and data), without the task markers."""
    names = {str(kind) for kind in COMMAND_EVENTS}
    return [(event.type, event.data) for event in history if event.type in names]


# recorded-history workflows


@tether.activity
def hist_add(a: int, b: int) -> int:
    return a + b


@tether.activity
async def hist_double(x: int) -> int:
    return 2 * x


@tether.workflow
async def hist_activities(x: int) -> int:
    y = await hist_add(x, 1)
    z, w = await asyncio.gather(hist_add(y, 1), hist_double(y))
    return z + w


@tether.workflow
async def hist_sleep(hours: int) -> list[str]:
    started = tether.now()
    await tether.sleep(timedelta(hours=hours))
    await asyncio.sleep(60)  # inside a workflow: a durable timer on the virtual clock
    try:
        await asyncio.wait_for(tether.sleep(timedelta(days=1)), timeout=30)
        outcome = "slept"
    except TimeoutError:
        outcome = "timed out"
    doubled = await asyncio.wait_for(hist_double(5), timeout=3600)
    return [outcome, str(doubled), str(tether.now() - started)]


@tether.activity(retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=5)))
async def hist_flaky(text: str) -> str:
    attempt = tether.context().attempt
    if attempt < 3:
        raise ConnectionError(f"attempt {attempt} lost its connection")
    return f"{text} on attempt {attempt}"


@tether.activity(retry=tether.RetryPolicy(max_attempts=5, non_retryable=["Rejected"]))
def hist_reject(text: str) -> str:
    raise tether.errors.ActivityFailed(f"{text} is rejected", error="Rejected")


@tether.workflow
async def hist_retries(text: str) -> list[str]:
    flaky = await hist_flaky(text)
    try:
        await hist_reject(text)
        rejected = "accepted"
    except tether.errors.ActivityFailed as exc:
        rejected = f"{exc.error} after {exc.attempt} attempt(s)"
    return [flaky, rejected]


@tether.activity(heartbeat=timedelta(hours=1))
async def hist_approval(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow
async def hist_async_completion(order: str) -> list[str]:
    progress: list[str] = []
    handle = tether.start_activity(hist_approval, order)
    handle.on_heartbeat(lambda details: progress.append(f"step {details['step']}"))
    approved_by: str = await handle
    return [f"{order} approved by {approved_by}", *progress]


async def drive_async_completion(env: TestEnvironment, execution_id: str) -> None:
    """Heartbeat twice, then complete the approval of hist_async_completion by its token."""
    token = await TOKENS.get(execution_id)
    await env.wait_for_idle()
    for step in (1, 2):
        await env.client.heartbeat_activity(token, {"step": step})
        await env.wait_for_idle()
    await env.client.complete_activity(token, "ana")


HISTORY_WORKFLOWS: list[tether.Workflow[..., Any]] = [
    hist_activities,
    hist_sleep,
    hist_retries,
    hist_async_completion,
]
HISTORY_ACTIVITIES: list[tether.Activity[..., Any]] = [hist_add, hist_double, hist_flaky, hist_reject, hist_approval]


# scenarios


@dataclass(frozen=True)
class Scenario:
    """A workflow run from start to result, with what drives it from outside."""

    name: str
    workflow: tether.Workflow[..., Any]
    args: tuple[Any, ...]
    expected: Any
    drive: Callable[[TestEnvironment, str], Awaitable[None]] | None = None
    workflows: Sequence[tether.Workflow[..., Any]] = field(default_factory=lambda: HISTORY_WORKFLOWS)
    activities: Sequence[tether.Activity[..., Any]] = field(default_factory=lambda: HISTORY_ACTIVITIES)

    def __str__(self) -> str:
        return self.name


HISTORY_SCENARIOS = [
    Scenario("activities", hist_activities, (1,), 7),
    Scenario("sleep", hist_sleep, (1,), ["timed out", "10", "1:01:30"]),
    Scenario("retries", hist_retries, ("parcel",), ["parcel on attempt 3", "Rejected after 1 attempt(s)"]),
    Scenario(
        "async_completion",
        hist_async_completion,
        ("o-1",),
        ["o-1 approved by ana", "step 1", "step 2"],
        drive=drive_async_completion,
    ),
]


async def run_scenario(env: TestEnvironment, scenario: Scenario, execution_id: str) -> Any:
    """Start the scenario's workflow, drive it, and return its result."""
    handle = await env.client.start_workflow(scenario.workflow, *scenario.args, id=execution_id)
    if scenario.drive is not None:
        await scenario.drive(env, execution_id)
    return await handle.result()
