"""A deterministic event loop that runs one workflow's tasks until they block.

Workflow code may use ``asyncio.gather``, ``asyncio.wait``, ``asyncio.wait_for`` and
``asyncio.sleep``: futures and tasks live on this loop, callbacks run in FIFO order, and
``call_later`` becomes a durable timer, so a replay runs the same steps in the same order.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
from asyncio import events
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from tether.errors import ActivityFailed, UsageError

if TYPE_CHECKING:
    from tether.runtime.workflow_instance import WorkflowInstance

logger = logging.getLogger(__name__)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class _DurableTimerHandle(asyncio.TimerHandle):
    timer_id: int = 0


class WorkflowLoop(asyncio.AbstractEventLoop):
    """The loop of one workflow instance; driven by :meth:`run_until_blocked`."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self.instance = instance
        self._ready: collections.deque[asyncio.Handle] = collections.deque()

    def run_until_blocked(self) -> None:
        """Run callbacks until every task of the workflow waits on something."""
        outer = events._get_running_loop()
        events._set_running_loop(self)
        try:
            while self._ready:
                handle = self._ready.popleft()
                if not handle._cancelled:  # asyncio.Handle internals
                    handle._run()  # asyncio.Handle internals
        finally:
            events._set_running_loop(outer)

    # scheduling

    def call_soon(
        self, callback: Callable[[*Ts], object], *args: *Ts, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        delay_ms = int(delay * 1000)
        handle = _DurableTimerHandle(self.time() + delay, callback, args, self, context)
        if delay_ms <= 0:
            self._ready.append(handle)
            return handle
        future = self.instance.start_timer(delay_ms)
        handle.timer_id = self.instance.last_timer_id

        def fire(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and not handle.cancelled():
                self._ready.append(handle)

        future.add_done_callback(fire)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return self.call_later(when - self.time(), callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if isinstance(handle, _DurableTimerHandle) and handle.timer_id:
            self.instance.cancel_timer(handle.timer_id)

    def time(self) -> float:
        return self.instance.now_ms / 1000

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self,
        coro: Coroutine[Any, Any, T] | Generator[Any, None, T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[T]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    # state

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return False

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        exc = context.get("exception")
        if message.startswith("Task was destroyed but it is pending"):
            # An evicted or finished instance is dropped with its waiting tasks; that is normal.
            return
        if "never retrieved" in message and isinstance(exc, ActivityFailed):
            # A workflow need not await every activity it started (a cancelled one, say).
            return
        logger.error(
            "workflow callback failed: %s",
            message,
            exc_info=exc,
            extra={"execution_id": self.instance.execution_id},
        )

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self.call_exception_handler(context)

    def get_exception_handler(self) -> None:
        return None

    def get_task_factory(self) -> None:
        return None

    # everything that would do I/O or block is refused

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise UsageError(
            "workflow code must not do I/O, start threads or use the wall clock; "
            "do that in an activity and call it from the workflow"
        )

    run_in_executor = _refuse  # type: ignore[assignment]  # refused whatever the arguments
    getaddrinfo = _refuse
    create_connection = _refuse
    create_server = _refuse
    subprocess_exec = _refuse
    subprocess_shell = _refuse
    run_forever = _refuse
    run_until_complete = _refuse
    call_soon_threadsafe = _refuse  # type: ignore[assignment]  # refused whatever the arguments
    add_reader = _refuse  # type: ignore[assignment]  # refused whatever the arguments
    add_writer = _refuse  # type: ignore[assignment]  # refused whatever the arguments
    sock_recv = _refuse
    sock_sendall = _refuse
