"""The schedule loop: a worker fires schedules' occurrences as they fall due (see ``engine.schedules``).

It sleeps on the engine's clock until the next occurrence of any schedule, and wakes early
when a schedule is made or changed (here or, on PostgreSQL, in another process) or when an
execution that a held-back occurrence waits for closes. A worker on a store without
schedules reads the store once at start and then only when a schedule appears.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tether.engine import notifier
from tether.engine.engine import Engine
from tether.store.rows import ExecutionRow

logger = logging.getLogger(__name__)

_TOPIC = notifier.SCHEDULES


class Firing:
    """The schedule loop of one worker.

    Args:
        park: tells the worker what the loop waits for (see ``Worker._park``): it is idle
            until an occurrence falls due, a schedule changes or an awaited execution closes.
    """

    def __init__(self, engine: Engine, park: Callable[[str, Callable[[], bool] | None], None]) -> None:
        self._engine = engine
        self._park = park

    async def run(self) -> None:
        """Fire occurrences as they fall due, until cancelled."""
        engine = self._engine
        changes = engine.notifier
        clock = engine.clock
        while True:
            version = changes.topic_version(_TOPIC)
            wake, waits = await engine.schedule_wakeups()
            if wake is not None and wake <= clock.now_ms():
                handled = await engine.fire_due_schedules()
                if handled:
                    logger.debug("fired %d schedule occurrence(s)", handled)
                    continue
                # Due but held by another worker (PostgreSQL): its commit is a change that wakes this loop.
                wake = None
            closes = [(execution_id, changes.close_waiter(execution_id)) for execution_id in waits]
            try:
                if closes and await engine.closed_among(waits):
                    continue  # closed between the two reads: its held-back occurrence starts now
                await self._wait(version, wake, [future for _, future in closes])
            finally:
                for execution_id, future in closes:
                    changes.drop_close_waiter(execution_id, future)

    async def _wait(self, version: int, wake_ms: int | None, closes: list[asyncio.Future[ExecutionRow | None]]) -> None:
        engine = self._engine
        changes, clock = engine.notifier, engine.clock

        def idle() -> bool:
            return (
                changes.topic_version(_TOPIC) == version
                and (wake_ms is None or clock.now_ms() < wake_ms)
                and not any(future.done() for future in closes)
            )

        self._park(_TOPIC, idle)
        try:
            if not closes:
                await changes.wait_for_change(version, clock, wake_ms, topic=_TOPIC)
                return
            change = asyncio.ensure_future(changes.wait_for_change(version, clock, wake_ms, topic=_TOPIC))
            try:
                awaited: list[asyncio.Future[Any]] = [change, *closes]
                await asyncio.wait(awaited, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # Not awaited (see Notifier.wait_for_change): awaiting it could swallow this task's own cancellation.
                change.cancel()
        finally:
            self._park(_TOPIC, None)
