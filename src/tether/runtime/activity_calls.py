"""What calling an activity in workflow code returns: a coroutine that schedules the activity when it first runs."""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tether.model.events import Command
from tether.runtime.definitions import Activity

if TYPE_CHECKING:
    from tether.runtime.workflow_instance import WorkflowInstance

R = TypeVar("R")


@dataclass(slots=True)
class ActivityCall:
    """An activity called from workflow code and not scheduled yet: it is when the call first runs.

    Its id and its place among the current task's commands are taken at the call, so that
    calls run in the task that made them (awaited, gathered, wrapped in tasks) schedule
    with the ids and in the order that scheduling at the call gave: histories recorded
    when calls scheduled at once still replay.
    """

    activity: Activity[..., Any]
    args_text: str
    activity_id: int
    commands: list[Command]
    """The command list of the task that made the call."""
    index: int
    """Where in ``commands`` the call's ActivityScheduled goes."""


class CalledActivity(Coroutine[Any, Any, R]):
    """A call of an activity in workflow code: awaiting it (or a task that runs it) schedules the activity.

    Until it first runs nothing is scheduled, so a task wrapping it that is cancelled before
    it starts, or ``asyncio.wait_for(call, 0)``, leaves no activity and no attempt behind.

    A call that the workflow code drops without ever awaiting it warns, as a coroutine
    never awaited does, since nothing was scheduled. One still waiting when the worker
    drops the instance (evicted from its cache, or replayed at every task) does not:
    the replay that picks the execution up again makes the same call and may await it.
    """

    __slots__ = ("_call", "_instance", "_steps")

    def __init__(self, instance: WorkflowInstance, call: ActivityCall) -> None:
        self._instance = instance
        self._call = call
        self._steps: Generator[Any, None, R] | None = None

    def _run(self) -> Generator[Any, None, R]:
        result: R = yield from self._instance.run_call(self._call).__await__()
        return result

    def _started(self) -> Generator[Any, None, R]:
        if self._steps is None:
            self._steps = self._run()
        return self._steps

    def send(self, value: Any) -> Any:
        """Run the call on: the first step schedules the activity."""
        return self._started().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any:
        """Raise into the call; before its first step, it schedules nothing and just raises."""
        if val is None and tb is None:
            return self._started().throw(typ)
        return self._started().throw(typ, val, tb)

    def close(self) -> None:
        """End the call; before its first step, it schedules nothing."""
        self._started().close()

    def __await__(self) -> Generator[Any, None, R]:
        if self._steps is not None and inspect.getgeneratorstate(self._steps) == inspect.GEN_CLOSED:
            raise RuntimeError(f"this call of activity {self._call.activity.name!r} was awaited already")
        return self._started()

    def __del__(self) -> None:
        if self._steps is None and asyncio._get_running_loop() is self._instance.loop:
            name = self._call.activity.name
            warnings.warn(
                f"activity {name!r} was called in workflow code but the call was never awaited, so it was not "
                "scheduled; await the call, or schedule it without waiting with tether.start_activity",
                RuntimeWarning,
                stacklevel=1,
                source=self,
            )
