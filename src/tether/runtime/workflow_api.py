"""What workflow code calls: start activities, sleep durably, read deterministic time."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from tether.errors import NotInWorkflow, UsageError
from tether.model.clock import duration_ms, from_ms
from tether.runtime import messages
from tether.runtime.activity_calls import CalledActivity
from tether.runtime.child_workflows import ChildWorkflowHandle
from tether.runtime.definitions import Activity, Workflow, positional_args
from tether.runtime.messages import Request
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


def publish(name: str, value: Any) -> None:
    """Publish a named value of this execution, readable from outside: ``client.published(id, name)``.

    The last value of a name wins; each publish of it is one more version (1, 2, ...). The
    value is durable (it stays readable after the execution closed, until it is deleted) and
    is recorded with the workflow task that published it, so a replay publishes nothing
    again. A run that continues as new passes its values on to the next. Not awaited: it
    takes effect when the current workflow task completes (a publish just before ``return``
    is recorded before the execution closes). Readers waiting for a newer version
    (``client.published(..., wait=...)``) wake when it is recorded.

    Raises:
        NotInWorkflow: called outside workflow code.
        InvalidPayload: ``name`` is not a printable string of 1 to 256 characters without '/',
            or ``value`` cannot be serialised to JSON.
    """
    current().publish(name, value)


def now() -> datetime:
    """The workflow's deterministic time: the time of its current workflow task."""
    return from_ms(current().now_ms)


def uuid4() -> uuid.UUID:
    """A random-looking UUID that is the same on every replay."""
    instance = current()
    digest = hashlib.sha256(f"{instance.execution_id}:{instance.next_id()}".encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def start_workflow(
    workflow: Workflow[P, R],
    *args: Any,
    id: str | None = None,  # the name every other start_workflow uses
    parent_close: str = "cancel",
    **kwargs: Any,
) -> ChildWorkflowHandle[R]:
    """Start a child workflow now and return its handle without waiting.

    The child is an ordinary execution (listed, described, shown with a link to its parent).
    Its id defaults to one derived from the parent's; starting a child with the id of an
    execution that exists (of the same workflow, with no other parent) is that execution.
    When the parent closes, a running child is asked to cancel (``parent_close="cancel"``)
    or left running (``"abandon"``). The handle is awaitable for the child's result and
    raises :class:`~tether.errors.ChildWorkflowFailed` when the child does not complete.

    Raises:
        NotInWorkflow: called outside workflow code.
        UsageError: ``workflow`` is not a tether workflow, or ``parent_close`` is unknown.
        InvalidPayload: an argument cannot be serialised.
    """
    instance = current()
    if not isinstance(workflow, Workflow):
        raise UsageError(f"{workflow!r} is not a tether workflow; decorate it with @tether.workflow")
    if parent_close not in ("cancel", "abandon"):
        raise UsageError(f"parent_close must be 'cancel' or 'abandon', not {parent_close!r}")
    given: object = id
    if given is not None and (not isinstance(given, str) or not given):
        raise UsageError("id must be a non-empty string")
    return instance.start_child(workflow, positional_args(workflow.fn, args, kwargs), id, parent_close)


async def run_workflow(
    workflow: Workflow[P, R],
    *args: Any,
    id: str | None = None,  # the name every other start_workflow uses
    parent_close: str = "cancel",
    **kwargs: Any,
) -> R:
    """Start a child workflow and wait for its result (see :func:`start_workflow`).

    Raises:
        ChildWorkflowFailed: the child failed, was cancelled, terminated or timed out.
    """
    return await start_workflow(workflow, *args, id=id, parent_close=parent_close, **kwargs)


async def receive(name: str, *, timeout: timedelta | float | None = None) -> Any:
    """The payload of the oldest message ``name`` sent to this execution and not received yet.

    Messages are durable from the moment they are sent (before the workflow waits, even
    before its first step) and each is received once, in send order; the payload comes as
    the type the workflow declares for ``name`` (``@tether.workflow(messages=...)``), else
    as plain JSON values. Works inside ``asyncio.wait``/``gather`` and races with activities.

    Raises:
        TimeoutError: none came within ``timeout`` (a durable timer: it survives restarts);
            a message that comes later stays for the next receive.
        NotInWorkflow: called outside workflow code.
        InvalidPayload: the payload does not match the declared type.
    """
    return await messages.receive(current(), _name(name), timeout)


async def receive_request(name: str, *, timeout: timedelta | float | None = None) -> Request[Any]:
    """The oldest request ``name`` (sent with ``client.request``) not received yet; answer it with reply or reject.

    Requests and messages do not mix: ``receive`` takes only what ``send`` sent.

    Raises:
        TimeoutError: none came within ``timeout`` (a durable timer).
        NotInWorkflow: called outside workflow code.
        InvalidPayload: the payload does not match the declared type.
    """
    return await messages.receive_request(current(), _name(name), timeout)


def _name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise UsageError(f"a message name must be a non-empty string, not {name!r}")
    return name
