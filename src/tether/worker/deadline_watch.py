"""Watches the deadlines of the attempts a worker runs, and stops those the store says are over.

A timeout is applied by whichever process's timer loop fires it first (on PostgreSQL,
perhaps one on another machine), so the worker cannot count on hearing of it from its
own transitions. It knows when each attempt's deadlines fall, though: when one passes,
it asks the store whether the attempt is still open and stops it if not. A deadline that
has passed but was not applied yet is asked about again at the store's next change (the
timer that applies it is one). A heartbeat by token moves a heartbeat deadline without
the worker knowing; the store's answer puts the watch right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from tether import errors
from tether.engine.engine import Engine
from tether.model.tokens import TokenClaims
from tether.worker.running_attempts import Deadlines, Running, RunningAttempts

logger = logging.getLogger(__name__)


class DeadlineWatch:
    """Stops the attempts of one worker whose heartbeat, attempt or total timeout ended them.

    Args:
        changed: called on the event loop when the watch goes back to waiting, for
            whoever waits for the worker to be idle.
    """

    def __init__(
        self,
        engine: Engine,
        attempts: RunningAttempts,
        loop: asyncio.AbstractEventLoop,
        changed: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._attempts = attempts
        self._loop = loop
        self._changed = changed
        self._added = asyncio.Event()
        self._waiting = False
        self._waiting_until: int | None = None

    def added(self, attempt: Running) -> None:
        """Look at a new attempt's deadlines; from any thread.

        The event loop is woken only if the watch would otherwise wait past them.
        """
        due = None if attempt.deadlines is None else attempt.deadlines.due_ms
        until = self._waiting_until
        if self._waiting and until is not None and due is not None and due >= until:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the worker is gone
            self._loop.call_soon_threadsafe(self._added.set)

    def next_due_ms(self) -> int | None:
        """The earliest deadline ahead of a watched attempt, if any."""
        now = self._engine.clock.now_ms()
        ahead = [due for a in self._attempts.watched() if (due := _expected(a).due_ms) is not None and due > now]
        return min(ahead) if ahead else None

    def is_idle(self) -> bool:
        """Whether the watch waits and every passed deadline was asked about since the store last changed."""
        if not self._waiting:
            return False
        now = self._engine.clock.now_ms()
        version = self._engine.notifier.version
        return all(self._settled(a, now, version) for a in self._attempts.watched())

    @staticmethod
    def _settled(attempt: Running, now: int, version: int) -> bool:
        expected = _expected(attempt)
        due = expected.due_ms
        return due is None or due > now or expected.overdue_since == version

    async def run(self) -> None:
        """Watch until cancelled; on the event loop."""
        clock = self._engine.clock
        notifier = self._engine.notifier
        while True:
            self._added.clear()
            version = notifier.version
            now = clock.now_ms()
            for attempt in self._attempts.watched():
                if not self._settled(attempt, now, version):
                    await self._check(attempt, version)
            # A deadline that passed during the lookups above wakes the watch at once.
            watched = [_expected(a) for a in self._attempts.watched()]
            wake = min((d for e in watched if e.overdue_since is None and (d := e.due_ms) is not None), default=None)
            overdue = any(e.overdue_since is not None for e in watched)
            self._waiting, self._waiting_until = True, wake
            self._changed()
            try:
                waits: list[Coroutine[Any, Any, Any]] = [self._added.wait()]
                if wake is not None:
                    waits.append(clock.sleep_until(wake))
                if overdue:
                    waits.append(notifier.wait_for_change(version))
                await _first(waits)
            finally:
                self._waiting = False

    async def _check(self, attempt: Running, version: int) -> None:
        start = attempt.start
        expected = _expected(attempt)
        claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
        try:
            deadlines = await self._engine.attempt_deadlines(claims)
        except (errors.StaleToken, errors.ActivityAlreadyClosed, errors.ExecutionNotFound) as over:
            if self._attempts.stop(attempt, over):
                logger.info("attempt stopped: %s", over, extra=attempt.log)
            return
        except errors.StoreUnavailable:
            # Asked again at the store's next change: the commit that applies the deadline, say.
            logger.warning("could not look up an attempt's deadlines", exc_info=True, extra=attempt.log)
            expected.overdue_since = version
            return
        expected.attempt_due = deadlines.attempt_ms
        expected.total_due = deadlines.total_ms
        if deadlines.heartbeat_ms is None:
            expected.heartbeat_due = expected.heartbeat_ms = None
        else:  # a heartbeat recorded since the lookup may have moved it on
            expected.heartbeat_due = max(deadlines.heartbeat_ms, expected.heartbeat_due or 0)
        due = expected.due_ms
        expected.overdue_since = version if due is not None and due <= self._engine.clock.now_ms() else None


def _expected(attempt: Running) -> Deadlines:
    assert attempt.deadlines is not None  # only attempts with deadlines are watched
    return attempt.deadlines


async def _first(waits: list[Coroutine[Any, Any, Any]]) -> None:
    """Return as soon as one of ``waits`` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
