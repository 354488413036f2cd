"""The attempts a worker runs: whose activity code still runs, whose outcome is being recorded, and their slots.

An attempt holds one of the worker's activity slots from its start until its outcome
has been handled, or until the worker learns that the attempt is over (it timed out, or
a heartbeat was refused): then it is stopped. Its slot goes back at once, so that its
retry can start while its code, which nothing can kill, may still run; an async
attempt's task is cancelled, a sync attempt's next heartbeat raises, and whatever the
code returns or raises afterwards is dropped. Attempts are added and ended on the event
loop (async ones) and on the worker's threads (sync ones), so every change takes a lock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tether import errors
from tether.engine.activity_starts import AttemptStart
from tether.model.clock import Clock
from tether.model.options import ActivityOptions
from tether.runtime.activity_context import ActivityContext

logger = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class Deadlines:
    """When the worker expects an attempt's deadlines (UTC ms), until the store says otherwise."""

    attempt_due: int | None = None
    heartbeat_due: int | None = None
    total_due: int | None = None
    heartbeat_ms: int | None = None
    overdue_since: int | None = None
    """The store change counter when a deadline had passed but was not applied yet."""

    @property
    def due_ms(self) -> int | None:
        """The earliest of them, if any."""
        dues = [d for d in (self.attempt_due, self.heartbeat_due, self.total_due) if d is not None]
        return min(dues) if dues else None


@dataclass(eq=False, slots=True)
class Running:
    """One attempt the worker runs."""

    start: AttemptStart
    task: asyncio.Task[None] | None = None
    """The task that runs an async attempt (sync ones run on a thread)."""
    ctx: ActivityContext | None = None
    reporting: bool = False
    """Its activity code has returned (or raised): its outcome is being recorded."""
    over: errors.Refused | None = None
    """Why the attempt was stopped: what its calls to the store would now be refused with."""
    deadlines: Deadlines | None = None
    """Its deadlines, if its activity has any timeout."""

    @property
    def log(self) -> dict[str, object]:
        """Ids for log records."""
        return ids(self.start)


def ids(start: AttemptStart) -> dict[str, object]:
    """The ids of an attempt, for log records."""
    return {"execution_id": start.execution_id, "activity_id": start.activity_id, "attempt": start.attempt}


class RunningAttempts:
    """The attempts of one worker, from their start until their outcome was handled or they were stopped.

    Args:
        release_slot: gives back an attempt's slot (thread-safe).
        settled: called (from any thread) when the last outcome under way was handled or
            an attempt ended or stopped, for whoever waits for the worker to settle.
        watch: called (from any thread) with an attempt that has deadlines, when added.
    """

    def __init__(
        self,
        release_slot: Callable[[], None],
        settled: Callable[[], None],
        watch: Callable[[Running], None] = lambda attempt: None,
    ) -> None:
        self._release_slot = release_slot
        self._settled = settled
        self._watch = watch
        self._lock = threading.Lock()
        self._attempts: set[Running] = set()
        self._reporting = 0

    @property
    def running(self) -> int:
        """Attempts started and neither ended nor stopped, their code running or their outcome under way."""
        return len(self._attempts)

    @property
    def reporting(self) -> int:
        """Attempts whose outcome is being recorded."""
        return self._reporting

    def add(self, start: AttemptStart, options: ActivityOptions, clock: Clock) -> Running:
        """Count an attempt that holds a slot and is about to run; from any thread.

        Its deadlines are expected from ``options`` and its start (now), until the store
        says otherwise: a total timeout counts from when the activity was scheduled, which
        only the store knows, so a retry's is looked up at once.
        """
        attempt = Running(start)
        heartbeat_ms = start.heartbeat_ms
        if heartbeat_ms is not None or options.attempt_timeout_ms is not None or options.timeout_ms is not None:
            now = clock.now_ms()
            attempt.deadlines = Deadlines(
                attempt_due=None if options.attempt_timeout_ms is None else now + options.attempt_timeout_ms,
                heartbeat_due=None if heartbeat_ms is None else now + heartbeat_ms,
                total_due=None
                if options.timeout_ms is None
                else now + (options.timeout_ms if start.attempt == 1 else 0),
                heartbeat_ms=heartbeat_ms,
            )
        with self._lock:
            self._attempts.add(attempt)
        if attempt.deadlines is not None:
            self._watch(attempt)
        return attempt

    def attach(self, attempt: Running, ctx: ActivityContext) -> None:
        """Give the attempt the context its code runs with; from any thread."""
        attempt.ctx = ctx
        # stop() sets ``over`` before it looks for the context: one of the two sees the other.
        ctx._over = attempt.over

    def beat(self, attempt: Running, at_ms: int) -> None:
        """The attempt's heartbeat of ``at_ms`` was recorded: its heartbeat deadline moves; on the event loop."""
        expected = attempt.deadlines
        if expected is not None and expected.heartbeat_ms is not None:
            expected.heartbeat_due = max(expected.heartbeat_due or 0, at_ms + expected.heartbeat_ms)

    def report(self, attempt: Running) -> bool:
        """The attempt's code has ended: whether to record its outcome (not if it was stopped); from any thread."""
        with self._lock:
            if attempt not in self._attempts:
                return False
            if not attempt.reporting:
                attempt.reporting = True
                self._reporting += 1
            return True

    def end(self, attempt: Running) -> None:
        """The attempt's outcome was handled (or dropped): give back its slot; from any thread."""
        # Its context's heartbeat function refers back to it: a cycle the collector would
        # have to find, for every attempt.
        attempt.ctx = attempt.task = None
        with self._lock:
            if attempt not in self._attempts:
                return  # ended or stopped already
            self._attempts.discard(attempt)
            if attempt.reporting:
                self._reporting -= 1
            settled = self._reporting == 0
        self._release_slot()
        if settled:
            self._settled()

    def stop(self, attempt: Running, over: errors.Refused, *, cancel: bool = True) -> bool:
        """Stop an attempt the store says is over; False if its code had ended already. On the event loop.

        Its slot goes back now. An async attempt's task is cancelled (unless ``cancel`` is
        False: the attempt learnt it from a refused call that raises in its code anyway); a
        sync attempt's next heartbeat raises ``over``. Its outcome, if it ever comes, is dropped.
        """
        with self._lock:
            if attempt not in self._attempts or attempt.reporting:
                return False
            self._attempts.discard(attempt)
            attempt.over = over
            if attempt.ctx is not None:
                attempt.ctx._over = over
        self._release_slot()
        if attempt.task is not None:
            if cancel:
                attempt.task.cancel()
        else:
            logger.warning(
                "attempt is over (%s) while its code still runs on a worker thread; the thread is left to finish",
                over, extra=attempt.log,
            )  # fmt: skip
        self._settled()
        return True

    def watched(self) -> list[Running]:
        """The attempts with deadlines whose code runs."""
        with self._lock:
            return [a for a in self._attempts if not a.reporting and a.deadlines is not None]
