"""What workflow code calls: start activities, sleep durably, read deterministic time."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from tether.errors import NotInWorkflow
from tether.model.clock import duration_ms, from_ms
from tether.runtime.activity_calls import CalledActivity
from tether.runtime.definitions import Activity, positional_args
from tether.runtime.workflow_instance import ActivityHandle, WorkflowInstance
from tether.runtime.workflow_loop import WorkflowLoop

P = ParamSpec("P")
R = TypeVar("R")


def current() -> WorkflowInstance:
    """The workflow instance whose code is running.

    Raises:
        NotInWorkflow: called outside workflow code.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if not isinstance(loop, WorkflowLoop):
        raise NotInWorkflow(
            "this is only available inside workflow code (an @tether.workflow function run by a worker)"
        )
    return loop.instance


def call_activity(activity: Activity[P, R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Coroutine[Any, Any, R]:
    """What calling an activity in workflow code returns: a coroutine that schedules it when it first runs.

    Raises:
        NotInWorkflow: called outside workflow code.
        InvalidPayload: an argument cannot be serialised.
    """
    instance = current()
    return CalledActivity(instance, instance.call_activity(activity, positional_args(activity.fn, args, kwargs)))


def start_activity(activity: Activity[P, R], *args: P.args, **kwargs: P.kwargs) -> ActivityHandle[R]:
    """Schedule an activity now and return its handle without waiting.

    The handle is awaitable (for the result), works with ``asyncio.gather`` and
    ``asyncio.wait``, and offers ``cancel()`` and ``on_heartbeat(callback)``.

    Raises:
        NotInWorkflow: called outside workflow code.
        InvalidPayload: an argument cannot be serialised.
    """
    instance = current()
    if not isinstance(activity, Activity):
        raise NotInWorkflow(f"{activity!r} is not a tether activity; decorate it with @tether.activity")
    return instance.start_activity(activity, positional_args(activity.fn, args, kwargs))


async def sleep(duration: timedelta | float) -> None:
    """Wait durably: the timer survives crashes and fires once, even if it fell due while no worker ran."""
    instance = current()
    delay = duration_ms(duration)
    if delay <= 0:
        return
    await instance.start_timer(delay)


def now() -> datetime:
    """The workflow's deterministic time: the time of its current workflow task."""
    return from_ms(current().now_ms)


def uuid4() -> uuid.UUID:
    """A random-looking UUID that is the same on every replay."""
    instance = current()
    digest = hashlib.sha256(f"{instance.execution_id}:{instance.next_id()}".encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)
