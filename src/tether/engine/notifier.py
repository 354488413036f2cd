"""In-process wake-ups: a change counter for workers and waiters for closing executions."""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Iterable

from tether.model.clock import Clock
from tether.store.rows import ExecutionRow

MESSAGES = "messages"
"""The topic of what callers outside workflows wait on: answers to requests, published values, closes."""
OUTBOX = "outbox"
"""The topic of notifications to deliver (the worker's delivery loop)."""
SCHEDULES = "schedules"
"""The topic of schedules made or changed (the worker's schedule loop)."""
TOPICS = ("workflows", "activities", "timers", MESSAGES, OUTBOX, SCHEDULES)
"""What a change concerns: the work of one worker loop, or ``messages``, which only long polls wait
on: a loop parked on its own topic is not woken by the others."""


class Notifier:
    """Wakes parked loops when the store changed, and result waiters when executions close.

    Changes are coalesced: a loop that was busy sees one bump however many commits
    happened meanwhile, and then reads the store for all of them at once.
    """

    def __init__(self) -> None:
        self.version = 0
        """Bumped by every change, whatever its topic."""
        self._versions = dict.fromkeys(TOPICS, 0)
        self._waiters: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._close_waiters: defaultdict[str, set[asyncio.Future[ExecutionRow | None]]] = defaultdict(set)
        self.result_waiters = 0
        """How many callers are blocked on an open execution's result or a request's answer now (test environments
        skip time only then; a caller still reading is not counted)."""
        self._result_waiters_changed = asyncio.Event()

    def topic_version(self, topic: str | None) -> int:
        """The change counter of one topic (of all changes for None)."""
        return self.version if topic is None else self._versions[topic]

    def changed(self, topics: Iterable[str] = TOPICS) -> None:
        """Record a change of ``topics`` and wake the loops parked on them."""
        self.version += 1
        for topic in (None, *topics):
            if topic is not None:
                self._versions[topic] += 1
            for future in self._waiters.pop(topic or "", ()):
                if not future.done():
                    future.set_result(None)

    def parked_on(self, topic: str | None) -> int:
        """How many waits are parked on ``topic`` now (tests learn so that a long poll waits)."""
        return len(self._waiters.get(topic or "", ()))

    def closed(self, execution_id: str, row: ExecutionRow | None = None) -> None:
        """Wake everyone waiting for ``execution_id`` to close, with its final row when known."""
        for future in self._close_waiters.pop(execution_id, ()):
            if not future.done():
                future.set_result(row)

    def is_awaited(self, execution_id: str) -> bool:
        """Whether someone waits for this execution to close (safe to call from any thread)."""
        return execution_id in self._close_waiters

    def awaited_executions(self) -> list[str]:
        """Ids someone waits on, to look up after changes made by other processes."""
        return list(self._close_waiters)

    async def wait_for_change(
        self, since: int, clock: Clock | None = None, deadline_ms: int | None = None, *, topic: str | None = None
    ) -> None:
        """Return when ``topic``'s version (every change's, for None) moves past ``since``, or at ``deadline_ms``."""
        if self.topic_version(topic) != since:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters[topic or ""]
        waiters.add(future)
        sleeper: asyncio.Future[None] | None = None
        if deadline_ms is not None and clock is not None:
            sleeper = asyncio.ensure_future(clock.sleep_until(deadline_ms))
            sleeper.add_done_callback(functools.partial(_wake, future))
        try:
            # Only ``future`` is awaited, so cancelling this task always ends the wait. Awaiting
            # the cancelled sleeper here, as this once did, could take this task's own
            # cancellation for the sleeper's and swallow it: a stopping worker's timer loop then
            # slept on toward its next timer, a day away, and the stop never returned.
            await future
        finally:
            waiters.discard(future)
            if sleeper is not None:
                sleeper.cancel()  # not awaited: it ends at the loop's next turn, and nobody needs its end

    def result_waiter_entered(self) -> None:
        """Count a caller that starts waiting for a result."""
        self.result_waiters += 1
        self._result_waiters_changed.set()

    def result_waiter_left(self) -> None:
        """Count a caller that stopped waiting for a result."""
        self.result_waiters -= 1
        self._result_waiters_changed.set()

    async def wait_for_result_waiters(self) -> None:
        """Return once some caller waits for a result."""
        while self.result_waiters == 0:
            self._result_waiters_changed.clear()
            await self._result_waiters_changed.wait()

    def close_waiter(self, execution_id: str) -> asyncio.Future[ExecutionRow | None]:
        """A future resolved when ``execution_id`` closes; register before checking the status."""
        future: asyncio.Future[ExecutionRow | None] = asyncio.get_running_loop().create_future()
        self._close_waiters[execution_id].add(future)
        return future

    def drop_close_waiter(self, execution_id: str, future: asyncio.Future[ExecutionRow | None]) -> None:
        """Forget a waiter that is no longer needed."""
        waiters = self._close_waiters.get(execution_id)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                del self._close_waiters[execution_id]


def _wake(future: asyncio.Future[None], _: asyncio.Future[None]) -> None:
    """Settle a change waiter when its deadline's sleeper ends (nothing if it was settled or cancelled)."""
    if not future.done():
        future.set_result(None)
